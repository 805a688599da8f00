/* softmax.h - the softmax kernel of kernels.h in GCC vector extensions,
 * SM_VL floats a vector (16 for AVX-512, 8 for AVX2, 4 for NEON); a
 * table's file defines SM_VL and includes this.
 *
 * Each lane does the scalar table's steps (bn_exp_neg) as the same IEEE
 * single operations, one vector operation each (-ffp-contract=off, so no
 * multiply-add is fused), and the tails go through bn_exp_neg itself: the
 * exponentials are the scalar ones, bit for bit.  The eight partial sums
 * are one vector of eight adding the scores eight at a time, as scalar
 * does.  The largest score per lane, then across lanes, is the scalar one
 * but for the sign of a zero maximum, which changes no result: a - (+0)
 * and a - (-0) differ only for a = -0, and e^-0 = e^+0 = 1.  The scalar
 * loop was not vectorised by GCC (a branch in the exponential; a float
 * max) and took 10.9 ms per token at 4000 positions, 2B4T. */
typedef float sm_vf __attribute__((vector_size(4 * SM_VL)));
typedef uint32_t sm_vu __attribute__((vector_size(4 * SM_VL)));
typedef int32_t sm_vi __attribute__((vector_size(4 * SM_VL)));
typedef float sm_v8 __attribute__((vector_size(32)));

INLINE sm_vf sm_load(const float *p)
{
	sm_vf v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* b where the lanes of m are set, else a */
INLINE sm_vf sm_pick(sm_vi m, sm_vf b, sm_vf a)
{
	return (sm_vf)(((sm_vu)m & (sm_vu)b) | (~(sm_vu)m & (sm_vu)a));
}

/* bn_exp_neg, lane by lane */
INLINE sm_vf sm_exp_neg(sm_vf x0)
{
	const float magic = 12582912.0f;
	sm_vi small = x0 < -104.0f;
	sm_vf x = sm_pick(small, (sm_vf){ 0 } - 104.0f, x0), t, n, r, h, p, s;
	sm_vu sb;

	t = x * 1.44269504088896341f + magic;
	n = t - magic;
	r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
	h = r * 1.98412698e-4f;
	h = r * (0.0013888889f + h);
	h = r * (0.0083333338f + h);
	h = r * (0.041666668f + h);
	h = r * (0.16666667f + h);
	p = 1.0f + (r + r * r * (0.5f + h));
	sb = ((sm_vu)t - 0x4b400000u + 127 + 64) << 23;	/* 2^(n+64) */
	s = p * (sm_vf)sb * 5.42101086242752217e-20f;	/* 2^-64 */
	return (sm_vf)((sm_vu)s & ~(sm_vu)small);
}

static void softmax(float *a, int n, float scale)
{
	sm_vf vm = (sm_vf){ 0 } - INFINITY;
	sm_v8 acc = { 0 };
	float mx = -INFINITY, part[8], sum;
	int j, k;

	for (j = 0; j + SM_VL <= n; j += SM_VL) {
		sm_vf v = sm_load(a + j) * scale;
		memcpy(a + j, &v, sizeof(v));
		vm = sm_pick(v > vm, v, vm);
	}
	for (k = 0; k < SM_VL; k++)
		mx = vm[k] > mx ? vm[k] : mx;
	for (; j < n; j++) {
		a[j] *= scale;
		mx = a[j] > mx ? a[j] : mx;
	}
	for (j = 0; j + SM_VL <= n; j += SM_VL) {
		sm_vf v = sm_exp_neg(sm_load(a + j) - mx);
		memcpy(a + j, &v, sizeof(v));
	}
	for (; j < n; j++)
		a[j] = bn_exp_neg(a[j] - mx);
	for (j = 0; j + 8 <= n; j += 8) {
		sm_v8 v;
		memcpy(&v, a + j, sizeof(v));
		acc += v;
	}
	for (k = 0; k < 8; k++)
		part[k] = acc[k];
	sum = bn_softmax_sum(part, a, n);
	for (j = 0; j + SM_VL <= n; j += SM_VL) {
		sm_vf v = sm_load(a + j) / sum;
		memcpy(a + j, &v, sizeof(v));
	}
	for (; j < n; j++)
		a[j] /= sum;
}
