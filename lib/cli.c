/* cli.c - die/warn, number parsing and stdout handling for cmd/. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "file.h"
#include "gguf.h"
#include "kernels.h"

const char *argv0 = "bn";

/* Killed (Ctrl-C, kill, a Slurm time limit, a hangup): remove the temp
 * files of unfinished outputs, then die of the signal so that the exit
 * status says so.  Async-signal-safe calls only. */
static void on_fatal(int sig)
{
	bn_out_unlink_tmp();
	signal(sig, SIG_DFL);
	raise(sig);	/* delivered when the handler returns */
}

void cli_init(const char *name)
{
	static const int fatal[] = { SIGHUP, SIGINT, SIGTERM };
	struct sigaction sa = { .sa_handler = on_fatal }, old;
	const char *s = strrchr(name, '/');

	argv0 = s ? s + 1 : name;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaddset(&sa.sa_mask, fatal[i]);
	/* A signal ignored on entry (nohup, a background job) stays ignored. */
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(fatal[i], &sa, NULL);
}

static void vwarn(const char *fmt, va_list ap)
{
	int e = errno;
	size_t n = strlen(fmt);

	fprintf(stderr, "%s: ", argv0);
	vfprintf(stderr, fmt, ap);
	if (n && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(e));
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(1);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", argv0);
	exit(2);
}

void print_version(void)
{
	printf("%s %s (kernels: %s)\n", argv0, BN_VERSION, bn_kernels_get()->name);
	exit(close_stdout());
}

long long cli_int(const char *s, long long lo, long long hi, const char *opt)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		usage_error("invalid value '%s' for %s (expected an integer in %lld..%lld)",
			    s, opt, lo, hi);
	return v;
}

int cli_kv_type(const char *s)
{
	if (!strcmp(s, "f32"))
		return BN_TYPE_F32;
	if (!strcmp(s, "f16"))
		return BN_TYPE_F16;
	usage_error("invalid value '%s' for --cache-type (expected f32 or f16)", s);
}

double cli_float(const char *s, double lo, double hi, const char *opt)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || v < lo || v > hi)
		usage_error("invalid value '%s' for %s (expected a number in %g..%g)",
			    s, opt, lo, hi);
	return v;
}

void cli_check_stdout(void)
{
	if (!ferror(stdout))
		return;
	if (errno == EPIPE)
		_exit(0);
	die("write error on standard output:");
}

int close_stdout(void)
{
	int bad = fflush(stdout) != 0 || ferror(stdout);

	if (bad && errno == EPIPE)
		return 0;
	if (fclose(stdout) != 0 && !bad) {
		if (errno == EPIPE)
			return 0;
		bad = 1;
	}
	if (bad) {
		warn("write error on standard output:");
		return 1;
	}
	return 0;
}

void die_err(int rc, const struct bn_errbuf *eb)
{
	if (eb && eb->msg[0])
		die("%s", eb->msg);
	die("%s", bn_strerror(rc));
}

int cli_stderr_tty(void)
{
	return isatty(STDERR_FILENO);
}

int cli_progress_tty(int data_on_stdout)
{
	struct stat so, se;

	if (!isatty(STDERR_FILENO))
		return 0;
	if (!data_on_stdout || !isatty(STDOUT_FILENO))
		return 1;
	return fstat(STDOUT_FILENO, &so) || fstat(STDERR_FILENO, &se) ? 0 :
	       so.st_rdev != se.st_rdev;
}
