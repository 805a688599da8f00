/* infer.h - one model run as bn-infer drives it: the model, its tokenizer,
 * a KV-cache state, a sampler and a thread pool, plus the per-record work
 * (generate with stop tokens and stop strings, stream text, write logits
 * frames, ask an external sampler, describe the result as JSON).
 * Data goes to the FILE the caller passes; the library prints nothing else. */
#ifndef BN_INFER_H
#define BN_INFER_H

#include <stdio.h>
#include <sys/types.h>

#include "chat.h"
#include "generate.h"
#include "jsonl.h"
#include "logits.h"
#include "model.h"
#include "sampler.h"
#include "tokenizer.h"

#define BN_MAX_STOP_STR 16

/* Longest input line (prompt, ids, JSON record, perplexity text) bn-infer
 * accepts: 64 MiB is already ~16M tokens, the largest context a model may
 * declare, and keeps memory bounded whatever the input. */
#define BN_INFER_LINE_MAX ((size_t)64 << 20)

struct bn_infer_opts {
	const char *model;
	int n_predict;			/* -1: until a stop token / context full */
	int n_ctx;			/* 0: min(model context, 4096) */
	int n_batch;			/* prefill chunk, default 128 */
	int n_threads;			/* 0: online CPUs */
	int kv_type;			/* KV cache BN_TYPE_F32 (0, default) or BN_TYPE_F16 */
	int ids_in;			/* input lines are token ids */
	int tok_flags;			/* BN_TOK_* for text prompts */
	int jsonl;			/* one JSON object per record */
	int logits;			/* write logits frames instead of text */
	int logits_fmt;			/* BN_LOGITS_F32 / _JSONL */
	int all_logits;			/* every prompt position, not only the last */
	int ignore_eos;
	int stream;			/* flush text per token */
	int no_timings;			/* no ms_* members in JSON */
	const char *stop_str[BN_MAX_STOP_STR];	/* stop strings (borrowed) */
	int n_stop_str;
	int xs_in, xs_out;		/* external sampler fds (answers, frames); -1: none */
	struct bn_sampler_params sp;
};

void bn_infer_opts_default(struct bn_infer_opts *o);

/* What the last bn_infer_run produced. */
struct bn_infer_result {
	size_t n_prompt;		/* prompt tokens */
	size_t n_eval;			/* of which evaluated (the rest were cached) */
	enum bn_stop_reason why;
	double ms_prompt, ms_gen;	/* prompt evaluation + first pick; the rest */
};

struct bn_infer {
	struct bn_infer_opts o;
	struct bn_model m;
	struct bn_tokenizer *tok;	/* NULL if the model has none */
	struct bn_pool *pool;
	struct bn_state *st;
	struct bn_sampler *smp;
	FILE *out;
	FILE *xs_w, *xs_r;		/* external sampler streams */
	int32_t stop[BN_MAX_STOP + 1];	/* stop ids: the model's, then <|eot_id|> */
	int n_stop, n_stop_model;	/* chat runs use n_stop, others n_stop_model */
	/* per record */
	uint32_t stream;		/* sampler stream / frame rec */
	struct bn_detok dt;
	char *tbuf;			/* text of the current record, NUL-terminated */
	size_t tlen, tcap, emitted;	/* emitted: bytes of tbuf already streamed */
	int esc;			/* stream text escaped (BN_RUN_ESCAPE) */
	int32_t *hist;			/* prompt + generated ids (the KV cache's tokens) */
	size_t nhist, hcap, nprompt;
	double t0, t1;
	int write_err, xs_err;
	struct bn_infer_result res;
	struct bn_chat_tmpl *tmpl;	/* after bn_infer_chat_init */
	char bos[64], eos[64];		/* token strings for the template */
};

/* The model when -m is not given: $BN_MODEL, then share/bn/demo.gguf beside
 * the running binary's directory, then BN_SHAREDIR/demo.gguf.  Static
 * storage. */
const char *bn_infer_default_model(void);

/* Load everything.  Allocates; release with bn_infer_release(). */
int bn_infer_init(struct bn_infer *r, const struct bn_infer_opts *o, FILE *out,
		  struct bn_errbuf *eb);
void bn_infer_release(struct bn_infer *r);

/* Tokens of one input record: text (or ids with o.ids_in), with flags
 * (BN_TOK_*; o.tok_flags for plain prompts).  *ids malloc'd.  Returns BN_OK,
 * BN_TOK_REPLACED (invalid UTF-8 replaced) or < 0. */
int bn_infer_tokens(struct bn_infer *r, const char *text, size_t len, int flags,
		    int32_t **ids, size_t *n, struct bn_errbuf *eb);

/* Chat template: src (NUL-terminated Jinja text), "bitnet" for the built-in
 * BitNet b1.58 2B4T template, or NULL for the model's
 * tokenizer.chat_template, falling back to the built-in one when the model
 * has none.  Sets *builtin when the built-in one is used. */
int bn_infer_chat_init(struct bn_infer *r, const char *src, int *builtin, struct bn_errbuf *eb);
/* Render msgs[0..n) with the generation prompt and encode the text without
 * adding BOS (the template has it).  *ids malloc'd. */
int bn_infer_chat_tokens(struct bn_infer *r, const struct bn_chat_msg *msgs, int n,
			 int32_t **ids, size_t *nids, struct bn_errbuf *eb);

enum { BN_RUN_KEEP = 1, BN_RUN_CHAT = 2, BN_RUN_ESCAPE = 4 };
/* Generate from ids[0..n) with sampler stream `stream`.  Without
 * BN_RUN_KEEP a fresh sequence starts; with it the longest prefix of ids
 * already in the KV cache is reused (multi-turn chat).  BN_RUN_CHAT also
 * stops at <|eot_id|> (unless o.ignore_eos).  Text is streamed to out (plain mode) or held
 * for bn_infer_json (jsonl); logits mode writes frames.  BN_RUN_ESCAPE streams
 * the text through bn_escape_write, so a record stays on one line.  Sets r->res. */
int bn_infer_run(struct bn_infer *r, const int32_t *ids, size_t n, uint32_t stream, int flags,
		 struct bn_errbuf *eb);
/* The generated text (valid until the next run) and ids. */
const char *bn_infer_text(const struct bn_infer *r, size_t *len);
const int32_t *bn_infer_ids(const struct bn_infer *r, int *n);
/* Append the members "text","ids","n_prompt","n_gen","stop_reason" and,
 * unless o.no_timings, "ms_prompt","ms_gen" (no braces, no leading comma). */
void bn_infer_json(const struct bn_infer *r, struct bn_buf *b);

/* External sampler: spawn `sh -c cmd` with its stdin and stdout on pipes
 * and fill *in_fd (its answers) and *out_fd (frames to it).  */
int bn_infer_spawn(const char *cmd, int *in_fd, int *out_fd, pid_t *pid,
		   struct bn_errbuf *eb);

/* Perplexity of one text: ids[0..n) truncated to the context; NLL summed
 * over positions 1..n-1.  *nll and *count are the sums for this text;
 * *nll2 (may be NULL) the sum of squares.  first: score only predictions
 * of ids[first+1..]; 0 for all. */
int bn_infer_nll(struct bn_infer *r, const int32_t *ids, size_t n, size_t first, double *nll,
		 double *nll2, size_t *count, struct bn_errbuf *eb);

/* Output of a run: standard output ("-") or a file written atomically
 * (temp + rename; zstd-compressed when the name ends in .zst), as a FILE. */
struct bn_outfile {
	FILE *fp;
	struct bn_writer *w;	/* NULL for standard output */
	struct bn_errbuf eb;	/* the writer's last error */
};
int bn_outfile_open(struct bn_outfile *o, const char *path, struct bn_errbuf *eb);
/* ok: commit the file; !ok: remove it.  Returns the commit's result. */
int bn_outfile_close(struct bn_outfile *o, int ok, struct bn_errbuf *eb);

/* Monotonic milliseconds. */
double bn_now_ms(void);

#endif
