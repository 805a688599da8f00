/* avx2.c - kernels for AVX2 + FMA + F16C (Haswell+, Zen 1+).
 *
 * Ternary products use vpmaddubsw (u8 x s8 -> s16, adding adjacent pairs)
 * on the unsigned codes c = w + 1 and the int8 activations, then
 * vpmaddwd by 1 to widen to int32, and subtract the activation sum once per
 * row: sum (c - 1) x = sum c x - sum x, an identity on integers, so results
 * equal scalar exactly (for codes 0..3 alike: both sides are linear in c).
 *
 * Code extraction: one T2 block is one ymm; plane l (elements 32l..32l+31,
 * matching the 32 contiguous activations x[32l..]) is (W >> 2l) & 3.  The
 * 16-bit shift pulls bits of the next byte into the top of each byte, which
 * the mask removes.
 *
 * Bounds.  vpmaddubsw saturates, but a pair is at most 2 * 3 * 128 = 768 in
 * magnitude; the four planes of a block add to at most 3072 per int16 lane,
 * and int16 lanes accumulate at most I16_BLOCKS = 8 blocks (24576 < 32767)
 * before vpmaddwd widens them.  An int32 lane then gains at most 6144 per
 * block: with nb <= BN_T2_MAX_NB = 16384 all eight lanes together stay
 * below 2^27.  The activation sum is at most 128 * 128 * nb = 2^28.
 *
 * Float kernels convert f16 with vcvtph2ps, bf16 by a 16-bit shift, and use
 * several FMA accumulators; they agree with scalar to rounding. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "bn.h"
#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))
#define I16_BLOCKS 8

/* ---- ternary ---- */

INLINE int32_t hsum8(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));

	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}

static int32_t sum_i8(const int8_t *x, int nb)
{
	const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
	__m256i acc = _mm256_setzero_si256();
	int i;

	for (i = 0; i < 4 * nb; i++) {
		__m256i p = _mm256_maddubs_epi16(ones8, _mm256_loadu_si256((const __m256i *)(x + 32 * i)));
		acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones16));
	}
	return hsum8(acc);
}

/* {sum a, sum b, sum c, sum d} */
INLINE __m128i reduce4(__m256i a, __m256i b, __m256i c, __m256i d)
{
	__m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));

	return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

/* One block of one row against the activation planes x0..x3: the int16
 * sums of (code * x) pairs, at most 3072 in magnitude per lane. */
INLINE __m256i block16(const uint8_t *w, __m256i m3, __m256i x0, __m256i x1, __m256i x2, __m256i x3)
{
	__m256i wv = _mm256_loadu_si256((const __m256i *)w);
	__m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(wv, m3), x0);
	__m256i p1 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(wv, 2), m3), x1);
	__m256i p2 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(wv, 4), m3), x2);
	__m256i p3 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(wv, 6), m3), x3);

	return _mm256_add_epi16(_mm256_add_epi16(p0, p1), _mm256_add_epi16(p2, p3));
}

/* Four rows per pass; the activation planes are loaded once per block for
 * all four.  Rows past r1 repeat the last row and are not stored. */
/* Software prefetch PF_DIST bytes ahead of the four rows in flight: the
 * rows of a group are contiguous, so the group loop walks the matrix in
 * order, but four interleaved 32-byte streams of short rows defeat the
 * hardware prefetcher (measured: 8 GB/s from DRAM without, 20 with). */
#define PF_DIST 8192
static void gemv_t2(const uint8_t *w, size_t row_bytes, int r0, int r1,
		    const int8_t *x, int nb, int32_t *y)
{
	const __m256i m3 = _mm256_set1_epi8(3), ones16 = _mm256_set1_epi16(1);
	__m128i sx;
	int r, b, b1, k;

	if (r1 <= r0)
		return;
	sx = _mm_set1_epi32(sum_i8(x, nb));
	for (r = r0; r < r1; r += 4) {
		const uint8_t *wr[4];
		__m256i acc[4];
		__m128i s;

		for (k = 0; k < 4; k++) {
			wr[k] = w + (size_t)(r + k < r1 ? r + k : r1 - 1) * row_bytes;
			acc[k] = _mm256_setzero_si256();
		}
		for (b = 0; b < nb; b = b1) {
			__m256i a16[4];
			b1 = b + I16_BLOCKS < nb ? b + I16_BLOCKS : nb;
			for (k = 0; k < 4; k++)
				a16[k] = _mm256_setzero_si256();
			for (; b < b1; b++) {
				const int8_t *xb = x + 128 * b;
				__m256i x0 = _mm256_loadu_si256((const __m256i *)xb);
				__m256i x1 = _mm256_loadu_si256((const __m256i *)(xb + 32));
				__m256i x2 = _mm256_loadu_si256((const __m256i *)(xb + 64));
				__m256i x3 = _mm256_loadu_si256((const __m256i *)(xb + 96));
				const char *pf = (const char *)wr[0] + PF_DIST + 128 * b;
				_mm_prefetch(pf, _MM_HINT_T0);
				_mm_prefetch(pf + 64, _MM_HINT_T0);
#pragma GCC unroll 4
				for (k = 0; k < 4; k++)
					a16[k] = _mm256_add_epi16(a16[k], block16(wr[k] + 32 * b, m3, x0, x1, x2, x3));
			}
			for (k = 0; k < 4; k++)
				acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(a16[k], ones16));
		}
		s = _mm_sub_epi32(reduce4(acc[0], acc[1], acc[2], acc[3]), sx);
		if (r + 4 <= r1) {
			_mm_storeu_si128((__m128i *)(y + (r - r0)), s);
		} else {
			int32_t tmp[4];
			_mm_storeu_si128((__m128i *)tmp, s);
			memcpy(y + (r - r0), tmp, sizeof(int32_t) * (size_t)(r1 - r));
		}
	}
}

/* Register tile: one row x GT = 8 tokens.  The row's block is decoded once
 * into four code planes and applied to the eight tokens (activations as
 * memory operands), one int32 accumulator per token: 4 + 8 + 3 of the 16
 * ymm registers.  Tokens go in chunks whose activations fit in L2, so the
 * weights come from memory once per chunk and from L1 for the rest. */
#define GT 8
#define CHUNK_BYTES (192 * 1024)

static void gemm_t2(const uint8_t *w, size_t row_bytes, int r0, int r1,
		    const int8_t *x, size_t ldx, const int32_t *xsum, int T, int nb,
		    int32_t *y, size_t ldy)
{
	const __m256i m3 = _mm256_set1_epi8(3), ones16 = _mm256_set1_epi16(1);
	int tc, t0, t, r, b, k;

	if (r1 <= r0 || T <= 0)
		return;
	tc = nb > 0 ? CHUNK_BYTES / (nb * 128) : T;
	tc = tc < GT ? GT : tc - tc % GT;
	for (t0 = 0; t0 < T; t0 += tc) {
		int te = t0 + tc < T ? t0 + tc : T;
		int32_t sx[tc + GT];

		memset(sx, 0, sizeof(sx));	/* padded: read eight at a time */
		memcpy(sx, xsum + t0, (size_t)(te - t0) * sizeof(*sx));
		for (r = r0; r < r1; r++) {
			const uint8_t *wr = w + (size_t)r * row_bytes;
			for (t = t0; t < te; t += GT) {
				const int8_t *xt[GT];
				__m256i acc[GT], s0, s1, s;
				int32_t res[GT];
				int nt = te - t < GT ? te - t : GT;

				for (k = 0; k < GT; k++) {
					xt[k] = x + (size_t)(k < nt ? t + k : te - 1) * ldx;
					acc[k] = _mm256_setzero_si256();
				}
				for (b = 0; b < nb; b++) {
					__m256i wv = _mm256_loadu_si256((const __m256i *)(wr + 32 * b));
					__m256i c0 = _mm256_and_si256(wv, m3);
					__m256i c1 = _mm256_and_si256(_mm256_srli_epi16(wv, 2), m3);
					__m256i c2 = _mm256_and_si256(_mm256_srli_epi16(wv, 4), m3);
					__m256i c3 = _mm256_and_si256(_mm256_srli_epi16(wv, 6), m3);
#pragma GCC unroll 8
					for (k = 0; k < GT; k++) {
						const __m256i *xb = (const __m256i *)(xt[k] + 128 * b);
						__m256i p = _mm256_add_epi16(
							_mm256_add_epi16(_mm256_maddubs_epi16(c0, _mm256_loadu_si256(xb)),
									 _mm256_maddubs_epi16(c1, _mm256_loadu_si256(xb + 1))),
							_mm256_add_epi16(_mm256_maddubs_epi16(c2, _mm256_loadu_si256(xb + 2)),
									 _mm256_maddubs_epi16(c3, _mm256_loadu_si256(xb + 3))));
						acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(p, ones16));
					}
				}
				/* eight horizontal sums at once: lanes {t0..t3 | t4..t7} */
				s0 = _mm256_hadd_epi32(_mm256_hadd_epi32(acc[0], acc[1]), _mm256_hadd_epi32(acc[2], acc[3]));
				s1 = _mm256_hadd_epi32(_mm256_hadd_epi32(acc[4], acc[5]), _mm256_hadd_epi32(acc[6], acc[7]));
				s = _mm256_add_epi32(_mm256_permute2x128_si256(s0, s1, 0x20),
						     _mm256_permute2x128_si256(s0, s1, 0x31));
				s = _mm256_sub_epi32(s, _mm256_loadu_si256((const __m256i *)(sx + (t - t0))));
				_mm256_storeu_si256((__m256i *)res, s);
				for (k = 0; k < nt; k++)
					y[(size_t)(t + k) * ldy + r] = res[k];
			}
		}
	}
}

/* ---- activation quantization ----
 * Bit-exact with scalar: the max is order-independent (vmaxps returns its
 * second operand, the running max, when x is NaN, like fmaxf); s is the
 * same scalar division; x*s is one IEEE multiply; vroundps to nearest even
 * is rintf in the default rounding mode; clamping before the conversion
 * equals clamping after it (the bounds are integers) and the clamped values
 * pass the saturating packs unchanged.  The tail runs the scalar code. */
static float quant_i8(const float *x, int n, int npad, int8_t *q)
{
	const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	const __m256 lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
	const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
	__m256 vmax = _mm256_setzero_ps(), vs;
	__m128 m4;
	float amax, s;
	int i;

	for (i = 0; i + 8 <= n; i += 8)
		vmax = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), absm), vmax);
	m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
	m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
	m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
	amax = _mm_cvtss_f32(m4);
	for (; i < n; i++)
		amax = fmaxf(amax, fabsf(x[i]));
	s = 127.0f / fmaxf(amax, 1e-5f);
	vs = _mm256_set1_ps(s);
#define Q8(off) _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_round_ps( \
		_mm256_mul_ps(_mm256_loadu_ps(x + i + (off)), vs), \
		_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), lo), hi))
	for (i = 0; i + 32 <= n; i += 32) {
		__m256i ab = _mm256_packs_epi32(Q8(0), Q8(8)), cd = _mm256_packs_epi32(Q8(16), Q8(24));
		__m256i v = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), perm);
		_mm256_storeu_si256((__m256i *)(q + i), v);
	}
#undef Q8
	for (; i < n; i++) {
		float v = rintf(x[i] * s);
		q[i] = (int8_t)(v > 127.0f ? 127 : v < -128.0f ? -128 : v);
	}
	if (npad > n)
		memset(q + n, 0, (size_t)(npad - n));
	return s;
}

/* ---- float dots ---- */

INLINE float hsum_ps(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

INLINE __m256 ld_f16(const uint16_t *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

INLINE __m256 ld_bf16(const uint16_t *p)
{
	__m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
	return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

static float dot_f32(const float *a, const float *b, int n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	float acc;
	int i;

	for (i = 0; i + 32 <= n; i += 32) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	acc = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; i < n; i++)
		acc += a[i] * b[i];
	return acc;
}

static float dot_f16(const uint16_t *w, const float *x, int n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	float acc;
	int i;

	for (i = 0; i + 32 <= n; i += 32) {
		s0 = _mm256_fmadd_ps(ld_f16(w + i), _mm256_loadu_ps(x + i), s0);
		s1 = _mm256_fmadd_ps(ld_f16(w + i + 8), _mm256_loadu_ps(x + i + 8), s1);
		s2 = _mm256_fmadd_ps(ld_f16(w + i + 16), _mm256_loadu_ps(x + i + 16), s2);
		s3 = _mm256_fmadd_ps(ld_f16(w + i + 24), _mm256_loadu_ps(x + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(ld_f16(w + i), _mm256_loadu_ps(x + i), s0);
	acc = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; i < n; i++)
		acc += bn_f16_to_f32(w[i]) * x[i];
	return acc;
}

static float dot_bf16(const uint16_t *w, const float *x, int n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	float acc;
	int i;

	for (i = 0; i + 32 <= n; i += 32) {
		s0 = _mm256_fmadd_ps(ld_bf16(w + i), _mm256_loadu_ps(x + i), s0);
		s1 = _mm256_fmadd_ps(ld_bf16(w + i + 8), _mm256_loadu_ps(x + i + 8), s1);
		s2 = _mm256_fmadd_ps(ld_bf16(w + i + 16), _mm256_loadu_ps(x + i + 16), s2);
		s3 = _mm256_fmadd_ps(ld_bf16(w + i + 24), _mm256_loadu_ps(x + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(ld_bf16(w + i), _mm256_loadu_ps(x + i), s0);
	acc = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; i < n; i++)
		acc += bn_bf16_to_f32(w[i]) * x[i];
	return acc;
}

INLINE __m256 i8x8_ps(const uint8_t *p)
{
	return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

/* Q8_0: per 34-byte block, the 32 int8 widened to float dot x (four
 * FMAs), then scaled by the block's f16 scale (F16C, inline) into one of
 * two accumulators (two blocks per step). */
INLINE __m256 q8_blk(const uint8_t *w, const float *x)
{
	__m256 s = _mm256_mul_ps(i8x8_ps(w + 2), _mm256_loadu_ps(x));

	s = _mm256_fmadd_ps(i8x8_ps(w + 10), _mm256_loadu_ps(x + 8), s);
	s = _mm256_fmadd_ps(i8x8_ps(w + 18), _mm256_loadu_ps(x + 16), s);
	return _mm256_fmadd_ps(i8x8_ps(w + 26), _mm256_loadu_ps(x + 24), s);
}

INLINE float q8_scale(const uint8_t *w)
{
	return _cvtsh_ss((unsigned short)(w[0] | w[1] << 8));
}

static float dot_q8_0(const uint8_t *w, const float *x, int n)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = a0;
	int b, nbk = n / 32;

	for (b = 0; b + 2 <= nbk; b += 2, w += 68, x += 64) {
		a0 = _mm256_fmadd_ps(_mm256_set1_ps(q8_scale(w)), q8_blk(w, x), a0);
		a1 = _mm256_fmadd_ps(_mm256_set1_ps(q8_scale(w + 34)), q8_blk(w + 34, x + 32), a1);
	}
	if (b < nbk)
		a0 = _mm256_fmadd_ps(_mm256_set1_ps(q8_scale(w)), q8_blk(w, x), a0);
	return hsum_ps(_mm256_add_ps(a0, a1));
}

static void scale_i32(float *y, int n, float inv, float sc)
{
	const __m256 vi = _mm256_set1_ps(inv), vs = _mm256_set1_ps(sc);
	int i;

	for (i = 0; i + 8 <= n; i += 8) {
		__m256 v = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(y + i)));
		_mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_div_ps(v, vi), vs));
	}
	for (; i < n; i++)
		bn_scale_i32(y + i, inv, sc);
}

static void rmsnorm(float *y, const float *x, const float *w, int n, float eps)
{
	__m256d lo = _mm256_setzero_pd(), hi = lo;
	__m256 vr;
	double l[8];
	float r;
	int i;

	for (i = 0; i + 8 <= n; i += 8) {
		__m256d a = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), b = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
		lo = _mm256_fmadd_pd(a, a, lo);
		hi = _mm256_fmadd_pd(b, b, hi);
	}
	_mm256_storeu_pd(l, lo);
	_mm256_storeu_pd(l + 4, hi);
	r = bn_rms_factor(l, x, n, eps);
	vr = _mm256_set1_ps(r);
	for (i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(w + i),
						      _mm256_mul_ps(_mm256_loadu_ps(x + i), vr)));
	for (; i < n; i++)
		y[i] = w[i] * (x[i] * r);
}

static void f32_f16(const float *src, uint16_t *dst, int n)
{
	int i;

	for (i = 0; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(dst + i),
				 _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		dst[i] = bn_f32_to_f16(src[i]);
}

/* Attention over a float and over an f16 cache (see avx2_attn.h). */
#define BN_ATTN4
#define KV float
#define KVF(f) f
#define KV_LOAD(p) _mm256_loadu_ps(p)
#define KV_F(x) (x)
#include "avx2_attn.h"
#define KV uint16_t
#define KVF(f) f##_f16
#define KV_LOAD(p) ld_f16(p)
#define KV_F(x) bn_f16_to_f32(x)
#include "avx2_attn.h"

#define SM_VL 8
#include "softmax.h"
#include "derived.h"

const struct bn_kernels bn_kernels_avx2 = {
	.name = "avx2",
	.gemv_t2 = gemv_t2,
	.gemm_t2 = gemm_t2,
	.sum_i8 = sum_i8,
	.scale_i32 = scale_i32,
	.rmsnorm = rmsnorm,
	.quant_i8 = quant_i8,
	.dot_f32 = dot_f32,
	.dot_f16 = dot_f16,
	.dot_bf16 = dot_bf16,
	.dot_q8_0 = dot_q8_0,
	.gemv_f16 = gemv_f16,
	.f32_f16 = f32_f16,
	.softmax = softmax,
	.attn_av = attn_av,
	.attn_qk = attn_qk,
	.attn_av_f16 = attn_av_f16,
	.attn_qk_f16 = attn_qk_f16,
};
