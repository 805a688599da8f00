/* convert.c - HF BitNet checkpoint -> bn GGUF (see convert.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert.h"
#include "convert_int.h"
#include "gguf.h"
#include "json.h"
#include "kernels.h"
#include "model.h"
#include "safetensors.h"

#define JSON_LIMIT (64u << 20)

void bn_convert_opts_default(struct bn_convert_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->embd_type = BN_EMBD_AUTO;
}

/* The seven projections of a layer: HF module, GGUF name, shape kinds. */
static const struct { const char *hf, *gg; int in_ffn, out_kind; } projs[] = {
	/* out_kind: 0 q (heads), 1 kv, 2 dim, 3 ffn; in_ffn: 0 dim, 1 ffn, 2 heads */
	{ "self_attn.q_proj", "attn_q", 0, 0 },
	{ "self_attn.k_proj", "attn_k", 0, 1 },
	{ "self_attn.v_proj", "attn_v", 0, 1 },
	{ "self_attn.o_proj", "attn_output", 2, 2 },
	{ "mlp.gate_proj", "ffn_gate", 0, 3 },
	{ "mlp.up_proj", "ffn_up", 0, 3 },
	{ "mlp.down_proj", "ffn_down", 1, 2 },
};

/* ---- config.json / generation_config.json / tokenizer files ---- */

static int jint(const cJSON *root, const char *key, int def, int lo, int hi, int *v,
		const char *file, struct bn_errbuf *eb)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);

	if (!j || cJSON_IsNull(j)) {
		if (def < lo)
			return bn_fail(eb, BN_EFORMAT, "%s: missing '%s'", file, key);
		*v = def;
		return BN_OK;
	}
	if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) ||
	    j->valuedouble < lo || j->valuedouble > hi)
		return bn_fail(eb, BN_EFORMAT, "%s: '%s' is not an integer in %d..%d", file, key,
			       lo, hi);
	*v = (int)j->valuedouble;
	return BN_OK;
}

static int jfloat(const cJSON *j, double def, double *v)
{
	if (!j || cJSON_IsNull(j)) {
		*v = def;
		return BN_OK;
	}
	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
		return -1;
	*v = j->valuedouble;
	return BN_OK;
}

static const char *jstr(const cJSON *root, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, key));
}

/* A special-token id outside the vocabulary: transformers only warns
 * (BitNetConfig's defaults 128000/128001 stay in configs of small
 * vocabularies), so bn drops it with a warning.  1 if v is such an id. */
static int id_outside(struct hf_ckpt *h, double v, const char *key, const char *file)
{
	char msg[640];

	if (v >= 0 && v < h->cfg.n_vocab)
		return 0;
	if (h->opts->warn) {
		snprintf(msg, sizeof(msg), "%s: warning: %s %.0f is outside the vocabulary of %d; "
			 "ignored", file, key, v, h->cfg.n_vocab);
		h->opts->warn(h->opts->warn_ctx, msg);
	}
	return 1;
}

/* bos_token_id: an integer; absent gives def, null gives def_null. */
static int get_bos(struct hf_ckpt *h, const cJSON *r, int def, int def_null, const char *file,
		   struct bn_errbuf *eb)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(r, "bos_token_id");

	if (!j || cJSON_IsNull(j)) {
		h->cfg.bos = j ? def_null : def;
		return BN_OK;
	}
	if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) ||
	    fabs(j->valuedouble) > 1e15)
		return bn_fail(eb, BN_EFORMAT, "%s: 'bos_token_id' is not an integer", file);
	h->cfg.bos = id_outside(h, j->valuedouble, "bos_token_id", file) ? -1
									  : (int)j->valuedouble;
	return BN_OK;
}

/* eos_token_id: an integer or a list of integers. */
static int add_stops(struct hf_ckpt *h, const cJSON *j, const char *file, struct bn_errbuf *eb)
{
	const cJSON *e;

	if (!j || cJSON_IsNull(j))
		return BN_OK;
	if (!cJSON_IsNumber(j) && !cJSON_IsArray(j))
		return bn_fail(eb, BN_EFORMAT, "%s: eos_token_id is not an id or a list", file);
	for (e = cJSON_IsArray(j) ? j->child : j; e; e = cJSON_IsArray(j) ? e->next : NULL) {
		int id, k, dup = 0;
		if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) ||
		    fabs(e->valuedouble) > 1e15)
			return bn_fail(eb, BN_EFORMAT, "%s: eos_token_id holds a non-integer", file);
		if (id_outside(h, e->valuedouble, "eos_token_id", file))
			continue;
		id = (int)e->valuedouble;
		for (k = 0; k < h->cfg.n_stop; k++)
			dup |= h->cfg.stop[k] == id;
		if (!dup && h->cfg.n_stop < BN_MAX_STOP)
			h->cfg.stop[h->cfg.n_stop++] = id;
	}
	return BN_OK;
}

static int read_json(const char *dir, const char *name, int required, cJSON **out,
		     char **text, struct bn_errbuf *eb)
{
	char path[4096], *buf;
	size_t len;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* an optional file may be absent, but one that is there must be good */
	if (!required && access(path, F_OK) != 0 && errno == ENOENT)
		return BN_OK;
	BN_TRY(bn_read_file(path, text ? BN_TOKENIZER_JSON_MAX : JSON_LIMIT, &buf, &len, eb));
	/* tokenizer.json is only carried along here; its loader checks its maps */
	if (!(*out = bn_json_parse(buf, len, text ? BN_JSON_DUPS : 0, path, eb))) {
		free(buf);
		return BN_EFORMAT;
	}
	if (!cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		free(buf);
		return bn_fail(eb, BN_EFORMAT, "%s: not a JSON object", path);
	}
	if (text)
		*text = buf;
	else
		free(buf);
	return BN_OK;
}

/* quantization_config.modules_to_not_convert: transformers keeps every
 * linear whose module path contains one of these strings a dense float
 * nn.Linear, which bn cannot run; entries that only name lm_head are fine. */
static int check_not_convert(const struct hf_ckpt *h, const cJSON *list, const char *file,
			     struct bn_errbuf *eb)
{
	const cJSON *e;
	char path[160];
	int L, p;

	if (!list || cJSON_IsNull(list))
		return BN_OK;
	if (!cJSON_IsArray(list))
		return bn_fail(eb, BN_EFORMAT, "%s: modules_to_not_convert is not a list", file);
	if (cJSON_GetArraySize(list) > 64)	/* each entry is matched against every path */
		return bn_fail(eb, BN_EUNSUP, "%s: modules_to_not_convert has more than 64 entries",
			       file);
	cJSON_ArrayForEach(e, list) {
		if (!cJSON_IsString(e))
			return bn_fail(eb, BN_EFORMAT, "%s: modules_to_not_convert holds a non-string",
				       file);
		for (L = 0; L < h->cfg.n_layers; L++)
			for (p = 0; p < (int)BN_LEN(projs); p++) {
				snprintf(path, sizeof(path), "model.layers.%d.%s", L, projs[p].hf);
				if (strstr(path, e->valuestring))
					return bn_fail(eb, BN_EUNSUP, "%s: modules_to_not_convert keeps "
						       "'%s' in full precision; bn runs ternary "
						       "projections only", file, path);
			}
	}
	return BN_OK;
}

/* As transformers: autobitlinear multiplies by weight_scale and, online,
 * quantizes float weights itself; bitlinear (the default class) divides
 * and reads packed weights only. */
static int parse_quant(struct hf_ckpt *h, const cJSON *root, const char *file,
		       struct bn_errbuf *eb)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "quantization_config");
	const char *lc, *mode, *qm;

	h->divide = 0;
	h->qmode = QM_NONE;
	if (!q || cJSON_IsNull(q))
		return BN_OK;
	if (!cJSON_IsObject(q))
		return bn_fail(eb, BN_EFORMAT, "%s: quantization_config is not an object", file);
	qm = jstr(q, "quant_method");
	if (qm && strcmp(qm, "bitnet"))
		return bn_fail(eb, BN_EUNSUP, "%s: quant_method '%s' is not bitnet", file, qm);
	lc = jstr(q, "linear_class");
	mode = jstr(q, "quantization_mode");
	if (!lc)
		lc = "bitlinear";	/* BitNetQuantConfig default */
	if (!strcmp(lc, "bitlinear"))
		h->divide = 1;
	else if (strcmp(lc, "autobitlinear"))
		return bn_fail(eb, BN_EUNSUP, "%s: unknown linear_class '%s'", file, lc);
	if (mode && strcmp(mode, "offline") && strcmp(mode, "online"))
		return bn_fail(eb, BN_EUNSUP, "%s: unknown quantization_mode '%s'", file, mode);
	h->qmode = mode && !strcmp(mode, "online") ? QM_ONLINE : QM_OFFLINE;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "use_rms_norm")))
		return bn_fail(eb, BN_EUNSUP, "%s: use_rms_norm BitLinear is not supported", file);
	return check_not_convert(h, cJSON_GetObjectItemCaseSensitive(q, "modules_to_not_convert"),
				 file, eb);
}

/* A key that is absent takes BitNetConfig's default; one set to null takes
 * the fallback transformers gives None (no id, or num_attention_heads). */
static int absent(const cJSON *root, const char *key)
{
	return !cJSON_GetObjectItemCaseSensitive(root, key);
}

/* RoPE as transformers reads it: rope_scaling (legacy, if not empty) or
 * rope_parameters, whose rope_theta wins over the top-level one; its
 * rope_type (or legacy type) must be default. */
static int parse_rope(struct bn_config *c, const cJSON *r, const char *file, struct bn_errbuf *eb)
{
	const cJSON *rp = cJSON_GetObjectItemCaseSensitive(r, "rope_scaling"), *th;
	const char *rt = NULL;
	double theta;

	if (!cJSON_IsObject(rp) || !rp->child)
		rp = cJSON_GetObjectItemCaseSensitive(r, "rope_parameters");
	if (rp && !cJSON_IsNull(rp) && !cJSON_IsObject(rp))
		return bn_fail(eb, BN_EFORMAT, "%s: rope_parameters is not an object", file);
	th = cJSON_GetObjectItemCaseSensitive(r, "rope_theta");
	if (cJSON_IsObject(rp)) {
		if (!absent(rp, "rope_theta"))
			th = cJSON_GetObjectItemCaseSensitive(rp, "rope_theta");
		rt = jstr(rp, "rope_type") ? jstr(rp, "rope_type") : jstr(rp, "type");
	}
	if (jfloat(th, 500000.0, &theta) < 0 || !(theta > 0))
		return bn_fail(eb, BN_EFORMAT, "%s: rope_theta must be a positive number", file);
	if (rt && strcmp(rt, "default"))
		return bn_fail(eb, BN_EUNSUP, "%s: rope type '%s' is not supported (default only)",
			       file, rt);
	c->rope_theta = (float)theta;
	return BN_OK;
}

/* bos/eos absent: BitNetConfig's 128000/128001 where the vocabulary has them. */
static int parse_ids(struct hf_ckpt *h, const cJSON *r, const char *file, struct bn_errbuf *eb)
{
	struct bn_config *c = &h->cfg;

	BN_TRY(get_bos(h, r, c->n_vocab > 128000 ? 128000 : -1, -1, file, eb));
	if (absent(r, "eos_token_id")) {
		if (c->n_vocab > 128001)
			c->stop[c->n_stop++] = 128001;
		return BN_OK;
	}
	return add_stops(h, cJSON_GetObjectItemCaseSensitive(r, "eos_token_id"), file, eb);
}

static int parse_config(struct hf_ckpt *h, const cJSON *r, const char *file,
			struct bn_errbuf *eb)
{
	struct bn_config *c = &h->cfg;
	const char *act = jstr(r, "hidden_act"), *mt = jstr(r, "model_type");
	double eps;

	if (mt && strcmp(mt, "bitnet"))
		return bn_fail(eb, BN_EUNSUP, "%s: model_type '%s' is not bitnet", file, mt);
	if (act && strcmp(act, "relu2"))
		return bn_fail(eb, BN_EUNSUP, "%s: hidden_act '%s' is not supported (relu2 only)",
			       file, act);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "attention_bias")))
		return bn_fail(eb, BN_EUNSUP, "%s: attention_bias is not supported", file);
	BN_TRY(jint(r, "vocab_size", 128256, 1, 1 << 24, &c->n_vocab, file, eb));
	BN_TRY(jint(r, "hidden_size", 2560, 1, 1 << 20, &c->dim, file, eb));
	BN_TRY(jint(r, "intermediate_size", 6912, 1, 1 << 20, &c->ffn_dim, file, eb));
	BN_TRY(jint(r, "num_hidden_layers", 30, 1, 4096, &c->n_layers, file, eb));
	BN_TRY(jint(r, "num_attention_heads", 20, 1, 4096, &c->n_heads, file, eb));
	BN_TRY(jint(r, "num_key_value_heads", absent(r, "num_key_value_heads") ? 5 : c->n_heads,
		    1, 4096, &c->n_kv_heads, file, eb));
	BN_TRY(jint(r, "head_dim", c->dim / c->n_heads, 2, 4096, &c->head_dim, file, eb));
	BN_TRY(jint(r, "max_position_embeddings", 2048, 1, 1 << 24, &c->ctx_max, file, eb));
	if (c->n_heads % c->n_kv_heads || c->head_dim % 2)
		return bn_fail(eb, BN_EFORMAT, "%s: num_attention_heads %d is not a multiple of "
			       "num_key_value_heads %d (or head_dim is odd)", file, c->n_heads,
			       c->n_kv_heads);
	if (jfloat(cJSON_GetObjectItemCaseSensitive(r, "rms_norm_eps"), 1e-5, &eps) < 0 || eps < 0)
		return bn_fail(eb, BN_EFORMAT, "%s: bad rms_norm_eps", file);
	c->norm_eps = (float)eps;
	BN_TRY(parse_rope(c, r, file, eb));
	c->tied = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "tie_word_embeddings"));
	BN_TRY(parse_ids(h, r, file, eb));
	return parse_quant(h, r, file, eb);
}

static int read_meta(struct hf_ckpt *h, const char *dir, struct bn_errbuf *eb)
{
	cJSON *cfg = NULL, *gen = NULL, *tc = NULL;
	char file[4096];
	int rc;

	snprintf(file, sizeof(file), "%s/config.json", dir);
	if ((rc = read_json(dir, "config.json", 1, &cfg, NULL, eb)) < 0)
		return rc;
	rc = parse_config(h, cfg, file, eb);
	cJSON_Delete(cfg);
	BN_TRY(rc);
	snprintf(file, sizeof(file), "%s/generation_config.json", dir);
	BN_TRY(read_json(dir, "generation_config.json", 0, &gen, NULL, eb));
	if (gen) {
		const cJSON *eos = cJSON_GetObjectItemCaseSensitive(gen, "eos_token_id");
		/* generation_config's eos list replaces config.json's, as in generate() */
		if (eos && !cJSON_IsNull(eos))
			h->cfg.n_stop = 0;
		rc = add_stops(h, eos, file, eb);
		if (rc >= 0)
			rc = get_bos(h, gen, h->cfg.bos, h->cfg.bos, file, eb);
		cJSON_Delete(gen);
		BN_TRY(rc);
	}
	BN_TRY(read_json(dir, "tokenizer.json", 1, &h->tok, &h->tok_text, eb));
	BN_TRY(read_json(dir, "tokenizer_config.json", 0, &tc, NULL, eb));
	if (tc) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(tc, "chat_template");
		const cJSON *e;
		if (cJSON_IsString(t))
			h->chat_template = strdup(t->valuestring);
		else if (cJSON_IsArray(t))	/* [{name, template}, ...]: take "default" */
			cJSON_ArrayForEach(e, t)
				if (jstr(e, "name") && !strcmp(jstr(e, "name"), "default") && jstr(e, "template"))
					h->chat_template = strdup(jstr(e, "template"));
		cJSON_Delete(tc);
	}
	return BN_OK;
}

/* ---- tensors ---- */

/* A failed write of the output: keep errno (ENOSPC, EPIPE) for the caller. */
static int write_fail(struct bn_errbuf *eb, int rc)
{
	int e = errno;

	bn_fail(eb, rc, "cannot write the model: %s", rc == BN_EIO && e ? strerror(e) :
		bn_strerror(rc));
	errno = e;
	return rc;
}


static void proj_shape(const struct bn_config *c, int p, int *in, int *out)
{
	int dims[3] = { c->dim, c->ffn_dim, c->n_heads * c->head_dim };
	int outs[4] = { c->n_heads * c->head_dim, c->n_kv_heads * c->head_dim, c->dim, c->ffn_dim };

	*in = dims[projs[p].in_ffn];
	*out = outs[projs[p].out_kind];
}

static int is_float(enum bn_st_dtype d)
{
	return d == BN_ST_F32 || d == BN_ST_F16 || d == BN_ST_BF16;
}

/* weight_scale of projection p in layer: the multiplier of the ternary
 * matrix (bitlinear stores its inverse). */
static int read_scale(struct hf_ckpt *h, int layer, int p, float *scale, struct bn_errbuf *eb)
{
	const struct bn_st_tensor *s;
	char name[160];

	snprintf(name, sizeof(name), "model.layers.%d.%s.weight_scale", layer, projs[p].hf);
	if (!(s = bn_st_find(&h->st, name)))
		return bn_fail(eb, BN_EFORMAT, "%s: missing tensor '%s'", h->dir, name);
	if (!is_float(s->dtype) || s->numel != 1 || s->ndim > 1)
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' must be one float", s->file, name);
	*scale = bn_st_getf(s, 0);
	if (!isfinite(*scale) || (h->divide && *scale == 0.0f))
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' is not a finite scale", s->file, name);
	if (h->divide)
		*scale = 1.0f / *scale;
	return BN_OK;
}

/* Ternary matrix W[out][in] (int8) and its multiplier from the checkpoint:
 * packed weights with weight_scale, or float weights as transformers reads
 * them (quantized online, or used as stored when offline). */
static int load_ternary(struct hf_ckpt *h, int layer, int p, int8_t **wout, float *scale,
			struct bn_errbuf *eb)
{
	char name[160];
	const struct bn_st_tensor *t;
	int in, out;

	proj_shape(&h->cfg, p, &in, &out);
	snprintf(name, sizeof(name), "model.layers.%d.%s.weight", layer, projs[p].hf);
	if (!(t = bn_st_find(&h->st, name)))
		return bn_fail(eb, BN_EFORMAT, "%s: missing tensor '%s'", h->dir, name);
	/* the shape comes from config.json: allocate only once the tensor in the
	 * file has it (then the file holds at least in * out / 4 bytes) */
	if ((t->dtype == BN_ST_U8 || t->dtype == BN_ST_I8) &&
	    (out % 4 || t->ndim != 2 || t->shape[0] != out / 4 || t->shape[1] != in))
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' has shape [%lld, %lld], expected "
			       "packed [%d, %d]", t->file, t->name, (long long)t->shape[0],
			       t->ndim > 1 ? (long long)t->shape[1] : 0LL, out / 4, in);
	if (is_float(t->dtype) && (t->ndim != 2 || t->shape[0] != out || t->shape[1] != in))
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' has shape [%lld, %lld], expected "
			       "[%d, %d]", t->file, t->name, (long long)t->shape[0],
			       t->ndim > 1 ? (long long)t->shape[1] : 0LL, out, in);
	if (!(t->dtype == BN_ST_U8 || t->dtype == BN_ST_I8 || is_float(t->dtype)))
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' has dtype %s (expected U8 packed or "
			       "float master weights)", t->file, t->name, t->dtype_name);
	if (!(*wout = malloc((size_t)in * out)))
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", h->dir);
	if (t->dtype == BN_ST_U8 || t->dtype == BN_ST_I8) {
		BN_TRY(bn_unpack_hf(t, in, out, *wout, eb));
		return read_scale(h, layer, p, scale, eb);
	}
	if (h->divide)
		return bn_fail(eb, BN_EUNSUP, "%s: tensor '%s' holds float weights, but linear_class "
			       "bitlinear reads packed U8 weights only", t->file, t->name);
	if (h->qmode == QM_ONLINE)
		return bn_absmean_quant(t, *wout, scale, eb);
	if (h->qmode == QM_NONE)
		return bn_fail(eb, BN_EUNSUP, "%s: tensor '%s' holds float weights and config.json "
			       "has no quantization_config, so transformers would not quantize them "
			       "(quantization_mode online would)", t->file, t->name);
	{	/* offline: used as stored, times weight_scale */
		float c;
		BN_TRY(bn_float_ternary(t, *wout, &c, eb));
		BN_TRY(read_scale(h, layer, p, scale, eb));
		*scale *= c;
		return BN_OK;
	}
}

static int write_ternary(struct hf_ckpt *h, struct bn_gguf_writer *w, FILE *fp, int *ti,
			 int layer, int p, struct bn_errbuf *eb)
{
	int8_t *tern = NULL;
	uint8_t *packed = NULL;
	float scale = 0;
	int in, out, r, rc, nz = 0;
	size_t rb, i;

	proj_shape(&h->cfg, p, &in, &out);
	rb = bn_ttype_row_bytes(BN_TYPE_T2, (uint64_t)in);
	if ((rc = load_ternary(h, layer, p, &tern, &scale, eb)) < 0)
		goto out;
	if (!(packed = malloc(rb * (size_t)out))) {
		rc = bn_fail(eb, BN_ENOMEM, "%s: out of memory", h->dir);
		goto out;
	}
	for (r = 0; r < out; r++)
		bn_t2_pack_row(tern + (size_t)r * in, in, packed + (size_t)r * rb);
	for (i = 0; i < (size_t)in * out && !nz; i++)
		nz = tern[i] != 0;
	if (!nz && h->opts->warn) {
		char msg[256];
		snprintf(msg, sizeof(msg), "%s: warning: tensor 'model.layers.%d.%s.weight' is all "
			 "zeros (a known defect of some uploads, BitNet issue #608)", h->dir, layer,
			 projs[p].hf);
		h->opts->warn(h->opts->warn_ctx, msg);
	}
	rc = bn_gguf_write_data(w, fp, (*ti)++, packed, rb * (size_t)out);
	if (rc == BN_OK)
		rc = bn_gguf_write_data(w, fp, (*ti)++, &scale, 4);
	if (rc < 0)
		rc = write_fail(eb, rc);
out:
	free(tern);
	free(packed);
	return rc;
}

static const struct bn_st_tensor *float_tensor(struct hf_ckpt *h, const char *name,
					       int64_t d0, int64_t d1, struct bn_errbuf *eb)
{
	const struct bn_st_tensor *t = bn_st_find(&h->st, name);
	int nd = d1 ? 2 : 1;

	if (!t) {
		bn_fail(eb, BN_EFORMAT, "%s: missing tensor '%s'", h->dir, name);
		return NULL;
	}
	if (!is_float(t->dtype)) {
		bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' has dtype %s, expected a float type",
			t->file, name, t->dtype_name);
		return NULL;
	}
	if (t->ndim != nd || t->shape[0] != d0 || (nd == 2 && t->shape[1] != d1)) {
		bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' has the wrong shape (expected [%lld%s%lld])",
			t->file, name, (long long)(nd == 2 ? d0 : d0), nd == 2 ? ", " : "",
			(long long)(nd == 2 ? d1 : 0));
		return NULL;
	}
	return t;
}

/* Write a float tensor (norm or embedding) converted to type, row by row. */
static int write_float(struct hf_ckpt *h, struct bn_gguf_writer *w, FILE *fp, int *ti,
		       const char *name, int rows, int cols, uint32_t type, struct bn_errbuf *eb)
{
	const struct bn_st_tensor *t = float_tensor(h, name, rows > 1 || type != BN_TYPE_F32 ?
						    rows : cols, rows > 1 || type != BN_TYPE_F32 ?
						    cols : 0, eb);
	size_t rb = bn_ttype_row_bytes(type, (uint64_t)cols), nbytes = rb * (size_t)rows;
	uint8_t *buf;
	float *row;
	/* magnitudes that would round to an infinite f16 (value, or q8_0 scale) */
	float lim = type == BN_TYPE_F16 ? 65520.0f : type == BN_TYPE_Q8_0 ? 65504.0f * 127 : INFINITY;
	int r, c, rc = BN_OK;

	if (!t)
		return BN_EFORMAT;
	buf = malloc(nbytes);
	row = malloc((size_t)cols * sizeof(float));
	if (!buf || !row) {
		rc = bn_fail(eb, BN_ENOMEM, "%s: out of memory", h->dir);
		goto out;
	}
	for (r = 0; r < rows; r++) {
		for (c = 0; c < cols; c++) {
			row[c] = bn_st_getf(t, (size_t)r * cols + c);
			if (!isfinite(row[c])) {
				rc = bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' holds a non-finite value",
					     t->file, name);
				goto out;
			}
			if (fabsf(row[c]) >= lim) {
				rc = bn_fail(eb, BN_ERANGE, "%s: tensor '%s' holds %g, beyond the range "
					     "of %s (store it as bf16 or f32)", t->file, name,
					     (double)row[c], bn_ttype_name(type));
				goto out;
			}
		}
		if (bn_convert_row(type, row, cols, buf + (size_t)r * rb) < 0) {
			rc = bn_fail(eb, BN_EINVAL, "%s: rows of %d values cannot be stored as %s",
				     name, cols, bn_ttype_name(type));
			goto out;
		}
	}
	if ((rc = bn_gguf_write_data(w, fp, (*ti)++, buf, nbytes)) < 0)
		rc = write_fail(eb, rc);
out:
	free(buf);
	free(row);
	return rc;
}

/* type, or the next of f16, bf16, f32 that holds every value of t exactly
 * (non-finite values are refused later). */
static uint32_t exact_type(const struct bn_st_tensor *t, uint32_t type)
{
	uint64_t i;

	if (!t || t->dtype == BN_ST_F16 || !is_float(t->dtype))
		return type;
	for (i = 0; i < t->numel && type != BN_TYPE_F32; i++) {
		float v = bn_st_getf(t, i);
		if (type == BN_TYPE_F16 && bn_f16_to_f32(bn_f32_to_f16(v)) != v)
			type = BN_TYPE_BF16;
		if (type == BN_TYPE_BF16 && bn_bf16_to_f32(bn_f32_to_bf16(v)) != v)
			type = BN_TYPE_F32;
	}
	return type;
}

static uint32_t embd_type(struct hf_ckpt *h)
{
	uint32_t et = h->opts->embd_type;

	if (et != BN_EMBD_AUTO)
		return et;
	et = exact_type(bn_st_find(&h->st, "model.embed_tokens.weight"), BN_TYPE_F16);
	return h->cfg.tied ? et : exact_type(bn_st_find(&h->st, "lm_head.weight"), et);
}

static int write_tensors(struct hf_ckpt *h, struct bn_gguf_writer *w, FILE *fp,
			 struct bn_errbuf *eb)
{
	const struct bn_config *c = &h->cfg;
	int ti = 0, l, p, total = 3 + c->n_layers * 18 - c->tied, qd = c->n_heads * c->head_dim;
	uint32_t et = h->et;
	char name[160];
	static const char *const hfnorm[4] = { "input_layernorm", "post_attention_layernorm",
					       "self_attn.attn_sub_norm", "mlp.ffn_sub_norm" };
	int nd[4] = { c->dim, c->dim, qd, c->ffn_dim };

	BN_TRY(write_float(h, w, fp, &ti, "model.embed_tokens.weight", c->n_vocab, c->dim, et, eb));
	if (!c->tied)
		BN_TRY(write_float(h, w, fp, &ti, "lm_head.weight", c->n_vocab, c->dim, et, eb));
	BN_TRY(write_float(h, w, fp, &ti, "model.norm.weight", 1, c->dim, BN_TYPE_F32, eb));
	for (l = 0; l < c->n_layers; l++) {
		for (p = 0; p < 4; p++) {
			snprintf(name, sizeof(name), "model.layers.%d.%s.weight", l, hfnorm[p]);
			BN_TRY(write_float(h, w, fp, &ti, name, 1, nd[p], BN_TYPE_F32, eb));
		}
		for (p = 0; p < 7; p++)
			BN_TRY(write_ternary(h, w, fp, &ti, l, p, eb));
		if (h->opts->progress)
			h->opts->progress(h->opts->progress_ctx, ti, total, (uint64_t)ftell(fp));
	}
	return BN_OK;
}

static void hf_release(struct hf_ckpt *h)
{
	bn_st_close(&h->st);
	cJSON_Delete(h->tok);
	free(h->tok_text);
	free(h->chat_template);
}

int bn_convert_hf(const char *dir, const struct bn_convert_opts *o, FILE *fp,
		  struct bn_errbuf *eb)
{
	struct hf_ckpt h;
	struct bn_gguf_writer *w = NULL;
	const char *name = strrchr(dir, '/');
	int rc;

	memset(&h, 0, sizeof(h));
	h.dir = dir;
	h.opts = o;
	if ((rc = read_meta(&h, dir, eb)) < 0 || (rc = bn_st_open(&h.st, dir, eb)) < 0)
		goto out;
	if (!h.cfg.tied && !bn_st_find(&h.st, "lm_head.weight")) {
		rc = bn_fail(eb, BN_EFORMAT, "%s: tie_word_embeddings is false but there is no "
			     "lm_head.weight", dir);
		goto out;
	}
	if (bn_gguf_writer_new(&w, 64) < 0) {
		rc = bn_fail(eb, BN_ENOMEM, "%s: out of memory", dir);
		goto out;
	}
	name = name && name[1] ? name + 1 : dir;
	if ((rc = bn_convert_meta(w, &h.cfg, name, h.tok_text, strlen(h.tok_text),
				  h.chat_template)) < 0 ||
	    (rc = bn_convert_declare(w, &h.cfg, h.et = embd_type(&h))) < 0) {
		rc = bn_fail(eb, rc, "%s: cannot describe the model (%s)", dir, bn_strerror(rc));
		goto out;
	}
	if ((rc = bn_gguf_write_header(w, fp)) < 0) {
		rc = write_fail(eb, rc);
		goto out;
	}
	rc = write_tensors(&h, w, fp, eb);
out:
	bn_gguf_writer_free(w);
	hf_release(&h);
	return rc;
}

int bn_convert_to_mem(int (*write)(void *ctx, FILE *fp, struct bn_errbuf *eb), void *ctx,
		      const char *name, uint8_t **buf, size_t *size, struct bn_errbuf *eb)
{
	char *p = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&p, &n);
	int rc;

	*buf = NULL;
	if (!fp)
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", name);
	rc = write(ctx, fp, eb);
	if (fclose(fp) != 0 && rc >= 0)
		rc = bn_fail(eb, BN_ENOMEM, "%s: out of memory", name);
	if (rc < 0) {
		free(p);
		return rc;
	}
	*buf = (uint8_t *)p;
	*size = n;
	return BN_OK;
}

struct hf_mem { const char *dir; const struct bn_convert_opts *o; };

static int hf_write(void *ctx, FILE *fp, struct bn_errbuf *eb)
{
	const struct hf_mem *m = ctx;

	return bn_convert_hf(m->dir, m->o, fp, eb);
}

int bn_convert_hf_mem(const char *dir, const struct bn_convert_opts *o, uint8_t **buf,
		      size_t *size, struct bn_errbuf *eb)
{
	struct hf_mem m = { dir, o };

	return bn_convert_to_mem(hf_write, &m, dir, buf, size, eb);
}
