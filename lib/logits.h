/* logits.h - logits frames: what bn-infer --logits writes and bn-sample reads.
 *
 * The format (docs/bn-logits.5) is a stream of frames.  Binary (f32) frame:
 *
 *   offset  size          field
 *   0       4             magic    0x474c4e42, the bytes "BNLG"
 *   4       4             n_vocab  1..2^24, the same in every frame
 *   8       4             pos      position of the token whose next-token
 *                                  logits follow
 *   12      4             rec      record (prompt) index, 0-based
 *   16      4 * n_vocab   logits   IEEE-754 binary32
 *
 * All fields little-endian.  Text (jsonl) frame: one line
 *   {"rec":R,"pos":P,"logits":[L0,L1,...]}
 * with null for a logit that is not finite.  A reader tells the two apart by
 * the first byte of the stream: 'B' binary, '{' (or white space) jsonl. */
#ifndef BN_LOGITS_H
#define BN_LOGITS_H

#include <stdint.h>
#include <stdio.h>

#include "bn.h"

#define BN_LOGITS_MAGIC 0x474c4e42u
#define BN_LOGITS_VOCAB_MAX (1u << 24)
#define BN_LOGITS_HEADER 16

enum bn_logits_fmt {
	BN_LOGITS_AUTO = -1,	/* reader only: decide by the first byte */
	BN_LOGITS_F32 = 0,
	BN_LOGITS_JSONL = 1,
};

/* Write one frame.  jsonl prints %.9g (exact for binary32) and null for
 * NaN and +-inf.  Returns BN_OK, BN_EINVAL (fmt, n_vocab outside 1..2^24)
 * or BN_EIO (errno kept).  Does not flush. */
int bn_logits_write(FILE *fp, int fmt, uint32_t rec, uint32_t pos, const float *logits,
		    int n_vocab);

struct bn_logits_frame {
	uint32_t rec, pos;
	int n_vocab;
	const float *logits;	/* owned by the reader; valid until the next read */
	uint32_t n_nan;		/* NaN logits (binary) or nulls (jsonl) in this
				 * frame, all replaced by -inf */
};

struct bn_logits_reader {
	FILE *fp;
	const char *name;	/* for messages; borrowed */
	int fmt;		/* BN_LOGITS_F32 / _JSONL once known */
	int n_vocab;		/* 0 until the first frame */
	uint64_t frames;	/* frames read so far */
	uint64_t n_nan;		/* total over all frames */
	float *buf;
	char *line;
	size_t linecap;
	uint64_t lineno;
};

/* Borrow fp (not closed by release); fmt is BN_LOGITS_AUTO, _F32 or _JSONL. */
void bn_logits_reader_init(struct bn_logits_reader *r, FILE *fp, const char *name, int fmt);
/* Read the next frame.  Returns 1 with *f filled, 0 at a clean end of the
 * stream, or a negative bn_err with a message naming the stream and the
 * frame (BN_EFORMAT for a bad magic, a truncated frame, a changed n_vocab,
 * bad JSON; BN_ERANGE for n_vocab out of range; BN_EIO, BN_ENOMEM). */
int bn_logits_read_frame(struct bn_logits_reader *r, struct bn_logits_frame *f,
			 struct bn_errbuf *eb);
void bn_logits_reader_release(struct bn_logits_reader *r);

#endif
