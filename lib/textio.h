/* textio.h - streaming text input and output with transparent zstd.
 *
 * bn_reader reads a file or stdin ("-") record by record (lines, NUL-
 * separated records, or everything at once); zstd-compressed input is
 * recognised by its magic number, whatever the name.  bn_writer writes to
 * stdout ("-") or atomically to a file (struct bn_out: temp + rename),
 * compressing with zstd when the name ends in ".zst". */
#ifndef BN_TEXTIO_H
#define BN_TEXTIO_H

#include <stddef.h>

#include "bn.h"

struct bn_reader;

/* Allocates; close with bn_reader_close(). */
int bn_reader_open(struct bn_reader **out, const char *path, struct bn_errbuf *eb);
void bn_reader_close(struct bn_reader *r);	/* NULL-safe; never closes stdin */
/* Next record up to delim (delim removed; a final record without one counts
 * too).  Returns 1 with *p and *n set (*p points into the reader, writable,
 * NUL-terminated; valid until the next call), 0 at the end, or < 0. */
int bn_reader_record(struct bn_reader *r, int delim, char **p, size_t *n,
		     struct bn_errbuf *eb);
static inline int bn_reader_line(struct bn_reader *r, char **p, size_t *n,
				 struct bn_errbuf *eb)
{
	return bn_reader_record(r, '\n', p, n, eb);
}
/* Nonzero when the next record can be had without waiting for more input
 * (a whole one is buffered, the input has data or ended, or is a regular
 * file); 0 when reading would wait on a pipe or terminal.  A program that
 * batches records processes and flushes what it has then. */
int bn_reader_ready(const struct bn_reader *r, int delim);
/* Refuse records longer than max bytes (default: no limit): such a record
 * is skipped and bn_reader_record returns BN_ERANGE ("NAME:N: record longer
 * than MAX bytes"); reading can go on with the next one. */
void bn_reader_set_limit(struct bn_reader *r, size_t max);
/* All the rest of the input, NUL-terminated.  Allocates; caller frees *p. */
int bn_reader_all(struct bn_reader *r, char **p, size_t *n, struct bn_errbuf *eb);
const char *bn_reader_name(const struct bn_reader *r);

struct bn_writer;

/* Allocates; finish with bn_writer_close() or drop with bn_writer_abort(). */
int bn_writer_open(struct bn_writer **out, const char *path, struct bn_errbuf *eb);
int bn_writer_write(struct bn_writer *w, const void *p, size_t n, struct bn_errbuf *eb);
/* Pass what was written on (a zstd block is ended): to standard output
 * at once; a file only appears at bn_writer_close anyway. */
int bn_writer_flush(struct bn_writer *w, struct bn_errbuf *eb);
/* Flush (ending the zstd frame) and commit the file; frees w. */
int bn_writer_close(struct bn_writer *w, struct bn_errbuf *eb);
/* Drop the output (temp file removed); frees w.  NULL-safe. */
void bn_writer_abort(struct bn_writer *w);

#endif
