/* attn_tail.h - the scalar remainders of a SIMD table's attention kernels
 * (the values of d, or the positions j, past its last whole vector), in
 * the order of kernels.h; included by the table's attention template
 * before its kernels, with its KV, KVF and KV_F(x) (element x as float). */

/* out[d] for d in [d0, hd): sum over j of w[j] * v[j*ld + d]. */
static void KVF(av_tail)(const float *w, const KV *v, size_t ld, int n, int d0, int hd,
			 float *out)
{
	int d, j;

	for (d = d0; d < hd; d++) {
		float s = 0.0f;
		for (j = 0; j < n; j++)
			s = s + w[j] * KV_F(v[(size_t)j * ld + d]);
		out[d] = s;
	}
}

/* out[j] for j in [j0, n): sum over d of q[d] * kt[d*ld + j]. */
static void KVF(qk_tail)(const float *q, const KV *kt, size_t ld, int j0, int n, int hd,
			 float *out)
{
	int d, j;

	for (j = j0; j < n; j++) {
		float acc = 0.0f;
		for (d = 0; d < hd; d++)
			acc = acc + q[d] * KV_F(kt[(size_t)d * ld + j]);
		out[j] = acc;
	}
}
