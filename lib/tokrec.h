/* tokrec.h - record-by-record tokenizing and detokenizing of text streams:
 * the engine of bn-tokenize, usable by any program.
 *
 * A text record is a line, a NUL-terminated record, or the whole input; ids
 * are a line a record, or the whole input (so that a NUL-terminated text
 * round-trips through a line of ids).  In
 * JSON Lines mode each record is an object: encoding reads "text" and adds
 * "ids" (or "n_tokens", or "ids" and "tokens"), decoding reads "ids" and
 * adds "text"; other members pass through unchanged. */
#ifndef BN_TOKREC_H
#define BN_TOKREC_H

#include "jsonl.h"
#include "textio.h"
#include "tokenizer.h"

enum { BN_TR_IDS, BN_TR_COUNT, BN_TR_PIECES, BN_TR_DECODE };

struct bn_tokrec_opts {
	int mode;		/* BN_TR_* */
	int jsonl;
	int flags;		/* BN_TOK_* for encoding */
	int skip_special;	/* decoding: drop special tokens */
	int delim;		/* text records: '\n', '\0', or -1 (the whole input) */
	int nthreads;		/* >= 1 */
};

/* Process one record rec[0..n) (writable), appending its output to out.
 * Sets *replaced when the text was not valid UTF-8.  Messages carry no
 * location; the caller adds it. */
int bn_tokrec_one(struct bn_tok_ctx *c, const struct bn_tokrec_opts *o, char *rec, size_t n,
		  struct bn_buf *out, int *replaced, struct bn_errbuf *eb);

/* All records of r to w, in order, on o->nthreads threads.  Sets *replaced
 * when some text was not valid UTF-8.  Errors name "FILE:RECORD". */
int bn_tokrec_run(const struct bn_tokenizer *t, const struct bn_tokrec_opts *o,
		  struct bn_reader *r, struct bn_writer *w, int *replaced, struct bn_errbuf *eb);

#endif
