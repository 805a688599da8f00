/* avx2_attn.h - the attention kernels of avx2.c over one cache element
 * type; included once per type, with
 *     KV            the element type (float, or uint16_t for an f16 cache)
 *     KVF(name)     the name of this type's function
 *     KV_LOAD(p)    eight elements at p as floats
 *     KV_F(x)       element x as float
 * An f16 element widens to float exactly, so both types give the same bits
 * for the same values.
 *
 * Attention streams the cache from memory once it outgrows the caches:
 * key rows (hd streams, too many for the hardware prefetchers) are
 * prefetched into L2 QK_AHEAD positions ahead, value rows into L1 AV_AHEAD
 * positions ahead (as in avx512_attn.h). */

#include "attn_tail.h"

#ifndef QK_AHEAD
#define QK_AHEAD 128
#define AV_AHEAD 32
/* the lines of the 32 elements at p + ahead (the keys or values a pass reads) */
#define PF32(p, ahead, hint) do {						\
	_mm_prefetch((const char *)((p) + (ahead)), hint);			\
	if (sizeof(KV) == 4)							\
		_mm_prefetch((const char *)((p) + (ahead) + 16), hint);		\
} while (0)
#endif

/* Same order as scalar: per j, out += w[j] * v with separate mul and add;
 * eight ymm accumulators cover 64 values of d per pass over j. */
static void KVF(av1)(const float *w, const KV *v, size_t ld, int n, int hd, float *out)
{
	int d0, j, u;

	for (d0 = 0; d0 + 8 <= hd; d0 += 64) {
		int m = (hd - d0) / 8 < 8 ? (hd - d0) / 8 : 8;
		__m256 acc[8];
#pragma GCC unroll 8
		for (u = 0; u < 8; u++)
			acc[u] = _mm256_setzero_ps();
		for (j = 0; j < n; j++) {
			const KV *vj = v + (size_t)j * ld + d0;
			__m256 wj = _mm256_set1_ps(w[j]);
			for (u = 0; u < m; u += 8 / (int)sizeof(KV))
				_mm_prefetch((const char *)(vj + AV_AHEAD * ld + 8 * u), _MM_HINT_T0);
#pragma GCC unroll 8
			for (u = 0; u < m; u++)
				acc[u] = _mm256_add_ps(acc[u], _mm256_mul_ps(wj, KV_LOAD(vj + 8 * u)));
		}
#pragma GCC unroll 8
		for (u = 0; u < m; u++)
			_mm256_storeu_ps(out + d0 + 8 * u, acc[u]);
	}
	KVF(av_tail)(w, v, ld, n, hd - hd % 8, hd, out);
}

/* Same order as scalar: per d, out += q[d] * k with separate mul and add. */
static void KVF(qk1)(const float *q, const KV *kt, size_t ld, int n, int hd, float *out)
{
	int d, j;

	for (j = 0; j + 32 <= n; j += 32) {
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		for (d = 0; d < hd; d++) {
			const KV *k = kt + (size_t)d * ld + j;
			__m256 qd = _mm256_set1_ps(q[d]);
			PF32(k, QK_AHEAD, _MM_HINT_T1);
			a0 = _mm256_add_ps(a0, _mm256_mul_ps(qd, KV_LOAD(k)));
			a1 = _mm256_add_ps(a1, _mm256_mul_ps(qd, KV_LOAD(k + 8)));
			a2 = _mm256_add_ps(a2, _mm256_mul_ps(qd, KV_LOAD(k + 16)));
			a3 = _mm256_add_ps(a3, _mm256_mul_ps(qd, KV_LOAD(k + 24)));
		}
		_mm256_storeu_ps(out + j, a0);
		_mm256_storeu_ps(out + j + 8, a1);
		_mm256_storeu_ps(out + j + 16, a2);
		_mm256_storeu_ps(out + j + 24, a3);
	}
	KVF(qk_tail)(q, kt, ld, j, n, hd, out);
}

/* Four queries against the same keys: 32 positions per pass, 16 ymm
 * accumulators; positions past the last multiple of 32 go to qk1. */
static void KVF(qk4)(const float *q, const KV *kt, size_t ld, int n, int hd, float *out, size_t ldo)
{
	int d, j, u, g, n32 = n - n % 32;

	for (j = 0; j < n32; j += 32) {
		__m256 acc[4][4];
#pragma GCC unroll 8
		for (g = 0; g < 4; g++)
#pragma GCC unroll 8
			for (u = 0; u < 4; u++)
				acc[g][u] = _mm256_setzero_ps();
		for (d = 0; d < hd; d++) {
			const KV *k = kt + (size_t)d * ld + j;
			__m256 kv[4];
			PF32(k, QK_AHEAD, _MM_HINT_T1);
#pragma GCC unroll 8
			for (u = 0; u < 4; u++)
				kv[u] = KV_LOAD(k + 8 * u);
#pragma GCC unroll 8
			for (g = 0; g < 4; g++) {
				__m256 qd = _mm256_set1_ps(q[(size_t)g * hd + d]);
#pragma GCC unroll 8
				for (u = 0; u < 4; u++)
					acc[g][u] = _mm256_add_ps(acc[g][u], _mm256_mul_ps(qd, kv[u]));
			}
		}
#pragma GCC unroll 8
		for (g = 0; g < 4; g++)
#pragma GCC unroll 8
			for (u = 0; u < 4; u++)
				_mm256_storeu_ps(out + g * ldo + j + 8 * u, acc[g][u]);
	}
	if (n32 < n)
#pragma GCC unroll 8
		for (g = 0; g < 4; g++)
			KVF(qk1)(q + (size_t)g * hd, kt + n32, ld, n - n32, hd, out + g * ldo + n32);
}

/* Four weight rows over the same values: 32 values of d per pass; the
 * values past the last multiple of 32 go to av1 (on a column slice). */
static void KVF(av4)(const float *w, size_t ldw, const KV *v, size_t ld, int n, int hd, float *out)
{
	int d0, j, u, g, h32 = hd - hd % 32;

	for (d0 = 0; d0 < h32; d0 += 32) {
		__m256 acc[4][4];
#pragma GCC unroll 8
		for (g = 0; g < 4; g++)
#pragma GCC unroll 8
			for (u = 0; u < 4; u++)
				acc[g][u] = _mm256_setzero_ps();
		for (j = 0; j < n; j++) {
			const KV *vj = v + (size_t)j * ld + d0;
			__m256 vv[4];
			PF32(vj, AV_AHEAD * ld, _MM_HINT_T0);
#pragma GCC unroll 8
			for (u = 0; u < 4; u++)
				vv[u] = KV_LOAD(vj + 8 * u);
#pragma GCC unroll 8
			for (g = 0; g < 4; g++) {
				__m256 wg = _mm256_set1_ps(w[g * ldw + j]);
#pragma GCC unroll 8
				for (u = 0; u < 4; u++)
					acc[g][u] = _mm256_add_ps(acc[g][u], _mm256_mul_ps(wg, vv[u]));
			}
		}
#pragma GCC unroll 8
		for (g = 0; g < 4; g++)
#pragma GCC unroll 8
			for (u = 0; u < 4; u++)
				_mm256_storeu_ps(out + (size_t)g * hd + d0 + 8 * u, acc[g][u]);
	}
	if (h32 < hd)
#pragma GCC unroll 8
		for (g = 0; g < 4; g++)
			KVF(av1)(w + g * ldw, v + h32, ld, n, hd - h32, out + (size_t)g * hd + h32);
}

#include "attn_group.h"
#undef KV_LOAD
#undef KV_F
