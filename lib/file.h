/* file.h - whole-file reads, read-only mappings and atomic writes.
 *
 * Every output file bn writes goes through struct bn_out: a temp file in the
 * destination's directory, fsync, then rename, so a crash, a full disk or an
 * error never leaves a half-written file under the final name. */
#ifndef BN_FILE_H
#define BN_FILE_H

#include <stdio.h>

#include "bn.h"

/* Read a whole file ("-" = stdin) into a NUL-terminated malloc'd buffer,
 * refusing more than limit bytes.  Caller frees *out. */
int bn_read_file(const char *path, size_t limit, char **out, size_t *len,
		 struct bn_errbuf *eb);

/* The huge page size (x86-64 and 4 KB-page arm64 PMDs) that mappings of
 * files and large buffers are aligned to. */
#define BN_HUGE_PAGE ((size_t)2 << 20)

/* Zeroed anonymous memory of bytes (> 0) at a multiple of BN_HUGE_PAGE,
 * which the kernel is advised to back with huge pages (buffers streamed
 * from memory: a miss in a 4 KB page's TLB entry costs a nested page walk
 * in a virtual machine); NULL when out of memory.  bn_huge_free takes the
 * same size (NULL-safe).  Under AddressSanitizer both go through its
 * allocator (aligned, zeroed, no huge pages), so overruns are caught. */
void *bn_huge_alloc(size_t bytes);
void bn_huge_free(void *p, size_t bytes);

/* Read-only mapping of a whole regular file: files of BN_HUGE_PAGE or more
 * start at a multiple of it, and the kernel is advised to use huge pages. */
struct bn_map {
	const uint8_t *base;	/* NULL for an empty file */
	size_t size;
};
int bn_map_open(struct bn_map *m, const char *path, struct bn_errbuf *eb);
void bn_map_close(struct bn_map *m);	/* NULL-safe, idempotent */
/* Bytes of the mapping's touched pages that the kernel maps with huge pages
 * (FilePmdMapped in /proc/self/smaps); -1 where that cannot be read. */
long long bn_map_huge_bytes(const struct bn_map *m);

/* Atomic output.  path "-" streams to stdout, and an existing path that is
 * not a regular file (/dev/null, a FIFO) is written in place: no atomicity
 * is possible there, and renaming over it would replace the node. */
struct bn_out {
	FILE *fp;
	char *path;	/* final name, NULL for stdout */
	char *tmp;	/* temp name, NULL for stdout and in-place writes */
	char *buf;	/* the temp file's stdio buffer (BN_OUT_BLOCK bytes) */
};
/* Temp files are written in blocks of 2 MB at offsets that are multiples of
 * it: kernels with large page-cache folios (Linux 6.x ext4, xfs, tmpfs)
 * then keep a freshly written model in huge pages, which the model's
 * mapping reads about a quarter faster with one core than 4 KB pages. */
#define BN_OUT_BLOCK BN_HUGE_PAGE
int bn_out_open(struct bn_out *o, const char *path, struct bn_errbuf *eb);
int bn_out_write(struct bn_out *o, const void *p, size_t n, struct bn_errbuf *eb);
/* Flush, fsync and rename into place; on failure the temp file is removed. */
int bn_out_commit(struct bn_out *o, struct bn_errbuf *eb);
/* Drop the temp file (NULL-safe; no-op after commit). */
void bn_out_abort(struct bn_out *o);
/* Remove the temp files of all outputs not yet committed or aborted, for a
 * program's handler of fatal signals (the library installs none): it only
 * calls unlink, so it is async-signal-safe. */
void bn_out_unlink_tmp(void);

int bn_write_file_atomic(const char *path, const void *data, size_t len,
			 struct bn_errbuf *eb);

#endif
