/* forward.c - the forward pass against transformers' reference logits
 * (t/fixtures/models/tiny-a): every logit of every prompt position within
 * 1e-3, in one prefill pass and one token at a time through the KV cache,
 * with 1 and 2 threads (identical results), and every kernel table; and
 * decode after 700 tokens (attention over more than the caches hold) with
 * 1 and 2 threads, f32 and f16 caches: identical logits. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "forward.h"
#include "kernels.h"
#include "model.h"
#include "safetensors.h"
#include "unit.h"

#define DIR "t/fixtures/models/tiny-a"

struct cmp {
	const struct bn_st_tensor *ref;
	int n_vocab;
	double maxdiff;
	float *copy;	/* [T][V] logits seen, for thread comparisons */
};

static int on_logits(void *ctx, int i, const float *l)
{
	struct cmp *c = ctx;
	int v;

	for (v = 0; v < c->n_vocab; v++) {
		double d = fabs((double)l[v] - bn_st_getf(c->ref, (size_t)i * c->n_vocab + v));
		if (d > c->maxdiff || d != d)
			c->maxdiff = d != d ? INFINITY : d;
	}
	memcpy(c->copy + (size_t)i * c->n_vocab, l, (size_t)c->n_vocab * 4);
	return 0;
}

/* Run case ids[0..n) in one prefill pass; returns max |diff|. */
static double run(struct bn_model *m, struct bn_pool *pool, const int32_t *ids, int n,
		  const struct bn_st_tensor *ref, float *copy)
{
	struct bn_state *st;
	struct bn_errbuf eb;
	struct cmp c = { ref, m->cfg.n_vocab, 0, copy };

	if (bn_state_new(&st, m, 64, 16, pool, &eb) < 0)
		return INFINITY;
	if (bn_eval(st, ids, n, BN_LOGITS_ALL, on_logits, &c, &eb) != 0)
		c.maxdiff = INFINITY;
	bn_state_free(st);
	return c.maxdiff;
}

struct shift { struct cmp *c; int base; };

static int on_copy(void *ctx, int i, const float *l)
{
	struct shift *s = ctx;

	(void)i;
	memcpy(s->c->copy + (size_t)s->base * s->c->n_vocab, l, (size_t)s->c->n_vocab * 4);
	return 0;
}

static int on_shift(void *ctx, int i, const float *l)
{
	struct shift *s = ctx;
	return on_logits(s->c, s->base + i, l);
}

static double run_single(struct bn_model *m, struct bn_pool *pool, const int32_t *ids, int n,
			 const struct bn_st_tensor *ref, float *copy)
{
	struct bn_state *st;
	struct bn_errbuf eb;
	struct cmp c = { ref, m->cfg.n_vocab, 0, copy };
	int i;

	if (bn_state_new(&st, m, 64, 1, pool, &eb) < 0)
		return INFINITY;
	for (i = 0; i < n; i++) {
		struct shift s = { &c, i };
		if (bn_eval(st, &ids[i], 1, BN_LOGITS_LAST, on_shift, &s, &eb) != 0)
			c.maxdiff = INFINITY;
	}
	bn_state_free(st);
	return c.maxdiff;
}

/* Prefill LONG_N pseudo-random tokens, then decode 3 one at a time; out
 * gets the 3 steps' logits. */
#define LONG_N 700
static int long_decode(struct bn_model *m, struct bn_pool *pool, int kv_type, float *out)
{
	struct bn_state *st;
	struct bn_errbuf eb;
	struct cmp c = { NULL, m->cfg.n_vocab, 0, out };
	int32_t ids[LONG_N + 3];
	uint32_t x = 12345;
	int i, rc;

	for (i = 0; i < LONG_N + 3; i++) {
		x = x * 1103515245u + 12345u;
		ids[i] = (int32_t)((x >> 8) % (uint32_t)m->cfg.n_vocab);
	}
	if (bn_state_new_kv(&st, m, LONG_N + 3, 64, kv_type, pool, &eb) < 0)
		return -1;
	rc = bn_eval(st, ids, LONG_N, BN_LOGITS_NONE, NULL, NULL, &eb);
	for (i = 0; i < 3 && rc == 0; i++) {
		struct shift sh = { &c, i };
		rc = bn_eval(st, &ids[LONG_N + i], 1, BN_LOGITS_LAST, on_copy, &sh, &eb);
	}
	bn_state_free(st);
	return rc;
}

/* Decode after LONG_N tokens with one and two threads, f32 and f16 caches. */
static void long_decodes(struct bn_model *m, struct bn_pool *p1, struct bn_pool *p2,
			 const char *what)
{
	size_t nb = (size_t)3 * m->cfg.n_vocab * 4;
	float *a = calloc(1, nb), *b = calloc(1, nb);
	int kt[2] = { BN_TYPE_F32, BN_TYPE_F16 }, k;

	for (k = 0; k < 2; k++) {
		CHECK(long_decode(m, p1, kt[k], a) == 0 && long_decode(m, p2, kt[k], b) == 0,
		      "%s: decode after %d tokens (%s cache)", what, LONG_N, k ? "f16" : "f32");
		CHECK(!memcmp(a, b, nb), "%s: decode after %d tokens (%s cache): -t 1 and -t 2 "
		      "identical", what, LONG_N, k ? "f16" : "f32");
	}
	free(a);
	free(b);
}

int main(void)
{
	struct bn_model m;
	struct bn_st ref;
	struct bn_errbuf eb = { "" };
	struct bn_pool *p1 = NULL, *p2 = NULL;
	char *json;
	cJSON *root, *cs, *cse;
	int rc, ci = 0;

	rc = bn_model_open(&m, DIR, &eb);
	CHECK(rc == 0, "open tiny-a checkpoint directly (%s)", eb.msg);
	if (rc < 0)
		return unit_done();
	CHECK(bn_st_open(&ref, DIR "/reference-logits.safetensors", &eb) == 0, "reference logits");
	CHECK(bn_read_file(DIR "/reference.json", 1 << 20, &json, NULL, &eb) == 0, "reference.json");
	bn_pool_new(&p1, 1);
	bn_pool_new(&p2, 2);
	root = cJSON_Parse(json);
	cs = cJSON_GetObjectItem(root, "cases");
	cJSON_ArrayForEach(cse, cs) {
		cJSON *idj = cJSON_GetObjectItem(cse, "ids"), *e;
		int32_t ids[64];
		int n = 0;
		char name[32];
		const struct bn_st_tensor *rt;
		float *a, *b;
		double d;
		cJSON_ArrayForEach(e, idj)
			if (n < 64)
				ids[n++] = (int32_t)e->valuedouble;
		snprintf(name, sizeof(name), "logits.%d", ci);
		rt = bn_st_find(&ref, name);
		CHECK(rt && rt->shape[0] == n && rt->shape[1] == m.cfg.n_vocab, "case %d shape", ci);
		if (!rt)
			break;
		a = calloc((size_t)n * m.cfg.n_vocab, 4);
		b = calloc((size_t)n * m.cfg.n_vocab, 4);
		d = run(&m, p1, ids, n, rt, a);
		CHECK(d < 1e-3, "case %d prefill, 1 thread: max |diff| %.3g", ci, d);
		d = run(&m, p2, ids, n, rt, b);
		CHECK(d < 1e-3, "case %d prefill, 2 threads: max |diff| %.3g", ci, d);
		CHECK(!memcmp(a, b, (size_t)n * m.cfg.n_vocab * 4), "case %d: -t 1 and -t 2 identical", ci);
		d = run_single(&m, p2, ids, n, rt, b);
		CHECK(d < 1e-3, "case %d one token at a time: max |diff| %.3g", ci, d);
		free(a);
		free(b);
		ci++;
	}
	CHECK(ci > 0, "ran %d cases", ci);
	long_decodes(&m, p1, p2, "tiny-a");
	bn_model_close(&m);
	rc = bn_model_open(&m, "share/bitnet-demo", &eb);
	CHECK(rc == 0, "open the demo checkpoint (%s)", eb.msg);
	if (rc == 0) {
		long_decodes(&m, p1, p2, "demo");
		bn_model_close(&m);
	}
	cJSON_Delete(root);
	free(json);
	bn_st_close(&ref);
	bn_pool_free(p1);
	bn_pool_free(p2);
	return unit_done();
}
