/* batch.h - bn-infer's record loop: prompts one per line or JSON Lines
 * records ({"id":..., "prompt":...} or {"id":..., "messages":[...]}),
 * sharding, resuming, per-record errors, and interactive chat.
 *
 * Record numbering: every record of the whole input counts (blank lines in
 * JSON Lines mode do not), from 0, before sharding.  Record i belongs to
 * shard (i mod N) + 1.  A record's sampler stream (and the rec of its
 * logits frames) is the low 32 bits of bn_hash_str(id) when it has an "id"
 * (the string itself for a string id, else the id's compact JSON text),
 * else i: so output depends neither on threads nor on sharding. */
#ifndef BN_BATCH_H
#define BN_BATCH_H

#include <stdint.h>
#include <stdio.h>

#include "infer.h"
#include "textio.h"

struct bn_batch_stats {
	uint64_t records;	/* input records seen */
	uint64_t done;		/* run in this shard (ok or failed) */
	uint64_t failed;
	uint64_t skipped;	/* already in the --resume file */
	uint64_t tokens;	/* prompt + generated */
	double t0;		/* bn_now_ms() at the start */
};

struct bn_batch_opts {
	int chat;		/* prompts are user turns of a chat */
	const char *system;	/* system message for chat prompts, or NULL */
	int shard_k, shard_n;	/* 1 <= k <= n; n = 0: no sharding */
	const char *resume;	/* skip ids present in this JSONL file, or NULL */
	/* per-record failure (where: "FILE:LINE"), and progress after each record */
	void (*on_error)(void *ctx, const char *where, const char *msg);
	void (*on_progress)(void *ctx, const struct bn_batch_stats *st);
	void *ctx;
};

struct bn_batch;

/* Allocates (and reads the --resume file); free with bn_batch_free(). */
int bn_batch_new(struct bn_batch **out, struct bn_infer *r, const struct bn_batch_opts *o,
		 struct bn_errbuf *eb);
void bn_batch_free(struct bn_batch *b);	/* NULL-safe */
/* Every record of in.  Per-record failures are reported in the output
 * (JSON: {"id":...,"error":"..."}) and through on_error, and counted; only
 * input and output failures return < 0. */
int bn_batch_run(struct bn_batch *b, struct bn_reader *in, struct bn_errbuf *eb);
/* One record given as text (-p): a prompt, never parsed as JSON. */
int bn_batch_prompt(struct bn_batch *b, const char *text, size_t len, struct bn_errbuf *eb);
const struct bn_batch_stats *bn_batch_stats(const struct bn_batch *b);

/* Interactive chat: read user turns, one per line, from in; before each,
 * write prompt (if not NULL) to pfp and flush.  The reply streams to the
 * output; the KV cache keeps the conversation, so each turn evaluates only
 * its new tokens.  Ends at the end of in. */
int bn_batch_interactive(struct bn_batch *b, FILE *in, FILE *pfp, const char *prompt,
			 struct bn_errbuf *eb);

/* "K/N" with 1 <= K <= N: BN_OK or BN_EINVAL. */
int bn_shard_parse(const char *s, int *k, int *n);
/* Slurm job arrays: task ids MIN..MIN+COUNT-1 (SLURM_ARRAY_TASK_ID, _MIN,
 * _COUNT; MIN 0 when unset) are shards 1..COUNT.  Returns 1 (set), 0 (not
 * in an array job) or BN_EINVAL (the id is outside that range). */
int bn_shard_env(int *k, int *n);
/* Records of shard k/n (n = 0: all) in a file, for an ETA; 0 for standard
 * input or on any error. */
double bn_batch_count(const char *path, int jsonl, int k, int n);
/* "N records (F failed), X tokens/s, ETA h:mm:ss" (ETA when total > 0). */
void bn_batch_progress_text(const struct bn_batch_stats *st, double total, char *buf,
			    size_t cap);

/* Process backslash escapes in place: \n \t \r \\ \' \" \a \b \f \v and
 * \xHH; any other sequence is kept as it is.  Returns the new length. */
size_t bn_unescape(char *s);
/* Its inverse for text that must stay on one line: write p[0..n) with
 * backslash, newline and carriage return as \\, \n and \r.  Returns 0, or
 * -1 on a write error. */
int bn_escape_write(FILE *fp, const char *p, size_t n);

#endif
