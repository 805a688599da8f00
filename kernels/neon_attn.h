/* neon_attn.h - the attention kernels of neon.c over one cache element
 * type; included once per type, with
 *     KV            the element type (float, or uint16_t for an f16 cache)
 *     KVF(name)     the name of this type's function
 *     KV_LOAD(p)    four elements at p as floats
 *     KV_F(x)       element x as float
 * An f16 element widens to float exactly, so both types give the same bits
 * for the same values. */

#include "attn_tail.h"


/* Same order as scalar: per j, out += w[j] * v with vmulq + vaddq (never
 * vfmaq); eight q accumulators cover 32 values of d per pass over j. */
static void KVF(av1)(const float *w, const KV *v, size_t ld, int n, int hd, float *out)
{
	int d0, j, u;

	for (d0 = 0; d0 + 4 <= hd; d0 += 32) {
		int m = (hd - d0) / 4 < 8 ? (hd - d0) / 4 : 8;
		float32x4_t acc[8];
		for (u = 0; u < 8; u++)
			acc[u] = vdupq_n_f32(0.0f);
		for (j = 0; j < n; j++) {
			const KV *vj = v + (size_t)j * ld + d0;
			for (u = 0; u < m; u++)
				acc[u] = vaddq_f32(acc[u], vmulq_n_f32(KV_LOAD(vj + 4 * u), w[j]));
		}
		for (u = 0; u < m; u++)
			vst1q_f32(out + d0 + 4 * u, acc[u]);
	}
	KVF(av_tail)(w, v, ld, n, hd - hd % 4, hd, out);
}

/* Same order as scalar: per d, out += q[d] * k with separate mul and add
 * (vmulq + vaddq, never vfmaq). */
static void KVF(qk1)(const float *q, const KV *kt, size_t ld, int n, int hd, float *out)
{
	int d, j;

	for (j = 0; j + 16 <= n; j += 16) {
		float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
		for (d = 0; d < hd; d++) {
			const KV *k = kt + (size_t)d * ld + j;
			float32x4_t qd = vdupq_n_f32(q[d]);
			a0 = vaddq_f32(a0, vmulq_f32(qd, KV_LOAD(k)));
			a1 = vaddq_f32(a1, vmulq_f32(qd, KV_LOAD(k + 4)));
			a2 = vaddq_f32(a2, vmulq_f32(qd, KV_LOAD(k + 8)));
			a3 = vaddq_f32(a3, vmulq_f32(qd, KV_LOAD(k + 12)));
		}
		vst1q_f32(out + j, a0);
		vst1q_f32(out + j + 4, a1);
		vst1q_f32(out + j + 8, a2);
		vst1q_f32(out + j + 12, a3);
	}
	KVF(qk_tail)(q, kt, ld, j, n, hd, out);
}

#include "attn_group.h"
#undef KV_LOAD
#undef KV_F
