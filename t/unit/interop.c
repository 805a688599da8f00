/* interop.c - llama.cpp / bitnet.cpp GGUF import and export: round trips
 * through both formats give bit-identical weights and logits (tiny-a and
 * the demo model), the tokenizer survives as the same vocabulary, merges,
 * added tokens and BOS rule, and hand-built files cover TQ1_0, TQ2_0, I2_S
 * and ternary f16 weights, shared and differing block scales, bad codes,
 * bad I2_S tails and truncation. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert.h"
#include "forward.h"
#include "interop.h"
#include "kernels.h"
#include "model.h"
#include "tokenizer.h"
#include "unit.h"
#include "file.h"
#include "interop_int.h"

typedef int (*writer_fn)(void *ctx, FILE *fp, struct bn_errbuf *eb);

static int to_mem(writer_fn f, void *ctx, uint8_t **buf, size_t *n, struct bn_errbuf *eb)
{
	char *p = NULL;
	FILE *fp = open_memstream(&p, n);
	int rc;

	eb->msg[0] = 0;
	rc = f(ctx, fp, eb);

	fclose(fp);
	*buf = (uint8_t *)p;
	if (rc < 0) {
		free(p);
		*buf = NULL;
	}
	return rc;
}

struct exp_ctx { const struct bn_model *m; enum bn_export_fmt fmt; };

static int do_export(void *ctx, FILE *fp, struct bn_errbuf *eb)
{
	struct exp_ctx *x = ctx;
	struct bn_convert_opts o;

	bn_convert_opts_default(&o);
	return bn_export_gguf(x->m, x->fmt, &o, fp, eb);
}

static int same_tlin(const struct bn_tlin *a, const struct bn_tlin *b)
{
	return a->in == b->in && a->out == b->out && a->scale == b->scale &&
	       !memcmp(a->w, b->w, a->row_bytes * (size_t)a->out);
}

/* Every weight, norm and config field equal. */
static int same_model(const struct bn_model *a, const struct bn_model *b)
{
	const struct bn_config *c = &a->cfg;
	int l, ok = !memcmp(&a->cfg, &b->cfg, sizeof(a->cfg));

	ok = ok && a->embd.type == b->embd.type &&
	     !memcmp(a->embd.w, b->embd.w, a->embd.row_bytes * (size_t)c->n_vocab) &&
	     !memcmp(a->out_norm, b->out_norm, (size_t)c->dim * 4);
	for (l = 0; ok && l < c->n_layers; l++) {
		const struct bn_layer *x = &a->layers[l], *y = &b->layers[l];
		ok = !memcmp(x->attn_norm, y->attn_norm, (size_t)c->dim * 4) &&
		     !memcmp(x->ffn_norm, y->ffn_norm, (size_t)c->dim * 4) &&
		     !memcmp(x->attn_sub_norm, y->attn_sub_norm, (size_t)c->n_heads * c->head_dim * 4) &&
		     !memcmp(x->ffn_sub_norm, y->ffn_sub_norm, (size_t)c->ffn_dim * 4) &&
		     same_tlin(&x->q, &y->q) && same_tlin(&x->k, &y->k) && same_tlin(&x->v, &y->v) &&
		     same_tlin(&x->o, &y->o) && same_tlin(&x->gate, &y->gate) &&
		     same_tlin(&x->up, &y->up) && same_tlin(&x->down, &y->down);
	}
	return ok;
}

/* merges as "a b" strings, whichever form the file uses */
static char *merge_str(const cJSON *m)
{
	char buf[512];

	if (cJSON_IsString(m))
		return strdup(m->valuestring);
	snprintf(buf, sizeof(buf), "%s %s", cJSON_GetArrayItem(m, 0)->valuestring,
		 cJSON_GetArrayItem(m, 1)->valuestring);
	return strdup(buf);
}

/* Same vocab, merges (in order) and added tokens (id, content, special). */
static int same_tokenizer(const char *ja, size_t la, const char *jb, size_t lb)
{
	cJSON *a = cJSON_ParseWithLength(ja, la), *b = cJSON_ParseWithLength(jb, lb);
	const cJSON *ma = cJSON_GetObjectItem(a, "model"), *mb = cJSON_GetObjectItem(b, "model");
	const cJSON *x, *y;
	int ok = a && b && cJSON_GetArraySize(cJSON_GetObjectItem(ma, "vocab")) ==
			   cJSON_GetArraySize(cJSON_GetObjectItem(mb, "vocab"));

	cJSON_ArrayForEach(x, cJSON_GetObjectItem(ma, "vocab")) {
		y = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(mb, "vocab"), x->string);
		ok = ok && y && y->valueint == x->valueint;
	}
	ok = ok && cJSON_GetArraySize(cJSON_GetObjectItem(ma, "merges")) ==
		   cJSON_GetArraySize(cJSON_GetObjectItem(mb, "merges"));
	for (x = cJSON_GetObjectItem(ma, "merges")->child, y = cJSON_GetObjectItem(mb, "merges")->child;
	     ok && x && y; x = x->next, y = y->next) {
		char *s = merge_str(x), *t = merge_str(y);
		ok = !strcmp(s, t);
		free(s);
		free(t);
	}
	ok = ok && cJSON_GetArraySize(cJSON_GetObjectItem(a, "added_tokens")) ==
		   cJSON_GetArraySize(cJSON_GetObjectItem(b, "added_tokens"));
	for (x = cJSON_GetObjectItem(a, "added_tokens")->child,
	     y = cJSON_GetObjectItem(b, "added_tokens")->child; ok && x && y; x = x->next, y = y->next)
		ok = cJSON_GetObjectItem(x, "id")->valueint == cJSON_GetObjectItem(y, "id")->valueint &&
		     !strcmp(cJSON_GetObjectItem(x, "content")->valuestring,
			     cJSON_GetObjectItem(y, "content")->valuestring) &&
		     cJSON_IsTrue(cJSON_GetObjectItem(x, "special")) ==
		     cJSON_IsTrue(cJSON_GetObjectItem(y, "special"));
	ok = ok && !strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "post_processor"), "type")->valuestring,
			   cJSON_GetObjectItem(cJSON_GetObjectItem(b, "post_processor"), "type")->valuestring);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return ok;
}

struct logits { float *v; int n_vocab; };

static int keep(void *ctx, int i, const float *l)
{
	struct logits *k = ctx;

	memcpy(k->v + (size_t)i * k->n_vocab, l, (size_t)k->n_vocab * 4);
	return 0;
}

static float *run_logits(const struct bn_model *m, const int32_t *ids, int n)
{
	struct bn_state *st;
	struct bn_errbuf eb;
	struct logits k = { malloc((size_t)n * m->cfg.n_vocab * 4), m->cfg.n_vocab };

	if (bn_state_new(&st, m, 64, 16, NULL, &eb) < 0 ||
	    bn_eval(st, ids, n, BN_LOGITS_ALL, keep, &k, &eb) < 0) {
		free(k.v);
		return NULL;
	}
	bn_state_free(st);
	return k.v;
}

static void round_trip(const char *dir, enum bn_export_fmt fmt, const char *what)
{
	struct bn_errbuf eb = { "" };
	struct bn_convert_opts o;
	struct bn_model a, b;
	uint8_t *buf, *foreign, *back;
	size_t n, fn, bn_;
	int32_t ids[6] = { 1, 50, 300, 7, 4000, 2 };
	struct exp_ctx x;
	float *la, *lb;
	char tmp[] = "/tmp/bn-interop-XXXXXX";
	int fd;

	bn_convert_opts_default(&o);
	if (bn_convert_hf_mem(dir, &o, &buf, &n, &eb) < 0 || bn_model_open_mem(&a, buf, n, dir, &eb) < 0) {
		CHECK(0, "%s: open %s: %s", what, dir, eb.msg);
		return;
	}
	x = (struct exp_ctx){ &a, fmt };
	CHECK(to_mem(do_export, &x, &foreign, &fn, &eb) == BN_OK, "%s: export (%s)", what, eb.msg);
	CHECK(bn_convert_gguf_mem(foreign, fn, "foreign", &o, &back, &bn_, &eb) == BN_OK,
	      "%s: import (%s)", what, eb.msg);
	CHECK(bn_model_open_mem(&b, back, bn_, "back", &eb) == BN_OK, "%s: open the import", what);
	CHECK(same_model(&a, &b), "%s: every weight, scale, norm and config field identical", what);
	CHECK(b.tok_json && same_tokenizer(a.tok_json, a.tok_json_len, b.tok_json, b.tok_json_len),
	      "%s: the tokenizer comes back with the same vocab, merges and added tokens", what);
	la = run_logits(&a, ids, 6);
	lb = run_logits(&b, ids, 6);
	CHECK(la && lb && !memcmp(la, lb, 6 * (size_t)a.cfg.n_vocab * 4),
	      "%s: logits of 6 positions bit-identical", what);
	free(la);
	free(lb);
	bn_model_close(&b);
	fd = mkstemp(tmp);
	CHECK(fd >= 0 && write(fd, foreign, fn) == (ssize_t)fn, "%s: temp file", what);
	close(fd);
	CHECK(bn_model_open(&b, tmp, &eb) == BN_OK && b.repacked && same_model(&a, &b),
	      "%s: bn_model_open converts the foreign file in memory (repacked)", what);
	bn_model_close(&b);
	CHECK(bn_model_open(&b, tmp, &eb) == BN_OK, "reopen");
	bn_model_close(&b);
	unlink(tmp);
	free(foreign);
	bn_model_close(&a);
}

/* ---- hand-built llama.cpp / bitnet.cpp files ---- */

#define DIM 256
#define NV 16

struct hand {
	uint32_t type;		/* projection weight type */
	float d[2];		/* block scales: d[0] for even blocks, d[1] for odd */
	int bad_code, nan_tail, with_scale, f16_junk;
	int8_t w[7][DIM * DIM];
};

static void tq1_encode(const int8_t *w, uint8_t *b)	/* one 256 block, 52 bytes */
{
	int n, m;

	for (m = 0; m < 48; m++) {
		int base = m < 32 ? m : 160 + (m - 32), step = m < 32 ? 32 : 16;
		unsigned q = 0;
		for (n = 0; n < 5; n++)
			q = q * 3 + (unsigned)(w[base + n * step] + 1);
		b[m] = (uint8_t)((q * 256 + 242) / 243);
	}
	for (m = 0; m < 4; m++) {
		unsigned q = 0;
		for (n = 0; n < 4; n++)
			q = q * 3 + (unsigned)(w[240 + n * 4 + m] + 1);
		q *= 3;
		b[48 + m] = (uint8_t)((q * 256 + 242) / 243);
	}
}

static void encode(const struct hand *h, const int8_t *w, size_t n, uint8_t *out)
{
	size_t nb = n / 256, i;

	if (h->type == BN_TYPE_I2_S) {
		memset(out, 0, n / 4 + 32);
		for (i = 0; i < n; i++)
			out[i / 128 * 32 + i % 32] |= (uint8_t)((w[i] + 1) << (6 - 2 * (i % 128 / 32)));
		float s = h->nan_tail ? NAN : h->d[0];
		memcpy(out + n / 4, &s, 4);
		if (h->bad_code)
			out[5] |= 0xc0;
		return;
	}
	if (h->type == BN_TYPE_F16) {
		for (i = 0; i < n; i++) {
			uint16_t v = bn_f32_to_f16((float)w[i] * h->d[0]);
			out[2 * i] = (uint8_t)v;
			out[2 * i + 1] = (uint8_t)(v >> 8);
		}
		if (h->f16_junk)
			out[3] = 0x40;
		return;
	}
	for (i = 0; i < nb; i++) {
		size_t bb = h->type == BN_TYPE_TQ2_0 ? 66 : 54;
		uint8_t *p = out + i * bb;
		uint16_t d = bn_f32_to_f16(h->d[i % 2]);
		if (h->type == BN_TYPE_TQ2_0) {
			bn_t2_pack_row(w + i * 256, 256, p);
		} else {
			tq1_encode(w + i * 256, p);
		}
		p[bb - 2] = (uint8_t)d;
		p[bb - 1] = (uint8_t)(d >> 8);
	}
	if (h->bad_code)
		out[1] |= 0x03;
}

static int write_hand(void *ctx, FILE *fp, struct bn_errbuf *eb)
{
	struct hand *h = ctx;
	struct bn_gguf_writer *w;
	static const char *const projs[7] = { "attn_q", "attn_k", "attn_v", "attn_output",
					      "ffn_gate", "ffn_up", "ffn_down" };
	static const char *const norms[4] = { "attn_norm", "ffn_norm", "attn_sub_norm", "ffn_sub_norm" };
	const char *toks[NV];
	int32_t types[NV];
	const char *merges[1] = { "a b" };
	uint64_t d2[2] = { DIM, NV }, d1[1] = { DIM }, dw[2] = { DIM, DIM }, one[1] = { 1 };
	const char *arch = h->type == BN_TYPE_I2_S ? "bitnet-b1.58" : "bitnet";
	char k[96], names[NV][8];
	float *f = calloc(DIM * NV, 4);
	uint8_t *buf = malloc(DIM * DIM * 2 + 64);
	int i, p;

	(void)eb;
	for (i = 0; i < NV; i++) {
		snprintf(names[i], sizeof(names[i]), "%c", 'a' + i);
		toks[i] = names[i];
		types[i] = 1;
	}
	toks[NV - 2] = "ab";
	toks[NV - 1] = "<|begin_of_text|>";
	types[NV - 1] = 3;
	bn_gguf_writer_new(&w, 32);
	bn_gguf_add_str(w, "general.architecture", arch, strlen(arch));
#define U(key, v) (snprintf(k, sizeof(k), "%s." key, arch), bn_gguf_add_u32(w, k, v))
	U("embedding_length", DIM);
	U("block_count", 1);
	U("feed_forward_length", DIM);
	U("attention.head_count", 2);
	U("attention.head_count_kv", 1);
	U("context_length", 64);
	snprintf(k, sizeof(k), "%s.attention.layer_norm_rms_epsilon", arch);
	bn_gguf_add_f32(w, k, 1e-5f);
	bn_gguf_add_str(w, "tokenizer.ggml.model", "gpt2", 4);
	bn_gguf_add_str(w, "tokenizer.ggml.pre", "llama-bpe", 9);
	bn_gguf_add_strs(w, "tokenizer.ggml.tokens", toks, NV);
	bn_gguf_add_i32s(w, "tokenizer.ggml.token_type", types, NV);
	bn_gguf_add_strs(w, "tokenizer.ggml.merges", merges, 1);
	bn_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", NV - 1);
	bn_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 3);
	bn_gguf_add_tensor(w, "token_embd.weight", BN_TYPE_F32, d2, 2);
	bn_gguf_add_tensor(w, "output_norm.weight", BN_TYPE_F32, d1, 1);
	for (i = 0; i < 4; i++) {
		snprintf(k, sizeof(k), "blk.0.%s.weight", i == 2 && h->type == BN_TYPE_I2_S ?
			 "inner_attn_ln" : norms[i]);
		bn_gguf_add_tensor(w, k, BN_TYPE_F32, d1, 1);
	}
	for (p = 0; p < 7; p++) {
		dw[1] = p == 1 || p == 2 ? DIM / 2 : DIM;
		snprintf(k, sizeof(k), "blk.0.%s.weight", projs[p]);
		bn_gguf_add_tensor(w, k, h->type, dw, 2);
		if (h->with_scale) {
			snprintf(k, sizeof(k), "blk.0.%s.scale", projs[p]);
			bn_gguf_add_tensor(w, k, BN_TYPE_F32, one, 1);
		}
	}
	bn_gguf_write_header(w, fp);
	for (i = 0; i < DIM * NV; i++)
		f[i] = (float)((i * 37) % 11) - 5;
	bn_gguf_write_data(w, fp, 0, f, DIM * NV * 4);
	for (i = 0; i < DIM; i++)
		f[i] = 1.0f + (float)(i % 7) / 16;
	for (i = 1; i < 6; i++)
		bn_gguf_write_data(w, fp, i, f, DIM * 4);
	for (p = 0, i = 6; p < 7; p++) {
		float two = 2.0f;
		encode(h, h->w[p], p == 1 || p == 2 ? DIM * DIM / 2 : DIM * DIM, buf);
		bn_gguf_write_data(w, fp, i, buf, bn_gguf_tensor_bytes(w, i));
		i++;
		if (h->with_scale)
			bn_gguf_write_data(w, fp, i++, &two, 4);
	}
	bn_gguf_writer_free(w);
	free(f);
	free(buf);
	return BN_OK;
}

static int hand_import(struct hand *h, struct bn_model *m, struct bn_errbuf *eb)
{
	struct bn_convert_opts o;
	uint8_t *img, *out;
	size_t n, on;
	int rc;

	bn_convert_opts_default(&o);
	to_mem(write_hand, h, &img, &n, eb);
	rc = bn_convert_gguf_mem(img, n, "hand.gguf", &o, &out, &on, eb);
	free(img);
	if (rc < 0)
		return rc;
	return bn_model_open_mem(m, out, on, "hand.gguf", eb);
}

static int weights_match(const struct bn_model *m, const struct hand *h, float scale)
{
	const struct bn_tlin *t[7] = { &m->layers[0].q, &m->layers[0].k, &m->layers[0].v,
				       &m->layers[0].o, &m->layers[0].gate, &m->layers[0].up,
				       &m->layers[0].down };
	int8_t row[DIM];
	int p, r, ok = 1;

	for (p = 0; p < 7; p++) {
		ok = ok && t[p]->scale == scale;
		for (r = 0; r < t[p]->out && ok; r++) {
			bn_t2_unpack_row(t[p]->w + (size_t)r * t[p]->row_bytes, DIM, row);
			ok = !memcmp(row, h->w[p] + (size_t)r * DIM, DIM);
		}
	}
	return ok;
}

static void hand_tests(void)
{
	static struct hand h;
	struct bn_errbuf eb = { "" };
	struct bn_model m;
	uint64_t s = 12345;
	size_t i;
	int p, rc;

	for (p = 0; p < 7; p++)
		for (i = 0; i < DIM * DIM; i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			h.w[p][i] = (int8_t)((s >> 33) % 3) - 1;
		}
	memset(h.w[3], 0, 256);	/* an all-zero block: its d does not matter */

	h.type = BN_TYPE_TQ2_0;
	h.d[0] = h.d[1] = 0.75f;
	CHECK(hand_import(&h, &m, &eb) == BN_OK && weights_match(&m, &h, 0.75f),
	      "tq2_0: ternary weights and the shared block scale (%s)", eb.msg);
	CHECK(m.tok_json && strstr(m.tok_json, "\"ab\"") && strstr(m.tok_json, "TemplateProcessing"),
	      "tokenizer.ggml.* becomes a tokenizer.json with BOS post-processing");
	CHECK(m.cfg.bos == NV - 1 && m.cfg.n_stop == 1 && m.cfg.stop[0] == 3 &&
	      m.cfg.n_kv_heads == 1 && m.cfg.head_dim == 128, "config from the bitnet.* keys");
	bn_model_close(&m);

	h.with_scale = 1;
	CHECK(hand_import(&h, &m, &eb) == BN_OK && weights_match(&m, &h, 1.5f),
	      "tq2_0 with .scale tensors: scale = d * scale");
	bn_model_close(&m);
	h.with_scale = 0;

	h.type = BN_TYPE_TQ1_0;
	CHECK(hand_import(&h, &m, &eb) == BN_OK && weights_match(&m, &h, 0.75f),
	      "tq1_0: base-3 packing decodes to the same weights (%s)", eb.msg);
	bn_model_close(&m);

	h.type = BN_TYPE_TQ2_0;
	h.d[1] = 0.5f;
	rc = hand_import(&h, &m, &eb);
	CHECK(rc == BN_EUNSUP && strstr(eb.msg, "different scales") && !strchr(eb.msg, '\n'),
	      "tq2_0 with differing block scales is refused: %s", eb.msg);
	h.type = BN_TYPE_TQ1_0;
	CHECK(hand_import(&h, &m, &eb) == BN_EUNSUP, "tq1_0 with differing block scales is refused");
	h.d[1] = 0.75f;

	h.type = BN_TYPE_TQ2_0;
	h.bad_code = 1;
	CHECK(hand_import(&h, &m, &eb) == BN_EFORMAT && strstr(eb.msg, "code 3"),
	      "tq2_0 code 3 is refused: %s", eb.msg);
	h.bad_code = 0;

	h.type = BN_TYPE_I2_S;
	CHECK(hand_import(&h, &m, &eb) == BN_OK && weights_match(&m, &h, 0.75f),
	      "i2_s: codes and the tail scale; inner_attn_ln accepted (%s)", eb.msg);
	bn_model_close(&m);
	h.nan_tail = 1;
	CHECK(hand_import(&h, &m, &eb) == BN_EFORMAT && strstr(eb.msg, "I2_S tail"),
	      "i2_s with a NaN scale in its tail is refused: %s", eb.msg);
	h.nan_tail = 0;
	h.bad_code = 1;
	CHECK(hand_import(&h, &m, &eb) == BN_EFORMAT && strstr(eb.msg, "code 3"),
	      "i2_s code 3 is refused");
	h.bad_code = 0;

	h.type = BN_TYPE_F16;
	CHECK(hand_import(&h, &m, &eb) == BN_OK && weights_match(&m, &h, 0.75f),
	      "f16 weights holding {-a, 0, a} are ternary (%s)", eb.msg);
	bn_model_close(&m);
	h.f16_junk = 1;
	CHECK(hand_import(&h, &m, &eb) == BN_EFORMAT && strstr(eb.msg, "not ternary"),
	      "f16 weights with a second magnitude are refused: %s", eb.msg);
	h.f16_junk = 0;
}

static void foreign_checks(void)
{
	struct bn_errbuf eb = { "" };
	struct bn_convert_opts o;
	uint8_t junk[64] = "GGUF", *out;
	size_t on;

	bn_convert_opts_default(&o);
	CHECK(bn_convert_gguf_mem(junk, 3, "x.gguf", &o, &out, &on, &eb) == BN_EFORMAT &&
	      strstr(eb.msg, "x.gguf"), "a truncated file is refused: %s", eb.msg);
	CHECK(bn_convert_gguf_mem(junk, sizeof(junk), "x.gguf", &o, &out, &on, &eb) < 0,
	      "a GGUF header of zeros is refused: %s", eb.msg);
}

/* tokenizer.json -> tokenizer.ggml.* -> tokenizer.json encodes every line of
 * the reference corpora to the same ids (with and without BOS). */
static void tok_round_trip(const char *json_path, const char *refs, int n_vocab, int32_t bos,
			   const char *what)
{
	struct bn_errbuf eb = { "" };
	struct bn_config c = { .n_vocab = n_vocab, .bos = bos, .n_stop = 1, .stop = { bos + 1 } };
	struct bn_gguf_writer *w;
	struct bn_tokenizer *ta = NULL, *tb = NULL;
	struct bn_gguf g;
	char *json, *back = NULL, *lines, *line, *save;
	size_t len, n, nl;
	uint8_t *img = NULL;
	FILE *fp = open_memstream((char **)&img, &n);
	int same = 1, count = 0;

	CHECK(bn_read_file(json_path, 64u << 20, &json, &len, &eb) == BN_OK, "%s: read", what);
	bn_gguf_writer_new(&w, 32);
	CHECK(bn_interop_tok_keys(w, json, len, &c, "t", &eb) == BN_OK, "%s: keys (%s)", what, eb.msg);
	bn_gguf_write_header(w, fp);
	fclose(fp);
	bn_gguf_writer_free(w);
	CHECK(bn_gguf_parse(&g, img, n, "t", &eb) == BN_OK &&
	      bn_tok_json_from_ggml(&g, "t", &back, NULL, &eb) == BN_OK, "%s: rebuilt (%s)", what, eb.msg);
	CHECK(bn_tokenizer_load(&ta, json, len, &eb) == BN_OK && back &&
	      bn_tokenizer_load(&tb, back, strlen(back), &eb) == BN_OK, "%s: both load (%s)", what, eb.msg);
	if (ta && tb && bn_read_file(refs, 64u << 20, &lines, &nl, &eb) == BN_OK) {
		for (line = strtok_r(lines, "\n", &save); line && same; line = strtok_r(NULL, "\n", &save)) {
			cJSON *j = cJSON_Parse(line);
			const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "text"));
			for (int f = 0; t && f < 2 && same; f++) {
				int32_t *a, *b;
				size_t na, nb;
				int ra = bn_tokenizer_encode(ta, t, strlen(t), f ? BN_TOK_NO_BOS : 0, &a, &na, &eb);
				int rb = bn_tokenizer_encode(tb, t, strlen(t), f ? BN_TOK_NO_BOS : 0, &b, &nb, &eb);
				same = ra == rb && na == nb && !memcmp(a, b, na * 4);
				free(a);
				free(b);
			}
			count++;
			cJSON_Delete(j);
		}
		free(lines);
	}
	CHECK(same && count > 1000, "%s: %d reference lines encode identically", what, count);
	bn_tokenizer_free(ta);
	bn_tokenizer_free(tb);
	bn_gguf_release(&g);
	free(img);
	free(json);
	free(back);
}

int main(void)
{
	tok_round_trip("t/fixtures/tokenizers/llama3/tokenizer.json",
		       "t/fixtures/tokenizers/refs/llama3-edge.jsonl", 128256, 128000, "llama3");
	tok_round_trip("t/fixtures/tokenizers/demo/tokenizer.json",
		       "t/fixtures/tokenizers/refs/demo-tok.jsonl", 4101, 4096, "demo");
	round_trip("t/fixtures/models/tiny-a", BN_EXPORT_LLAMACPP, "tiny-a via llama.cpp");
	round_trip("share/bitnet-demo", BN_EXPORT_LLAMACPP, "demo via llama.cpp");
	round_trip("share/bitnet-demo", BN_EXPORT_I2S, "demo via i2_s");
	hand_tests();
	foreign_checks();
	return unit_done();
}
