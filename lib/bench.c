/* bench.c - token throughput tests, peak RSS, read bandwidth (bench.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "file.h"
#include "threads.h"

double bn_bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

long long bn_bench_peak_rss(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long long kb = -1;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, "VmHWM:", 6)) {
			kb = strtoll(line + 6, NULL, 10);
			break;
		}
	fclose(fp);
	return kb < 0 ? -1 : kb * 1024;
}

void bn_bench_reset_peak_rss(void)
{
	FILE *fp = fopen("/proc/self/clear_refs", "w");

	if (fp) {
		fputs("5", fp);
		fclose(fp);
	}
}

static void stats(const double *v, int n, double *avg, double *sd)
{
	double s = 0, q = 0;
	int i;

	for (i = 0; i < n; i++)
		s += v[i];
	*avg = n ? s / n : 0;
	for (i = 0; i < n; i++)
		q += (v[i] - *avg) * (v[i] - *avg);
	*sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

/* Random token ids (xorshift), the same for every run. */
static void fill_tokens(int32_t *tok, int n, int n_vocab)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int i;

	for (i = 0; i < n; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		tok[i] = (int32_t)(x % (uint64_t)n_vocab);
	}
}

/* One run of the test after the depth prefix at tok[0 .. depth). */
static int one_run(struct bn_state *st, const int32_t *tok, int depth, int n_prompt, int n_gen,
		   struct bn_errbuf *eb)
{
	int i;

	bn_state_rewind(st, depth);
	tok += depth;
	if (n_prompt > 0)
		return bn_eval(st, tok, n_prompt, BN_LOGITS_LAST, NULL, NULL, eb);
	for (i = 0; i < n_gen; i++)
		BN_TRY(bn_eval(st, tok + i, 1, BN_LOGITS_LAST, NULL, NULL, eb));
	return BN_OK;
}

int bn_bench_tokens(const struct bn_model *m, struct bn_pool *pool, int n_prompt, int n_gen,
		    int n_depth, int n_batch, int kv_type, int reps, struct bn_bench_result *r,
		    struct bn_errbuf *eb)
{
	struct bn_state *st;
	int32_t *tok;
	int n = n_prompt > 0 ? n_prompt : n_gen, i, rc = BN_OK;

	memset(r, 0, sizeof(*r));
	if (n < 1 || n_depth < 0 || reps < 1 || reps > BN_BENCH_MAX_REPS)
		return bn_fail(eb, BN_EINVAL, "bad benchmark test");
	if (n > m->cfg.ctx_max - n_depth)
		return bn_fail(eb, BN_ERANGE, "test of %d tokens after %d exceeds the model context "
			       "(%d)", n, n_depth, m->cfg.ctx_max);
	snprintf(r->test, sizeof(r->test), n_depth ? "%s%d @ d%d" : "%s%d", n_prompt > 0 ? "pp" : "tg",
		 n, n_depth);
	r->n_prompt = n_prompt;
	r->n_gen = n_gen;
	r->n_depth = n_depth;
	r->n_threads = bn_pool_size(pool);
	r->n_batch = BN_MIN(n_batch, n_prompt > 0 ? n_prompt : 1);
	r->reps = reps;
	if (!(tok = malloc((size_t)(n_depth + n) * sizeof(*tok))))
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	fill_tokens(tok, n_depth + n, m->cfg.n_vocab);
	bn_bench_reset_peak_rss();
	r->kv_type = kv_type;
	if ((rc = bn_state_new_kv(&st, m, n_depth + n, BN_MIN(n_batch, BN_MAX(n_prompt, n_depth)),
				  kv_type, pool, eb)) < 0) {
		free(tok);
		return rc;
	}
	r->kv_bytes = (long long)bn_state_kv_bytes(st);
	if (n_depth)
		rc = bn_eval(st, tok, n_depth, BN_LOGITS_NONE, NULL, NULL, eb);
	if (rc >= 0)
		rc = one_run(st, tok, n_depth, n_prompt, n_gen, eb);	/* warm-up */
	for (i = 0; i < reps && rc >= 0; i++) {
		double t = bn_bench_now();
		rc = one_run(st, tok, n_depth, n_prompt, n_gen, eb);
		t = bn_bench_now() - t;
		r->samples_ns[i] = t * 1e9;
		r->samples_ts[i] = t > 0 ? n / t : 0;
	}
	r->peak_rss = bn_bench_peak_rss();
	bn_state_free(st);
	free(tok);
	if (rc < 0)
		return rc;
	stats(r->samples_ns, reps, &r->avg_ns, &r->stddev_ns);
	stats(r->samples_ts, reps, &r->avg_ts, &r->stddev_ts);
	return BN_OK;
}

double bn_bench_kv_read_bytes(const struct bn_model *m, const struct bn_bench_result *r)
{
	const struct bn_config *c = &m->cfg;
	double kvd = (double)c->n_kv_heads * c->head_dim;
	double positions = r->n_depth + (r->n_gen + 1) / 2.0;	/* mean of pos + 1 */

	return 2.0 * c->n_layers * kvd * positions * (r->kv_type == BN_TYPE_F16 ? 2 : 4);
}

double bn_bench_decode_bytes(const struct bn_model *m)
{
	const struct bn_config *c = &m->cfg;
	double b = 0;
	int i;

	for (i = 0; i < c->n_layers; i++) {
		const struct bn_layer *l = &m->layers[i];
		const struct bn_tlin *t[7] = { &l->q, &l->k, &l->v, &l->o, &l->gate, &l->up, &l->down };
		int j;
		for (j = 0; j < 7; j++)
			b += (double)t[j]->row_bytes * t[j]->out;
	}
	return b + (double)m->head.row_bytes * c->n_vocab;
}

double bn_bench_decode_ops(const struct bn_model *m)
{
	const struct bn_config *c = &m->cfg;
	double qd = (double)c->n_heads * c->head_dim, kvd = (double)c->n_kv_heads * c->head_dim;
	double per_layer = c->dim * (2 * qd + 2 * kvd + 3.0 * c->ffn_dim);

	return 2.0 * (per_layer * c->n_layers + (double)c->dim * c->n_vocab);
}

/* ---- read bandwidth ---- */

struct bw_job {
	const uint64_t *a;
	size_t n;		/* words */
	uint64_t sink[64];
};

static void bw_run(void *arg, int ith, int nth)
{
	struct bw_job *j = arg;
	size_t lo = j->n * (size_t)ith / (size_t)nth, hi = j->n * (size_t)(ith + 1) / (size_t)nth, i;
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;

	lo &= ~(size_t)7;
	hi &= ~(size_t)7;
	for (i = lo; i < hi; i += 8) {
		s0 += j->a[i]; s1 += j->a[i + 1]; s2 += j->a[i + 2]; s3 += j->a[i + 3];
		s4 += j->a[i + 4]; s5 += j->a[i + 5]; s6 += j->a[i + 6]; s7 += j->a[i + 7];
	}
	j->sink[ith % 64] = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

struct fill_job { uint64_t *a; size_t n; };

static void fill_run(void *arg, int ith, int nth)
{
	struct fill_job *j = arg;
	size_t lo = j->n * (size_t)ith / (size_t)nth, hi = j->n * (size_t)(ith + 1) / (size_t)nth, i;

	for (i = lo; i < hi; i++)
		j->a[i] = i;
}

int bn_bench_read_bw(struct bn_pool *pool, size_t bytes, int reps, double *bw,
		     struct bn_errbuf *eb)
{
	struct bw_job j;
	struct fill_job f;
	uint64_t *a;
	double best = 0;
	int i;

	bytes &= ~(size_t)63;
	if (!(a = bn_huge_alloc(bytes)))
		return bn_fail(eb, BN_ENOMEM, "out of memory for a %zu MB buffer", bytes >> 20);
	f.a = a;
	f.n = bytes / 8;
	bn_pool_run(pool, fill_run, &f);	/* first touch by the readers */
	memset(&j, 0, sizeof(j));
	j.a = a;
	j.n = bytes / 8;
	for (i = 0; i < reps; i++) {
		double t = bn_bench_now();
		bn_pool_run(pool, bw_run, &j);
		t = bn_bench_now() - t;
		if (t > 0 && (double)bytes / t > best)
			best = (double)bytes / t;
	}
	bn_huge_free(a, bytes);
	*bw = best;
	return BN_OK;
}
