/* avx512.c - kernels for AVX-512 F/BW/VL/DQ + VNNI (Cascade Lake+, Zen 4+).
 *
 * Ternary products use vpdpbusd (u8 x s8 -> s32, four products per lane) on
 * the unsigned codes c = w + 1 and the int8 activations, and subtract the
 * activation sum once per row:  sum (c - 1) x = sum c x - sum x.  This is an
 * identity on integers, so the result equals the scalar one exactly (codes
 * of 3, which never occur, would also agree: both sides are linear in c).
 *
 * Code extraction.  One T2 block is 32 bytes; byte j holds the codes of
 * elements j, 32+j, 64+j, 96+j in bits 1:0, 3:2, 5:4, 7:6.  The block is
 * broadcast to both 256-bit halves of a zmm, then
 *     c01 = W & {0x03 x32 | 0x0c x32}         codes of x[0..32) and 4*codes of x[32..64)
 *     c23 = (W >> 4) & {0x03 x32 | 0x0c x32}  codes of x[64..96) and 4*codes of x[96..128)
 * (the 16-bit shift moves no set bit across a byte: the mask keeps bits
 * 0-3 of each byte, which come from bits 4-7 of the same byte), so in
 * gemm_t2 one block is two vpdpbusd against the contiguous 64-byte halves
 * of x (gemv_t2 decodes differently, see there).  The upper eight int32
 * lanes of every accumulator therefore hold 4x their true
 * value; each of those lanes is a sum of products (4c)*x, a multiple of 4,
 * so an arithmetic shift right by 2 after the horizontal sum is exact.
 *
 * Bounds.  vpdpbusd does not saturate.  Per block and lane: at most
 * 2 (vpdpbusd) x 4 products of |4c * x| <= 12 * 128 = 1536, i.e. 12288,
 * so with nb <= BN_T2_MAX_NB = 16384 a lane stays below 2^28 and the sum of
 * all 16 lanes (upper ones still scaled by 4) below 2^31.  The activation
 * sum is at most 128 * 128 * nb = 2^28.
 *
 * Float kernels convert f16 with vcvtph2ps, bf16 by a 16-bit shift, and use
 * four independent FMA accumulators; they agree with scalar to rounding. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "bn.h"
#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))

/* ---- ternary ---- */

/* acc += u8 a . s8 b, in place.  GCC models the intrinsic as
 * non-destructive and surrounds it with register copies in tight tiles
 * (measured 20-30 % of the tile loop); the asm ties acc to the output. */
INLINE __m512i dpbusd(__m512i acc, __m512i a, __m512i b)
{
	__asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "vm"(b));
	return acc;
}

INLINE __m512i code_mask(void)
{
	return _mm512_inserti64x4(_mm512_set1_epi8(0x03), _mm256_set1_epi8(0x0c), 1);
}

/* Codes of one block: c01 pairs with x[0..64), c23 with x[64..128). */
INLINE void codes(const uint8_t *w, __m512i m, __m512i *c01, __m512i *c23)
{
	__m512i wb = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)w));

	*c01 = _mm512_and_si512(wb, m);
	*c23 = _mm512_and_si512(_mm512_srli_epi16(wb, 4), m);
}

/* Sum of the nb*128 activations (|sum| <= 2^28, see above). */
static int32_t sum_i8(const int8_t *x, int nb)
{
	__m512i ones = _mm512_set1_epi8(1), a = _mm512_setzero_si512(), b = a, c = a, d = a;
	int i;

	for (i = 0; i + 2 <= nb; i += 2) {	/* four chains: the latency, not the sum, bounds one */
		a = dpbusd(a, ones, _mm512_loadu_si512(x + 128 * i));
		b = dpbusd(b, ones, _mm512_loadu_si512(x + 128 * i + 64));
		c = dpbusd(c, ones, _mm512_loadu_si512(x + 128 * i + 128));
		d = dpbusd(d, ones, _mm512_loadu_si512(x + 128 * i + 192));
	}
	if (i < nb) {
		a = dpbusd(a, ones, _mm512_loadu_si512(x + 128 * i));
		b = dpbusd(b, ones, _mm512_loadu_si512(x + 128 * i + 64));
	}
	return _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a, b), _mm512_add_epi32(c, d)));
}


/* gemv_t2 reads two blocks (64 bytes) of a row at once and takes each
 * code position with one AND and no shift:
 *     c_l = W & (3 << 2l)  =  4^l * codes of elements 32l + j
 * (lower half block b, upper half block b+1), against
 *     x_l = x[128b+32l .. +32) | x[128b+128+32l .. +32),
 * which t2_permute() lays out contiguously once per call, so vpdpbusd
 * takes x_l straight from memory.  Each of a row's four accumulators then
 * holds 4^l times its true lanes, a multiple of 4^l that the arithmetic
 * shift in unscale4() divides exactly.  Four ANDs and four vpdpbusd per
 * 256 weights, and logic ops issue on all four vector pipes of Zen 4 (a
 * shift or GFNI op would compete with vpdpbusd): 25-40 % faster than two
 * codes() per block.  An odd last block is loaded into the lower half
 * only (upper codes zero).  Bounds: per block pair a lane gains 4 products
 * of |192 * x| <= 24576, i.e. 98304, times nb/2 <= 8192 is below 2^30. */
#define T2_CH 128		/* blocks per column chunk (16 KB of x) */

INLINE __m512i unscale4(__m512i a0, __m512i a1, __m512i a2, __m512i a3)
{
	return _mm512_add_epi32(_mm512_add_epi32(a0, _mm512_srai_epi32(a1, 2)),
				_mm512_add_epi32(_mm512_srai_epi32(a2, 4), _mm512_srai_epi32(a3, 6)));
}

/* Lane sums of four accumulators: 128-bit lane k of the result holds the
 * sums of lanes 4k..4k+3 of a, b, c, d (the upper 256 bits come from the
 * upper lanes only). */
INLINE __m512i sum4(__m512i a, __m512i b, __m512i c, __m512i d)
{
	__m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
	__m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));

	return _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
}

INLINE __m128i fold4(__m512i s)
{
	__m256i h = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));

	return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* Horizontal sums of four accumulators of unscaled lanes. */
INLINE __m128i reduce4u(__m512i a, __m512i b, __m512i c, __m512i d)
{
	return fold4(sum4(a, b, c, d));
}

/* Horizontal sums of four accumulators in the gemm_t2 layout: upper eight
 * lanes scaled by 4, each a multiple of 4, and so is any sum of them, so
 * one shift after the in-lane sums is exact. */
INLINE __m128i reduce4(__m512i a, __m512i b, __m512i c, __m512i d)
{
	__m512i two_hi = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi32(2), 1);

	return fold4(_mm512_srav_epi32(sum4(a, b, c, d), two_hi));
}

/* xp[256p + 64l + j] = x_l of block pair p, for nb blocks (zeros after an
 * odd last block). */
static void t2_permute(const int8_t *x, int nb, int8_t *xp)
{
	int b, l;

	for (b = 0; b < nb; b += 2)
		for (l = 0; l < 4; l++) {
			__m256i lo = _mm256_loadu_si256((const __m256i *)(x + 128 * b + 32 * l));
			__m256i hi = b + 1 < nb ? _mm256_loadu_si256((const __m256i *)
							    (x + 128 * b + 128 + 32 * l))
						: _mm256_setzero_si256();
			_mm256_storeu_si256((__m256i *)(xp + 128 * b + 64 * l), lo);
			_mm256_storeu_si256((__m256i *)(xp + 128 * b + 64 * l + 32), hi);
		}
}

INLINE __m512i ld_lo(const void *p)
{
	return _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)p));
}

/* One row's four products for the block pair at b: v holds its codes. */
#define T2_ROW(a0, a1, a2, a3, v)						\
	do {									\
		const int8_t *xb = xp + 128 * b;				\
		a0 = dpbusd(a0, _mm512_and_si512(v, m0), _mm512_load_si512(xb));	\
		a1 = dpbusd(a1, _mm512_and_si512(v, m1), _mm512_load_si512(xb + 64)); \
		a2 = dpbusd(a2, _mm512_and_si512(v, m2), _mm512_load_si512(xb + 128)); \
		a3 = dpbusd(a3, _mm512_and_si512(v, m3), _mm512_load_si512(xb + 192)); \
	} while (0)

/* One row's products over all its block pairs (an odd last block in the
 * lower half only), with a software prefetch PF_DIST ahead of each load. */
#define T2_SEQ(a0, a1, a2, a3, wk)						\
	do {									\
		for (b = 0; b + 2 <= nb; b += 2) {				\
			__m512i v = _mm512_loadu_si512(wk + 32 * b);		\
			_mm_prefetch((const char *)(wk + 32 * b) + PF_DIST, _MM_HINT_T0); \
			T2_ROW(a0, a1, a2, a3, v);				\
		}								\
		if (b < nb) {							\
			__m512i v = ld_lo(wk + 32 * b);				\
			T2_ROW(a0, a1, a2, a3, v);				\
		}								\
	} while (0)

/* Rows [r0, r1) over nb blocks of x permuted into xp: y = sums (add: y +=).
 * Four rows at a time, four accumulators per row (named: GCC keeps arrays
 * of them in memory), reduced together; rows past r1 repeat the last row
 * and are not stored.  Each row is read start to end, so the group walks
 * the matrix in order, with a software prefetch into L1 PF_DIST ahead of
 * every load: from DRAM (file pages, one thread, Zen 4) 24-25 GB/s,
 * against 21 for the four rows read in step with prefetch and 17 for this
 * order without (a plain sum reads 28-30).  On Zen 5 a prefetch into L1
 * (T0) streams 10-17 % faster than one into L2 (T1): 25-28 against 22-24
 * GB/s, alternated in one process over huge pages; NTA the same as T0,
 * and distances of 4 to 16 KB equal within noise. */
#define PF_DIST 8192
static void gemv_t2_chunk(const uint8_t *w, size_t row_bytes, int r0, int r1,
			  const int8_t *xp, int nb, int32_t sx, int add, int32_t *y)
{
	const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0c);
	const __m512i m2 = _mm512_set1_epi8(0x30), m3 = _mm512_set1_epi8((char)0xc0);
	int r, b, k;

	for (r = r0; r < r1; r += 4) {
		const uint8_t *w0, *w1, *w2, *w3;
		__m512i a00, a01, a02, a03, a10, a11, a12, a13;
		__m512i a20, a21, a22, a23, a30, a31, a32, a33;
		__m128i s;
		int32_t tmp[4];

		w0 = w + (size_t)r * row_bytes;
		w1 = w + (size_t)(r + 1 < r1 ? r + 1 : r1 - 1) * row_bytes;
		w2 = w + (size_t)(r + 2 < r1 ? r + 2 : r1 - 1) * row_bytes;
		w3 = w + (size_t)(r + 3 < r1 ? r + 3 : r1 - 1) * row_bytes;
		a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = _mm512_setzero_si512();
		a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = a00;
		T2_SEQ(a00, a01, a02, a03, w0);
		T2_SEQ(a10, a11, a12, a13, w1);
		T2_SEQ(a20, a21, a22, a23, w2);
		T2_SEQ(a30, a31, a32, a33, w3);
		s = reduce4u(unscale4(a00, a01, a02, a03), unscale4(a10, a11, a12, a13),
			     unscale4(a20, a21, a22, a23), unscale4(a30, a31, a32, a33));
		_mm_storeu_si128((__m128i *)tmp, _mm_sub_epi32(s, _mm_set1_epi32(sx)));
		for (k = 0; k < 4 && r + k < r1; k++)
			y[r - r0 + k] = (add ? y[r - r0 + k] : 0) + tmp[k];
	}
}

/* Column chunks of T2_CH blocks (one for rows of up to 16384 weights),
 * each with its activations permuted once; software prefetch of the first
 * PF_DIST bytes at entry, where the in-loop prefetch has not reached. */
static void gemv_t2(const uint8_t *w, size_t row_bytes, int r0, int r1,
		    const int8_t *x, int nb, int32_t *y)
{
	int8_t xp[T2_CH * 128] __attribute__((aligned(64)));
	const char *p0 = (const char *)w + (size_t)r0 * row_bytes;
	size_t o, npf = BN_MIN((size_t)PF_DIST, (size_t)(r1 - r0) * row_bytes);
	int c;

	if (r1 <= r0)
		return;
	for (o = 0; o < npf; o += 64)
		_mm_prefetch(p0 + o, _MM_HINT_T0);
	for (c = 0; c == 0 || c < nb; c += T2_CH) {
		int n = BN_MIN(T2_CH, nb - c);
		t2_permute(x + 128 * c, n, xp);
		gemv_t2_chunk(w + 32 * c, row_bytes, r0, r1, xp, n, sum_i8(x + 128 * c, n), c > 0, y);
	}
}

/* Register tile: GR rows x GT tokens, one zmm accumulator each (16, named:
 * GCC spills arrays of them), plus 2 x 4 code registers and two of
 * activations.  A row group's codes are decoded once into an L1 buffer of
 * GEMM_CB blocks (16 KB) and reused by every token group, so the tile
 * loop is loads and vpdpbusd only (decoding per tile cost 12 logic ops per
 * 32 vpdpbusd).  Tokens are processed in chunks whose activations fit in
 * L2, so the weights are read from memory once per chunk. */
#define GR 4
#define GT 4
#define GEMM_CB 32
#define CHUNK_BYTES (384 * 1024)

/* Token k's products with the four rows' codes of block b. */
#define GEMM_TOK(a0, a1, a2, a3, xk)						\
	do {									\
		__m512i xa = _mm512_loadu_si512(xk + 128 * b);			\
		__m512i xb = _mm512_loadu_si512(xk + 128 * b + 64);		\
		a0 = dpbusd(dpbusd(a0, c[0], xa), c[1], xb); \
		a1 = dpbusd(dpbusd(a1, c[2], xa), c[3], xb); \
		a2 = dpbusd(dpbusd(a2, c[4], xa), c[5], xb); \
		a3 = dpbusd(dpbusd(a3, c[6], xa), c[7], xb); \
	} while (0)

/* out[k] = the four rows' sums over n decoded blocks cb for token k. */
static __attribute__((noinline)) void gemm_tile(const __m512i *cb, const int8_t *const xt[GT], int n, __m128i out[GT])
{
	const int8_t *x0 = xt[0], *x1 = xt[1], *x2 = xt[2], *x3 = xt[3];
	__m512i a00, a01, a02, a03, a10, a11, a12, a13;
	__m512i a20, a21, a22, a23, a30, a31, a32, a33;
	int b;

	a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = _mm512_setzero_si512();
	a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = a00;
	for (b = 0; b < n; b++) {
		const __m512i *c = cb + 2 * GR * b;	/* c01, c23 of rows 0..3 */
		/* aRK: row R, token K */
		GEMM_TOK(a00, a10, a20, a30, x0);
		GEMM_TOK(a01, a11, a21, a31, x1);
		GEMM_TOK(a02, a12, a22, a32, x2);
		GEMM_TOK(a03, a13, a23, a33, x3);
	}
	out[0] = reduce4(a00, a10, a20, a30);
	out[1] = reduce4(a01, a11, a21, a31);
	out[2] = reduce4(a02, a12, a22, a32);
	out[3] = reduce4(a03, a13, a23, a33);
}

/* One row group over tokens [t0, te) and blocks [c0, c0 + n) of decoded
 * codes cb: y = sums - sx (first chunk), y += sums (later chunks).  The
 * npf lines at pf (the next group's weights) are prefetched into L2 a few
 * per tile, so the misses overlap the tiles instead of queueing at once. */
static void gemm_group(const __m512i *cb, int n, int c0, const int8_t *x, size_t ldx,
		       int t0, int te, const int32_t *sx, int32_t *y, size_t ldy, int nr,
		       const char *pf, int npf)
{
	int t, k, per = npf / ((te - t0 + GT - 1) / GT) + 1;

	for (t = t0; t < te; t += GT) {
		const int8_t *xt[GT];
		__m128i out[GT];
		int nt = te - t < GT ? te - t : GT;

		for (k = 0; k < per && npf > 0; k++, npf--, pf += 64)
			_mm_prefetch(pf, _MM_HINT_T1);
		for (k = 0; k < GT; k++)
			xt[k] = x + (size_t)(k < nt ? t + k : te - 1) * ldx + 128 * c0;
		gemm_tile(cb, xt, n, out);
		for (k = 0; k < nt; k++) {
			int32_t *yy = y + (size_t)(t + k) * ldy, tmp[GR];
			__m128i v = c0 ? out[k] : _mm_sub_epi32(out[k], _mm_set1_epi32(sx[t + k - t0]));
			int i;
			if (nr == GR) {
				if (c0)
					v = _mm_add_epi32(v, _mm_loadu_si128((const __m128i *)yy));
				_mm_storeu_si128((__m128i *)yy, v);
				continue;
			}
			_mm_storeu_si128((__m128i *)tmp, v);
			for (i = 0; i < nr; i++)
				yy[i] = c0 ? yy[i] + tmp[i] : tmp[i];
		}
	}
}

static void gemm_t2(const uint8_t *w, size_t row_bytes, int r0, int r1,
		    const int8_t *x, size_t ldx, const int32_t *xsum, int T, int nb,
		    int32_t *y, size_t ldy)
{
	const __m512i m = code_mask();
	__m512i cb[2 * GR * GEMM_CB];
	int tc, t0, r, i, b, c0;

	if (r1 <= r0 || T <= 0)
		return;
	tc = nb > 0 ? CHUNK_BYTES / (nb * 128) : T;	/* tokens per chunk, at most */
	tc = tc < GT ? GT : tc;
	tc = (T + (T + tc - 1) / tc - 1) / ((T + tc - 1) / tc);	/* balanced chunks */
	tc = (tc + GT - 1) / GT * GT;
	for (t0 = 0; t0 < T; t0 += tc) {
		int te = t0 + tc < T ? t0 + tc : T;
		const int32_t *sx = xsum + t0;
		for (r = r0; r < r1; r += GR) {
			const uint8_t *wr[GR];
			int nr = r1 - r < GR ? r1 - r : GR;
			/* the next group's weights, if it is a whole one */
			int npf = r + 2 * GR <= r1 ? (int)((GR * row_bytes + 63) / 64) : 0;

			for (i = 0; i < GR; i++)
				wr[i] = w + (size_t)(i < nr ? r + i : r1 - 1) * row_bytes;
			for (c0 = 0; c0 == 0 || c0 < nb; c0 += GEMM_CB) {
				int n = BN_MIN(GEMM_CB, nb - c0);
				for (i = 0; i < GR; i++)	/* one sequential pass */
					for (b = 0; b < n; b++)
						codes(wr[i] + 32 * (c0 + b), m, &cb[2 * (GR * b + i)],
						      &cb[2 * (GR * b + i) + 1]);
				gemm_group(cb, n, c0, x, ldx, t0, te, sx, y + r, ldy, nr,
					   (const char *)wr[0] + GR * row_bytes, c0 ? 0 : npf);
			}
		}
	}
}

/* ---- activation quantization ----
 * Bit-exact with scalar: the max is order-independent (vmaxps returns its
 * second operand, the running max, when x is NaN, like fmaxf); s is the
 * same scalar division; x*s is one IEEE multiply; vrndscaleps with
 * round-to-nearest-even is rintf in the default rounding mode; clamping
 * before the conversion equals clamping after it (the bounds are integers),
 * and the clamped value always fits the int8 narrowing. */
static float quant_i8(const float *x, int n, int npad, int8_t *q)
{
	const __m512 absm = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
	__m512 vmax = _mm512_setzero_ps(), vs, lo = _mm512_set1_ps(-128.0f), hi = _mm512_set1_ps(127.0f);
	float amax, s;
	int i;

	for (i = 0; i < n; i += 16) {
		__mmask16 k = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
		__m512 v = _mm512_maskz_loadu_ps(k, x + i);
		vmax = _mm512_max_ps(_mm512_and_ps(v, absm), vmax);
	}
	amax = _mm512_reduce_max_ps(vmax);
	s = 127.0f / fmaxf(amax, 1e-5f);
	vs = _mm512_set1_ps(s);
	for (i = 0; i < n; i += 16) {
		__mmask16 k = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
		__m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), vs);
		v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
		_mm_mask_storeu_epi8(q + i, k, _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v)));
	}
	if (npad > n)
		memset(q + n, 0, (size_t)(npad - n));
	return s;
}

/* ---- float dots: 4 x 16 lanes per step, masked tail ---- */

/* The first left lanes (none for left <= 0, all for left >= 16). */
INLINE __mmask16 tailmask(int left)
{
	return left >= 16 ? 0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
}

INLINE __m512 ld_f16(const uint16_t *p)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

INLINE __m512 ld_f16_mask(const uint16_t *p, __mmask16 k)
{
	return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, p));
}

INLINE __m512 ld_bf16(const uint16_t *p)
{
	__m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
	return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

INLINE __m512 ld_bf16_mask(const uint16_t *p, __mmask16 k)
{
	__m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, p));
	return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

static float dot_f32(const float *a, const float *b, int n)
{
	__m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	int i;

	for (i = 0; i + 64 <= n; i += 64) {
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
		s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
		s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
	}
	for (; i < n; i += 16) {
		__mmask16 k = tailmask(n - i);
		s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, a + i), _mm512_maskz_loadu_ps(k, b + i), s0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

INLINE __m512 ld16(const uint16_t *p, int bf)
{
	return bf ? ld_bf16(p) : ld_f16(p);
}

INLINE __m512 ld16_mask(const uint16_t *p, __mmask16 k, int bf)
{
	return bf ? ld_bf16_mask(p, k) : ld_f16_mask(p, k);
}

/* An f16 (bf = 0) or bf16 row dot x (bf is a constant at every call) in
 * 512-bit steps: four 16-lane accumulators, 64 values (two cache lines)
 * per step, masked tail.  On Zen 4 (512-bit ops in two halves) 256-bit
 * steps had streamed the f16 output head faster from DRAM (31 GB/s
 * against 28); Zen 5 converts a full zmm per vcvtph2ps, so 512-bit steps
 * run at 115 GB/s from L2 against 58 (bound by the conversions) and
 * stream at 35-36.5 GB/s from DRAM against 32-34, where a plain sum reads
 * 38-39 (alternated in one process).  A software prefetch, into L1 or L2,
 * lost 5-10 %. */
INLINE float dot16(const uint16_t *w, const float *x, int n, int bf)
{
	__m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	int i;

	for (i = 0; i + 64 <= n; i += 64) {
		s0 = _mm512_fmadd_ps(ld16(w + i, bf), _mm512_loadu_ps(x + i), s0);
		s1 = _mm512_fmadd_ps(ld16(w + i + 16, bf), _mm512_loadu_ps(x + i + 16), s1);
		s2 = _mm512_fmadd_ps(ld16(w + i + 32, bf), _mm512_loadu_ps(x + i + 32), s2);
		s3 = _mm512_fmadd_ps(ld16(w + i + 48, bf), _mm512_loadu_ps(x + i + 48), s3);
	}
	for (; i < n; i += 16) {
		__mmask16 k = tailmask(n - i);
		s0 = _mm512_fmadd_ps(ld16_mask(w + i, k, bf), _mm512_maskz_loadu_ps(k, x + i), s0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static float dot_f16(const uint16_t *w, const float *x, int n)
{
	return dot16(w, x, n, 0);
}

static float dot_bf16(const uint16_t *w, const float *x, int n)
{
	return dot16(w, x, n, 1);
}

/* Q8_0: per 34-byte block, the 32 int8 widened to float dot x (two FMAs),
 * then scaled by the block's f16 scale (F16C, inline) into one of two
 * accumulators; two blocks per step for independent chains. */
INLINE __m512 q8_16(const uint8_t *p)
{
	return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
}

INLINE float q8_scale(const uint8_t *w)
{
	return _cvtsh_ss((unsigned short)(w[0] | w[1] << 8));
}

static float dot_q8_0(const uint8_t *w, const float *x, int n)
{
	__m512 a0 = _mm512_setzero_ps(), a1 = a0;
	int b, nbk = n / 32;

	for (b = 0; b + 2 <= nbk; b += 2, w += 68, x += 64) {
		__m512 s0 = _mm512_fmadd_ps(q8_16(w + 2), _mm512_loadu_ps(x),
					    _mm512_mul_ps(q8_16(w + 18), _mm512_loadu_ps(x + 16)));
		__m512 s1 = _mm512_fmadd_ps(q8_16(w + 36), _mm512_loadu_ps(x + 32),
					    _mm512_mul_ps(q8_16(w + 52), _mm512_loadu_ps(x + 48)));
		a0 = _mm512_fmadd_ps(_mm512_set1_ps(q8_scale(w)), s0, a0);
		a1 = _mm512_fmadd_ps(_mm512_set1_ps(q8_scale(w + 34)), s1, a1);
	}
	if (b < nbk) {
		__m512 s0 = _mm512_fmadd_ps(q8_16(w + 2), _mm512_loadu_ps(x),
					    _mm512_mul_ps(q8_16(w + 18), _mm512_loadu_ps(x + 16)));
		a0 = _mm512_fmadd_ps(_mm512_set1_ps(q8_scale(w)), s0, a0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

static void scale_i32(float *y, int n, float inv, float sc)
{
	const __m512 vi = _mm512_set1_ps(inv), vs = _mm512_set1_ps(sc);
	int i;

	for (i = 0; i < n; i += 16) {
		__mmask16 k = tailmask(n - i);
		__m512 v = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(k, y + i));
		_mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_div_ps(v, vi), vs));
	}
}

static void rmsnorm(float *y, const float *x, const float *w, int n, float eps)
{
	__m512d acc = _mm512_setzero_pd();
	__m512 vr;
	double l[8];
	int i;

	for (i = 0; i + 8 <= n; i += 8) {
		__m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
		acc = _mm512_fmadd_pd(v, v, acc);
	}
	_mm512_storeu_pd(l, acc);
	vr = _mm512_set1_ps(bn_rms_factor(l, x, n, eps));
	for (i = 0; i < n; i += 16) {
		__mmask16 k = tailmask(n - i);
		__m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), vr);
		_mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, w + i), v));
	}
}

static void f32_f16(const float *src, uint16_t *dst, int n)
{
	int i;

	for (i = 0; i < n; i += 16) {
		__mmask16 k = tailmask(n - i);
		_mm256_mask_storeu_epi16(dst + i, k, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(k, src + i),
								     _MM_FROUND_TO_NEAREST_INT));
	}
}

/* Attention over a float and over an f16 cache (see avx512_attn.h). */
#define BN_ATTN4
#define KV float
#define KVF(f) f
#define KV_LOADM(k, p) _mm512_maskz_loadu_ps(k, p)
#include "avx512_attn.h"
#define KV uint16_t
#define KVF(f) f##_f16
#define KV_LOADM(k, p) ld_f16_mask(p, k)
#include "avx512_attn.h"

#define SM_VL 16
#include "softmax.h"
#include "derived.h"

const struct bn_kernels bn_kernels_avx512 = {
	.name = "avx512",
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
