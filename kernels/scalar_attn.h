/* scalar_attn.h - the attention kernels of scalar.c (the specification of
 * attn_qk and attn_av in kernels.h) over one cache element type; included
 * once per type, with
 *     KV          the element type (float, or uint16_t for an f16 cache)
 *     KVF(name)   the name of this type's function
 *     KV_F(x)     element x as float (exact) */
static void KVF(av1)(const float *w, const KV *v, size_t ld, int n, int hd, float *out)
{
	int d, j;

	for (d = 0; d < hd; d++)
		out[d] = 0.0f;
	for (j = 0; j < n; j++) {
		const KV *vj = v + (size_t)j * ld;
		float wj = w[j];
		for (d = 0; d < hd; d++)
			out[d] = out[d] + wj * KV_F(vj[d]);
	}
}

static void KVF(qk1)(const float *q, const KV *kt, size_t ld, int n, int hd, float *out)
{
	int d, j;

	for (j = 0; j < n; j++)
		out[j] = 0.0f;
	for (d = 0; d < hd; d++) {
		const KV *k = kt + (size_t)d * ld;
		float qd = q[d];
		for (j = 0; j < n; j++)
			out[j] = out[j] + qd * KV_F(k[j]);
	}
}

#include "attn_group.h"
#undef KV_F
