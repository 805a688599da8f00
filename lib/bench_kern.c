/* bench_kern.c - kernel timings on the model's shapes (bench.h).
 *
 * Streaming kernels (gemv_t2, gemv_f16, dot_q8_0) are timed over many
 * distinct matrices in a row, so their weights come from DRAM as in a
 * decode step: with a model, the matrices of every layer; without one,
 * copies of a random matrix filling at least 256 MB.  gemm_t2 (prefill) is
 * compute-bound and timed on one matrix with T tokens.  attn and attn_f16
 * are one decode step's attention kernels (attn_qk then attn_av for each
 * GQA group, softmax left out) over a random f32 or f16 cache of
 * ATTN_DEPTH positions for every layer and key/value head, streamed from
 * memory as at that depth. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "file.h"
#include "forward.h"
#include "threads.h"

#define SYNTH_BYTES ((size_t)256 << 20)
#define ATTN_DEPTH 4096

struct kjob {
	const struct bn_kernels *k;
	int kind;			/* 0 gemv_t2, 1 gemm_t2, 2 gemv_f16, 3 dot_q8_0,
					 * 4 attn, 5 attn_f16 */
	const uint8_t *const *mats;	/* nm matrices */
	int nm, rows, cols, T;
	size_t row_bytes;
	const int8_t *xq;
	int32_t *xsum;			/* [T]: sum_i8 of each token's xq */
	const float *xf;
	int32_t *yi;			/* [T][rows] */
	float *yf;			/* [rows] */
	/* attention: units caches of rows positions x cols (head_dim), keys
	 * then values; grp queries at xf; per thread grp rows of scores at
	 * yf + ith * grp * (rows + cols), then grp outputs */
	int units, grp;
};

/* Keys of a unit in the KV cache's blocks of BN_KV_BLOCK positions, then
 * its values, read as bn_eval reads them. */
static void attn_units(const struct kjob *j, int ith, int nth)
{
	size_t n = (size_t)j->rows, hd = (size_t)j->cols, b, ld = BN_KV_BLOCK;
	float *att = j->yf + (size_t)ith * j->grp * (n + hd), *o = att + (size_t)j->grp * n;
	int u0, u1, u;

	bn_split(j->units, 1, ith, nth, &u0, &u1);
	for (u = u0; u < u1; u++) {
		if (j->kind == 4) {
			const float *kt = (const float *)j->mats[0] + 2 * n * hd * (size_t)u;
			for (b = 0; b < n; b += ld)
				j->k->attn_qk(j->xf, j->grp, kt + b * hd, ld, (int)BN_MIN(ld, n - b),
					      (int)hd, att + b, n);
			j->k->attn_av(att, n, j->grp, kt + n * hd, hd, (int)n, (int)hd, o);
		} else {
			const uint16_t *kt = (const uint16_t *)j->mats[0] + 2 * n * hd * (size_t)u;
			for (b = 0; b < n; b += ld)
				j->k->attn_qk_f16(j->xf, j->grp, kt + b * hd, ld, (int)BN_MIN(ld, n - b),
						  (int)hd, att + b, n);
			j->k->attn_av_f16(att, n, j->grp, kt + n * hd, hd, (int)n, (int)hd, o);
		}
	}
}

static void krun(void *arg, int ith, int nth)
{
	struct kjob *j = arg;
	int r0, r1, i, r, nb = bn_t2_nb(j->cols);

	if (j->kind >= 4) {
		attn_units(j, ith, nth);
		return;
	}
	bn_split(j->rows, 16, ith, nth, &r0, &r1);
	if (r0 >= r1)
		return;
	for (i = 0; i < j->nm; i++) {
		const uint8_t *w = j->mats[i];
		switch (j->kind) {
		case 0:
			j->k->gemv_t2(w, j->row_bytes, r0, r1, j->xq, nb, j->yi + r0);
			break;
		case 1:
			j->k->gemm_t2(w, j->row_bytes, r0, r1, j->xq, (size_t)nb * BN_T2_BLOCK, j->xsum,
				      j->T, nb, j->yi, (size_t)j->rows);
			break;
		case 2:
			j->k->gemv_f16((const uint16_t *)w, j->row_bytes / 2, r0, r1, j->xf, j->cols,
				       j->yf + r0);
			break;
		default:
			for (r = r0; r < r1; r++)
				j->yf[r] = j->k->dot_q8_0(w + (size_t)r * j->row_bytes, j->xf, j->cols);
		}
	}
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

/* Random content valid for the kind: ternary codes 0..2, finite f16 or
 * float in (-1, 1), q8_0 blocks with a small scale.  A 1 MB random pattern (a
 * whole number of q8_0 blocks) repeated: speed does not depend on it. */
static void fill(uint8_t *p, size_t n, int kind, size_t row_bytes)
{
	const size_t pat = (size_t)34 << 15;
	size_t i;

	if (n > pat) {
		fill(p, pat, kind, row_bytes);
		for (i = pat; i < n; i += pat)
			memcpy(p + i, p, BN_MIN(pat, n - i));
		return;
	}
	for (i = 0; kind == 4 && i + 4 <= n; i += 4) {	/* floats, no tiny ones */
		float f = (float)(rnd() % 2001) / 1000.0f - 1.0f;
		memcpy(p + i, &f, 4);
	}
	for (i = kind == 4 ? n : 0; i < n; i++) {
		uint32_t v = rnd();
		if (kind <= 1)
			p[i] = (uint8_t)(v % 3 | (v >> 8) % 3 << 2 | (v >> 16) % 3 << 4 | (v >> 24) % 3 << 6);
		else
			p[i] = (uint8_t)v;
		if ((kind == 2 || kind == 5) && (i & 1))
			p[i] &= 0x3b;	/* exponent below 15: |x| < 1 */
	}
	if (kind == 3)
		for (i = 0; i + 1 < n; i += 34) {
			(void)row_bytes;
			p[i] = 0;
			p[i + 1] = 0x20;	/* f16 scale 2^-7 */
		}
}

struct shape {
	const char *kernel;
	int kind, rows, cols, T;
	int units, grp;			/* attention */
	uint32_t dtype;
	const uint8_t *mats[4096];
	int nm;
};

static void add_model_mats(struct shape *s, const struct bn_model *m, int which)
{
	int L;

	for (L = 0; L < m->cfg.n_layers && s->nm < (int)BN_LEN(s->mats); L++) {
		const struct bn_layer *l = &m->layers[L];
		const struct bn_tlin *t[4][2] = { { &l->q, &l->o }, { &l->k, &l->v },
						   { &l->gate, &l->up }, { &l->down, NULL } };
		int i;
		for (i = 0; i < 2; i++)
			if (t[which][i] && t[which][i]->out == s->rows && t[which][i]->in == s->cols)
				s->mats[s->nm++] = t[which][i]->w;
	}
}

static int time_shape(const struct bn_kernels *k, struct shape *s, struct bn_pool *pool,
		      int reps, struct bn_kbench *out, struct bn_errbuf *eb)
{
	struct kjob j;
	size_t rb, mb, npad, bufsz = 0;
	uint8_t *buf = NULL;
	double best = 1e30;
	int i;

	memset(&j, 0, sizeof(j));
	rb = s->kind <= 1 ? (size_t)bn_t2_nb(s->cols) * BN_T2_BLOCK_BYTES
	     : s->kind == 2 ? (size_t)s->cols * 2 : s->kind == 3 ? (size_t)s->cols / 32 * 34
	     : (size_t)s->cols * (s->kind == 4 ? 4 : 2);
	mb = rb * (size_t)s->rows * (s->kind >= 4 ? 2 * (size_t)s->units : 1);
	if (!s->nm) {		/* synthetic copies */
		int copies = s->kind == 1 || s->kind >= 4 ? 1
			     : (int)BN_MAX(1, BN_MIN(4096, SYNTH_BYTES / mb + 1));
		if (!(buf = bn_huge_alloc(bufsz = mb * copies)))
			return bn_fail(eb, BN_ENOMEM, "out of memory for kernel buffers");
		fill(buf, bufsz, s->kind, rb);
		for (i = 0; i < copies; i++)
			s->mats[s->nm++] = buf + mb * i;
	}
	npad = (size_t)bn_t2_nb(s->cols) * BN_T2_BLOCK;
	j.k = k;
	j.kind = s->kind;
	j.mats = s->mats;
	j.nm = s->kind == 1 ? 1 : s->nm;
	j.rows = s->rows;
	j.cols = s->cols;
	j.T = s->T;
	j.units = s->units;
	j.grp = s->grp;
	j.row_bytes = rb;
	j.xq = calloc(npad * (size_t)BN_MAX(1, s->T), 1);
	j.xf = calloc((size_t)s->cols * BN_MAX(1, s->grp), sizeof(float));
	j.yi = calloc((size_t)s->rows * BN_MAX(1, s->T), sizeof(int32_t));
	j.yf = calloc((size_t)(s->rows + s->cols) * BN_MAX(1, s->grp) * bn_pool_size(pool),
		      sizeof(float));
	j.xsum = calloc((size_t)BN_MAX(1, s->T), sizeof(int32_t));
	if (!j.xq || !j.xf || !j.yi || !j.yf || !j.xsum) {
		bn_huge_free(buf, bufsz);
		free((void *)j.xq); free((void *)j.xf); free(j.yi); free(j.yf); free(j.xsum);
		return bn_fail(eb, BN_ENOMEM, "out of memory for kernel buffers");
	}
	for (i = 0; i < (int)(npad * (size_t)BN_MAX(1, s->T)); i++)
		((int8_t *)j.xq)[i] = (int8_t)(rnd() % 255 - 127);
	for (i = 0; i < BN_MAX(1, s->T); i++)
		j.xsum[i] = k->sum_i8(j.xq + (size_t)i * npad, bn_t2_nb(s->cols));
	for (i = 0; i < s->cols * BN_MAX(1, s->grp); i++)
		((float *)j.xf)[i] = (float)(rnd() % 2001) / 1000.0f - 1.0f;
	bn_pool_run(pool, krun, &j);	/* warm-up */
	for (i = 0; i < reps; i++) {
		double t = bn_bench_now();
		bn_pool_run(pool, krun, &j);
		t = (bn_bench_now() - t) / j.nm;
		if (t < best)
			best = t;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->kernels, sizeof(out->kernels), "%s", k->name);
	snprintf(out->kernel, sizeof(out->kernel), "%s", s->kernel);
	if (s->kind == 1 || s->kind >= 4)
		snprintf(out->shape, sizeof(out->shape), "%dx%dx%d", s->kind == 1 ? s->T : s->grp,
			 s->rows, s->cols);
	else
		snprintf(out->shape, sizeof(out->shape), "%dx%d", s->rows, s->cols);
	out->n_threads = bn_pool_size(pool);
	out->seconds = best;
	out->bytes = (double)mb;
	out->ops = 2.0 * s->rows * (double)s->cols * BN_MAX(1, s->T) *
		   (s->kind >= 4 ? 2.0 * s->grp * s->units : 1);
	bn_huge_free(buf, bufsz);
	free((void *)j.xq); free((void *)j.xf); free(j.yi); free(j.yf); free(j.xsum);
	return BN_OK;
}

int bn_bench_kernels(const struct bn_kernels *k, const struct bn_model *m,
		     struct bn_pool *pool, int reps, int T, struct bn_kbench *out, int max,
		     struct bn_errbuf *eb)
{
	/* the 2B4T shapes when no model is given */
	int dim = m ? m->cfg.dim : 2560, ffn = m ? m->cfg.ffn_dim : 6912;
	int qd = m ? m->cfg.n_heads * m->cfg.head_dim : 2560;
	int kvd = m ? m->cfg.n_kv_heads * m->cfg.head_dim : 640, vocab = m ? m->cfg.n_vocab : 128256;
	struct shape *s;
	int n = 0, i, rc = BN_OK;
	static const struct { const char *kernel; int kind, which; } list[] = {
		{ "gemv_t2", 0, 0 }, { "gemv_t2", 0, 1 }, { "gemv_t2", 0, 2 }, { "gemv_t2", 0, 3 },
		{ "gemm_t2", 1, 0 }, { "gemm_t2", 1, 2 }, { "gemm_t2", 1, 3 },
		{ "gemv_f16", 2, 4 }, { "dot_q8_0", 3, 4 }, { "attn", 4, 5 }, { "attn_f16", 5, 5 },
	};
	int hd = m ? m->cfg.head_dim : 128, layers = m ? m->cfg.n_layers : 30;
	int kvh = m ? m->cfg.n_kv_heads : 5, grp = m ? m->cfg.n_heads / kvh : 4;

	if (!(s = malloc(sizeof(*s))))
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	for (i = 0; i < (int)BN_LEN(list) && n < max && rc >= 0; i++) {
		int w = list[i].which;
		memset(s, 0, sizeof(*s));
		s->kernel = list[i].kernel;
		s->kind = list[i].kind;
		s->T = s->kind == 1 ? BN_MAX(T, 1) : 1;
		s->rows = w == 0 ? qd : w == 1 ? kvd : w == 2 ? ffn : w == 3 ? dim : w == 4 ? vocab
			: BN_MIN(ATTN_DEPTH, m ? m->cfg.ctx_max : ATTN_DEPTH);
		s->cols = w == 0 ? dim : w == 1 ? dim : w == 2 ? dim : w == 3 ? ffn : w == 4 ? dim : hd;
		s->units = layers * kvh;
		s->grp = w == 5 ? grp : 0;
		if (m && w < 4)
			add_model_mats(s, m, w);
		if (m && w == 4 && ((s->kind == 2 && m->head.type == BN_TYPE_F16) ||
				    (s->kind == 3 && m->head.type == BN_TYPE_Q8_0)))
			s->mats[s->nm++] = m->head.w;
		if (s->kind == 3 && dim % 32)
			continue;
		rc = time_shape(k, s, pool, reps, &out[n], eb);
		if (rc >= 0)
			n++;
	}
	free(s);
	return rc < 0 ? rc : n;
}
