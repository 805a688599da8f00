/* neon.c - kernels for AArch64 Advanced SIMD + dot product (Armv8.2-A+
 * dotprod: Neoverse N1+, Graviton2+, Apple M1+).
 *
 * Ternary products use sdot (s8 x s8 -> s32, four products per lane) on the
 * codes c = w + 1 (0..2, small enough to be signed bytes) and the int8
 * activations, and subtract the activation sum once per row:
 * sum (c - 1) x = sum c x - sum x, an identity on integers, so results equal
 * scalar exactly (codes of 3 would agree too: both sides are linear in c).
 *
 * Code extraction: a 32-byte T2 block is two q registers (bytes 0-15 and
 * 16-31); plane l of half h holds the codes of elements 32l + 16h + 0..15,
 * which pair with the 16 contiguous activations there:
 *     plane 0 = W & 3, plane 1 = (W >> 2) & 3, plane 2 = (W >> 4) & 3,
 *     plane 3 = W >> 6   (byte shifts, nothing crosses a byte).
 *
 * Bounds.  sdot does not saturate.  An int32 lane gains at most 8 sdot x 4
 * products of |c x| <= 3 * 128 = 384 per block, 12288; with
 * nb <= BN_T2_MAX_NB = 16384 that is below 2^28 per lane and 2^30 for the
 * four lanes together.  The activation sum is at most 128 * 128 * nb = 2^28.
 *
 * Float kernels widen f16 with fcvtl, bf16 by a 16-bit shift, and use four
 * FMA accumulators; they agree with scalar to rounding. */
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "bn.h"
#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))

/* ---- ternary ---- */

static int32_t sum_i8(const int8_t *x, int nb)
{
	const int8x16_t ones = vdupq_n_s8(1);
	int32x4_t a0 = vdupq_n_s32(0), a1 = a0;
	int i;

	for (i = 0; i < 8 * nb; i += 2) {
		a0 = vdotq_s32(a0, ones, vld1q_s8(x + 16 * i));
		a1 = vdotq_s32(a1, ones, vld1q_s8(x + 16 * i + 16));
	}
	return vaddvq_s32(vaddq_s32(a0, a1));
}

/* The eight code planes of one block: c[2l + h] pairs with x[32l + 16h..]. */
INLINE void codes(const uint8_t *w, int8x16_t c[8])
{
	const uint8x16_t m3 = vdupq_n_u8(3);
	int h;

	for (h = 0; h < 2; h++) {
		uint8x16_t v = vld1q_u8(w + 16 * h);
		c[0 + h] = vreinterpretq_s8_u8(vandq_u8(v, m3));
		c[2 + h] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(v, 2), m3));
		c[4 + h] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(v, 4), m3));
		c[6 + h] = vreinterpretq_s8_u8(vshrq_n_u8(v, 6));
	}
}

/* Four rows per pass, two accumulators per row; the activations are loaded
 * once per block for the four rows.  Rows past r1 repeat the last row and
 * are not stored. */
static void gemv_t2(const uint8_t *w, size_t row_bytes, int r0, int r1,
		    const int8_t *x, int nb, int32_t *y)
{
	int32x4_t sx;
	int r, b, k, j;

	if (r1 <= r0)
		return;
	sx = vdupq_n_s32(sum_i8(x, nb));
	for (r = r0; r < r1; r += 4) {
		const uint8_t *wr[4];
		int32x4_t acc[4][2], s;

		for (k = 0; k < 4; k++) {
			wr[k] = w + (size_t)(r + k < r1 ? r + k : r1 - 1) * row_bytes;
			acc[k][0] = acc[k][1] = vdupq_n_s32(0);
		}
		for (b = 0; b < nb; b++) {
			int8x16_t xv[8];
			for (j = 0; j < 8; j++)
				xv[j] = vld1q_s8(x + 128 * b + 16 * j);
			for (k = 0; k < 4; k++) {
				int8x16_t c[8];
				codes(wr[k] + 32 * b, c);
				for (j = 0; j < 8; j += 2) {
					acc[k][0] = vdotq_s32(acc[k][0], c[j], xv[j]);
					acc[k][1] = vdotq_s32(acc[k][1], c[j + 1], xv[j + 1]);
				}
			}
		}
		s = vpaddq_s32(vpaddq_s32(vaddq_s32(acc[0][0], acc[0][1]), vaddq_s32(acc[1][0], acc[1][1])),
			       vpaddq_s32(vaddq_s32(acc[2][0], acc[2][1]), vaddq_s32(acc[3][0], acc[3][1])));
		s = vsubq_s32(s, sx);
		if (r + 4 <= r1) {
			vst1q_s32(y + (r - r0), s);
		} else {
			int32_t tmp[4];
			vst1q_s32(tmp, s);
			memcpy(y + (r - r0), tmp, sizeof(int32_t) * (size_t)(r1 - r));
		}
	}
}

/* Register tile: 2 rows x 4 tokens: 16 code registers (decoded once per 4
 * tokens), 8 accumulators, activations loaded once per block for both rows.
 * Tokens go in chunks whose activations fit in L2. */
#define GR 2
#define GT 4
#define CHUNK_BYTES (192 * 1024)

static void gemm_t2(const uint8_t *w, size_t row_bytes, int r0, int r1,
		    const int8_t *x, size_t ldx, const int32_t *xsum, int T, int nb,
		    int32_t *y, size_t ldy)
{
	int tc, t0, t, r, b, i, k, j;

	if (r1 <= r0 || T <= 0)
		return;
	tc = nb > 0 ? CHUNK_BYTES / (nb * 128) : T;
	tc = tc < GT ? GT : tc - tc % GT;
	for (t0 = 0; t0 < T; t0 += tc) {
		int te = t0 + tc < T ? t0 + tc : T;
		const int32_t *sx = xsum + t0;
		for (r = r0; r < r1; r += GR) {
			const uint8_t *wr[GR];
			int nr = r1 - r < GR ? r1 - r : GR;

			for (i = 0; i < GR; i++)
				wr[i] = w + (size_t)(i < nr ? r + i : r1 - 1) * row_bytes;
			for (t = t0; t < te; t += GT) {
				const int8_t *xt[GT];
				int32x4_t acc[GR][GT];
				int nt = te - t < GT ? te - t : GT;

				for (k = 0; k < GT; k++)
					xt[k] = x + (size_t)(k < nt ? t + k : te - 1) * ldx;
				for (i = 0; i < GR; i++)
					for (k = 0; k < GT; k++)
						acc[i][k] = vdupq_n_s32(0);
				for (b = 0; b < nb; b++) {
					int8x16_t c[GR][8];
					for (i = 0; i < GR; i++)
						codes(wr[i] + 32 * b, c[i]);
					for (k = 0; k < GT; k++)
						for (j = 0; j < 8; j++) {
							int8x16_t xv = vld1q_s8(xt[k] + 128 * b + 16 * j);
							for (i = 0; i < GR; i++)
								acc[i][k] = vdotq_s32(acc[i][k], c[i][j], xv);
						}
				}
				for (k = 0; k < nt; k++)
					for (i = 0; i < nr; i++)
						y[(size_t)(t + k) * ldy + r + i] =
							vaddvq_s32(acc[i][k]) - sx[t + k - t0];
			}
		}
	}
}

/* ---- activation quantization ----
 * Bit-exact with scalar: the max is order-independent (fmaxnm, like fmaxf,
 * ignores a NaN); s is the same scalar division; x*s is one IEEE multiply;
 * fcvtns rounds to nearest even like rintf in the default rounding mode,
 * and the saturating narrows clamp to [-128, 127] as the reference does.
 * The tail runs the scalar code. */
static float quant_i8(const float *x, int n, int npad, int8_t *q)
{
	float32x4_t vmax = vdupq_n_f32(0.0f), vs;
	float amax, s;
	int i;

	for (i = 0; i + 4 <= n; i += 4)
		vmax = vmaxnmq_f32(vmax, vabsq_f32(vld1q_f32(x + i)));
	amax = vmaxnmvq_f32(vmax);
	for (; i < n; i++)
		amax = fmaxf(amax, fabsf(x[i]));
	s = 127.0f / fmaxf(amax, 1e-5f);
	vs = vdupq_n_f32(s);
	for (i = 0; i + 16 <= n; i += 16) {
		int32x4_t a = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i), vs));
		int32x4_t b = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 4), vs));
		int32x4_t c = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 8), vs));
		int32x4_t d = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 12), vs));
		int16x8_t ab = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
		int16x8_t cd = vcombine_s16(vqmovn_s32(c), vqmovn_s32(d));
		vst1q_s8(q + i, vcombine_s8(vqmovn_s16(ab), vqmovn_s16(cd)));
	}
	for (; i < n; i++) {
		float v = rintf(x[i] * s);
		q[i] = (int8_t)(v > 127.0f ? 127 : v < -128.0f ? -128 : v);
	}
	if (npad > n)
		memset(q + n, 0, (size_t)(npad - n));
	return s;
}

/* ---- float dots ---- */

INLINE float32x4_t ld_f16(const uint16_t *p)
{
	return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

INLINE float32x4_t ld_bf16(const uint16_t *p)
{
	return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

#define DOT4(LD, W, X, N, TAIL) do { \
	float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0; \
	float acc; \
	int i; \
	for (i = 0; i + 16 <= (N); i += 16) { \
		s0 = vfmaq_f32(s0, LD((W) + i), vld1q_f32((X) + i)); \
		s1 = vfmaq_f32(s1, LD((W) + i + 4), vld1q_f32((X) + i + 4)); \
		s2 = vfmaq_f32(s2, LD((W) + i + 8), vld1q_f32((X) + i + 8)); \
		s3 = vfmaq_f32(s3, LD((W) + i + 12), vld1q_f32((X) + i + 12)); \
	} \
	for (; i + 4 <= (N); i += 4) \
		s0 = vfmaq_f32(s0, LD((W) + i), vld1q_f32((X) + i)); \
	acc = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3))); \
	for (; i < (N); i++) \
		acc += TAIL; \
	return acc; \
} while (0)

static float dot_f32(const float *a, const float *b, int n)
{
	DOT4(vld1q_f32, a, b, n, a[i] * b[i]);
}

static float dot_f16(const uint16_t *w, const float *x, int n)
{
	DOT4(ld_f16, w, x, n, bn_f16_to_f32(w[i]) * x[i]);
}

static float dot_bf16(const uint16_t *w, const float *x, int n)
{
	DOT4(ld_bf16, w, x, n, bn_bf16_to_f32(w[i]) * x[i]);
}

/* Q8_0: per 34-byte block, 32 int8 widened to float times x, scaled by the
 * block's f16 scale. */
static float dot_q8_0(const uint8_t *w, const float *x, int n)
{
	float32x4_t a[4] = { vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f) };
	int b, h, nbk = n / 32;

	for (b = 0; b < nbk; b++, w += 34, x += 32) {
		/* the scale through fcvtl (inline), not the portable function */
		float d = vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(
			vdup_n_u16((uint16_t)(w[0] | w[1] << 8)))), 0);
		for (h = 0; h < 2; h++) {
			int8x16_t q = vld1q_s8((const int8_t *)w + 2 + 16 * h);
			int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_s8(vget_high_s8(q));
			const float *xx = x + 16 * h;
			a[0] = vfmaq_f32(a[0], vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), d), vld1q_f32(xx));
			a[1] = vfmaq_f32(a[1], vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo))), d), vld1q_f32(xx + 4));
			a[2] = vfmaq_f32(a[2], vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), d), vld1q_f32(xx + 8));
			a[3] = vfmaq_f32(a[3], vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi))), d), vld1q_f32(xx + 12));
		}
	}
	return vaddvq_f32(vaddq_f32(vaddq_f32(a[0], a[1]), vaddq_f32(a[2], a[3])));
}

static void scale_i32(float *y, int n, float inv, float sc)
{
	const float32x4_t vi = vdupq_n_f32(inv), vs = vdupq_n_f32(sc);
	int i;

	for (i = 0; i + 4 <= n; i += 4) {
		float32x4_t v = vcvtq_f32_s32(vreinterpretq_s32_f32(vld1q_f32(y + i)));
		vst1q_f32(y + i, vmulq_f32(vdivq_f32(v, vi), vs));
	}
	for (; i < n; i++)
		bn_scale_i32(y + i, inv, sc);
}

static void rmsnorm(float *y, const float *x, const float *w, int n, float eps)
{
	float64x2_t a[4] = { vdupq_n_f64(0), vdupq_n_f64(0), vdupq_n_f64(0), vdupq_n_f64(0) };
	float32x4_t vr;
	double l[8];
	float r;
	int i, k;

	for (i = 0; i + 8 <= n; i += 8) {
		float32x4_t p = vld1q_f32(x + i), q = vld1q_f32(x + i + 4);
		float64x2_t d[4] = { vcvt_f64_f32(vget_low_f32(p)), vcvt_high_f64_f32(p),
				     vcvt_f64_f32(vget_low_f32(q)), vcvt_high_f64_f32(q) };
		for (k = 0; k < 4; k++)
			a[k] = vfmaq_f64(a[k], d[k], d[k]);
	}
	for (k = 0; k < 4; k++)
		vst1q_f64(l + 2 * k, a[k]);
	r = bn_rms_factor(l, x, n, eps);
	vr = vdupq_n_f32(r);
	for (i = 0; i + 4 <= n; i += 4)
		vst1q_f32(y + i, vmulq_f32(vld1q_f32(w + i), vmulq_f32(vld1q_f32(x + i), vr)));
	for (; i < n; i++)
		y[i] = w[i] * (x[i] * r);
}

static void f32_f16(const float *src, uint16_t *dst, int n)
{
	int i;

	for (i = 0; i + 4 <= n; i += 4)	/* FPCR: round to nearest even */
		vst1_u16(dst + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(src + i))));
	for (; i < n; i++)
		dst[i] = bn_f32_to_f16(src[i]);
}

/* Attention over a float and over an f16 cache (see neon_attn.h). */
#define KV float
#define KVF(f) f
#define KV_LOAD(p) vld1q_f32(p)
#define KV_F(x) (x)
#include "neon_attn.h"
#define KV uint16_t
#define KVF(f) f##_f16
#define KV_LOAD(p) ld_f16(p)
#define KV_F(x) bn_f16_to_f32(x)
#include "neon_attn.h"

#define SM_VL 4
#include "softmax.h"
#include "derived.h"

const struct bn_kernels bn_kernels_neon = {
	.name = "neon",
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
