/* ppl.h - perplexity over a text file, two ways.
 *
 * Line mode: every non-empty line is scored on its own as BOS + its tokens
 * (truncated to the context); prints "LINE<TAB>PPL<TAB>TOKENS" per line and
 * "total<TAB>PPL<TAB>TOKENS" (JSON objects with jsonl).
 *
 * Chunk mode (llama-perplexity's method): the whole file is tokenized with
 * BOS, cut into chunks of n_ctx tokens whose first token is replaced by BOS,
 * and only the second half of each window is scored (predictions of tokens
 * n_ctx/2+1 .. n_ctx-1).  Needs 2 * n_ctx tokens.  Prints
 * "Final estimate: PPL = X +/- Y", Y being the standard error of the mean
 * NLL times PPL (a JSON object with jsonl). */
#ifndef BN_PPL_H
#define BN_PPL_H

#include "infer.h"
#include "textio.h"

struct bn_ppl_opts {
	int chunks;		/* chunk mode */
	int max_chunks;		/* chunk mode: at most this many (0: all) */
	int jsonl;
	/* after each line / chunk: units done, of total (0: unknown), tokens
	 * scored so far, running perplexity */
	void (*on_progress)(void *ctx, size_t done, size_t total, size_t tokens, double ppl);
	void *ctx;
};

/* Score in, writing to r->out.  Errors name the input; scoring no token at
 * all (no non-empty line, too small a context) is one: there is no
 * perplexity of nothing. */
int bn_ppl_run(struct bn_infer *r, struct bn_reader *in, const struct bn_ppl_opts *o,
	       struct bn_errbuf *eb);

#endif
