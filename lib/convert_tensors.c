/* convert_tensors.c - weight transforms for bn-convert: HF packed ternary
 * unpacking, absmean quantization of master weights, row type conversion,
 * and the GGUF metadata/tensor table shared by real and synthetic models. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert_int.h"
#include "kernels.h"

const char *const bn_proj_names[7] = {
	"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
};

/* HF pack_weights: packed[r, c] bits 2i+1:2i hold W[i*R + r, c] + 1, R = out/4. */
int bn_unpack_hf(const struct bn_st_tensor *t, int in, int out, int8_t *w,
		 struct bn_errbuf *eb)
{
	int R = out / 4, r, c, i;

	if (out % 4 || t->ndim != 2 || t->shape[0] != R || t->shape[1] != in)
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' has shape [%lld, %lld], expected "
			       "packed [%d, %d]", t->file, t->name, (long long)t->shape[0],
			       t->ndim > 1 ? (long long)t->shape[1] : 0LL, R, in);
	for (r = 0; r < R; r++)
		for (c = 0; c < in; c++) {
			uint8_t b = t->data[(size_t)r * in + c];
			for (i = 0; i < 4; i++) {
				int code = (b >> (2 * i)) & 3;
				if (code == 3)
					return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' holds the invalid "
						       "ternary code 3 at [%d, %d]", t->file, t->name, r, c);
				w[(size_t)(i * R + r) * in + c] = (int8_t)(code - 1);
			}
		}
	return BN_OK;
}

int bn_absmean_quant(const struct bn_st_tensor *t, int8_t *w, float *scale,
		     struct bn_errbuf *eb)
{
	double sum = 0;
	float mean, sw;
	size_t i;

	for (i = 0; i < t->numel; i++) {
		float v = bn_st_getf(t, i);
		if (!isfinite(v))
			return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' holds a non-finite value",
				       t->file, t->name);
		sum += fabsf(v);
	}
	mean = t->numel ? (float)(sum / (double)t->numel) : 0.0f;
	sw = 1.0f / fmaxf(mean, 1e-5f);
	for (i = 0; i < t->numel; i++) {
		float q = rintf(bn_st_getf(t, i) * sw);
		w[i] = (int8_t)(q > 1 ? 1 : q < -1 ? -1 : q);
	}
	*scale = 1.0f / sw;
	return BN_OK;
}

int bn_float_ternary(const struct bn_st_tensor *t, int8_t *w, float *c, struct bn_errbuf *eb)
{
	size_t i;

	*c = 1.0f;
	for (i = 0; i < t->numel; i++)
		if (bn_st_getf(t, i) != 0.0f) {
			*c = fabsf(bn_st_getf(t, i));
			break;
		}
	for (i = 0; i < t->numel; i++) {
		float v = bn_st_getf(t, i);
		if (!isfinite(v))
			return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' holds a non-finite value",
				       t->file, t->name);
		if (v != 0.0f && fabsf(v) != *c)
			return bn_fail(eb, BN_EUNSUP, "%s: tensor '%s' holds %g and %g: float weights "
				       "in quantization_mode offline are used as stored, and bn needs "
				       "them ternary (0 and +-c)", t->file, t->name, (double)*c,
				       (double)v);
		w[i] = (int8_t)(v > 0 ? 1 : v < 0 ? -1 : 0);
	}
	return BN_OK;
}

int bn_convert_row(uint32_t type, const float *src, int n, uint8_t *dst)
{
	int i, b;

	switch (type) {
	case BN_TYPE_F32:
		memcpy(dst, src, (size_t)n * 4);
		return BN_OK;
	case BN_TYPE_F16:
	case BN_TYPE_BF16:
		for (i = 0; i < n; i++) {
			uint16_t h = type == BN_TYPE_F16 ? bn_f32_to_f16(src[i]) : bn_f32_to_bf16(src[i]);
			dst[2 * i] = (uint8_t)h;
			dst[2 * i + 1] = (uint8_t)(h >> 8);
		}
		return BN_OK;
	case BN_TYPE_Q8_0:	/* ggml q8_0: d = amax/127, q = round(x/d) */
		if (n % 32)
			return BN_EINVAL;
		for (b = 0; b < n / 32; b++, src += 32, dst += 34) {
			float amax = 0, d, id;
			uint16_t h;
			for (i = 0; i < 32; i++)
				amax = fmaxf(amax, fabsf(src[i]));
			d = amax / 127.0f;
			id = d ? 1.0f / d : 0.0f;
			h = bn_f32_to_f16(d);
			dst[0] = (uint8_t)h;
			dst[1] = (uint8_t)(h >> 8);
			for (i = 0; i < 32; i++)
				dst[2 + i] = (uint8_t)(int8_t)roundf(src[i] * id);
		}
		return BN_OK;
	}
	return BN_EINVAL;
}

int bn_convert_meta(struct bn_gguf_writer *w, const struct bn_config *c, const char *name,
		    const char *tok_json, size_t tok_len, const char *chat_template)
{
	int rc = 0;

	rc |= bn_gguf_add_str(w, "general.architecture", BN_ARCH, strlen(BN_ARCH));
	rc |= bn_gguf_add_str(w, "general.name", name, strlen(name));
	rc |= bn_gguf_add_u32(w, "bn.format_version", 1);
	rc |= bn_gguf_add_u32(w, BN_ARCH ".vocab_size", (uint32_t)c->n_vocab);
	rc |= bn_gguf_add_u32(w, BN_ARCH ".embedding_length", (uint32_t)c->dim);
	rc |= bn_gguf_add_u32(w, BN_ARCH ".block_count", (uint32_t)c->n_layers);
	rc |= bn_gguf_add_u32(w, BN_ARCH ".feed_forward_length", (uint32_t)c->ffn_dim);
	rc |= bn_gguf_add_u32(w, BN_ARCH ".attention.head_count", (uint32_t)c->n_heads);
	rc |= bn_gguf_add_u32(w, BN_ARCH ".attention.head_count_kv", (uint32_t)c->n_kv_heads);
	rc |= bn_gguf_add_u32(w, BN_ARCH ".attention.key_length", (uint32_t)c->head_dim);
	rc |= bn_gguf_add_u32(w, BN_ARCH ".context_length", (uint32_t)c->ctx_max);
	rc |= bn_gguf_add_f32(w, BN_ARCH ".rope.freq_base", c->rope_theta);
	rc |= bn_gguf_add_f32(w, BN_ARCH ".attention.layer_norm_rms_epsilon", c->norm_eps);
	if (c->bos >= 0)
		rc |= bn_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)c->bos);
	if (c->n_stop) {
		rc |= bn_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)c->stop[0]);
		rc |= bn_gguf_add_i32s(w, "bn.stop_token_ids", c->stop, (size_t)c->n_stop);
	}
	if (tok_json)
		rc |= bn_gguf_add_str(w, "tokenizer.huggingface.json", tok_json, tok_len);
	if (chat_template)
		rc |= bn_gguf_add_str(w, "tokenizer.chat_template", chat_template,
				      strlen(chat_template));
	return rc ? BN_ENOMEM : BN_OK;
}

/* Order: token_embd, [output], output_norm, then per layer: 4 norms, then
 * 7 x (weight, scale).  Writers must produce data in exactly this order. */
int bn_convert_declare(struct bn_gguf_writer *w, const struct bn_config *c, uint32_t embd_type)
{
	uint64_t d2[2] = { (uint64_t)c->dim, (uint64_t)c->n_vocab }, d1[1], one[1] = { 1 };
	int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim, l, p, rc = 0;
	int ins[7] = { c->dim, c->dim, c->dim, qd, c->dim, c->dim, c->ffn_dim };
	int outs[7] = { qd, kvd, kvd, c->dim, c->ffn_dim, c->ffn_dim, c->dim };
	char name[96];

	rc |= bn_gguf_add_tensor(w, "token_embd.weight", embd_type, d2, 2);
	if (!c->tied)
		rc |= bn_gguf_add_tensor(w, "output.weight", embd_type, d2, 2);
	d1[0] = (uint64_t)c->dim;
	rc |= bn_gguf_add_tensor(w, "output_norm.weight", BN_TYPE_F32, d1, 1);
	for (l = 0; l < c->n_layers; l++) {
		static const char *const norms[4] = { "attn_norm", "ffn_norm", "attn_sub_norm",
						      "ffn_sub_norm" };
		int nd[4] = { c->dim, c->dim, qd, c->ffn_dim };
		for (p = 0; p < 4; p++) {
			snprintf(name, sizeof(name), "blk.%d.%s.weight", l, norms[p]);
			d1[0] = (uint64_t)nd[p];
			rc |= bn_gguf_add_tensor(w, name, BN_TYPE_F32, d1, 1);
		}
		for (p = 0; p < 7; p++) {
			uint64_t d[2] = { (uint64_t)ins[p], (uint64_t)outs[p] };
			snprintf(name, sizeof(name), "blk.%d.%s.weight", l, bn_proj_names[p]);
			rc |= bn_gguf_add_tensor(w, name, BN_TYPE_T2, d, 2);
			snprintf(name, sizeof(name), "blk.%d.%s.scale", l, bn_proj_names[p]);
			rc |= bn_gguf_add_tensor(w, name, BN_TYPE_F32, one, 1);
		}
	}
	return rc ? BN_EINVAL : BN_OK;
}
