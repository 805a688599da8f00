/* derived.h - the entries of a kernel table (see kernels.h) that every
 * table builds the same way from its own primitives; each table's file
 * includes it after defining them.
 *
 * gemv_f16: dot_f16 row after row, so every row equals dot_f16 whatever
 * the row range, and the weights stream in order (interleaving rows to
 * share the loads of x, in L1 anyway, or software prefetch ahead of the
 * row both measured about half the bandwidth from DRAM on Zen 4).
 *
 * attn_qk, attn_av: qk1 and av1 (one query or weight row) and, with
 * BN_ATTN4 defined, qk4 and av4 (four at once, sharing each loaded key or
 * value vector).  The group runs four at a time where there are four, then
 * one at a time; both compute every element in the same order, so the
 * split changes nothing. */
static void gemv_f16(const uint16_t *w, size_t ld, int r0, int r1,
		     const float *x, int n, float *y)
{
	int r;

	for (r = r0; r < r1; r++)
		y[r - r0] = dot_f16(w + (size_t)r * ld, x, n);
}

static void attn_qk(const float *q, int ng, const float *kt, size_t ld, int n, int hd,
		    float *out, size_t ldo)
{
	int g = 0;

#ifdef BN_ATTN4
	for (; g + 4 <= ng; g += 4)
		qk4(q + (size_t)g * hd, kt, ld, n, hd, out + g * ldo, ldo);
#endif
	for (; g < ng; g++)
		qk1(q + (size_t)g * hd, kt, ld, n, hd, out + g * ldo);
}

static void attn_av(const float *w, size_t ldw, int ng, const float *v, size_t ld, int n,
		    int hd, float *out)
{
	int g = 0;

#ifdef BN_ATTN4
	for (; g + 4 <= ng; g += 4)
		av4(w + g * ldw, ldw, v, ld, n, hd, out + (size_t)g * hd);
#endif
	for (; g < ng; g++)
		av1(w + g * ldw, v, ld, n, hd, out + (size_t)g * hd);
}
