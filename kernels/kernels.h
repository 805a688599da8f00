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
