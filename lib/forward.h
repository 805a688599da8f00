/* forward.h - the BitNet b1.58 forward pass over a KV cache.
 *
 * All buffers (activations, KV cache, scratch) are allocated once by
 * bn_state_new() from the model config, n_ctx and n_batch; bn_eval() never
 * allocates.  Math follows docs/bitnet-spec.md section 5 in float32: RMSNorm,
 * per-token absmax int8 activations (round half to even), exact ternary
 * integer products scaled by acc / s * scale, NeoX RoPE, GQA causal softmax
 * attention, subln norms, relu^2 FFN, dense output head. */
#ifndef BN_FORWARD_H
#define BN_FORWARD_H

#include "model.h"
#include "threads.h"

enum bn_logits_mode { BN_LOGITS_NONE, BN_LOGITS_LAST, BN_LOGITS_ALL };

/* Called with the logits (n_vocab floats, valid during the call) of the
 * token at index i of the batch passed to bn_eval.  Non-zero return stops
 * the evaluation and is returned by bn_eval. */
typedef int (*bn_logits_fn)(void *ctx, int i, const float *logits);

struct bn_state;

/* Keys are cached transposed in blocks of this many positions (forward.c):
 * attn_qk reads one block per call. */
#define BN_KV_BLOCK 64

/* Allocates; free with bn_state_free().  n_ctx: KV cache length
 * (1..BN_CTX_LIMIT; past the model's training context RoPE goes on as
 * defined); n_batch: tokens per forward chunk; pool: threads to use
 * (borrowed, may be NULL for one thread). */
int bn_state_new(struct bn_state **out, const struct bn_model *m, int n_ctx, int n_batch,
		 struct bn_pool *pool, struct bn_errbuf *eb);
/* The same with the KV cache in kv_type: BN_TYPE_F32 (bn_state_new) or
 * BN_TYPE_F16, half the memory, keys and values rounded to f16 (nearest
 * even) as they are stored; attention reads them back exactly. */
int bn_state_new_kv(struct bn_state **out, const struct bn_model *m, int n_ctx, int n_batch,
		    int kv_type, struct bn_pool *pool, struct bn_errbuf *eb);
void bn_state_free(struct bn_state *s);
/* Current position (tokens in the KV cache). */
int bn_state_pos(const struct bn_state *s);
/* Forget the cache from position pos on (0 = start a new sequence). */
void bn_state_rewind(struct bn_state *s, int pos);
int bn_state_ctx(const struct bn_state *s);
/* Bytes of KV cache allocated. */
size_t bn_state_kv_bytes(const struct bn_state *s);
int bn_state_vocab(const struct bn_state *s);
/* Position of tok[0] of the bn_eval call in progress (for logits callbacks). */
int bn_state_eval_pos(const struct bn_state *s);

/* Evaluate T tokens at the current position; fails with BN_ERANGE when the
 * context is full and BN_EINVAL for an id outside the vocabulary. */
int bn_eval(struct bn_state *s, const int32_t *tok, int T, enum bn_logits_mode mode,
	    bn_logits_fn fn, void *ctx, struct bn_errbuf *eb);

#endif
