/* convert.h - Hugging Face BitNet checkpoint -> bn GGUF model (docs/bn-model.5).
 *
 * Reads config.json, generation_config.json (optional), tokenizer.json,
 * tokenizer_config.json (optional) and model.safetensors (or shards).
 * Projection weights are either packed U8 ternary (4 per byte, row blocks,
 * with a per-matrix weight_scale: multiplied for linear_class autobitlinear,
 * divided for bitlinear) or, for autobitlinear, float weights (BF16/F16/F32):
 * quantized with absmean exactly as transformers' WeightQuant does in
 * quantization_mode online, used as stored (ternary) times weight_scale
 * offline.  Config keys follow transformers' BitNetConfig (docs/bn-convert.1,
 * CHECKPOINTS). */
#ifndef BN_CONVERT_H
#define BN_CONVERT_H

#include <stdio.h>

#include "bn.h"

struct bn_convert_opts {
	uint32_t embd_type;	/* BN_EMBD_AUTO (default), BN_TYPE_F16, BF16, F32, Q8_0 */
	/* progress callback: tensors done / total, bytes written; may be NULL */
	void (*progress)(void *ctx, int done, int total, uint64_t bytes);
	void *progress_ctx;
	/* warnings (e.g. an all-zero ternary tensor): one line each; may be NULL */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

/* The default embedding type: the first of f16, bf16, f32 that holds every
 * value of the checkpoint's embedding (and untied head) exactly; f16 for
 * synthetic models. */
#define BN_EMBD_AUTO 0xffffffffu

void bn_convert_opts_default(struct bn_convert_opts *o);
/* Convert dir into a GGUF stream on fp. */
int bn_convert_hf(const char *dir, const struct bn_convert_opts *o, FILE *fp,
		  struct bn_errbuf *eb);
/* Run write(ctx, fp, eb) into a malloc'd buffer (caller frees *buf). */
int bn_convert_to_mem(int (*write)(void *ctx, FILE *fp, struct bn_errbuf *eb), void *ctx,
		      const char *name, uint8_t **buf, size_t *size, struct bn_errbuf *eb);
/* Same into a malloc'd buffer (caller frees). */
int bn_convert_hf_mem(const char *dir, const struct bn_convert_opts *o, uint8_t **buf,
		      size_t *size, struct bn_errbuf *eb);

/* Synthetic model with random ternary weights for benchmarks.  shape is one
 * of 2b4t, 125m, 350m, 700m (= 1b), 3b8, 7b, or "tiny"; seed selects
 * the weights. */
int bn_convert_synthetic(const char *shape, uint64_t seed, const struct bn_convert_opts *o,
			 FILE *fp, struct bn_errbuf *eb);
/* Whether shape names one; the names, ", "-separated, into buf (n bytes). */
int bn_synthetic_known(const char *shape);
void bn_synthetic_list(char *buf, size_t n);

#endif
