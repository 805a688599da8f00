/* kernels.h - the table of compute kernels, one per instruction set.
 *
 * The scalar table (kernels/scalar.c) is the specification; every SIMD table
 * implements the same functions with the same results: integer results are
 * exactly equal, float results agree to rounding (summation order).
 *
 * Ternary weight layout "T2" (ISA-independent; GGUF type BN_TYPE_T2, see
 * docs/bn-model.5).  A row of n weights w in {-1,0,+1} is stored as
 * nb = ceil(n/128) blocks of 32 bytes.  In block b, byte j (0..31) holds
 *     element 128*b + 32*l + j   in bits 2l+1:2l,  for l = 0..3,
 * as the code c = w + 1 in {0,1,2} (3 never occurs).  Elements past n are
 * padding with code 1 (weight 0).  Same byte layout as ggml's TQ2_0 blocks,
 * without TQ2_0's per-256 f16 scale: bn keeps one f32 scale per matrix.
 *
 * Activations for a T2 product are int8 vectors padded with zeros to nb*128
 * elements, quantized per token by quant_i8 (absmax, round half to even).
 *
 * Limits every table honours: nb <= BN_T2_MAX_NB (rows of up to 2^21
 * weights; the SIMD tables accumulate code*x with codes 0..3 in int32 lanes,
 * see the bounds in each file), row counts and T are any value >= 0. */
#ifndef BN_KERNELS_H
#define BN_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define BN_T2_BLOCK 128		/* weights per block */
#define BN_T2_BLOCK_BYTES 32	/* bytes per block */
#define BN_T2_MAX_NB 16384	/* blocks per row, at most */

/* RMSNorm's factor 1 / sqrt(mean(x^2) + eps) from the eight double lanes
 * of the sum of squares over x[0 .. n - n % 8) (lane k: the elements
 * i = k mod 8, in order) and the tail x[n - n % 8 .. n), which goes one
 * element a lane: the one summation order every table keeps. */
static inline float bn_rms_factor(const double l[8], const float *x, int n, float eps)
{
	double t[8] = { 0 }, ss;
	int i = n - n % 8, k;

	for (k = 0; i < n; i++, k++)
		t[k] = (double)x[i] * x[i];
	ss = ((l[0] + t[0] + (l[1] + t[1])) + (l[2] + t[2] + (l[3] + t[3]))) +
	     ((l[4] + t[4] + (l[5] + t[5])) + (l[6] + t[6] + (l[7] + t[7])));
	return 1.0f / sqrtf((float)(ss / n) + eps);
}

/* One element of scale_i32: the int32 stored at *y, as float, over the
 * activation scale, times the weight scale (the reference's order). */
static inline void bn_scale_i32(float *y, float inv, float sc)
{
	int32_t v;

	__builtin_memcpy(&v, y, sizeof(v));
	*y = (float)v / inv * sc;
}

/* e^x for x <= 0, within 1 ulp of glibc's expf, for softmax: every step
 * one IEEE single operation (no FMA), so a SIMD table that does the same
 * steps lane by lane (kernels/softmax.h) gives the same bits: x = n ln2 + r (Cody-Waite, |r| <= ln2/2),
 * e^r by its Taylor polynomial to r^7 (truncation below 0.1 ulp), times
 * 2^(n+64) and then 2^-64, so that results down to 2^-150 (x = -104)
 * round once as subnormals.  Below -104 the result is 0, as expf's is (the
 * lanes compute e^-104 first: far smaller x would make denormal or junk
 * intermediates, which cost microcode assists even in a masked lane); NaN
 * stays NaN. */
static inline float bn_exp_neg(float x0)
{
	const float magic = 12582912.0f;	/* 1.5 * 2^23: adding it rounds to an integer */
	float x = x0 < -104.0f ? -104.0f : x0;
	float t = x * 1.44269504088896341f + magic, n = t - magic, r, p, s;
	uint32_t tb, sb, keep = -(uint32_t)!(x0 < -104.0f);

	__builtin_memcpy(&tb, &t, 4);
	r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
	p = 1.0f + (r + r * r * (0.5f + r * (0.16666667f + r * (0.041666668f + r * (0.0083333338f +
		    r * (0.0013888889f + r * 1.98412698e-4f))))));
	sb = (tb - 0x4b400000u + 127 + 64) << 23;	/* 2^(n+64) */
	__builtin_memcpy(&s, &sb, 4);
	s = p * s * 5.42101086242752217e-20f;		/* 2^-64 */
	__builtin_memcpy(&sb, &s, 4);
	sb &= keep;
	__builtin_memcpy(&s, &sb, 4);
	return s;
}

/* The sum of softmax (see there): eight partial sums over a[0 .. n - n % 8)
 * (part[k]: the elements j = k mod 8, in order), the tail a[n - n % 8 ..
 * n) added one element a lane, then the lanes in one fixed order. */
static inline float bn_softmax_sum(const float part[8], const float *a, int n)
{
	float p[8];
	int i = n - n % 8, k;

	for (k = 0; k < 8; k++)
		p[k] = part[k];
	for (k = 0; i < n; i++, k++)
		p[k] += a[i];
	return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

struct bn_kernels {
	const char *name;
	/* y[r - r0] = sum_j W[r][j] * x[j] for rows r in [r0, r1); exact.
	 * W rows are row_bytes = nb*32 apart; x holds nb*128 int8 values. */
	void (*gemv_t2)(const uint8_t *w, size_t row_bytes, int r0, int r1,
			const int8_t *x, int nb, int32_t *y);
	/* Many tokens at once (prefill): for t in [0, T), rows r in [r0, r1):
	 * y[t*ldy + r] = sum_j W[r][j] * x[t*ldx + j].  Exact.  xsum[t] must
	 * be sum_i8(x + t*ldx, nb): the SIMD tables multiply the codes w + 1
	 * and subtract it (computed once per quantized token by the caller, not
	 * once per call and row range). */
	void (*gemm_t2)(const uint8_t *w, size_t row_bytes, int r0, int r1,
			const int8_t *x, size_t ldx, const int32_t *xsum, int T, int nb,
			int32_t *y, size_t ldy);
	/* The sum of the nb*128 int8 values at x. */
	int32_t (*sum_i8)(const int8_t *x, int nb);
	/* In place, the n int32 sums stored at y become floats:
	 * y[i] = (float)sum / inv * sc (bn_scale_i32), each step one IEEE
	 * single operation, so every table gives the same bits. */
	void (*scale_i32)(float *y, int n, float inv, float sc);
	/* y[i] = w[i] * (x[i] * r), r = bn_rms_factor of x: the sum of
	 * squares in double over eight fixed lanes (squares of floats are
	 * exact in double, so a fused multiply-add gives the same sums). */
	void (*rmsnorm)(float *y, const float *x, const float *w, int n, float eps);
	/* Per-token absmax quantization, exactly as the reference:
	 *   s = 127.0f / fmaxf(max|x|, 1e-5f);  q[i] = clamp(rint(x[i]*s), -128, 127)
	 * q[n..npad) = 0.  Returns s (float32 arithmetic throughout). */
	float (*quant_i8)(const float *x, int n, int npad, int8_t *q);
	/* Float dot products for the output head and attention. */
	float (*dot_f32)(const float *a, const float *b, int n);
	float (*dot_f16)(const uint16_t *w, const float *x, int n);
	float (*dot_bf16)(const uint16_t *w, const float *x, int n);
	/* Q8_0 row (ggml layout: per 32 values an f16 scale then 32 int8). */
	float (*dot_q8_0)(const uint8_t *w, const float *x, int n);
	/* Several f16 rows at once (the output head): for rows r in [r0, r1),
	 * y[r - r0] = dot_f16(w + r*ld, x, n); ld is in elements.  Bit for
	 * bit the same as dot_f16 of the same table for every row, whatever
	 * r0 and r1 (so splitting rows across threads changes nothing). */
	void (*gemv_f16)(const uint16_t *w, size_t ld, int r0, int r1,
			 const float *x, int n, float *y);
	/* Softmax of n attention scores in place, each first scaled:
	 *   a[j] = e^(a[j]*scale - m) / sum,  m = the largest a[j]*scale
	 * (a NaN never counts as the largest; -INFINITY if none), e^x by
	 * bn_exp_neg, the sum of the n exponentials in eight partial sums
	 * (sum k over j = k mod 8, in order) added as
	 * ((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7)).  Bit-identical in every
	 * table. */
	void (*softmax)(float *a, int n, float scale);
	/* The f16 KV cache: dst[i] = src[i] rounded to f16, nearest even,
	 * overflow to inf, NaN to a quiet NaN with the top payload bits
	 * (bn_f32_to_f16). */
	void (*f32_f16)(const float *src, uint16_t *dst, int n);
	/* Attention for the ng heads of a GQA group (they share one key and
	 * value head, so each loaded key or value serves all of them).
	 * Scores of query g (q + g*hd) against a transposed key cache
	 * kt[d*ld + j]:
	 *   out[g*ldo + j] = sum over d = 0, 1, ..., hd-1 of q[g*hd + d] * kt[d*ld + j]
	 * for j in [0, n); outputs from weights w[g*ldw + j] and values
	 * v[j*ld + d]:
	 *   out[g*hd + d] = sum over j = 0, 1, ..., n-1 of w[g*ldw + j] * v[j*ld + d]
	 * for d in [0, hd).  Each sum starts from 0.0f and runs in the order
	 * shown, each step a float multiply then a float add (no FMA); every
	 * table vectorises across j or d, so the results are bit-identical in
	 * every table and for any ng: the attention, and hence every later
	 * activation rounding, does not depend on the CPU. */
	void (*attn_qk)(const float *q, int ng, const float *kt, size_t ld, int n, int hd,
			float *out, size_t ldo);
	void (*attn_av)(const float *w, size_t ldw, int ng, const float *v, size_t ld, int n,
			int hd, float *out);
	/* The same over an f16 cache: each key or value widens to float
	 * (exactly) as it is loaded, so the results are those of attn_qk and
	 * attn_av on the widened cache, bit for bit, in every table. */
	void (*attn_qk_f16)(const float *q, int ng, const uint16_t *kt, size_t ld, int n, int hd,
			    float *out, size_t ldo);
	void (*attn_av_f16)(const float *w, size_t ldw, int ng, const uint16_t *v, size_t ld,
			    int n, int hd, float *out);
};

extern const struct bn_kernels bn_kernels_scalar;
#if defined(__x86_64__)
extern const struct bn_kernels bn_kernels_avx2;
extern const struct bn_kernels bn_kernels_avx512;
#endif
#if defined(__aarch64__)
extern const struct bn_kernels bn_kernels_neon;
#endif

/* The table chosen once for this CPU (BN_KERNELS=name overrides when the
 * CPU supports it).  Never NULL. */
const struct bn_kernels *bn_kernels_get(void);
/* Every table this CPU can run, scalar first; returns the count. */
int bn_kernels_all(const struct bn_kernels **out, int max);
/* Table by name if supported here, else NULL. */
const struct bn_kernels *bn_kernels_find(const char *name);

/* Pack one row of n ternary values (-1/0/+1) into T2 blocks (nb*32 bytes). */
void bn_t2_pack_row(const int8_t *w, int n, uint8_t *dst);
/* Unpack one T2 row of n values. */
void bn_t2_unpack_row(const uint8_t *src, int n, int8_t *w);
static inline int bn_t2_nb(int n) { return (n + BN_T2_BLOCK - 1) / BN_T2_BLOCK; }

#endif
