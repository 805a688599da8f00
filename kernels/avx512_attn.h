/* avx512_attn.h - the attention kernels of avx512.c over one cache element
 * type; included once per type, with
 *     KV            the element type (float, or uint16_t for an f16 cache)
 *     KVF(name)     the name of this type's function
 *     KV_LOADM(k, p) sixteen elements at p as floats, lanes not in mask k zero
 * An f16 element widens to float exactly, so both types give the same bits
 * for the same values.
 *
 * Attention streams the cache from memory once it outgrows the caches: key
 * rows (hd streams, too many for the hardware prefetchers) are prefetched
 * into L2 QK_AHEAD positions (two passes) ahead, value rows into L1
 * AV_AHEAD positions ahead, a prefetch per 64-byte line (at a depth of 4000
 * tokens, f32 cache, one thread: keys 6.5 -> 25 GB/s, values 7 -> 18 GB/s). */
#ifndef QK_AHEAD
#define QK_AHEAD 128
#define AV_AHEAD 32
/* vector u (16 elements) of a row starts a cache line of its own */
#define KV_LINE(u) ((u) * 16 * sizeof(KV) % 64 == 0)
#endif

/* Same order as scalar: per j, out += w[j] * v with separate mul and add;
 * eight zmm accumulators cover 128 values of d per pass over j (masked
 * past hd). */
static void KVF(av1)(const float *w, const KV *v, size_t ld, int n, int hd, float *out)
{
	int d0, j, u;

	for (d0 = 0; d0 < hd; d0 += 128) {
		__m512 acc[8];
		__mmask16 km[8];
#pragma GCC unroll 8
		for (u = 0; u < 8; u++) {
			km[u] = tailmask(hd - d0 - 16 * u);
			acc[u] = _mm512_setzero_ps();
		}
		for (j = 0; j < n; j++) {
			const KV *vj = v + (size_t)j * ld + d0;
			__m512 wj = _mm512_set1_ps(w[j]);
#pragma GCC unroll 8
			for (u = 0; u < 8; u++)
				if (KV_LINE(u))
					_mm_prefetch((const char *)(vj + AV_AHEAD * ld + 16 * u), _MM_HINT_T0);
#pragma GCC unroll 8
			for (u = 0; u < 8; u++)
				acc[u] = _mm512_add_ps(acc[u], _mm512_mul_ps(wj, KV_LOADM(km[u], vj + 16 * u)));
		}
#pragma GCC unroll 8
		for (u = 0; u < 8; u++)
			_mm512_mask_storeu_ps(out + d0 + 16 * u, km[u], acc[u]);
	}
}

/* Same order as scalar: per d, out += q[d] * k with separate mul and add. */
static void KVF(qk1)(const float *q, const KV *kt, size_t ld, int n, int hd, float *out)
{
	int d, j, u;

	for (j = 0; j < n; j += 64) {
		__m512 acc[4];
		__mmask16 km[4];
#pragma GCC unroll 8
		for (u = 0; u < 4; u++) {
			km[u] = tailmask(n - j - 16 * u);
			acc[u] = _mm512_setzero_ps();
		}
		for (d = 0; d < hd; d++) {
			const KV *k = kt + (size_t)d * ld + j;
			__m512 qd = _mm512_set1_ps(q[d]);
#pragma GCC unroll 4
			for (u = 0; u < 4; u++)
				if (KV_LINE(u))
					_mm_prefetch((const char *)(k + QK_AHEAD + 16 * u), _MM_HINT_T1);
#pragma GCC unroll 8
			for (u = 0; u < 4; u++)
				acc[u] = _mm512_add_ps(acc[u], _mm512_mul_ps(qd, KV_LOADM(km[u], k + 16 * u)));
		}
#pragma GCC unroll 8
		for (u = 0; u < 4; u++)
			_mm512_mask_storeu_ps(out + j + 16 * u, km[u], acc[u]);
	}
}

/* Four queries against the same keys: 64 positions per pass, 16 zmm
 * accumulators, each key vector loaded once for the four. */
static void KVF(qk4)(const float *q, const KV *kt, size_t ld, int n, int hd, float *out, size_t ldo)
{
	int d, j, u, g;

	for (j = 0; j < n; j += 64) {
		__m512 acc[4][4];
		__mmask16 km[4];
#pragma GCC unroll 8
		for (u = 0; u < 4; u++) {
			km[u] = tailmask(n - j - 16 * u);
#pragma GCC unroll 8
			for (g = 0; g < 4; g++)
				acc[g][u] = _mm512_setzero_ps();
		}
		for (d = 0; d < hd; d++) {
			const KV *k = kt + (size_t)d * ld + j;
			__m512 kv[4];
#pragma GCC unroll 4
			for (u = 0; u < 4; u++)
				if (KV_LINE(u))
					_mm_prefetch((const char *)(k + QK_AHEAD + 16 * u), _MM_HINT_T1);
#pragma GCC unroll 8
			for (u = 0; u < 4; u++)
				kv[u] = KV_LOADM(km[u], k + 16 * u);
#pragma GCC unroll 8
			for (g = 0; g < 4; g++) {
				__m512 qd = _mm512_set1_ps(q[(size_t)g * hd + d]);
#pragma GCC unroll 8
				for (u = 0; u < 4; u++)
					acc[g][u] = _mm512_add_ps(acc[g][u], _mm512_mul_ps(qd, kv[u]));
			}
		}
#pragma GCC unroll 8
		for (g = 0; g < 4; g++)
#pragma GCC unroll 8
			for (u = 0; u < 4; u++)
				_mm512_mask_storeu_ps(out + g * ldo + j + 16 * u, km[u], acc[g][u]);
	}
}

/* Two weight rows over the same values, up to 128 values of d per pass
 * (16 accumulators, m of them in use), so each pass streams whole value
 * rows; av4 is two of these. */
static void KVF(av2)(const float *w, size_t ldw, const KV *v, size_t ld, int n, int hd, float *out)
{
	int d0, j, u;

	for (d0 = 0; d0 < hd; d0 += 128) {
		int m = BN_MIN(8, (hd - d0 + 15) / 16);
		__m512 a0[8], a1[8];
		__mmask16 km[8];
#pragma GCC unroll 8
		for (u = 0; u < 8; u++) {
			km[u] = tailmask(hd - d0 - 16 * u);
			a0[u] = a1[u] = _mm512_setzero_ps();
		}
		for (j = 0; j < n; j++) {
			const KV *vj = v + (size_t)j * ld + d0;
			__m512 w0 = _mm512_set1_ps(w[j]), w1 = _mm512_set1_ps(w[ldw + j]);
#pragma GCC unroll 8
			for (u = 0; u < 8; u++)
				if (u < m) {
					__m512 x = KV_LOADM(km[u], vj + 16 * u);
					if (KV_LINE(u))
						_mm_prefetch((const char *)(vj + AV_AHEAD * ld + 16 * u),
							     _MM_HINT_T0);
					a0[u] = _mm512_add_ps(a0[u], _mm512_mul_ps(w0, x));
					a1[u] = _mm512_add_ps(a1[u], _mm512_mul_ps(w1, x));
				}
		}
#pragma GCC unroll 8
		for (u = 0; u < m; u++) {
			_mm512_mask_storeu_ps(out + d0 + 16 * u, km[u], a0[u]);
			_mm512_mask_storeu_ps(out + hd + d0 + 16 * u, km[u], a1[u]);
		}
	}
}

static void KVF(av4)(const float *w, size_t ldw, const KV *v, size_t ld, int n, int hd, float *out)
{
	KVF(av2)(w, ldw, v, ld, n, hd, out);
	KVF(av2)(w + 2 * ldw, ldw, v, ld, n, hd, out + 2 * (size_t)hd);
}

#include "attn_group.h"
#undef KV_LOADM
