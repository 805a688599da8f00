/* interop.h - GGUF files of other BitNet b1.58 engines <-> bn models.
 *
 * Import (foreign GGUF -> bn model, docs/bn-model.5):
 *   - llama.cpp, general.architecture "bitnet": projection weights TQ2_0 or
 *     TQ1_0 (256-weight blocks, one f16 scale d per block), or float tensors
 *     holding only {-a, 0, +a}; optional blk.N.<proj>.scale [1] tensors
 *     multiply the product.  bn keeps one scale per matrix, so every block
 *     that holds a non-zero weight must carry the same d; otherwise the
 *     import fails (requantizing would change what the model computes).
 *   - bitnet.cpp, general.architecture "bitnet-b1.58" (without bn's
 *     bn.format_version key): I2_S weights, n/4 bytes of 2-bit codes in
 *     128-weight blocks (byte g holds weights g, g+32, g+64, g+96 in bits
 *     7:6, 5:4, 3:2, 1:0; code 0 -> -1, 1 -> 0, 2 -> +1) then a 32-byte tail
 *     whose first 4 bytes are the f32 scale of the whole tensor.
 *   Sub-norms may use the older names blk.N.inner_attn_ln / ffn_layernorm.
 *   The tokenizer.ggml.* vocabulary (BPE "gpt2" with pre-tokenizer
 *   "llama-bpe" or "gpt-2") is rebuilt as a Hugging Face tokenizer.json.
 *
 * Export (bn model -> foreign GGUF):
 *   - BN_EXPORT_LLAMACPP: arch "bitnet", TQ2_0 blocks with d = 1 plus an f32
 *     blk.N.<proj>.scale [1] tensor (exact); rows whose length is not a
 *     multiple of 256 are written as f16 ternary values (also exact).
 *   - BN_EXPORT_I2S: bitnet.cpp's arch "bitnet-b1.58" with I2_S weights
 *     (rows must be a multiple of 128 weights).
 *   Both carry tokenizer.ggml.* keys built from the model's tokenizer.json.
 *
 * Caveat for users (printed by bn-convert --to, and in bn-convert(1)):
 * upstream llama.cpp's "bitnet" graph and bitnet.cpp's pinned fork build the
 * FFN with SiLU instead of relu^2 (microsoft/BitNet #588, #602), so they do
 * not compute BitNet b1.58 2B4T correctly even though the file is exact. */
#ifndef BN_INTEROP_H
#define BN_INTEROP_H

#include <stdio.h>

#include "bn.h"
#include <cjson/cJSON.h>

#include "convert.h"
#include "gguf.h"
#include "model.h"

/* 1 if g is a bn model (arch BN_ARCH with bn.format_version), else 0. */
int bn_gguf_is_native(const struct bn_gguf *g);
/* 1 if g is a BitNet GGUF of llama.cpp or bitnet.cpp that bn can import. */
int bn_gguf_is_foreign_bitnet(const struct bn_gguf *g);

/* Import a foreign GGUF image buf[0..size) (name is used in messages) as a
 * bn GGUF stream on fp.  The embedding keeps its type (f32, f16, bf16 or
 * q8_0; others are BN_EUNSUP).  Warnings go to o->warn. */
int bn_convert_gguf(const uint8_t *buf, size_t size, const char *name,
		    const struct bn_convert_opts *o, FILE *fp, struct bn_errbuf *eb);
/* Same into a malloc'd buffer (caller frees). */
int bn_convert_gguf_mem(const uint8_t *buf, size_t size, const char *name,
			const struct bn_convert_opts *o, uint8_t **out, size_t *out_size,
			struct bn_errbuf *eb);

enum bn_export_fmt { BN_EXPORT_LLAMACPP, BN_EXPORT_I2S };

/* Write model m as a GGUF for llama.cpp or bitnet.cpp on fp. */
int bn_export_gguf(const struct bn_model *m, enum bn_export_fmt fmt,
		   const struct bn_convert_opts *o, FILE *fp, struct bn_errbuf *eb);

/* Build a Hugging Face tokenizer.json from g's tokenizer.ggml.* keys.
 * *json is malloc'd and NUL-terminated (caller frees).  BN_ENOENT when g
 * has no tokenizer.ggml.tokens, BN_EUNSUP for a vocabulary type bn cannot
 * run (e.g. SentencePiece "llama"), BN_EFORMAT when malformed.  *note (may
 * be NULL) is set to a static remark worth a warning, or NULL. */
/* A byte-level BPE tokenizer.json skeleton (no post-processor, empty model
 * vocabulary): the Llama 3 Split + ByteLevel pre-tokenizer when llama3, else
 * GPT-2's ByteLevel; *model is the "model" object to fill.  Caller deletes. */
cJSON *bn_tok_json_base(int llama3, cJSON **model);
int bn_tok_json_from_ggml(const struct bn_gguf *g, const char *name, char **json,
			  const char **note, struct bn_errbuf *eb);

#endif
