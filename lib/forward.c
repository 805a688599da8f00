/* forward.c - BitNet b1.58 transformer forward pass (see forward.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "forward.h"
#include "kernels.h"

struct bn_state {
	const struct bn_model *m;
	const struct bn_kernels *k;
	struct bn_pool *pool;
	int n_ctx, n_batch, pos, pos0, nth;	/* pos0: first position of this bn_eval */
	int ctxk;			/* key positions allocated: n_ctx rounded up to BN_KV_BLOCK */
	int qd, kvd, npad;		/* npad: int8 row stride (max padded input) */
	float *x;			/* [B][dim] residual stream */
	float *xn;			/* [nth][max(dim, qd, ffn)] normalized row, per thread */
	size_t w;			/* max(dim, qd, ffn) */
	int8_t *xq;			/* [B][npad] quantized activations */
	float *xs;			/* [B] activation scales s */
	int32_t *xsum;			/* [B] sums of each token's xq (for gemm_t2) */
	float *q, *ao;			/* [B][qd] */
	float *g, *u;			/* [B][ffn] */
	float *kb, *vb;			/* [B][kvd] new keys and values */
	float *y;			/* [B][max_out] projection output */
	void *kc;			/* [L][n_kv_heads][ctxk / BN_KV_BLOCK][head_dim][BN_KV_BLOCK]
				 * keys after RoPE, each block of positions
				 * transposed for attn_qk (float or f16) */
	void *vc;			/* [L][n_kv_heads][n_ctx][head_dim] values (float
				 * or f16): each head's values stream in order */
	size_t kc_bytes, vc_bytes;	/* both in huge pages (bn_huge_alloc) */
	int kv_f16;			/* cache in f16 (else float) */
	float *att;			/* [nth][n_heads / n_kv_heads][n_ctx] scores */
	float *inv_freq;		/* [head_dim/2] */
	float *cosv, *sinv;		/* [B][head_dim/2] */
	float *hn;			/* [dim] final-norm row for the head */
	float *logits;			/* [n_vocab] */
	int32_t *tok;			/* current chunk */
	int T;
};

/* Refuse a state larger than this before allocating any of it. */
#define STATE_MAX ((size_t)1 << 40)

/* Bytes of all the buffers bn_state_new allocates, overflow-checked: 0 on
 * overflow.  Sizes derive from the model file, so check before calloc. */
static size_t state_bytes(const struct bn_config *c, size_t B, size_t n_ctx, size_t nth,
			  size_t w, size_t npad, size_t maxout, size_t qd, size_t kvd, size_t kvsz)
{
	size_t grp = (size_t)(c->n_heads / c->n_kv_heads);
	size_t floats[][3] = {	/* a * b * c floats each */
		{ B, (size_t)c->dim, 1 }, { nth, w, 1 }, { B, maxout, 2 }, { B, qd, 2 },
		{ B, (size_t)c->ffn_dim, 2 }, { B, kvd, 2 }, { nth, n_ctx, grp },
		{ B + 1, (size_t)c->head_dim, 1 },
		{ (size_t)c->dim + (size_t)c->n_vocab, 1, 1 }, { B, 2, 1 },
		{ B, 1, 1 },		/* xsum (int32) */
	};
	size_t total = 0, x, i;

	for (i = 0; i < BN_LEN(floats); i++)
		if (bn_mul_ok(floats[i][0], floats[i][1], &x) < 0 || bn_mul_ok(x, floats[i][2], &x) < 0 ||
		    bn_mul_ok(x, 4, &x) < 0 || bn_add_ok(total, x, &total) < 0)
			return 0;
	if (bn_mul_ok(B, npad, &x) < 0 || bn_add_ok(total, x, &total) < 0)
		return 0;
	/* the key and value caches, kvsz bytes an element */
	if (bn_mul_ok((size_t)c->n_layers, n_ctx, &x) < 0 || bn_mul_ok(x, kvd, &x) < 0 ||
	    bn_mul_ok(x, 2 * kvsz, &x) < 0 || bn_add_ok(total, x, &total) < 0)
		return 0;
	return total;
}

static void *zalloc(size_t n, size_t size, int *bad)
{
	void *p = NULL;

	if (!*bad && (n == 0 || !(p = calloc(n, size))))
		*bad = n != 0;
	return p;
}

int bn_state_new(struct bn_state **out, const struct bn_model *m, int n_ctx, int n_batch,
		 struct bn_pool *pool, struct bn_errbuf *eb)
{
	return bn_state_new_kv(out, m, n_ctx, n_batch, BN_TYPE_F32, pool, eb);
}

int bn_state_new_kv(struct bn_state **out, const struct bn_model *m, int n_ctx, int n_batch,
		    int kv_type, struct bn_pool *pool, struct bn_errbuf *eb)
{
	const struct bn_config *c = &m->cfg;
	struct bn_state *s;
	size_t B, w, maxout, total, kvsz = kv_type == BN_TYPE_F16 ? 2 : 4;
	int bad = 0, i;

	*out = NULL;
	if (kv_type != BN_TYPE_F32 && kv_type != BN_TYPE_F16)
		return bn_fail(eb, BN_EINVAL, "KV cache type must be f32 or f16");
	/* RoPE is computed for any position, as the reference does: the
	 * training context (c->ctx_max) is not a limit, memory is */
	if (n_ctx < 1 || n_ctx > BN_CTX_LIMIT)
		return bn_fail(eb, BN_ERANGE, "context size %d is outside 1..%d", n_ctx, BN_CTX_LIMIT);
	if (n_batch < 1)
		n_batch = 1;
	if (!(s = calloc(1, sizeof(*s))))
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	s->m = m;
	s->k = bn_kernels_get();
	s->pool = pool;
	s->nth = bn_pool_size(pool);
	s->n_ctx = n_ctx;
	s->ctxk = (n_ctx + BN_KV_BLOCK - 1) / BN_KV_BLOCK * BN_KV_BLOCK;
	s->n_batch = n_batch = BN_MIN(n_batch, n_ctx);
	s->qd = c->n_heads * c->head_dim;
	s->kvd = c->n_kv_heads * c->head_dim;
	w = (size_t)BN_MAX(BN_MAX(c->dim, s->qd), c->ffn_dim);
	s->npad = bn_t2_nb((int)w) * BN_T2_BLOCK;
	maxout = (size_t)BN_MAX(BN_MAX(s->qd, c->dim), c->ffn_dim);
	B = (size_t)n_batch;
	s->kv_f16 = kv_type == BN_TYPE_F16;
	total = state_bytes(c, B, (size_t)s->ctxk, (size_t)s->nth, w, (size_t)s->npad, maxout,
			    (size_t)s->qd, (size_t)s->kvd, kvsz);
	if (!total || total > STATE_MAX) {
		bn_state_free(s);
		return bn_fail(eb, BN_ERANGE, "a context of %d tokens needs more than %zu GiB",
			       n_ctx, STATE_MAX >> 30);
	}
	s->x = zalloc(B * c->dim, 4, &bad);
	s->xn = zalloc((size_t)s->nth * w, 4, &bad);
	s->w = w;
	s->xq = zalloc(B * s->npad, 1, &bad);
	s->xs = zalloc(B, 4, &bad);
	s->xsum = zalloc(B, 4, &bad);
	s->q = zalloc(B * s->qd, 4, &bad);
	s->ao = zalloc(B * s->qd, 4, &bad);
	s->g = zalloc(B * c->ffn_dim, 4, &bad);
	s->u = zalloc(B * c->ffn_dim, 4, &bad);
	s->kb = zalloc(B * s->kvd, 4, &bad);
	s->vb = zalloc(B * s->kvd, 4, &bad);
	s->y = zalloc(B * maxout, 4, &bad);
	s->kc_bytes = (size_t)c->n_layers * s->ctxk * s->kvd * kvsz;	/* below total */
	s->vc_bytes = (size_t)c->n_layers * n_ctx * s->kvd * kvsz;
	bad |= !(s->kc = bn_huge_alloc(s->kc_bytes)) || !(s->vc = bn_huge_alloc(s->vc_bytes));
	s->att = zalloc((size_t)s->nth * n_ctx * (size_t)(c->n_heads / c->n_kv_heads), 4, &bad);
	s->inv_freq = zalloc((size_t)c->head_dim / 2, 4, &bad);
	s->cosv = zalloc(B * c->head_dim / 2, 4, &bad);
	s->sinv = zalloc(B * c->head_dim / 2, 4, &bad);
	s->hn = zalloc((size_t)c->dim, 4, &bad);
	s->logits = zalloc((size_t)c->n_vocab, 4, &bad);
	s->tok = zalloc(B, 4, &bad);
	if (bad) {
		bn_state_free(s);
		return bn_fail(eb, BN_ENOMEM, "out of memory for a context of %d tokens", n_ctx);
	}
	for (i = 0; i < c->head_dim / 2; i++)
		s->inv_freq[i] = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)c->head_dim);
	*out = s;
	return BN_OK;
}

void bn_state_free(struct bn_state *s)
{
	if (!s)
		return;
	free(s->x); free(s->xn); free(s->xq); free(s->xs); free(s->xsum);
	free(s->q); free(s->ao); free(s->g); free(s->u); free(s->kb); free(s->vb); free(s->y);
	bn_huge_free(s->kc, s->kc_bytes); bn_huge_free(s->vc, s->vc_bytes);
	free(s->att); free(s->inv_freq); free(s->cosv); free(s->sinv); free(s->hn);
	free(s->logits); free(s->tok);
	free(s);
}

int bn_state_pos(const struct bn_state *s) { return s->pos; }
int bn_state_ctx(const struct bn_state *s) { return s->n_ctx; }
size_t bn_state_kv_bytes(const struct bn_state *s)
{
	return s->kc_bytes + s->vc_bytes;
}
int bn_state_eval_pos(const struct bn_state *s) { return s->pos0; }
int bn_state_vocab(const struct bn_state *s) { return s->m->cfg.n_vocab; }

void bn_state_rewind(struct bn_state *s, int pos)
{
	if (pos >= 0 && pos < s->pos)
		s->pos = pos;
}

/* ---- elementwise pieces ---- */

/* NeoX rotation of one head: pairs (i, i + d/2). */
static void rope(float *v, const float *cs, const float *sn, int d)
{
	int i, h = d / 2;

	for (i = 0; i < h; i++) {
		float a = v[i], b = v[i + h];
		v[i] = a * cs[i] - b * sn[i];
		v[i + h] = b * cs[i] + a * sn[i];
	}
}

/* ---- parallel jobs ---- */

/* Up to three ternary linears sharing one quantized input, in one pool
 * job of ranges of row blocks (units of LIN_ROWS rows, handed out by
 * bn_pool_run_ranges; the integer products are exact, so who computes a
 * row changes nothing).  With glu set (gate, up), a range covers the same
 * rows of both and then forms relu(gate)^2 * up for them, into y[0]. */
#define LIN_ROWS 16
struct lin_job {
	struct bn_state *s;
	const struct bn_tlin *l[3];
	float *y[3];			/* [T][l->out] */
	int n, T, glu;
	int first[4];			/* first unit of each linear, then the total */
};

/* Rows [r0, r1) of l for T tokens into y0: the integer sums are written
 * where their floats go, then scaled in place. */
static void lin_rows(struct bn_state *s, const struct bn_tlin *l, float *y0, int T, int r0,
		     int r1)
{
	int t, nb = bn_t2_nb(l->in);
	int32_t *acc = (int32_t *)(void *)y0;

	if (T == 1)
		s->k->gemv_t2(l->w, l->row_bytes, r0, r1, s->xq, nb, acc + r0);
	else
		s->k->gemm_t2(l->w, l->row_bytes, r0, r1, s->xq, (size_t)s->npad, s->xsum, T, nb,
			      acc, (size_t)l->out);
	for (t = 0; t < T; t++)
		s->k->scale_i32(y0 + (size_t)t * l->out + r0, r1 - r0, s->xs[t], l->scale);
}

/* max(g, 0) without a branch (the sign of a gate is a coin toss, and a
 * mispredicted compare per element cost 7 % of prefill): clearing every
 * bit of a negative number leaves +0. */
static inline float relu(float g)
{
	uint32_t b;

	memcpy(&b, &g, sizeof(b));
	b &= ~(uint32_t)((int32_t)b >> 31);
	memcpy(&g, &b, sizeof(g));
	return g;
}

/* relu(g)^2 * u for rows [r0, r1) of T tokens, into g. */
static void relu2_mul(float *g0, const float *u0, size_t ld, int T, int r0, int r1)
{
	int t, r;

	for (t = 0; t < T; t++) {
		float *restrict g = g0 + (size_t)t * ld;
		const float *restrict u = u0 + (size_t)t * ld;
		for (r = r0; r < r1; r++) {
			float v = relu(g[r]);
			g[r] = v * v * u[r];
		}
	}
}

/* Rows [r0, r1) of linear i (with glu: of gate and up, then relu^2 * up),
 * in blocks of LIN_BLOCK rows for many tokens, so the T x rows outputs are
 * still in L2 when they are scaled and combined. */
#define LIN_BLOCK 256
static void lin_part(struct lin_job *j, int i, int r0, int r1)
{
	int r, step = j->T > 1 ? LIN_BLOCK : r1 - r0;

	for (r = r0; r < r1; r += step) {
		int re = BN_MIN(r + step, r1);
		lin_rows(j->s, j->l[i], j->y[i], j->T, r, re);
		if (j->glu) {
			lin_rows(j->s, j->l[1], j->y[1], j->T, r, re);
			relu2_mul(j->y[0], j->y[1], (size_t)j->l[0]->out, j->T, r, re);
		}
	}
}

static void lin_range(void *arg, int u0, int u1, int ith)
{
	struct lin_job *j = arg;
	int i = 0;

	(void)ith;
	for (; u0 < u1; u0 = BN_MIN(u1, j->first[i + 1])) {
		int r0, r1;
		while (u0 >= j->first[i + 1])
			i++;
		r0 = (u0 - j->first[i]) * LIN_ROWS;
		r1 = BN_MIN((BN_MIN(u1, j->first[i + 1]) - j->first[i]) * LIN_ROWS, j->l[i]->out);
		lin_part(j, i, r0, r1);
	}
}

static void run_lin(struct bn_state *s, struct lin_job *j)
{
	int i, nl = j->glu ? 1 : j->n;

	for (i = 0; i < nl; i++)
		j->first[i + 1] = j->first[i] + (j->l[i]->out + LIN_ROWS - 1) / LIN_ROWS;
	bn_pool_run_ranges(s->pool, lin_range, j, j->first[nl]);
}

/* RMSNorm then activation quantization of T rows of n (src rows ld
 * apart; with add set, src += add first, the residual), into s->xq /
 * s->xs, one unit per token: for many tokens the threads share it. */
struct nq_job {
	struct bn_state *s;
	float *src;
	const float *add, *weight;
	size_t ld;
	int n;
	int sums;	/* the activation sums, for gemm_t2 (gemv_t2 sums its own) */
};

static void nq_range(void *arg, int t0, int t1, int ith)
{
	struct nq_job *j = arg;
	struct bn_state *s = j->s;
	float *xn = s->xn + (size_t)ith * s->w;
	int t, i, nb = bn_t2_nb(j->n), npad = nb * BN_T2_BLOCK;

	for (t = t0; t < t1; t++) {
		float *x = j->src + (size_t)t * j->ld;
		if (j->add)
			for (i = 0; i < j->n; i++)
				x[i] += j->add[(size_t)t * j->ld + i];
		s->k->rmsnorm(xn, x, j->weight, j->n, s->m->cfg.norm_eps);
		s->xs[t] = s->k->quant_i8(xn, j->n, npad, s->xq + (size_t)t * s->npad);
		if (j->sums)
			s->xsum[t] = s->k->sum_i8(s->xq + (size_t)t * s->npad, nb);
	}
}

static void norm_quant(struct bn_state *s, float *src, const float *add, size_t ld,
		       const float *weight, int n, int T)
{
	struct nq_job j = { s, src, add, weight, ld, n, T > 1 };
	int i;

	/* The norm's weights are read once per token, long evicted by the
	 * weight stream: ask for all their lines at once, before the norm's
	 * first pass over x, which does not need them.  A demand miss per
	 * line had cost 0.6 % of a decode step, one thread (perf; tg64
	 * +1.3 %, ten alternated runs of ten in favour). */
	for (i = 0; i < n; i += 64 / (int)sizeof(*weight))
		__builtin_prefetch(weight + i);

	if (T == 1)
		nq_range(&j, 0, 1, 0);
	else
		bn_pool_run_ranges(s->pool, nq_range, &j, T);
}

static void linear(struct bn_state *s, const struct bn_tlin *l, float *y, int T)
{
	struct lin_job j = { s, { l }, { y }, 1, T, 0, { 0 } };

	run_lin(s, &j);
}

/* The key cache is transposed in blocks of BN_KV_BLOCK positions.  One
 * row of n_ctx positions per dimension put the 640 keys a 2B4T token
 * stores in a layer on 640 different 4 KB pages at -c 4096 (16 KB apart),
 * and those stores took 17 % of a decode step (perf, one thread; 4 % at
 * -c 128); blocks of 64 put them on 40 pages, and attn_qk, which works
 * in 64 positions at a time anyway, reads a block as one contiguous run.
 * Both caches live in huge pages (bn_huge_alloc): in 4 KB pages, decode
 * at depth 1500 ran at 7.5-13 t/s with one thread against 18.3-18.7, the
 * attention kernels stalled on TLB misses (a nested page walk each, in a
 * virtual machine); the cost is that most of the cache (all of it at
 * -c 4096) is resident from the first token on, as llama.cpp's is.
 *
 * key_at: the element holding dimension 0 of head h's key at position pos
 * in layer L; dimension d is BN_KV_BLOCK elements further on. */
static size_t key_at(const struct bn_state *s, int L, int h, int pos)
{
	size_t hd = (size_t)s->m->cfg.head_dim;
	size_t head = ((size_t)L * s->m->cfg.n_kv_heads + (size_t)h) * s->ctxk * hd;

	return head + (size_t)(pos / BN_KV_BLOCK) * BN_KV_BLOCK * hd + (size_t)(pos % BN_KV_BLOCK);
}

struct att_job {
	struct bn_state *s;
	int layer, T;
};

/* One unit per (token, key/value head): the grp query heads sharing that
 * head go through the kernels together; att is the running thread's
 * scratch, grp rows of n_ctx. */
static void att_unit(void *arg, int i, int ith)
{
	struct att_job *j = arg;
	struct bn_state *s = j->s;
	const struct bn_config *c = &s->m->cfg;
	int hd = c->head_dim, grp = c->n_heads / c->n_kv_heads, g;
	int t = i % j->T, kvh = i / j->T, p = s->pos + t;
	size_t h0 = (size_t)t * s->qd + (size_t)kvh * grp * hd;
	size_t kh = key_at(s, j->layer, kvh, 0);	/* the head's keys, and values */
	size_t vh = ((size_t)j->layer * c->n_kv_heads + (size_t)kvh) * s->n_ctx * hd;
	float *att = s->att + (size_t)ith * grp * s->n_ctx, scale = (float)pow(hd, -0.5);
	int j0;

	for (j0 = 0; j0 <= p; j0 += BN_KV_BLOCK) {	/* scores do not depend on the split */
		size_t o = kh + (size_t)j0 * hd;
		int n = BN_MIN(BN_KV_BLOCK, p + 1 - j0);
		if (s->kv_f16)
			s->k->attn_qk_f16(s->q + h0, grp, (const uint16_t *)s->kc + o, BN_KV_BLOCK, n,
					  hd, att + j0, (size_t)s->n_ctx);
		else
			s->k->attn_qk(s->q + h0, grp, (const float *)s->kc + o, BN_KV_BLOCK, n, hd,
				      att + j0, (size_t)s->n_ctx);
	}
	for (g = 0; g < grp; g++)
		s->k->softmax(att + (size_t)g * s->n_ctx, p + 1, scale);
	if (s->kv_f16)
		s->k->attn_av_f16(att, (size_t)s->n_ctx, grp, (const uint16_t *)s->vc + vh,
				  (size_t)hd, p + 1, hd, s->ao + h0);
	else
		s->k->attn_av(att, (size_t)s->n_ctx, grp, (const float *)s->vc + vh, (size_t)hd,
			      p + 1, hd, s->ao + h0);
}

static void att_range(void *arg, int i0, int i1, int ith)
{
	for (; i0 < i1; i0++)
		att_unit(arg, i0, ith);
}

struct head_job {
	struct bn_state *s;
};

#define HEAD_ROWS 64		/* rows per unit of the output head */

static void head_range(void *arg, int u0, int u1, int ith)
{
	struct bn_state *s = ((struct head_job *)arg)->s;
	const struct bn_dense *hd = &s->m->head;
	int dim = s->m->cfg.dim, r0 = u0 * HEAD_ROWS, r1, r;

	(void)ith;
	r1 = BN_MIN(u1 * HEAD_ROWS, s->m->cfg.n_vocab);
	if (hd->type == BN_TYPE_F16) {
		s->k->gemv_f16((const uint16_t *)hd->w, hd->row_bytes / 2, r0, r1, s->hn, dim,
			       s->logits + r0);
		return;
	}
	for (r = r0; r < r1; r++) {
		const uint8_t *w = hd->w + (size_t)r * hd->row_bytes;
		switch (hd->type) {
		case BN_TYPE_BF16: s->logits[r] = s->k->dot_bf16((const uint16_t *)w, s->hn, dim); break;
		case BN_TYPE_Q8_0: s->logits[r] = s->k->dot_q8_0(w, s->hn, dim); break;
		default: s->logits[r] = s->k->dot_f32((const float *)w, s->hn, dim); break;
		}
	}
}

/* ---- one chunk of T tokens through every layer ---- */

/* Keys (into the transposed block of position pos) and values (row pos of
 * each head's block) of position pos in layer L, as float or rounded to
 * f16 (nearest even). */
static void kv_store(struct bn_state *s, int L, int pos, const float *kn, const float *vn)
{
	size_t lo = (size_t)L * s->n_ctx * s->kvd, hd = (size_t)s->m->cfg.head_dim, i, h;
	size_t nh = (size_t)s->m->cfg.n_kv_heads, row = (size_t)pos * hd, k0 = 0;

	if (s->kv_f16) {
		uint16_t *kc = s->kc, *vc = (uint16_t *)s->vc + lo, kh[64];
		for (i = 0; i < (size_t)s->kvd; i++) {
			if (i % 64 == 0)
				s->k->f32_f16(kn + i, kh, (int)BN_MIN((size_t)s->kvd - i, 64));
			if (i % hd == 0)
				k0 = key_at(s, L, (int)(i / hd), pos);
			kc[k0 + i % hd * BN_KV_BLOCK] = kh[i % 64];
		}
		for (h = 0; h < nh; h++)
			s->k->f32_f16(vn + h * hd, vc + h * s->n_ctx * hd + row, (int)hd);
		return;
	}
	for (i = 0; i < (size_t)s->kvd; i++) {
		if (i % hd == 0)
			k0 = key_at(s, L, (int)(i / hd), pos);
		((float *)s->kc)[k0 + i % hd * BN_KV_BLOCK] = kn[i];
	}
	for (h = 0; h < nh; h++)
		memcpy((float *)s->vc + lo + h * s->n_ctx * hd + row, vn + h * hd, hd * sizeof(float));
}

static void layer(struct bn_state *s, int L, int T)
{
	const struct bn_config *c = &s->m->cfg;
	const struct bn_layer *l = &s->m->layers[L];
	struct att_job aj = { s, L, T };
	int t, h, i, hd = c->head_dim, half = hd / 2;

	/* attention */
	norm_quant(s, s->x, NULL, c->dim, l->attn_norm, c->dim, T);
	{
		struct lin_job j = { s, { &l->q, &l->k, &l->v }, { s->q, s->kb, s->vb }, 3, T, 0,
				     { 0 } };
		run_lin(s, &j);
	}
	for (t = 0; t < T; t++) {
		const float *cs = s->cosv + (size_t)t * half, *sn = s->sinv + (size_t)t * half;
		float *kn = s->kb + (size_t)t * s->kvd;
		for (h = 0; h < c->n_heads; h++)
			rope(s->q + (size_t)t * s->qd + h * hd, cs, sn, hd);
		for (h = 0; h < c->n_kv_heads; h++)
			rope(kn + h * hd, cs, sn, hd);
		kv_store(s, L, s->pos + t, kn, s->vb + (size_t)t * s->kvd);
	}
	bn_pool_run_ranges(s->pool, att_range, &aj, T * c->n_kv_heads);
	norm_quant(s, s->ao, NULL, s->qd, l->attn_sub_norm, s->qd, T);
	linear(s, &l->o, s->y, T);

	/* feed-forward: down(subnorm(relu(gate)^2 * up)), after x += o */
	norm_quant(s, s->x, s->y, c->dim, l->ffn_norm, c->dim, T);
	{
		struct lin_job j = { s, { &l->gate, &l->up }, { s->g, s->u }, 2, T, 1, { 0 } };
		run_lin(s, &j);
	}
	norm_quant(s, s->g, NULL, c->ffn_dim, l->ffn_sub_norm, c->ffn_dim, T);
	linear(s, &l->down, s->y, T);
	for (i = 0; i < T * c->dim; i++)
		s->x[i] += s->y[i];
}

static int chunk(struct bn_state *s, const int32_t *tok, int T, int base,
		 enum bn_logits_mode mode, int last_chunk, bn_logits_fn fn, void *ctx)
{
	const struct bn_config *c = &s->m->cfg;
	struct head_job hj = { s };
	int t, i, L, half = c->head_dim / 2, rc = 0;

	for (t = 0; t < T; t++) {
		float p = (float)(s->pos + t);
		bn_dense_row(&s->m->embd, c->dim, tok[t], s->x + (size_t)t * c->dim);
		for (i = 0; i < half; i++) {
			float f = p * s->inv_freq[i];
			s->cosv[t * half + i] = cosf(f);
			s->sinv[t * half + i] = sinf(f);
		}
	}
	for (L = 0; L < c->n_layers; L++)
		layer(s, L, T);
	for (t = 0; t < T && !rc; t++) {
		if (mode == BN_LOGITS_NONE || (mode == BN_LOGITS_LAST && (!last_chunk || t != T - 1)))
			continue;
		s->k->rmsnorm(s->hn, s->x + (size_t)t * c->dim, s->m->out_norm, c->dim, c->norm_eps);
		bn_pool_run_ranges(s->pool, head_range, &hj,
				  (c->n_vocab + HEAD_ROWS - 1) / HEAD_ROWS);
		if (fn)
			rc = fn(ctx, base + t, s->logits);
	}
	s->pos += T;
	return rc;
}

int bn_eval(struct bn_state *s, const int32_t *tok, int T, enum bn_logits_mode mode,
	    bn_logits_fn fn, void *ctx, struct bn_errbuf *eb)
{
	int i, done, rc;

	if (T < 0 || s->pos + T > s->n_ctx)
		return bn_fail(eb, BN_ERANGE, "context full (%d tokens)", s->n_ctx);
	for (i = 0; i < T; i++)
		if (tok[i] < 0 || tok[i] >= s->m->cfg.n_vocab)
			return bn_fail(eb, BN_EINVAL, "token id %d is outside the vocabulary (0..%d)",
				       tok[i], s->m->cfg.n_vocab - 1);
	s->pos0 = s->pos;
	for (done = 0; done < T; done += s->n_batch) {
		int n = BN_MIN(s->n_batch, T - done);
		if ((rc = chunk(s, tok + done, n, done, mode, done + n == T, fn, ctx)) != 0)
			return rc;
	}
	return BN_OK;
}
