/* attn_group.h - the attn_qk and attn_av entries of a kernel table (see
 * kernels.h), included by each table's file after it defines qk1 and av1
 * (one query or weight row) and, with BN_ATTN4 defined, qk4 and av4 (four
 * at once, sharing each loaded key or value vector).  The group runs four
 * at a time where there are four, then one at a time; both compute every
 * element in the same order, so the split changes nothing. */
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
