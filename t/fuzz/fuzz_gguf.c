/* fuzz_gguf.c - bn_gguf_parse on arbitrary bytes; then every key through
 * every typed getter and every tensor's first and last byte. */
#include "fuzz.h"
#include "gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bn_errbuf eb = { "" };
	struct bn_gguf g;
	volatile unsigned sink = 0;
	uint64_t i;
	int rc;

	rc = bn_gguf_parse(&g, data, size, "fuzz.gguf", &eb);
	fuzz_check_msg(rc, &eb);
	if (rc < 0)
		return 0;
	for (i = 0; i < g.n_kv; i++) {
		char key[256];
		const char *s;
		size_t len, n = 64;
		int64_t v[64];
		uint32_t u;
		float f;
		if (g.kv[i].key_len >= sizeof(key) || memchr(g.kv[i].key, 0, g.kv[i].key_len))
			continue;
		memcpy(key, g.kv[i].key, g.kv[i].key_len);
		key[g.kv[i].key_len] = 0;
		if (bn_gguf_get_u32(&g, key, &u) == BN_OK)
			sink += u;
		if (bn_gguf_get_f32(&g, key, &f) == BN_OK)
			sink += (unsigned)(f == f);
		if (bn_gguf_get_str(&g, key, &s, &len) == BN_OK && len)
			sink += (unsigned char)s[0] + (unsigned char)s[len - 1];
		if (bn_gguf_get_ints(&g, key, v, &n) == BN_OK && n)
			sink += (unsigned)v[n - 1];
	}
	for (i = 0; i < g.n_tensors; i++) {
		const struct bn_gguf_tensor *t = &g.t[i];
		if (t->nbytes)
			sink += t->data[0] + t->data[t->nbytes - 1];
		sink += (unsigned)bn_ttype_row_bytes(t->type, t->dims[0]);
	}
	(void)sink;
	bn_gguf_release(&g);
	return 0;
}
