/* infer.h - one model run as bn-infer drives it: the model, its tokenizer,
 * a KV-cache state, a sampler and a thread pool, plus the per-record work
 * (tokenize, generate, write text / JSON / logits frames, perplexity).
 * Output goes to the FILE the caller passes (data only; no diagnostics). */
#ifndef BN_INFER_H
#define BN_INFER_H

#include <stdio.h>

#include "generate.h"
#include "logits.h"
#include "model.h"
#include "sampler.h"
#include "tokenizer.h"

struct bn_infer_opts {
	const char *model;
	int n_predict;			/* -1: until a stop token / context full */
	int n_ctx;			/* 0: min(model context, 4096) */
	int n_batch;			/* prefill chunk, default 128 */
	int n_threads;			/* 0: online CPUs */
	int ids_in;			/* input lines are token ids */
	int tok_flags;			/* BN_TOK_* for text prompts */
	int jsonl;			/* one JSON object per record */
	int logits;			/* write logits frames instead of text */
	int logits_fmt;			/* BN_LOGITS_F32 / _JSONL */
	int all_logits;			/* every prompt position, not only the last */
	int ignore_eos;
	int stream;			/* flush text per token */
	struct bn_sampler_params sp;
};

void bn_infer_opts_default(struct bn_infer_opts *o);

struct bn_infer {
	struct bn_infer_opts o;
	struct bn_model m;
	struct bn_tokenizer *tok;	/* NULL if the model has none */
	struct bn_pool *pool;
	struct bn_state *st;
	struct bn_sampler *smp;
	FILE *out;
	/* per record */
	uint32_t rec;
	struct bn_detok dt;
	char *tbuf;			/* text of the current record */
	size_t tlen, tcap;
	int32_t *gen;			/* generated ids */
	int ngen, gcap;
	int write_err;
};

/* Load everything.  Allocates; release with bn_infer_release(). */
int bn_infer_init(struct bn_infer *r, const struct bn_infer_opts *o, FILE *out,
		  struct bn_errbuf *eb);
void bn_infer_release(struct bn_infer *r);

/* Tokens of one input record: text (or ids with o.ids_in).  *ids malloc'd.
 * Returns BN_OK, BN_TOK_REPLACED (invalid UTF-8 replaced) or < 0. */
int bn_infer_tokens(struct bn_infer *r, const char *text, size_t len, int32_t **ids,
		    size_t *n, struct bn_errbuf *eb);

/* Run one record (a fresh sequence): generate and write its output.
 * id_json: the record's "id" as JSON text for --jsonl output (may be NULL). */
int bn_infer_record(struct bn_infer *r, const int32_t *ids, size_t n, const char *id_json,
		    struct bn_errbuf *eb);

/* Perplexity of one text: BOS + tokens truncated to the context; NLL summed
 * over positions 1..n-1.  *nll and *count are the sums for this text. */
int bn_infer_nll(struct bn_infer *r, const int32_t *ids, size_t n, double *nll, size_t *count,
		 struct bn_errbuf *eb);

#endif
