/* interop_export.c - bn models -> GGUF for llama.cpp ("bitnet", TQ2_0) or
 * bitnet.cpp ("bitnet-b1.58", I2_S); see interop.h. */
#include <stdlib.h>
#include <string.h>

#include "convert_int.h"
#include "interop_int.h"
#include "kernels.h"

struct exp {
	const struct bn_model *m;
	enum bn_export_fmt fmt;
	const char *arch;
	int n_f16;		/* matrices written as f16 (rows not a multiple of 256) */
};

static int check(const struct exp *x, struct bn_errbuf *eb)
{
	const struct bn_config *c = &x->m->cfg;
	const char *who = x->fmt == BN_EXPORT_LLAMACPP ? "llama.cpp" : "bitnet.cpp";

	if (!x->m->tok_json)
		return bn_fail(eb, BN_EUNSUP, "the model has no tokenizer, which %s needs", who);
	if (!c->tied)
		return bn_fail(eb, BN_EUNSUP, "the model has its own output.weight; %s's BitNet "
			       "graph always uses the token embedding as the output head", who);
	if (c->n_heads * c->head_dim != c->dim)
		return bn_fail(eb, BN_EUNSUP, "heads x head_dim (%d x %d) differs from the hidden "
			       "size %d, which %s's BitNet graph requires", c->n_heads, c->head_dim,
			       c->dim, who);
	if (x->fmt == BN_EXPORT_I2S && (c->dim % 128 || c->ffn_dim % 128))
		return bn_fail(eb, BN_EUNSUP, "I2_S needs rows that are multiples of 128 weights "
			       "(hidden %d, feed-forward %d)", c->dim, c->ffn_dim);
	return BN_OK;
}

static const struct bn_tlin *proj(const struct bn_layer *l, int p)
{
	const struct bn_tlin *t[7] = { &l->q, &l->k, &l->v, &l->o, &l->gate, &l->up, &l->down };

	return t[p];
}

static uint32_t proj_type(const struct exp *x, const struct bn_tlin *t)
{
	if (x->fmt == BN_EXPORT_I2S)
		return BN_TYPE_I2_S;
	return t->in % 256 ? BN_TYPE_F16 : BN_TYPE_TQ2_0;
}

static int meta(struct exp *x, struct bn_gguf_writer *w, struct bn_errbuf *eb)
{
	const struct bn_config *c = &x->m->cfg;
	const char *nm = "bn model";
	size_t nl = strlen(nm);
	char k[96];
	int rc = 0;

#define U32(key, v) (snprintf(k, sizeof(k), "%s." key, x->arch), bn_gguf_add_u32(w, k, (uint32_t)(v)))
#define F32(key, v) (snprintf(k, sizeof(k), "%s." key, x->arch), bn_gguf_add_f32(w, k, (v)))
	bn_gguf_get_str(&x->m->g, "general.name", &nm, &nl);
	rc |= bn_gguf_add_str(w, "general.architecture", x->arch, strlen(x->arch));
	rc |= bn_gguf_add_str(w, "general.name", nm, nl);
	rc |= bn_gguf_add_u32(w, "general.quantization_version", 2);
	rc |= U32("vocab_size", c->n_vocab);
	rc |= U32("context_length", c->ctx_max);
	rc |= U32("embedding_length", c->dim);
	rc |= U32("block_count", c->n_layers);
	rc |= U32("feed_forward_length", c->ffn_dim);
	rc |= U32("attention.head_count", c->n_heads);
	rc |= U32("attention.head_count_kv", c->n_kv_heads);
	rc |= U32("attention.key_length", c->head_dim);
	rc |= U32("attention.value_length", c->head_dim);
	rc |= U32("rope.dimension_count", c->head_dim);
	rc |= F32("rope.freq_base", c->rope_theta);
	rc |= F32("attention.layer_norm_rms_epsilon", c->norm_eps);
#undef U32
#undef F32
	/* bn's marker: the FFN is relu^2 (2B4T), not 1bitLLM's SiLU */
	rc |= bn_gguf_add_str(w, "bn.hidden_act", "relu2", 5);
	if (x->m->chat_template)
		rc |= bn_gguf_add_str(w, "tokenizer.chat_template", x->m->chat_template,
				      strlen(x->m->chat_template));
	if (rc)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	return bn_interop_tok_keys(w, x->m->tok_json, x->m->tok_json_len, c, "tokenizer", eb);
}

static int declare(struct exp *x, struct bn_gguf_writer *w)
{
	const struct bn_config *c = &x->m->cfg;
	uint64_t d2[2] = { (uint64_t)c->dim, (uint64_t)c->n_vocab }, d1[1], one[1] = { 1 };
	static const char *const norms[4] = { "attn_norm", "ffn_norm", "attn_sub_norm",
					      "ffn_sub_norm" };
	int nd[4] = { c->dim, c->dim, c->dim, c->ffn_dim }, l, p, rc = 0;
	char name[96];

	rc |= bn_gguf_add_tensor(w, "token_embd.weight", x->m->embd.type, d2, 2);
	d1[0] = (uint64_t)c->dim;
	rc |= bn_gguf_add_tensor(w, "output_norm.weight", BN_TYPE_F32, d1, 1);
	for (l = 0; l < c->n_layers; l++) {
		for (p = 0; p < 4; p++) {
			snprintf(name, sizeof(name), "blk.%d.%s.weight", l, norms[p]);
			d1[0] = (uint64_t)nd[p];
			rc |= bn_gguf_add_tensor(w, name, BN_TYPE_F32, d1, 1);
		}
		for (p = 0; p < 7; p++) {
			const struct bn_tlin *t = proj(&x->m->layers[l], p);
			uint64_t d[2] = { (uint64_t)t->in, (uint64_t)t->out };
			snprintf(name, sizeof(name), "blk.%d.%s.weight", l, bn_proj_names[p]);
			rc |= bn_gguf_add_tensor(w, name, proj_type(x, t), d, 2);
			if (x->fmt != BN_EXPORT_LLAMACPP)
				continue;
			snprintf(name, sizeof(name), "blk.%d.%s.scale", l, bn_proj_names[p]);
			rc |= bn_gguf_add_tensor(w, name, BN_TYPE_F32, one, 1);
		}
	}
	return rc ? BN_EINVAL : BN_OK;
}

/* Encode one matrix; buf holds bn_gguf_tensor_bytes(). */
static void encode(struct exp *x, const struct bn_tlin *t, uint8_t *buf, int8_t *row)
{
	uint32_t ty = proj_type(x, t);
	size_t rb = t->row_bytes, r, k;
	int i;

	for (r = 0; r < (size_t)t->out; r++) {
		const uint8_t *src = t->w + r * rb;
		if (ty == BN_TYPE_TQ2_0) {	/* same bytes per 128 weights, d = 1 */
			uint8_t *dst = buf + r * ((size_t)t->in / 256 * 66);
			for (k = 0; k < (size_t)t->in / 256; k++, dst += 66) {
				memcpy(dst, src + k * 64, 64);
				dst[64] = 0x00;
				dst[65] = 0x3c;
			}
		} else if (ty == BN_TYPE_F16) {
			uint8_t *dst = buf + r * (size_t)t->in * 2;
			bn_t2_unpack_row(src, t->in, row);
			for (i = 0; i < t->in; i++) {
				dst[2 * i] = 0;
				dst[2 * i + 1] = row[i] ? (row[i] > 0 ? 0x3c : 0xbc) : 0;
			}
		} else {	/* I2_S: the 2-bit fields of each byte in reverse order */
			uint8_t *dst = buf + r * ((size_t)t->in / 4);
			for (k = 0; k < (size_t)t->in / 4; k++) {
				uint8_t b = src[k];
				dst[k] = (uint8_t)((b & 3) << 6 | (b >> 2 & 3) << 4 | (b >> 4 & 3) << 2 |
						   b >> 6);
			}
		}
	}
	if (ty == BN_TYPE_I2_S) {	/* tail: the f32 scale, then padding */
		uint8_t *tail = buf + (size_t)t->out * t->in / 4;
		memset(tail, 0, 32);
		memcpy(tail, &t->scale, 4);
	}
}

static int data(struct exp *x, struct bn_gguf_writer *w, FILE *fp, const struct bn_convert_opts *o,
		struct bn_errbuf *eb)
{
	const struct bn_model *m = x->m;
	const struct bn_config *c = &m->cfg;
	size_t mx = 0;
	uint8_t *buf = NULL;
	int8_t *row = malloc((size_t)BN_MAX(c->dim, c->ffn_dim));
	int ti = 0, l, p, rc = BN_OK;
	int total = 2 + c->n_layers * (x->fmt == BN_EXPORT_LLAMACPP ? 18 : 11);

	for (ti = 0; ti < total; ti++)
		mx = BN_MAX(mx, bn_gguf_tensor_bytes(w, ti));
	ti = 0;
	if (!row || !(buf = malloc(mx)))
		rc = BN_ENOMEM;
#define PUT(ptr, n) do { if (rc == BN_OK) rc = bn_gguf_write_data(w, fp, ti++, (ptr), (n)); } while (0)
	PUT(m->embd.w, m->embd.row_bytes * (size_t)c->n_vocab);
	PUT(m->out_norm, (size_t)c->dim * 4);
	for (l = 0; l < c->n_layers && rc == BN_OK; l++) {
		const struct bn_layer *L = &m->layers[l];
		PUT(L->attn_norm, (size_t)c->dim * 4);
		PUT(L->ffn_norm, (size_t)c->dim * 4);
		PUT(L->attn_sub_norm, (size_t)c->dim * 4);
		PUT(L->ffn_sub_norm, (size_t)c->ffn_dim * 4);
		for (p = 0; p < 7 && rc == BN_OK; p++) {
			const struct bn_tlin *t = proj(L, p);
			size_t nb = bn_gguf_tensor_bytes(w, ti);
			x->n_f16 += proj_type(x, t) == BN_TYPE_F16;
			encode(x, t, buf, row);
			PUT(buf, nb);
			if (x->fmt == BN_EXPORT_LLAMACPP)
				PUT(&t->scale, 4);
		}
		if (rc == BN_OK && o->progress)
			o->progress(o->progress_ctx, ti, total, (uint64_t)ftell(fp));
	}
#undef PUT
	free(buf);
	free(row);
	return rc < 0 ? bn_fail(eb, rc, "cannot write the model: %s", bn_strerror(rc)) : BN_OK;
}

int bn_export_gguf(const struct bn_model *m, enum bn_export_fmt fmt,
		   const struct bn_convert_opts *o, FILE *fp, struct bn_errbuf *eb)
{
	struct exp x = { m, fmt, fmt == BN_EXPORT_LLAMACPP ? "bitnet" : BN_ARCH, 0 };
	struct bn_gguf_writer *w = NULL;
	int rc;

	BN_TRY(check(&x, eb));
	if (bn_gguf_writer_new(&w, 32) < 0)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	if ((rc = meta(&x, w, eb)) < 0)
		goto out;
	if ((rc = declare(&x, w)) < 0) {
		rc = bn_fail(eb, rc, "cannot describe the model (%s)", bn_strerror(rc));
		goto out;
	}
	if ((rc = bn_gguf_write_header(w, fp)) < 0) {
		rc = bn_fail(eb, rc, "cannot write the model: %s", bn_strerror(rc));
		goto out;
	}
	rc = data(&x, w, fp, o, eb);
	if (rc == BN_OK && x.n_f16 && o->warn) {
		char msg[300];
		snprintf(msg, sizeof(msg), "warning: %d matrices have rows that are not a multiple "
			 "of 256 weights (TQ2_0's block) and were written as f16 ternary values",
			 x.n_f16);
		o->warn(o->warn_ctx, msg);
	}
out:
	bn_gguf_writer_free(w);
	return rc;
}
