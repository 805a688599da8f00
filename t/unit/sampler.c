/* sampler.c - the sampler chain: exact truncation sets, penalties, greedy
 * ties, seeds and streams, and a chi-square test of the draw. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"
#include "unit.h"

#define MAXV 1024

/* Parameters with every step off, temperature 1. */
static struct bn_sampler_params plain(void)
{
	struct bn_sampler_params p;

	bn_sampler_params_default(&p);
	p.temp = 1;
	p.top_k = 0;
	p.top_p = 1;
	p.min_p = 0;
	p.typical = 1;
	return p;
}

/* The chain's survivors for logits x[n] as a string "a b c" (chain order). */
static const char *survivors(struct bn_sampler_params p, const float *x, int n)
{
	static char buf[8192];
	static int32_t ids[MAXV];
	static float pr[MAXV], tmp[MAXV];
	struct bn_sampler *s;
	size_t o = 0;
	int i, k;

	if (bn_sampler_new(&s, &p, n) < 0)
		return "(new failed)";
	memcpy(tmp, x, (size_t)n * sizeof(float));
	k = bn_sampler_apply(s, tmp, ids, pr);
	buf[0] = 0;
	for (i = 0; i < k && o < sizeof(buf) - 16; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%d", i ? " " : "", (int)ids[i]);
	bn_sampler_free(s);
	return buf;
}

static void logs(float *x, const double *p, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = (float)log(p[i]);
}

#define SET(p, x, n, want) do { \
	const char *got_ = survivors(p, x, n); \
	CHECK(!strcmp(got_, want), "line %d: survivors '%s' (want '%s')", __LINE__, got_, want); \
} while (0)

static void test_defaults(void)
{
	struct bn_sampler_params p;

	bn_sampler_params_default(&p);
	CHECK(p.temp == 0.8f && p.top_k == 40 && p.top_p == 0.95f && p.min_p == 0.05f &&
	      p.typical == 1.0f && p.repeat_penalty == 1.0f && p.repeat_last_n == 64 &&
	      p.freq_penalty == 0 && p.presence_penalty == 0 && p.seed == 42,
	      "defaults are llama.cpp's, seed 42");
	p.repeat_penalty = 0;
	CHECK(bn_sampler_params_check(&p, NULL) == BN_EINVAL, "repeat_penalty 0 rejected");
	bn_sampler_params_default(&p);
	p.top_p = NAN;
	CHECK(bn_sampler_params_check(&p, NULL) == BN_EINVAL, "NaN top_p rejected");
	bn_sampler_params_default(&p);
	p.repeat_last_n = -1;
	struct bn_sampler *s = NULL;
	int rc = bn_sampler_new(&s, &p, 10);
	CHECK(rc == BN_EINVAL && !s, "repeat_last_n -1 rejected");
	bn_sampler_params_default(&p);
	rc = bn_sampler_new(&s, &p, 0);
	CHECK(rc == BN_EINVAL && !s, "n_vocab 0 rejected");
}

static void test_top_k(void)
{
	float x[] = { 1, 5, 3, 5, 2, 0, 4 }, t[] = { 2, 2, 2, 1 };
	struct bn_sampler_params p = plain();

	p.top_k = 3;
	SET(p, x, 7, "1 3 6");
	p.top_k = 2;
	SET(p, x, 7, "1 3");
	SET(p, t, 4, "0 1");
	p.top_k = 7;
	SET(p, x, 7, "0 1 2 3 4 5 6");	/* k = n: off, vocabulary order */
	p.top_k = 1;
	SET(p, x, 7, "1");
}

static void test_top_p(void)
{
	double pr[] = { 0.25, 0.1, 0.15, 0.5 };
	float x[4], u[1000];
	struct bn_sampler_params p = plain();

	logs(x, pr, 4);
	p.top_p = 0.7f;
	SET(p, x, 4, "3 0");
	p.top_p = 0.8f;
	SET(p, x, 4, "3 0 2");
	p.top_p = 0.1f;
	SET(p, x, 4, "3");
	p.top_p = 0.99f;
	SET(p, x, 4, "3 0 2 1");
	p.top_p = 0.5f;
	p.top_k = 3;	/* renormalised over the top 3: 0.5/0.9 >= 0.5 */
	SET(p, x, 4, "3");
	/* a long nucleus: the prefix grows past its first guesses */
	for (int i = 0; i < 1000; i++)
		u[i] = 0;
	p = plain();
	p.top_p = 0.4995f;
	const char *s = survivors(p, u, 1000);
	int n = 1, ok = 1;
	for (const char *c = s; *c; c++)
		n += *c == ' ';
	for (int i = 0; i < 500 && ok; i++) {
		char w[16];
		snprintf(w, sizeof(w), "%d", i);
		ok = strncmp(s, w, strlen(w)) == 0;
		s = strchr(s, ' ') ? strchr(s, ' ') + 1 : "";
	}
	CHECK(n == 500 && ok, "top-p over 1000 equal logits keeps ids 0..499 (kept %d)", n);
}

static void test_min_p(void)
{
	double pr[] = { 0.5, 0.3, 0.04, 0.1, 0.06 };
	float x[5];
	struct bn_sampler_params p = plain();

	logs(x, pr, 5);
	p.min_p = 0.1f;
	SET(p, x, 5, "0 1 3 4");
	p.min_p = 0.5f;
	SET(p, x, 5, "0 1");
	p.min_p = 1.0f;
	SET(p, x, 5, "0");
	p.min_p = 0.1f;
	p.top_p = 0.85f;	/* top-p first: 0 1 3 (0.9), then min-p */
	SET(p, x, 5, "0 1 3");
}

static void test_typical(void)
{
	/* H = 1.208; |surprise - H| = 0.515 0.178 0.689 1.095 */
	double pr[] = { 0.5, 0.25, 0.15, 0.1 };
	float x[4];
	struct bn_sampler_params p = plain();

	logs(x, pr, 4);
	p.typical = 0.5f;
	SET(p, x, 4, "1 0");
	p.typical = 0.2f;
	SET(p, x, 4, "1");
	p.typical = 0.8f;
	SET(p, x, 4, "1 0 2");
	p.top_p = 0.7f;		/* top-p after typical sorts by logit again */
	SET(p, x, 4, "0 1");
}

static void test_penalties(void)
{
	struct bn_sampler_params p = plain();
	struct bn_sampler *s;
	float x[] = { 2, -1, 0.5f, 3, 0 };
	int32_t ids[5];
	float pr[5];

	p.repeat_penalty = 2;
	p.freq_penalty = 0.1f;
	p.presence_penalty = 0.5f;
	p.temp = 0;
	bn_sampler_new(&s, &p, 5);
	bn_sampler_accept(s, 0);
	bn_sampler_accept(s, 1);
	bn_sampler_accept(s, 0);
	bn_sampler_accept(s, 4);
	bn_sampler_accept(s, 99);	/* out of range: ignored */
	bn_sampler_accept(s, -1);
	bn_sampler_apply(s, x, ids, pr);
	CHECK(fabsf(x[0] - 0.3f) < 1e-6f, "positive logit divided, minus 2*freq + presence (%g)", x[0]);
	CHECK(fabsf(x[1] + 2.6f) < 1e-6f, "negative logit multiplied (%g)", x[1]);
	CHECK(x[2] == 0.5f && x[3] == 3, "unseen ids untouched");
	CHECK(fabsf(x[4] + 0.6f) < 1e-6f, "zero logit stays 0 before the subtraction (%g)", x[4]);
	CHECK(ids[0] == 3 && pr[0] == 1, "greedy apply gives the argmax with p 1");
	bn_sampler_free(s);

	p = plain();
	p.repeat_penalty = 10;
	p.repeat_last_n = 2;
	float y[] = { 1, 1, 1, 1 };
	bn_sampler_new(&s, &p, 4);
	bn_sampler_accept(s, 0);
	bn_sampler_accept(s, 1);
	bn_sampler_accept(s, 2);
	bn_sampler_apply(s, y, ids, pr);
	CHECK(y[0] == 1 && y[1] == 0.1f && y[2] == 0.1f && y[3] == 1,
	      "only the last repeat_last_n ids count (%g %g %g %g)", y[0], y[1], y[2], y[3]);
	bn_sampler_reset(s, 0);
	float z[] = { 1, 1, 1, 1 };
	bn_sampler_apply(s, z, ids, pr);
	CHECK(z[0] == 1 && z[1] == 1 && z[2] == 1, "reset clears the history");
	bn_sampler_free(s);
}

static void test_greedy(void)
{
	struct bn_sampler_params p;
	struct bn_sampler *s;
	float a[] = { 1, 3, 3, 2 }, b[] = { NAN, 1, 1 }, c[] = { -INFINITY, -INFINITY },
	      d[] = { 1, INFINITY, INFINITY };

	bn_sampler_params_default(&p);
	p.temp = 0;
	int32_t id;

	/* (CHECK evaluates its condition twice: no side effects in it) */
	bn_sampler_new(&s, &p, 4);
	id = bn_sampler_sample(s, a);
	CHECK(id == 1, "greedy ties go to the lowest id");
	bn_sampler_free(s);
	bn_sampler_new(&s, &p, 3);
	id = bn_sampler_sample(s, b);
	CHECK(id == 1, "NaN counts as -inf");
	id = bn_sampler_sample(s, d);
	CHECK(id == 1, "+inf wins, ties lowest");
	bn_sampler_free(s);
	bn_sampler_new(&s, &p, 2);
	id = bn_sampler_sample(s, c);
	CHECK(id == 0, "all -inf: lowest id");
	bn_sampler_free(s);
	p.temp = -1;
	bn_sampler_new(&s, &p, 4);
	float e[] = { 1, 3, 3, 2 };
	id = bn_sampler_sample(s, e);
	CHECK(id == 1, "negative temperature is greedy too");
	bn_sampler_free(s);
}

/* n ids from stream rec of a flat distribution over 1000. */
static void seq(struct bn_sampler *s, uint64_t rec, int n, int32_t *out)
{
	float x[1000];

	bn_sampler_reset(s, rec);
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < 1000; j++)
			x[j] = 0;
		out[i] = bn_sampler_sample(s, x);
	}
}

static void test_streams(void)
{
	struct bn_sampler_params p = plain();
	struct bn_sampler *s, *t;
	int32_t a[50], b[50], c[50], d[50];
	float x[1000];
	void *st;

	bn_sampler_new(&s, &p, 1000);
	seq(s, 0, 50, a);
	seq(s, 0, 50, b);
	CHECK(!memcmp(a, b, sizeof(a)), "same seed and stream: same ids");
	seq(s, 1, 50, c);
	CHECK(memcmp(a, c, sizeof(a)), "another stream: other ids");
	p.seed = 43;
	bn_sampler_new(&t, &p, 1000);
	seq(t, 0, 50, d);
	CHECK(memcmp(a, d, sizeof(a)), "another seed: other ids");
	bn_sampler_free(t);

	/* interleave streams 0 and 1 through save/load: each as if alone */
	st = malloc(bn_sampler_state_size(s) * 2);
	bn_sampler_reset(s, 0);
	bn_sampler_state_save(s, st);
	bn_sampler_reset(s, 1);
	bn_sampler_state_save(s, (char *)st + bn_sampler_state_size(s));
	int ok = 1;
	for (int i = 0; i < 50; i++) {
		for (int r = 0; r < 2; r++) {
			void *slot = (char *)st + r * bn_sampler_state_size(s);
			bn_sampler_state_load(s, slot);
			memset(x, 0, sizeof(x));
			int32_t id = bn_sampler_sample(s, x);
			bn_sampler_accept(s, id);
			bn_sampler_state_save(s, slot);
			ok &= id == (r ? c[i] : a[i]);
		}
	}
	CHECK(ok, "interleaved streams give each stream's own ids");
	free(st);
	bn_sampler_free(s);

	int distinct = 1;
	for (uint64_t r = 0; r < 1000 && distinct; r++)
		distinct = bn_seed_for_record(42, r) != bn_seed_for_record(42, r + 1) &&
			   bn_seed_for_record(42, r) != bn_seed_for_record(43, r);
	CHECK(distinct, "record keys differ by record and by seed");
	CHECK(bn_hash_str("a") != bn_hash_str("b") && bn_hash_str("") == bn_fmix64(0xcbf29ce484222325ull),
	      "bn_hash_str: FNV-1a then fmix64");
	CHECK(bn_fmix64(0) == 0 && bn_fmix64(1) == 0x5692161d100b05e5ull, "fmix64 known values");
	double lo = 1, hi = 0, mean = 0;
	for (int i = 0; i < 100000; i++) {
		double u = bn_rng_uniform(7, (uint64_t)i);
		lo = u < lo ? u : lo;
		hi = u > hi ? u : hi;
		mean += u / 100000;
	}
	CHECK(lo >= 0 && hi < 1 && fabs(mean - 0.5) < 0.005, "uniform draws in [0,1), mean %.4f", mean);
}

/* Chi-square of N draws against the chain's own distribution.  9 degrees
 * of freedom: P(chi2 > 45) < 1e-6, and the draws are fixed by the seed. */
static void chi_square(struct bn_sampler_params p, const char *what)
{
	enum { K = 10, N = 200000 };
	float x0[K] = { 1.0f, 0.2f, -0.5f, 2.0f, 0.0f, 1.5f, -1.0f, 0.7f, 0.3f, -2.0f }, x[K];
	int32_t ids[K];
	float pr[K];
	double want[K] = { 0 }, chi = 0;
	long cnt[K] = { 0 };
	struct bn_sampler *s;
	int k, i, df = -1;

	bn_sampler_new(&s, &p, K);
	memcpy(x, x0, sizeof(x));
	k = bn_sampler_apply(s, x, ids, pr);
	for (i = 0; i < k; i++)
		want[ids[i]] = pr[i];
	for (i = 0; i < N; i++) {
		memcpy(x, x0, sizeof(x));
		cnt[bn_sampler_sample(s, x)]++;
	}
	int outside = 0;
	for (i = 0; i < K; i++) {
		if (want[i] > 0) {
			double e = want[i] * N;
			chi += (cnt[i] - e) * (cnt[i] - e) / e;
			df++;
		} else {
			outside += cnt[i] != 0;
		}
	}
	CHECK(!outside, "%s: no draw outside the truncated set", what);
	CHECK(chi < 5 * df + 10 && chi < 45, "%s: chi-square %.2f with %d degrees of freedom", what, chi, df);
	bn_sampler_free(s);
}

static void test_draw(void)
{
	struct bn_sampler_params p = plain();
	double sum = 0, e[3] = { 1, exp(-0.5), exp(-1.0) };

	chi_square(p, "temp 1, no truncation");
	p.temp = 0.7f;
	chi_square(p, "temp 0.7");
	p.top_k = 4;
	p.temp = 1.5f;
	chi_square(p, "top-k 4, temp 1.5");
	bn_sampler_params_default(&p);
	chi_square(p, "defaults");

	/* apply's probabilities are softmax(l / temp) over the survivors */
	float x[] = { 2, 1, 0 };
	int32_t ids[3];
	float pr[3];
	struct bn_sampler *s;
	p = plain();
	p.temp = 2;
	bn_sampler_new(&s, &p, 3);
	bn_sampler_apply(s, x, ids, pr);
	for (int i = 0; i < 3; i++)
		sum += e[i];
	CHECK(fabsf(pr[0] - (float)(e[0] / sum)) < 1e-6f && fabsf(pr[2] - (float)(e[2] / sum)) < 1e-6f,
	      "temperature divides the logits");
	bn_sampler_free(s);
}

static void test_large_vocab(void)
{
	enum { V = 128256 };
	struct bn_sampler_params p = plain();
	struct bn_sampler *s;
	float *x = malloc(V * sizeof(float)), *y = malloc(V * sizeof(float)), *pr = malloc(V * sizeof(float));
	int32_t *ids = malloc(V * sizeof(int32_t)), want[40];
	uint64_t z = 1;
	int i, j, k, ok = 1;

	for (i = 0; i < V; i++) {
		z = z * 6364136223846793005ull + 1442695040888963407ull;
		x[i] = (float)((z >> 40) % 5000) / 100.0f;	/* many ties */
	}
	for (j = 0; j < 40; j++) {	/* reference: 40 passes of the next best */
		int b = -1;
		for (i = 0; i < V; i++) {
			int used = 0;
			for (k = 0; k < j; k++)
				used |= want[k] == i;
			if (!used && (b < 0 || x[i] > x[b]))
				b = i;
		}
		want[j] = b;
	}
	p.top_k = 40;
	bn_sampler_new(&s, &p, V);
	memcpy(y, x, V * sizeof(float));
	k = bn_sampler_apply(s, y, ids, pr);
	for (i = 0; i < 40 && k == 40; i++)
		ok &= ids[i] == want[i];
	CHECK(k == 40 && ok, "top-k 40 over 128256 logits with ties: the reference set in order");
	k = bn_sampler_topk_logprobs(x, V, 40, ids, pr);
	for (i = 0, ok = k == 40; i < 40 && ok; i++)
		ok &= ids[i] == want[i];
	double lse = bn_logsumexp(x, V);
	CHECK(ok && fabs(pr[0] - (x[want[0]] - lse)) < 1e-5, "topk_logprobs agrees, lp %g", pr[0]);
	bn_sampler_free(s);
	free(x);
	free(y);
	free(pr);
	free(ids);
}

static void test_logprobs(void)
{
	float x[] = { 0, 2, 1, 2 }, lp[8];
	int32_t ids[8];
	double lse = log(1 + 2 * exp(2) + exp(1));

	int k = bn_sampler_topk_logprobs(x, 4, 3, ids, lp);
	CHECK(k == 3 && ids[0] == 1 && ids[1] == 3 && ids[2] == 2, "top 3 by logit, ties lowest id first");
	CHECK(fabs(lp[0] - (2 - lse)) < 1e-6 && fabs(lp[2] - (1 - lse)) < 1e-6, "log-softmax values");
	k = bn_sampler_topk_logprobs(x, 4, 8, ids, lp);
	CHECK(k == 4 && ids[3] == 0, "k > n_vocab clamps");
	k = bn_sampler_topk_logprobs(x, 4, -1, ids, lp);
	CHECK(k == BN_EINVAL, "k < 0 rejected");
	float y[] = { -INFINITY, -INFINITY };
	k = bn_sampler_topk_logprobs(y, 2, 1, ids, lp);
	CHECK(k == 1 && fabsf(lp[0] + logf(2)) < 1e-6f, "all -inf: uniform");
}

int main(void)
{
	test_defaults();
	test_top_k();
	test_top_p();
	test_min_p();
	test_typical();
	test_penalties();
	test_greedy();
	test_streams();
	test_draw();
	test_large_vocab();
	test_logprobs();
	return unit_done();
}
