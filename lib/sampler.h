/* sampler.h - next-token sampling with llama.cpp's chain and defaults.
 *
 * The chain, applied in this order to one vector of logits:
 *
 *   penalties  over the last repeat_last_n accepted ids: a logit of a token
 *              seen c > 0 times is divided by repeat_penalty when positive,
 *              multiplied by it when <= 0, then decreased by
 *              c * freq_penalty + presence_penalty
 *   top-k      keep the k highest logits (k <= 0: off)
 *   typical    locally typical sampling (typical >= 1: off)
 *   top-p      keep the smallest highest-first prefix whose probability
 *              reaches top_p (top_p >= 1: off)
 *   min-p      keep tokens with p >= min_p * p_max (min_p <= 0: off)
 *   temp       divide the logits by temp, softmax, draw one id
 *
 * Top-k, typical, top-p and min-p see the penalised logits at temperature 1,
 * as in llama.cpp, where temperature is the last step before the draw.
 * temp <= 0 is greedy: the argmax of the penalised logits (ties: lowest id),
 * skipping the truncation steps.  Ties anywhere are broken by the lower id,
 * so a result never depends on sort stability.  NaN logits count as -inf and
 * +inf as FLT_MAX; if every candidate is -inf the draw is uniform.
 *
 * Randomness is counter based: draw number n (0-based, one per
 * bn_sampler_sample call since the last reset) of stream key K is
 * splitmix64's n-th output, fmix64(K + (n + 1) * 0x9e3779b97f4a7c15), turned
 * into a double in [0, 1) from its top 53 bits.  The key for a record is
 * bn_seed_for_record(seed, record), so a record's ids depend only on the
 * seed, the record and its logits, never on threads, batching or sharding.
 */
#ifndef BN_SAMPLER_H
#define BN_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "bn.h"

#define BN_SEED_DEFAULT 42u		/* llama.cpp's default is random; ours is fixed */
#define BN_REPEAT_LAST_N_MAX (1 << 20)

struct bn_sampler_params {
	float temp;		/* 0.8; <= 0 greedy */
	float top_p;		/* 0.95; >= 1 off */
	float min_p;		/* 0.05; <= 0 off */
	float typical;		/* 1.0 (off); >= 1 off */
	float repeat_penalty;	/* 1.0 (off); must be > 0 */
	float freq_penalty;	/* 0 */
	float presence_penalty;	/* 0 */
	int top_k;		/* 40; <= 0 off */
	int repeat_last_n;	/* 64; 0 = no penalty history; 0..BN_REPEAT_LAST_N_MAX
				 * (llama.cpp's -1 "context size" is the caller's job) */
	uint64_t seed;		/* BN_SEED_DEFAULT */
};

/* Fill p with llama.cpp's defaults and BN_SEED_DEFAULT. */
void bn_sampler_params_default(struct bn_sampler_params *p);
/* BN_OK, or BN_EINVAL with a message naming the bad field (NaN, infinite
 * values, repeat_penalty <= 0, repeat_last_n out of range). */
int bn_sampler_params_check(const struct bn_sampler_params *p, struct bn_errbuf *eb);

struct bn_sampler;

/* Allocates the sampler and all its scratch (20 bytes per vocabulary
 * entry plus the history); no later call allocates.  Starts as after
 * bn_sampler_reset(s, 0).  Returns BN_OK, BN_EINVAL (bad params or n_vocab
 * outside 1..2^24) or BN_ENOMEM.  Caller frees with bn_sampler_free(). */
int bn_sampler_new(struct bn_sampler **out, const struct bn_sampler_params *p, int n_vocab);
void bn_sampler_free(struct bn_sampler *s);	/* NULL-safe */

/* New record: clears the penalty history, draw counter to 0, stream key
 * bn_seed_for_record(params.seed, stream). */
void bn_sampler_reset(struct bn_sampler *s, uint64_t stream);
/* Add id to the penalty history (prompt tokens too, and each sampled id:
 * bn_sampler_sample does not accept by itself).  Ids outside 0..n_vocab-1
 * are ignored. */
void bn_sampler_accept(struct bn_sampler *s, int32_t id);
/* Run the chain on logits[0..n_vocab) and return the chosen id.  Applies the
 * penalties to logits in place; the rest happens in the sampler's scratch.
 * Uses exactly one draw of the stream, also when greedy. */
int32_t bn_sampler_sample(struct bn_sampler *s, float *logits);

/* The chain without the draw: penalties (in place, as above) and
 * truncation, then the survivors' ids in the chain's final order and their
 * probabilities at temperature temp into ids[] and probs[] (room for n_vocab
 * each).  Returns how many.  Greedy gives the argmax with probability 1.
 * Uses no draw and does not touch the history: for tests and for showing
 * the final distribution (on a copy of the logits if they are to be sampled
 * too, or the penalties apply twice). */
int bn_sampler_apply(struct bn_sampler *s, float *logits, int32_t *ids, float *probs);

/* Record switching for interleaved streams (e.g. a batch): the state is the
 * stream key, the draw counter and the history; bn_sampler_state_size bytes,
 * plain memory the caller owns.  Load only what the same sampler saved. */
size_t bn_sampler_state_size(const struct bn_sampler *s);
void bn_sampler_state_save(const struct bn_sampler *s, void *buf);
void bn_sampler_state_load(struct bn_sampler *s, const void *buf);

/* The k most likely ids of the raw distribution softmax(logits) (ties:
 * lowest id), best first, with their natural-log probabilities, into ids[k]
 * and lp[k].  Allocates nothing.  Returns min(k, n_vocab), or BN_EINVAL. */
int bn_sampler_topk_logprobs(const float *logits, int n_vocab, int k, int32_t *ids, float *lp);
/* log(sum(exp(logits))) over n entries, NaN counting as -inf. */
double bn_logsumexp(const float *logits, int n);

/* Stream key of record rec: fmix64(seed ^ (rec * 0xd1342543de82ef95 +
 * 0x9e3779b97f4a7c15)), a bijection of rec for a fixed seed. */
uint64_t bn_seed_for_record(uint64_t seed, uint64_t rec);
/* 64-bit FNV-1a of a NUL-terminated string, then fmix64: a record number for
 * a string id (e.g. a JSONL record's "id"). */
uint64_t bn_hash_str(const char *s);
/* splitmix64's finaliser (Stafford's variant 13), exposed for tests. */
uint64_t bn_fmix64(uint64_t z);
/* Draw n of stream key as a double in [0, 1). */
double bn_rng_uniform(uint64_t key, uint64_t n);

#endif
