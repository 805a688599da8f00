/* interop_import.c - llama.cpp "bitnet" and bitnet.cpp "bitnet-b1.58" GGUF
 * files -> bn models (see interop.h for the layouts). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convert_int.h"
#include "interop_int.h"
#include "kernels.h"

struct imp {
	const struct bn_gguf *g;
	const char *name;
	char arch[32];
	const struct bn_convert_opts *o;
	struct bn_config cfg;
	const struct bn_gguf_tensor *embd, *out;
	char *tok_json, *chat_template;
};

int bn_gguf_is_native(const struct bn_gguf *g)
{
	const char *a;
	size_t n;

	return bn_gguf_get_str(g, "general.architecture", &a, &n) == BN_OK &&
	       n == strlen(BN_ARCH) && !memcmp(a, BN_ARCH, n) &&
	       bn_gguf_find_kv(g, "bn.format_version");
}

static const char *const foreign_archs[] = { "bitnet", BN_ARCH, "bitnet-25" };

int bn_gguf_is_foreign_bitnet(const struct bn_gguf *g)
{
	const char *a;
	size_t n, i;

	if (bn_gguf_is_native(g) || bn_gguf_get_str(g, "general.architecture", &a, &n) < 0)
		return 0;
	for (i = 0; i < BN_LEN(foreign_archs); i++)
		if (n == strlen(foreign_archs[i]) && !memcmp(a, foreign_archs[i], n))
			return 1;
	return 0;
}

static int key_u32(struct imp *m, const char *k, int def, int lo, int hi, int *v,
		   struct bn_errbuf *eb)
{
	char key[96];
	uint32_t u;
	int rc;

	snprintf(key, sizeof(key), "%s.%s", m->arch, k);
	rc = bn_gguf_get_u32(m->g, key, &u);
	if (rc == BN_ENOENT && def >= lo) {
		*v = def;
		return BN_OK;
	}
	if (rc == BN_ENOENT)
		return bn_fail(eb, BN_EFORMAT, "%s: missing key '%s'", m->name, key);
	if (rc < 0 || u < (uint32_t)lo || u > (uint32_t)hi)
		return bn_fail(eb, BN_EFORMAT, "%s: key '%s' is not an integer in %d..%d", m->name,
			       key, lo, hi);
	*v = (int)u;
	return BN_OK;
}

static int key_f32(struct imp *m, const char *k, float def, float *v, struct bn_errbuf *eb)
{
	char key[96];
	int rc;

	snprintf(key, sizeof(key), "%s.%s", m->arch, k);
	rc = bn_gguf_get_f32(m->g, key, v);
	if (rc == BN_ENOENT && def >= 0) {
		*v = def;
		return BN_OK;
	}
	if (rc < 0 || !isfinite(*v) || *v < 0)
		return bn_fail(eb, BN_EFORMAT, "%s: missing or bad key '%s'", m->name, key);
	return BN_OK;
}

static void add_stop(struct bn_config *c, int64_t id)
{
	int k;

	if (id < 0 || id >= c->n_vocab || c->n_stop >= BN_MAX_STOP)
		return;
	for (k = 0; k < c->n_stop; k++)
		if (c->stop[k] == id)
			return;
	c->stop[c->n_stop++] = (int32_t)id;
}

static int read_tokens(struct imp *m, struct bn_errbuf *eb)
{
	struct bn_config *c = &m->cfg;
	static const char *const stops[] = { "tokenizer.ggml.eos_token_id",
					     "tokenizer.ggml.eot_token_id",
					     "tokenizer.ggml.eom_token_id" };
	int64_t ids[BN_MAX_STOP];
	size_t n = BN_MAX_STOP, i;
	uint32_t u;
	const char *s, *note;
	int rc;

	c->bos = -1;
	if (bn_gguf_get_u32(m->g, "tokenizer.ggml.bos_token_id", &u) == BN_OK &&
	    u < (uint32_t)c->n_vocab)
		c->bos = (int32_t)u;
	if (bn_gguf_get_ints(m->g, "bn.stop_token_ids", ids, &n) == BN_OK) {
		for (i = 0; i < n; i++)
			add_stop(c, ids[i]);
	} else {
		for (i = 0; i < BN_LEN(stops); i++)
			if (bn_gguf_get_u32(m->g, stops[i], &u) == BN_OK)
				add_stop(c, u);
	}
	if (bn_gguf_get_str(m->g, "tokenizer.chat_template", &s, &n) == BN_OK &&
	    !memchr(s, 0, n) && (m->chat_template = malloc(n + 1))) {
		memcpy(m->chat_template, s, n);
		m->chat_template[n] = 0;
	}
	rc = bn_tok_json_from_ggml(m->g, m->name, &m->tok_json, &note, eb);
	if (rc == BN_EUNSUP || rc == BN_ENOENT) {	/* weights still convert */
		if (m->o->warn) {
			char msg[600];
			snprintf(msg, sizeof(msg), "warning: %s; the model will have no tokenizer",
				 eb->msg);
			m->o->warn(m->o->warn_ctx, msg);
		}
		return BN_OK;
	}
	if (rc == BN_OK && note && m->o->warn) {
		char msg[600];
		snprintf(msg, sizeof(msg), "%s: warning: %s", m->name, note);
		m->o->warn(m->o->warn_ctx, msg);
	}
	return rc;
}

static int dense_ok(struct imp *m, const struct bn_gguf_tensor *t, struct bn_errbuf *eb)
{
	if (t->type != BN_TYPE_F32 && t->type != BN_TYPE_F16 && t->type != BN_TYPE_BF16 &&
	    t->type != BN_TYPE_Q8_0)
		return bn_fail(eb, BN_EUNSUP, "%s: tensor '%.*s' has type %s; bn reads f32, f16, "
			       "bf16 and q8_0 embeddings", m->name, (int)t->name_len, t->name,
			       bn_ttype_name(t->type));
	if (t->n_dims != 2 || t->dims[0] != (uint64_t)m->cfg.dim ||
	    t->dims[1] != (uint64_t)m->cfg.n_vocab)
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%.*s' is not [%d, %d]", m->name,
			       (int)t->name_len, t->name, m->cfg.dim, m->cfg.n_vocab);
	return BN_OK;
}

static int read_config(struct imp *m, struct bn_errbuf *eb)
{
	struct bn_config *c = &m->cfg;
	const char *a;
	size_t n;
	int rot;

	memset(c, 0, sizeof(*c));
	bn_gguf_get_str(m->g, "general.architecture", &a, &n);
	snprintf(m->arch, sizeof(m->arch), "%.*s", (int)BN_MIN(n, 31), a);
	if (!(m->embd = bn_gguf_find_tensor(m->g, "token_embd.weight")) || m->embd->n_dims != 2)
		return bn_fail(eb, BN_EFORMAT, "%s: missing tensor 'token_embd.weight'", m->name);
	BN_TRY(key_u32(m, "vocab_size", (int)BN_MIN(m->embd->dims[1], 1u << 24), 1, 1 << 24,
		       &c->n_vocab, eb));
	BN_TRY(key_u32(m, "embedding_length", -1, 1, 1 << 20, &c->dim, eb));
	BN_TRY(key_u32(m, "block_count", -1, 1, 4096, &c->n_layers, eb));
	BN_TRY(key_u32(m, "feed_forward_length", -1, 1, 1 << 20, &c->ffn_dim, eb));
	BN_TRY(key_u32(m, "attention.head_count", -1, 1, 4096, &c->n_heads, eb));
	BN_TRY(key_u32(m, "attention.head_count_kv", c->n_heads, 1, 4096, &c->n_kv_heads, eb));
	BN_TRY(key_u32(m, "attention.key_length", c->dim / c->n_heads, 2, 4096, &c->head_dim, eb));
	BN_TRY(key_u32(m, "rope.dimension_count", c->head_dim, 0, 4096, &rot, eb));
	BN_TRY(key_u32(m, "context_length", 4096, 1, 1 << 24, &c->ctx_max, eb));
	BN_TRY(key_f32(m, "rope.freq_base", 10000.0f, &c->rope_theta, eb));
	BN_TRY(key_f32(m, "attention.layer_norm_rms_epsilon", -1, &c->norm_eps, eb));
	if (rot != c->head_dim)
		return bn_fail(eb, BN_EUNSUP, "%s: RoPE over %d of %d head dimensions is not "
			       "supported", m->name, rot, c->head_dim);
	if (c->n_heads % c->n_kv_heads || c->head_dim % 2 || !(c->rope_theta > 0))
		return bn_fail(eb, BN_EFORMAT, "%s: %d heads do not group over %d kv heads "
			       "(head_dim %d, rope base %g)", m->name, c->n_heads, c->n_kv_heads,
			       c->head_dim, (double)c->rope_theta);
	BN_TRY(dense_ok(m, m->embd, eb));
	m->out = bn_gguf_find_tensor(m->g, "output.weight");
	c->tied = !m->out;
	if (m->out)
		BN_TRY(dense_ok(m, m->out, eb));
	return read_tokens(m, eb);
}

/* ---- ternary decoders: W[out][in] in {-1,0,1} and one scale ---- */

static int tfail(struct imp *m, const struct bn_gguf_tensor *t, const char *what,
		 struct bn_errbuf *eb)
{
	return bn_fail(eb, BN_EFORMAT, "%s: tensor '%.*s' %s", m->name, (int)t->name_len, t->name,
		       what);
}

/* One scale per matrix: every block with a non-zero weight has the same d. */
static int same_d(struct imp *m, const struct bn_gguf_tensor *t, float d, int *have, float *ref,
		  struct bn_errbuf *eb)
{
	if (!isfinite(d))
		return tfail(m, t, "has a non-finite block scale", eb);
	if (!*have) {
		*have = 1;
		*ref = d;
		return BN_OK;
	}
	if (d != *ref)
		return bn_fail(eb, BN_EUNSUP, "%s: tensor '%.*s' has blocks with different scales "
			       "(%g and %g); bn needs one scale per matrix", m->name,
			       (int)t->name_len, t->name, (double)*ref, (double)d);
	return BN_OK;
}

static int nonzero(const int8_t *w, int n)
{
	while (n--)
		if (w[n])
			return 1;
	return 0;
}

static void tq1_block(const uint8_t *b, int8_t *w)
{
	static const uint8_t pow3[5] = { 1, 3, 9, 27, 81 };
	int n, m;

#define TRIT(q, n) ((int8_t)((((unsigned)(uint8_t)((q) * pow3[n])) * 3) >> 8) - 1)
	for (n = 0; n < 5; n++)
		for (m = 0; m < 32; m++)
			w[n * 32 + m] = TRIT(b[m], n);
	for (n = 0; n < 5; n++)
		for (m = 0; m < 16; m++)
			w[160 + n * 16 + m] = TRIT(b[32 + m], n);
	for (n = 0; n < 4; n++)
		for (m = 0; m < 4; m++)
			w[240 + n * 4 + m] = TRIT(b[48 + m], n);
#undef TRIT
}

static int tern_tq(struct imp *m, const struct bn_gguf_tensor *t, int in, int out, int8_t *w,
		   float *scale, struct bn_errbuf *eb)
{
	size_t bb = t->type == BN_TYPE_TQ2_0 ? 66 : 54, nb = (size_t)in / 256 * out, i;
	const uint8_t *p = t->data;
	int have = 0, j;
	float ref = 0;

	if (in % 256)
		return tfail(m, t, "has rows that are not a multiple of 256", eb);
	for (i = 0; i < nb; i++, p += bb) {
		int8_t *x = w + i * 256;
		if (t->type == BN_TYPE_TQ2_0) {
			for (j = 0; j < 256; j++) {
				int c = p[(j / 128) * 32 + j % 32] >> (2 * (j % 128 / 32)) & 3;
				if (c == 3)
					return tfail(m, t, "holds the invalid ternary code 3", eb);
				x[j] = (int8_t)(c - 1);
			}
		} else {
			tq1_block(p, x);
		}
		if (nonzero(x, 256))
			BN_TRY(same_d(m, t, bn_f16_to_f32((uint16_t)(p[bb - 2] | p[bb - 1] << 8)),
				      &have, &ref, eb));
	}
	*scale = have ? ref : 0.0f;
	return BN_OK;
}

static int tern_i2s(struct imp *m, const struct bn_gguf_tensor *t, int in, int out, int8_t *w,
		    float *scale, struct bn_errbuf *eb)
{
	size_t n = (size_t)in * out, e;

	if (n % 128)
		return tfail(m, t, "is not a whole number of 128-weight I2_S blocks", eb);
	memcpy(scale, t->data + n / 4, 4);
	if (!isfinite(*scale))
		return tfail(m, t, "has a non-finite scale in its I2_S tail", eb);
	for (e = 0; e < n; e++) {
		int c = t->data[e / 128 * 32 + e % 32] >> (6 - 2 * (e % 128 / 32)) & 3;
		if (c == 3)
			return tfail(m, t, "holds the invalid ternary code 3", eb);
		w[e] = (int8_t)(c - 1);
	}
	return BN_OK;
}

/* Float weights that hold only {-a, 0, +a}. */
static int tern_float(struct imp *m, const struct bn_gguf_tensor *t, int in, int out,
		      int8_t *w, float *scale, struct bn_errbuf *eb)
{
	struct bn_dense d = { t->data, t->type, bn_ttype_row_bytes(t->type, (uint64_t)in) };
	float *row = malloc((size_t)in * sizeof(float)), a = 0;
	int r, i, rc = BN_OK;

	if (!row)
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", m->name);
	for (r = 0; r < out && rc == BN_OK; r++) {
		bn_dense_row(&d, in, r, row);
		for (i = 0; i < in; i++) {
			float v = row[i];
			if (v != 0 && a == 0 && isfinite(v))
				a = fabsf(v);
			if (v != 0 && fabsf(v) != a) {
				rc = tfail(m, t, "is not ternary (it holds more than one magnitude)", eb);
				break;
			}
			w[(size_t)r * in + i] = (int8_t)(v > 0 ? 1 : v < 0 ? -1 : 0);
		}
	}
	free(row);
	*scale = a;
	return rc;
}

static const struct bn_gguf_tensor *find(struct imp *m, const char *fmt, int l, const char *p)
{
	char tn[128];

	snprintf(tn, sizeof(tn), fmt, l, p);
	return bn_gguf_find_tensor(m->g, tn);
}

/* The ternary matrix [out][in] of projection p in layer l, and its scale. */
static int load_proj(struct imp *m, int l, int p, int in, int out, int8_t *w, float *scale,
		     struct bn_errbuf *eb)
{
	const struct bn_gguf_tensor *t = find(m, "blk.%d.%s.weight", l, bn_proj_names[p]);
	const struct bn_gguf_tensor *s = find(m, "blk.%d.%s.scale", l, bn_proj_names[p]);
	float extra = 1.0f;

	if (!t)
		return bn_fail(eb, BN_EFORMAT, "%s: missing tensor 'blk.%d.%s.weight'", m->name, l,
			       bn_proj_names[p]);
	if (t->n_dims != 2 || t->dims[0] != (uint64_t)in || t->dims[1] != (uint64_t)out)
		return bn_fail(eb, BN_EFORMAT, "%s: tensor 'blk.%d.%s.weight' is not [%d, %d]",
			       m->name, l, bn_proj_names[p], in, out);
	if (s) {
		struct bn_dense d = { s->data, s->type, 0 };
		if (s->n_dims != 1 || s->dims[0] != 1 || (s->type != BN_TYPE_F32 &&
		    s->type != BN_TYPE_F16 && s->type != BN_TYPE_BF16))
			return tfail(m, s, "is not one float", eb);
		bn_dense_row(&d, 1, 0, &extra);
		if (!isfinite(extra))
			return tfail(m, s, "is not finite", eb);
	}
	switch (t->type) {
	case BN_TYPE_TQ1_0: case BN_TYPE_TQ2_0:
		BN_TRY(tern_tq(m, t, in, out, w, scale, eb));
		break;
	case BN_TYPE_I2_S:
		BN_TRY(tern_i2s(m, t, in, out, w, scale, eb));
		break;
	case BN_TYPE_F32: case BN_TYPE_F16: case BN_TYPE_BF16:
		BN_TRY(tern_float(m, t, in, out, w, scale, eb));
		break;
	default:
		return bn_fail(eb, BN_EUNSUP, "%s: tensor 'blk.%d.%s.weight' has type %s; bn imports "
			       "ternary weights (tq1_0, tq2_0, i2_s, or ternary f32/f16/bf16)",
			       m->name, l, bn_proj_names[p], bn_ttype_name(t->type));
	}
	*scale *= extra;
	if (!isfinite(*scale))
		return bn_fail(eb, BN_EFORMAT, "%s: tensor 'blk.%d.%s.weight' has a non-finite scale",
			       m->name, l, bn_proj_names[p]);
	return BN_OK;
}

/* ---- writing ---- */

static int put(struct bn_gguf_writer *w, FILE *fp, int *ti, const void *p, size_t n,
	       struct bn_errbuf *eb)
{
	int rc = bn_gguf_write_data(w, fp, (*ti)++, p, n);

	return rc < 0 ? bn_fail(eb, rc, "cannot write the model: %s", bn_strerror(rc)) : BN_OK;
}

/* A norm vector: blk.l.nm.weight (or the older name alt), or tensor nm when
 * l < 0; f16/bf16 are widened to f32. */
static int put_norm(struct imp *m, struct bn_gguf_writer *w, FILE *fp, int *ti, const char *nm,
		    const char *alt, int l, int n, struct bn_errbuf *eb)
{
	const struct bn_gguf_tensor *t = l < 0 ? bn_gguf_find_tensor(m->g, nm) :
					 find(m, "blk.%d.%s.weight", l, nm);
	struct bn_dense d;
	float *v;
	int rc;

	if (!t && alt)
		t = find(m, "blk.%d.%s.weight", l, alt);
	if (!t && l < 0)
		return bn_fail(eb, BN_EFORMAT, "%s: missing tensor '%s'", m->name, nm);
	if (!t)
		return bn_fail(eb, BN_EFORMAT, "%s: missing tensor 'blk.%d.%s.weight'", m->name, l, nm);
	if (t->n_dims != 1 || t->dims[0] != (uint64_t)n ||
	    (t->type != BN_TYPE_F32 && t->type != BN_TYPE_F16 && t->type != BN_TYPE_BF16))
		return tfail(m, t, "is not a float vector of the expected length", eb);
	d = (struct bn_dense){ t->data, t->type, 0 };
	if (!(v = malloc((size_t)n * sizeof(float))))
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", m->name);
	bn_dense_row(&d, n, 0, v);
	rc = put(w, fp, ti, v, (size_t)n * 4, eb);
	free(v);
	return rc;
}

static int put_dense(struct imp *m, struct bn_gguf_writer *w, FILE *fp, int *ti,
		     const struct bn_gguf_tensor *t, struct bn_errbuf *eb)
{
	struct bn_dense d = { t->data, t->type, bn_ttype_row_bytes(t->type, (uint64_t)m->cfg.dim) };
	uint32_t ty = m->embd->type;
	size_t rb = bn_ttype_row_bytes(ty, (uint64_t)m->cfg.dim);
	uint8_t *buf;
	float *row;
	int r, rc;

	if (t->type == ty)
		return put(w, fp, ti, t->data, t->nbytes, eb);
	buf = malloc(rb * (size_t)m->cfg.n_vocab);	/* output.weight in another type */
	row = malloc((size_t)m->cfg.dim * sizeof(float));
	if (!buf || !row) {
		rc = bn_fail(eb, BN_ENOMEM, "%s: out of memory", m->name);
	} else {
		for (r = 0; r < m->cfg.n_vocab; r++) {
			bn_dense_row(&d, m->cfg.dim, r, row);
			bn_convert_row(ty, row, m->cfg.dim, buf + (size_t)r * rb);
		}
		rc = put(w, fp, ti, buf, rb * (size_t)m->cfg.n_vocab, eb);
	}
	free(buf);
	free(row);
	return rc;
}

static int put_layers(struct imp *m, struct bn_gguf_writer *w, FILE *fp, int *ti,
		      struct bn_errbuf *eb)
{
	const struct bn_config *c = &m->cfg;
	int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
	int ins[7] = { c->dim, c->dim, c->dim, qd, c->dim, c->dim, c->ffn_dim };
	int outs[7] = { qd, kvd, kvd, c->dim, c->ffn_dim, c->ffn_dim, c->dim };
	size_t mx = 0, mp = 0;
	int8_t *tern;
	uint8_t *packed;
	int l, p, r, rc = BN_OK, total = 3 + 18 * c->n_layers - c->tied;

	for (p = 0; p < 7; p++) {
		mx = BN_MAX(mx, (size_t)ins[p] * outs[p]);
		mp = BN_MAX(mp, bn_ttype_row_bytes(BN_TYPE_T2, (uint64_t)ins[p]) * outs[p]);
	}
	tern = malloc(mx);
	packed = malloc(mp);
	if (!tern || !packed)
		rc = bn_fail(eb, BN_ENOMEM, "%s: out of memory", m->name);
	for (l = 0; l < c->n_layers && rc == BN_OK; l++) {
		if ((rc = put_norm(m, w, fp, ti, "attn_norm", NULL, l, c->dim, eb)) < 0 ||
		    (rc = put_norm(m, w, fp, ti, "ffn_norm", NULL, l, c->dim, eb)) < 0 ||
		    (rc = put_norm(m, w, fp, ti, "attn_sub_norm", "inner_attn_ln", l, qd, eb)) < 0 ||
		    (rc = put_norm(m, w, fp, ti, "ffn_sub_norm", "ffn_layernorm", l, c->ffn_dim,
				   eb)) < 0)
			break;
		for (p = 0; p < 7 && rc == BN_OK; p++) {
			size_t rb = bn_ttype_row_bytes(BN_TYPE_T2, (uint64_t)ins[p]);
			float scale;
			if ((rc = load_proj(m, l, p, ins[p], outs[p], tern, &scale, eb)) < 0)
				break;
			for (r = 0; r < outs[p]; r++)
				bn_t2_pack_row(tern + (size_t)r * ins[p], ins[p], packed + r * rb);
			if ((rc = put(w, fp, ti, packed, rb * outs[p], eb)) == BN_OK)
				rc = put(w, fp, ti, &scale, 4, eb);
		}
		if (rc == BN_OK && m->o->progress)
			m->o->progress(m->o->progress_ctx, *ti, total, (uint64_t)ftell(fp));
	}
	free(tern);
	free(packed);
	return rc;
}

static int convert(struct imp *m, FILE *fp, struct bn_errbuf *eb)
{
	struct bn_gguf_writer *w = NULL;
	const char *nm;
	size_t nl;
	char name[256];
	int ti = 0, rc;

	BN_TRY(read_config(m, eb));
	if (bn_gguf_get_str(m->g, "general.name", &nm, &nl) == BN_OK && !memchr(nm, 0, nl))
		snprintf(name, sizeof(name), "%.*s", (int)BN_MIN(nl, 255), nm);
	else
		snprintf(name, sizeof(name), "%s", strrchr(m->name, '/') ? strrchr(m->name, '/') + 1 :
			 m->name);
	if (!strcmp(m->arch, "bitnet") && !bn_gguf_find_kv(m->g, "bn.hidden_act") && m->o->warn) {
		char msg[700];
		snprintf(msg, sizeof(msg), "%s: warning: llama.cpp 'bitnet' files made from 1bitLLM "
			 "checkpoints use a SiLU FFN; bn computes relu^2 (BitNet b1.58 2B4T)", m->name);
		m->o->warn(m->o->warn_ctx, msg);
	}
	if (bn_gguf_writer_new(&w, 64) < 0)
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", m->name);
	if ((rc = bn_convert_meta(w, &m->cfg, name, m->tok_json,
				  m->tok_json ? strlen(m->tok_json) : 0, m->chat_template)) < 0 ||
	    (rc = bn_convert_declare(w, &m->cfg, m->embd->type)) < 0) {
		rc = bn_fail(eb, rc, "%s: cannot describe the model (%s)", m->name, bn_strerror(rc));
		goto out;
	}
	if ((rc = bn_gguf_write_header(w, fp)) < 0) {
		rc = bn_fail(eb, rc, "cannot write the model: %s", bn_strerror(rc));
		goto out;
	}
	if ((rc = put_dense(m, w, fp, &ti, m->embd, eb)) < 0 ||
	    (m->out && (rc = put_dense(m, w, fp, &ti, m->out, eb)) < 0) ||
	    (rc = put_norm(m, w, fp, &ti, "output_norm.weight", NULL, -1, m->cfg.dim, eb)) < 0)
		goto out;
	rc = put_layers(m, w, fp, &ti, eb);
out:
	bn_gguf_writer_free(w);
	return rc;
}

int bn_convert_gguf(const uint8_t *buf, size_t size, const char *name,
		    const struct bn_convert_opts *o, FILE *fp, struct bn_errbuf *eb)
{
	struct bn_gguf g;
	struct imp m;
	int rc;

	BN_TRY(bn_gguf_parse(&g, buf, size, name, eb));
	memset(&m, 0, sizeof(m));
	m.g = &g;
	m.name = name;
	m.o = o;
	if (bn_gguf_is_native(&g))
		rc = bn_fail(eb, BN_EINVAL, "%s: already a bn model", name);
	else if (!bn_gguf_is_foreign_bitnet(&g))
		rc = bn_fail(eb, BN_EUNSUP, "%s: not a BitNet GGUF (general.architecture is not "
			     "bitnet or bitnet-b1.58)", name);
	else
		rc = convert(&m, fp, eb);
	free(m.tok_json);
	free(m.chat_template);
	bn_gguf_release(&g);
	return rc;
}

struct gguf_mem {
	const uint8_t *buf;
	size_t size;
	const char *name;
	const struct bn_convert_opts *o;
};

static int gguf_write(void *ctx, FILE *fp, struct bn_errbuf *eb)
{
	const struct gguf_mem *m = ctx;

	return bn_convert_gguf(m->buf, m->size, m->name, m->o, fp, eb);
}

int bn_convert_gguf_mem(const uint8_t *buf, size_t size, const char *name,
			const struct bn_convert_opts *o, uint8_t **out, size_t *out_size,
			struct bn_errbuf *eb)
{
	struct gguf_mem m = { buf, size, name, o };

	return bn_convert_to_mem(gguf_write, &m, name, out, out_size, eb);
}
