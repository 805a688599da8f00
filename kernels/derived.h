/* derived.h - the entries of a kernel table (see kernels.h) that every
 * table builds the same way from its own primitives; each table's file
 * includes it after defining them.
 *
 * gemv_f16: dot_f16 row after row, so every row equals dot_f16 whatever
 * the row range, and the weights stream in order (interleaving rows to
 * share the loads of x, in L1 anyway, or software prefetch ahead of the
 * row both measured about half the bandwidth from DRAM on Zen 4).
 */
static void gemv_f16(const uint16_t *w, size_t ld, int r0, int r1,
		     const float *x, int n, float *y)
{
	int r;

	for (r = r0; r < r1; r++)
		y[r - r0] = dot_f16(w + (size_t)r * ld, x, n);
}
