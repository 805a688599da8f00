/* attn_group.h - attn_qk and attn_av of kernels.h (or their _f16 twins)
 * for one cache element type, from a table's own KVF(qk1) and KVF(av1)
 * (one query or weight row) and, with BN_ATTN4 defined, KVF(qk4) and
 * KVF(av4) (four at once, sharing each loaded key or value vector).  The
 * group runs four at a time where there are four, then one at a time; both
 * compute every element in the same order, so the split changes nothing.
 * Included at the end of a table's attention template (KV and KVF as
 * there); undefines KV and KVF. */
static void KVF(attn_qk)(const float *q, int ng, const KV *kt, size_t ld, int n, int hd,
			 float *out, size_t ldo)
{
	int g = 0;

#ifdef BN_ATTN4
	for (; g + 4 <= ng; g += 4)
		KVF(qk4)(q + (size_t)g * hd, kt, ld, n, hd, out + g * ldo, ldo);
#endif
	for (; g < ng; g++)
		KVF(qk1)(q + (size_t)g * hd, kt, ld, n, hd, out + g * ldo);
}

static void KVF(attn_av)(const float *w, size_t ldw, int ng, const KV *v, size_t ld, int n,
			 int hd, float *out)
{
	int g = 0;

#ifdef BN_ATTN4
	for (; g + 4 <= ng; g += 4)
		KVF(av4)(w + g * ldw, ldw, v, ld, n, hd, out + (size_t)g * hd);
#endif
	for (; g < ng; g++)
		KVF(av1)(w + g * ldw, v, ld, n, hd, out + (size_t)g * hd);
}

#undef KV
#undef KVF
