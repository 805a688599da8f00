/* generate.h - prompt evaluation and the token-by-token generation loop,
 * shared by bn-infer and bn-bench.  Sampling is a callback, so the loop
 * works the same with the built-in sampler, greedy argmax or an external
 * sampler process. */
#ifndef BN_GENERATE_H
#define BN_GENERATE_H

#include "forward.h"

enum bn_stop_reason { BN_STOP_NONE, BN_STOP_EOS, BN_STOP_LENGTH, BN_STOP_CTX, BN_STOP_USER };

struct bn_gen {
	int n_predict;			/* < 0: until a stop token or the context is full */
	int ignore_eos;
	const int32_t *stop;		/* stop token ids */
	int n_stop;
	/* choose the next token from logits (may modify them) of the token at
	 * position pos; < 0 = error */
	int32_t (*pick)(void *ctx, float *logits, int n_vocab, int pos);
	/* each evaluated position's logits (prompt: last or all, then every
	 * generated step); may be NULL */
	bn_logits_fn on_logits;
	enum bn_logits_mode prompt_logits;
	/* each generated token; non-zero return stops with BN_STOP_USER */
	int (*on_token)(void *ctx, int32_t id);
	void *ctx;
};

/* Evaluate prompt[0..n) from the state's current position, then generate.
 * Fills *reason and *n_gen. */
int bn_generate(struct bn_state *st, const struct bn_gen *g, const int32_t *prompt, int n,
		enum bn_stop_reason *reason, int *n_gen, struct bn_errbuf *eb);

/* Argmax, lowest id on ties. */
int32_t bn_argmax(const float *x, int n);
const char *bn_stop_name(enum bn_stop_reason r);

#endif
