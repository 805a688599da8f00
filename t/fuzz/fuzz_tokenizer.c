/* fuzz_tokenizer.c - tokenizer.json loading, then encode and decode: the
 * input is a tokenizer.json, a line "@@", and a text.  A loaded tokenizer
 * encodes the text in every mode; the ids decode (whole and streamed) and
 * the text's bytes, read as ids, decode too. */
#include "fuzz.h"
#include "tokenizer.h"

static void decode_all(const struct bn_tokenizer *t, const int32_t *ids, size_t n)
{
	struct bn_errbuf eb = { "" };
	struct bn_detok d;
	char *out = NULL, *buf;
	size_t len, k, i, cap = 3 * bn_tokenizer_max_token_bytes(t) + 8;	/* documented bound */
	int rc;

	rc = bn_tokenizer_decode(t, ids, n, (int)(n & 1), &out, &len, &eb);
	fuzz_check_msg(rc, &eb);
	if (rc >= 0 && (!out || out[len] || bn_utf8_check(out, len) != len))
		abort();	/* decode gives valid UTF-8 (NUL bytes allowed), NUL-terminated */
	free(out);
	if (!(buf = malloc(cap)))
		return;
	bn_detok_init(&d, t, 0);
	for (i = 0; i < n; i++)
		if (bn_detok_push(&d, ids[i], buf, cap, &k) < 0 || bn_utf8_check(buf, k) != k)
			abort();
	if (bn_detok_flush(&d, buf, cap, &k) < 0 || bn_utf8_check(buf, k) != k)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int modes[] = { 0, BN_TOK_BOS, BN_TOK_NO_BOS | BN_TOK_NO_SPECIAL };
	struct bn_errbuf eb = { "" };
	struct bn_tokenizer *t;
	const uint8_t *sep = memmem(data, size, "\n@@\n", 4);
	size_t jlen = sep ? (size_t)(sep - data) : size, tlen = sep ? size - jlen - 4 : 0, n, i;
	const char *text = sep ? (const char *)sep + 4 : "";
	int32_t *ids, nv, raw[64];
	unsigned m;
	int rc;

	rc = bn_tokenizer_load(&t, (const char *)data, jlen, &eb);
	fuzz_check_msg(rc, &eb);
	if (rc < 0)
		return 0;
	nv = bn_tokenizer_n_vocab(t);
	for (m = 0; m < BN_LEN(modes); m++) {
		rc = bn_tokenizer_encode(t, text, tlen, modes[m], &ids, &n, &eb);
		fuzz_check_msg(rc, &eb);
		if (rc < 0)
			continue;
		for (i = 0; i < n; i++)
			if (ids[i] < 0 || ids[i] >= nv)
				abort();
		decode_all(t, ids, n);
		free(ids);
	}
	for (i = 0; i < BN_MIN(tlen / 2, BN_LEN(raw)); i++)	/* any ids, unknown ones too */
		raw[i] = (int32_t)((uint8_t)text[2 * i] | (uint8_t)text[2 * i + 1] << 8) - 256;
	decode_all(t, raw, i);
	bn_tokenizer_free(t);
	return 0;
}
