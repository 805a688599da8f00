/* cli.h - helpers for the programs in cmd/ only (the library never exits).
 *
 * die()/warn() print "argv0: message"; a format ending in ':' appends
 * ": strerror(errno)".  Exit codes: 0 ok, 1 failure, 2 usage. */
#ifndef BN_CLI_H
#define BN_CLI_H

#include <stdio.h>

#include "bn.h"

extern const char *argv0;

/* Set argv0, ignore SIGPIPE (writes then fail with EPIPE, handled by
 * cli_check_stdout which exits 0 quietly: `bn-x | head -1` is not an error),
 * and on SIGHUP, SIGINT and SIGTERM remove the temp files of unfinished
 * outputs (bn_out_unlink_tmp) before dying of the signal. */
void cli_init(const char *name);
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* die with exit code 2 after printing "argv0: msg" and a usage hint. */
void usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Print "argv0 VERSION (kernels)" and exit 0. */
void print_version(void) __attribute__((noreturn));

/* Checked number parsing; die with exit 2 on a bad value for option opt. */
long long cli_int(const char *s, long long lo, long long hi, const char *opt);
double cli_float(const char *s, double lo, double hi, const char *opt);
/* --cache-type: "f32" or "f16" as BN_TYPE_F32 / BN_TYPE_F16. */
int cli_kv_type(const char *s);

/* After a write error on stdout: EPIPE exits 0 quietly, others die. */
void cli_check_stdout(void);
/* Flush and close stdout; returns 0 or 1 (an error was printed). */
int close_stdout(void);
/* Die with the library's message. */
void die_err(int rc, const struct bn_errbuf *eb) __attribute__((noreturn));
/* True when stderr is a terminal and progress output is wanted. */
int cli_stderr_tty(void);
/* True when stderr is a terminal that progress lines may go to: with
 * data_on_stdout, only if standard output is not that same terminal. */
int cli_progress_tty(int data_on_stdout);

#endif
