/* fuzz_safetensors.c - bn_st_open on one arbitrary file, then every tensor
 * view it returns is read end to end. */
#include "fuzz.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bn_errbuf eb = { "" };
	struct bn_st st;
	volatile float sink = 0;
	int i, rc;

	rc = bn_st_open(&st, fuzz_memfile("st", data, size), &eb);
	fuzz_check_msg(rc, &eb);
	if (rc < 0)
		return 0;
	for (i = 0; i < st.n; i++) {
		const struct bn_st_tensor *t = &st.t[i];
		size_t j, isz = bn_st_itemsize(t->dtype);
		if (bn_st_find(&st, t->name) != t || t->nbytes != t->numel * isz)
			abort();
		for (j = 0; j < t->numel; j++)
			sink += bn_st_getf(t, j);
		if (t->nbytes)
			sink += (float)(t->data[0] + t->data[t->nbytes - 1]);
	}
	(void)sink;
	bn_st_close(&st);
	return 0;
}
