/* scalar.c - the reference kernels: plain C, the specification of every
 * SIMD table.  Integer products are exact; float dots sum left to right. */
#include <math.h>

#include "bn.h"
#include "kernels.h"

/* ---- T2 packing: code = w + 1, element 128b+32l+j at bits 2l of byte j ---- */

void bn_t2_pack_row(const int8_t *w, int n, uint8_t *dst)
{
	int nb = bn_t2_nb(n), b, j, l;

	for (b = 0; b < nb; b++)
		for (j = 0; j < 32; j++) {
			uint8_t byte = 0;
			for (l = 0; l < 4; l++) {
				int e = b * 128 + l * 32 + j;
				int code = e < n ? w[e] + 1 : 1;
				byte |= (uint8_t)(code << (2 * l));
			}
			dst[b * 32 + j] = byte;
		}
}

void bn_t2_unpack_row(const uint8_t *src, int n, int8_t *w)
{
	int e;

	for (e = 0; e < n; e++) {
		int b = e / 128, l = (e % 128) / 32, j = e % 32;
		w[e] = (int8_t)(((src[b * 32 + j] >> (2 * l)) & 3) - 1);
	}
}

/* One row: sum over blocks of (code - 1) * x. */
static int32_t dot_t2(const uint8_t *w, const int8_t *x, int nb)
{
	int32_t acc = 0;
	int b, j, l;

	for (b = 0; b < nb; b++, w += 32, x += 128)
		for (l = 0; l < 4; l++)
			for (j = 0; j < 32; j++)
				acc += (((w[j] >> (2 * l)) & 3) - 1) * x[32 * l + j];
	return acc;
}

static void gemv_t2(const uint8_t *w, size_t row_bytes, int r0, int r1,
		    const int8_t *x, int nb, int32_t *y)
{
	int r;

	for (r = r0; r < r1; r++)
		y[r - r0] = dot_t2(w + (size_t)r * row_bytes, x, nb);
}

static void gemm_t2(const uint8_t *w, size_t row_bytes, int r0, int r1,
		    const int8_t *x, size_t ldx, const int32_t *xsum, int T, int nb,
		    int32_t *y, size_t ldy)
{
	int r, t;

	(void)xsum;	/* the weights are used as they are */
	for (r = r0; r < r1; r++)
		for (t = 0; t < T; t++)
			y[(size_t)t * ldy + r] =
				dot_t2(w + (size_t)r * row_bytes, x + (size_t)t * ldx, nb);
}

static int32_t sum_i8(const int8_t *x, int nb)
{
	int32_t s = 0;
	int i;

	for (i = 0; i < nb * BN_T2_BLOCK; i++)
		s += x[i];
	return s;
}

static void scale_i32(float *y, int n, float inv, float sc)
{
	int i;

	for (i = 0; i < n; i++)
		bn_scale_i32(y + i, inv, sc);
}

static void rmsnorm(float *y, const float *x, const float *w, int n, float eps)
{
	double l[8] = { 0 };
	float r;
	int i, k;

	for (i = 0; i + 8 <= n; i += 8)
		for (k = 0; k < 8; k++)
			l[k] += (double)x[i + k] * x[i + k];
	r = bn_rms_factor(l, x, n, eps);
	for (i = 0; i < n; i++)
		y[i] = w[i] * (x[i] * r);
}

static float quant_i8(const float *x, int n, int npad, int8_t *q)
{
	float amax = 0.0f, s;
	int i;

	for (i = 0; i < n; i++)
		amax = fmaxf(amax, fabsf(x[i]));
	s = 127.0f / fmaxf(amax, 1e-5f);
	for (i = 0; i < n; i++) {
		float v = rintf(x[i] * s);	/* round half to even */
		q[i] = (int8_t)(v > 127.0f ? 127 : v < -128.0f ? -128 : v);
	}
	for (; i < npad; i++)
		q[i] = 0;
	return s;
}

static float dot_f32(const float *a, const float *b, int n)
{
	float acc = 0.0f;
	int i;

	for (i = 0; i < n; i++)
		acc += a[i] * b[i];
	return acc;
}

static float dot_f16(const uint16_t *w, const float *x, int n)
{
	float acc = 0.0f;
	int i;

	for (i = 0; i < n; i++)
		acc += bn_f16_to_f32(w[i]) * x[i];
	return acc;
}

static float dot_bf16(const uint16_t *w, const float *x, int n)
{
	float acc = 0.0f;
	int i;

	for (i = 0; i < n; i++)
		acc += bn_bf16_to_f32(w[i]) * x[i];
	return acc;
}

static float dot_q8_0(const uint8_t *w, const float *x, int n)
{
	float acc = 0.0f;
	int b, j;

	for (b = 0; b < n / 32; b++, w += 34, x += 32) {
		float d = bn_f16_to_f32((uint16_t)(w[0] | w[1] << 8)), s = 0.0f;
		for (j = 0; j < 32; j++)
			s += (float)(int8_t)w[2 + j] * x[j];
		acc += d * s;
	}
	return acc;
}

static void f32_f16(const float *src, uint16_t *dst, int n)
{
	int i;

	for (i = 0; i < n; i++)
		dst[i] = bn_f32_to_f16(src[i]);
}

/* The specification of softmax (kernels.h): the largest scaled score,
 * the exponentials, eight interleaved partial sums (a fixed order, without
 * one long chain of dependent adds), then the quotients. */
static void softmax(float *a, int n, float scale)
{
	float mx = -INFINITY, part[8] = { 0 }, sum;
	int j, k;

	for (j = 0; j < n; j++) {	/* fmaxf(mx, a), without a libm call */
		a[j] *= scale;
		mx = a[j] > mx ? a[j] : mx;
	}
	for (j = 0; j < n; j++)
		a[j] = bn_exp_neg(a[j] - mx);
	for (j = 0; j + 8 <= n; j += 8)
		for (k = 0; k < 8; k++)
			part[k] += a[j + k];
	sum = bn_softmax_sum(part, a, n);
	for (j = 0; j < n; j++)
		a[j] /= sum;
}

#define KV float
#define KVF(f) f
#define KV_F(x) (x)
#include "scalar_attn.h"
#define KV uint16_t
#define KVF(f) f##_f16
#define KV_F(x) bn_f16_to_f32(x)
#include "scalar_attn.h"

#include "derived.h"

const struct bn_kernels bn_kernels_scalar = {
	.name = "scalar",
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
