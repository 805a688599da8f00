/* fuzz_ids.c - bn-infer --ids: token-id text ("12 34,56") against a
 * vocabulary size taken from the first input byte.  Every id returned is
 * inside the vocabulary; failures are one-line messages. */
#include "fuzz.h"
#include "infer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bn_infer r;	/* only o.ids_in and the vocabulary are used */
	struct bn_errbuf eb = { "" };
	int32_t *ids = NULL;
	size_t n = 0, i;
	int rc;

	if (!size)
		return 0;
	r.o.ids_in = 1;
	r.m.cfg.n_vocab = 1 + data[0] * 1000;
	rc = bn_infer_tokens(&r, (const char *)data + 1, size - 1, 0, &ids, &n, &eb);
	fuzz_check_msg(rc, &eb);
	if (rc >= 0)
		for (i = 0; i < n; i++)
			if (ids[i] < 0 || ids[i] >= r.m.cfg.n_vocab)
				abort();
	free(ids);
	return 0;
}
