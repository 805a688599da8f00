/* model.c - open and validate a bn GGUF model (zero-copy views). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convert.h"
#include "interop.h"
#include "kernels.h"
#include "model.h"

#define MAX_DIM (1 << 20)

static int get_u32(struct bn_model *m, const char *key, int *v, int lo, int hi,
		   const char *name, struct bn_errbuf *eb)
{
	uint32_t u;
	int rc = bn_gguf_get_u32(&m->g, key, &u);

	if (rc == BN_ENOENT)
		return bn_fail(eb, BN_EFORMAT, "%s: missing key '%s'", name, key);
	if (rc < 0 || u < (uint32_t)lo || u > (uint32_t)hi)
		return bn_fail(eb, BN_EFORMAT, "%s: key '%s' is not an integer in %d..%d", name,
			       key, lo, hi);
	*v = (int)u;
	return BN_OK;
}

static int read_config(struct bn_model *m, const char *name, struct bn_errbuf *eb)
{
	struct bn_config *c = &m->cfg;
	int64_t stop[BN_MAX_STOP];
	size_t n = BN_MAX_STOP, i;
	uint32_t bos;
	const char *arch;
	size_t alen;

	if (bn_gguf_get_str(&m->g, "general.architecture", &arch, &alen) < 0 ||
	    alen != strlen(BN_ARCH) || memcmp(arch, BN_ARCH, alen))
		return bn_fail(eb, BN_EUNSUP, "%s: not a bn model (general.architecture is not '"
			       BN_ARCH "'; use bn-convert to import other GGUF files)", name);
	BN_TRY(get_u32(m, BN_ARCH ".vocab_size", &c->n_vocab, 1, 1 << 24, name, eb));
	BN_TRY(get_u32(m, BN_ARCH ".embedding_length", &c->dim, 1, MAX_DIM, name, eb));
	BN_TRY(get_u32(m, BN_ARCH ".block_count", &c->n_layers, 1, 4096, name, eb));
	BN_TRY(get_u32(m, BN_ARCH ".feed_forward_length", &c->ffn_dim, 1, MAX_DIM, name, eb));
	BN_TRY(get_u32(m, BN_ARCH ".attention.head_count", &c->n_heads, 1, 4096, name, eb));
	BN_TRY(get_u32(m, BN_ARCH ".attention.head_count_kv", &c->n_kv_heads, 1, 4096, name, eb));
	BN_TRY(get_u32(m, BN_ARCH ".attention.key_length", &c->head_dim, 2, 4096, name, eb));
	BN_TRY(get_u32(m, BN_ARCH ".context_length", &c->ctx_max, 1, 1 << 24, name, eb));
	if (bn_gguf_get_f32(&m->g, BN_ARCH ".rope.freq_base", &c->rope_theta) < 0 ||
	    !(c->rope_theta > 0) || !isfinite(c->rope_theta))
		return bn_fail(eb, BN_EFORMAT, "%s: missing or bad rope.freq_base", name);
	if (bn_gguf_get_f32(&m->g, BN_ARCH ".attention.layer_norm_rms_epsilon", &c->norm_eps) < 0 ||
	    !(c->norm_eps >= 0) || !isfinite(c->norm_eps))
		return bn_fail(eb, BN_EFORMAT, "%s: missing or bad layer_norm_rms_epsilon", name);
	if (c->n_heads % c->n_kv_heads || c->head_dim % 2)
		return bn_fail(eb, BN_EFORMAT, "%s: %d heads do not group over %d kv heads "
			       "(head_dim %d)", name, c->n_heads, c->n_kv_heads, c->head_dim);
	c->bos = -1;
	if (bn_gguf_get_u32(&m->g, "tokenizer.ggml.bos_token_id", &bos) == BN_OK) {
		if (bos >= (uint32_t)c->n_vocab)
			return bn_fail(eb, BN_EFORMAT, "%s: bos token id %u >= vocab", name, bos);
		c->bos = (int32_t)bos;
	}
	if (bn_gguf_get_ints(&m->g, "bn.stop_token_ids", stop, &n) == BN_OK) {
		for (i = 0; i < n; i++) {
			if (stop[i] < 0 || stop[i] >= c->n_vocab)
				return bn_fail(eb, BN_EFORMAT, "%s: stop token id %lld out of range",
					       name, (long long)stop[i]);
			c->stop[c->n_stop++] = (int32_t)stop[i];
		}
	}
	return BN_OK;
}

static const struct bn_gguf_tensor *want(struct bn_model *m, const char *tname, uint64_t d0,
					 uint64_t d1, int n_dims, const char *name,
					 struct bn_errbuf *eb)
{
	const struct bn_gguf_tensor *t = bn_gguf_find_tensor(&m->g, tname);

	if (!t) {
		bn_fail(eb, BN_EFORMAT, "%s: missing tensor '%s'", name, tname);
		return NULL;
	}
	if ((int)t->n_dims != n_dims || t->dims[0] != d0 || (n_dims > 1 && t->dims[1] != d1)) {
		bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' has the wrong shape", name, tname);
		return NULL;
	}
	return t;
}

static int norm(struct bn_model *m, const float **out, const char *tname, int n,
		const char *name, struct bn_errbuf *eb)
{
	const struct bn_gguf_tensor *t = want(m, tname, (uint64_t)n, 0, 1, name, eb);

	if (!t)
		return BN_EFORMAT;
	if (t->type != BN_TYPE_F32 || ((uintptr_t)t->data & 3))
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' must be f32", name, tname);
	*out = (const float *)t->data;
	return BN_OK;
}

static int tlin(struct bn_model *m, struct bn_tlin *l, int layer, const char *what, int in,
		int out, const char *name, struct bn_errbuf *eb)
{
	char tn[96];
	const struct bn_gguf_tensor *t, *s;

	snprintf(tn, sizeof(tn), "blk.%d.%s.weight", layer, what);
	if (!(t = want(m, tn, (uint64_t)in, (uint64_t)out, 2, name, eb)))
		return BN_EFORMAT;
	if (t->type != BN_TYPE_T2)
		return bn_fail(eb, BN_EUNSUP, "%s: tensor '%s' has type %s, expected bn_t2 "
			       "(convert the file with bn-convert)", name, tn, bn_ttype_name(t->type));
	snprintf(tn, sizeof(tn), "blk.%d.%s.scale", layer, what);
	if (!(s = want(m, tn, 1, 0, 1, name, eb)))
		return BN_EFORMAT;
	if (s->type != BN_TYPE_F32)
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' must be f32", name, tn);
	memcpy(&l->scale, s->data, 4);
	if (!isfinite(l->scale))
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' is not finite", name, tn);
	l->w = t->data;
	l->row_bytes = bn_ttype_row_bytes(BN_TYPE_T2, (uint64_t)in);
	l->in = in;
	l->out = out;
	return BN_OK;
}

static int dense(struct bn_model *m, struct bn_dense *d, const char *tname, const char *name,
		 struct bn_errbuf *eb)
{
	const struct bn_gguf_tensor *t = want(m, tname, (uint64_t)m->cfg.dim,
					      (uint64_t)m->cfg.n_vocab, 2, name, eb);

	if (!t)
		return BN_EFORMAT;
	if (t->type != BN_TYPE_F32 && t->type != BN_TYPE_F16 && t->type != BN_TYPE_BF16 &&
	    t->type != BN_TYPE_Q8_0)
		return bn_fail(eb, BN_EUNSUP, "%s: tensor '%s' has unsupported type %s", name,
			       tname, bn_ttype_name(t->type));
	d->w = t->data;
	d->type = t->type;
	d->row_bytes = bn_ttype_row_bytes(t->type, (uint64_t)m->cfg.dim);
	return BN_OK;
}

static int load_layers(struct bn_model *m, const char *name, struct bn_errbuf *eb)
{
	const struct bn_config *c = &m->cfg;
	int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim, i;
	char tn[96];

	if (!(m->layers = calloc((size_t)c->n_layers, sizeof(*m->layers))))
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", name);
	for (i = 0; i < c->n_layers; i++) {
		struct bn_layer *l = &m->layers[i];
#define NORM(field, tensor, n) \
		snprintf(tn, sizeof(tn), "blk.%d." tensor ".weight", i); \
		BN_TRY(norm(m, &l->field, tn, n, name, eb))
		NORM(attn_norm, "attn_norm", c->dim);
		NORM(ffn_norm, "ffn_norm", c->dim);
		NORM(attn_sub_norm, "attn_sub_norm", qd);
		NORM(ffn_sub_norm, "ffn_sub_norm", c->ffn_dim);
#undef NORM
		BN_TRY(tlin(m, &l->q, i, "attn_q", c->dim, qd, name, eb));
		BN_TRY(tlin(m, &l->k, i, "attn_k", c->dim, kvd, name, eb));
		BN_TRY(tlin(m, &l->v, i, "attn_v", c->dim, kvd, name, eb));
		BN_TRY(tlin(m, &l->o, i, "attn_output", qd, c->dim, name, eb));
		BN_TRY(tlin(m, &l->gate, i, "ffn_gate", c->dim, c->ffn_dim, name, eb));
		BN_TRY(tlin(m, &l->up, i, "ffn_up", c->dim, c->ffn_dim, name, eb));
		BN_TRY(tlin(m, &l->down, i, "ffn_down", c->ffn_dim, c->dim, name, eb));
	}
	return BN_OK;
}

static int load(struct bn_model *m, const uint8_t *buf, size_t size, const char *name,
		struct bn_errbuf *eb)
{
	const char *s;
	size_t n;

	m->file_size = size;
	BN_TRY(bn_gguf_parse(&m->g, buf, size, name, eb));
	BN_TRY(read_config(m, name, eb));
	BN_TRY(dense(m, &m->embd, "token_embd.weight", name, eb));
	m->cfg.tied = !bn_gguf_find_tensor(&m->g, "output.weight");
	if (m->cfg.tied)
		m->head = m->embd;
	else
		BN_TRY(dense(m, &m->head, "output.weight", name, eb));
	BN_TRY(norm(m, &m->out_norm, "output_norm.weight", m->cfg.dim, name, eb));
	BN_TRY(load_layers(m, name, eb));
	if (bn_gguf_get_str(&m->g, "tokenizer.huggingface.json", &m->tok_json,
			    &m->tok_json_len) < 0)
		m->tok_json = NULL;
	if (bn_gguf_get_str(&m->g, "tokenizer.chat_template", &s, &n) == BN_OK) {
		char *t = malloc(n + 1);
		if (!t)
			return bn_fail(eb, BN_ENOMEM, "%s: out of memory", name);
		memcpy(t, s, n);
		t[n] = 0;
		m->chat_template = t;
	}
	return BN_OK;
}

int bn_model_open_mem(struct bn_model *m, uint8_t *buf, size_t size, const char *name,
		      struct bn_errbuf *eb)
{
	int rc;

	memset(m, 0, sizeof(*m));
	m->owned = buf;
	if ((rc = load(m, buf, size, name, eb)) < 0)
		bn_model_close(m);
	return rc;
}

/* A llama.cpp or bitnet.cpp BitNet GGUF (not bn's own format)? */
static int is_foreign(const struct bn_map *map, const char *path)
{
	struct bn_gguf g;
	struct bn_errbuf eb;
	int r;

	if (bn_gguf_parse(&g, map->base, map->size, path, &eb) < 0)
		return 0;	/* load() reports the problem */
	r = bn_gguf_is_foreign_bitnet(&g);
	bn_gguf_release(&g);
	return r;
}

int bn_model_open(struct bn_model *m, const char *path, struct bn_errbuf *eb)
{
	struct stat st;
	int rc;

	memset(m, 0, sizeof(*m));
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		uint8_t *buf;
		size_t size;
		struct bn_convert_opts o;
		bn_convert_opts_default(&o);
		BN_TRY(bn_convert_hf_mem(path, &o, &buf, &size, eb));
		return bn_model_open_mem(m, buf, size, path, eb);
	}
	BN_TRY(bn_map_open(&m->map, path, eb));
	if (is_foreign(&m->map, path)) {
		uint8_t *buf;
		size_t size;
		struct bn_convert_opts o;
		bn_convert_opts_default(&o);
		rc = bn_convert_gguf_mem(m->map.base, m->map.size, path, &o, &buf, &size, eb);
		bn_map_close(&m->map);
		if (rc < 0)
			return rc;
		if ((rc = bn_model_open_mem(m, buf, size, path, eb)) == BN_OK)
			m->repacked = 1;
		return rc;
	}
	if ((rc = load(m, m->map.base, m->map.size, path, eb)) < 0)
		bn_model_close(m);
	return rc;
}

void bn_model_close(struct bn_model *m)
{
	if (!m)
		return;
	bn_gguf_release(&m->g);
	bn_map_close(&m->map);
	free(m->layers);
	free((void *)m->chat_template);
	free(m->owned);
	memset(m, 0, sizeof(*m));
}

void bn_dense_row(const struct bn_dense *d, int dim, int r, float *out)
{
	const uint8_t *p = d->w + (size_t)r * d->row_bytes;
	int i, b;

	switch (d->type) {
	case BN_TYPE_F32:
		memcpy(out, p, (size_t)dim * 4);
		break;
	case BN_TYPE_F16:
		for (i = 0; i < dim; i++)
			out[i] = bn_f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
		break;
	case BN_TYPE_BF16:
		for (i = 0; i < dim; i++)
			out[i] = bn_bf16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
		break;
	case BN_TYPE_Q8_0:
		for (b = 0; b < dim / 32; b++, p += 34) {
			float s = bn_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
			for (i = 0; i < 32; i++)
				out[b * 32 + i] = s * (float)(int8_t)p[2 + i];
		}
		break;
	}
}
