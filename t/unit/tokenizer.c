/* tokenizer.c - unit tests for lib/tokenizer: the Llama 3 scanner against
 * PCRE2 (fixture texts and random strings), the byte map, BPE corner cases
 * on tiny hand-made tokenizers, loader rejections, UTF-8 replacement and
 * the streaming decoder. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "jsonl.h"
#include "tokenizer.h"
#include "unicode.h"
#include "unit.h"

#define FIX "t/fixtures/tokenizers"

/* bn_llama3_pattern with \s as White_Space (what the loader hands PCRE2) */
#define WS "\\t\\n\\x0B\\f\\r\\x{85}\\p{Z}"
static const char pcre_llama3[] =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
	" ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+";

static pcre2_code *re;
static pcre2_match_data *md;

/* 1 if scanner and PCRE2 cut s[0..n) into the same pieces */
static int same_split(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		size_t e = bn_pretok_llama3(s, i, n);
		int rc = pcre2_match(re, s, n, i, PCRE2_ANCHORED, md, NULL);
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		if (rc < 0 || ov[1] != e || e <= i)
			return 0;
		i = e;
	}
	return 1;
}

static void scanner_vs_pcre2(void)
{
	static const char *const files[] = { "llama3-tok", "llama3-edge", "demo-edge" };
	static const char *const alpha[] = {
		"a", "Z", "s", "S", "t", "re", "VE", "m", "ll", "D", "'", "'", "1", "23", " ", " ",
		"  ", "\t", "\n", "\r", "\r\n", "\x0b", ".", ",!", "-", "\xc5\xbf" /* U+017F */,
		"\xc2\xa0" /* NBSP */, "\xe3\x80\x80" /* U+3000 */, "\xe2\x80\xa8" /* U+2028 */,
		"\xc2\x85" /* NEL */, "\xe1\xa0\x8e" /* U+180E */, "\xcc\x81" /* combining */,
		"\xd9\xa3" /* Arabic 3 */, "\xe2\x85\xa0" /* Roman I (Nl) */, "\xc3\xa9", "\xe4\xb8\x96",
		"\xf0\x9f\x98\x80", "\xe2\x80\x8d", "\x1c", "\x01",
	};
	int err, bad = 0, lines = 0;
	PCRE2_SIZE eoff;
	char buf[256];
	unsigned seed = 12345;

	re = pcre2_compile((PCRE2_SPTR)pcre_llama3, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
			   &err, &eoff, NULL);
	CHECK(re != NULL, "the Llama 3 pattern compiles with PCRE2");
	if (!re)
		return;
	md = pcre2_match_data_create_from_pattern(re, NULL);
	for (size_t f = 0; f < BN_LEN(files); f++) {
		char path[256], *data, *line, *save = NULL;
		size_t len;
		struct bn_errbuf eb;
		snprintf(path, sizeof path, FIX "/refs/%s.jsonl", files[f]);
		if (bn_read_file(path, 1 << 26, &data, &len, &eb) < 0) {
			CHECK(0, "read %s: %s", path, eb.msg);
			continue;
		}
		for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			struct bn_json_span sp;
			char *text;
			size_t tl;
			if (bn_json_find(line, strlen(line), "text", &sp) != 1 ||
			    bn_json_unquote(line + sp.vo, sp.vl, &text, &tl) < 0) {
				bad++;
				continue;
			}
			bad += !same_split(text, tl);
			lines++;
			free(text);
		}
		free(data);
	}
	CHECK(bad == 0 && lines == 6060, "scanner == PCRE2 on %d fixture texts (%d differ)", lines,
	      bad);
	bad = 0;
	for (int k = 0; k < 30000; k++) {
		size_t n = 0;
		int parts = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 12;
		for (int p = 0; p < parts; p++) {
			const char *a = alpha[((seed = seed * 1103515245 + 12345) >> 16) % BN_LEN(alpha)];
			memcpy(buf + n, a, strlen(a));
			n += strlen(a);
		}
		if (!same_split(buf, n)) {
			if (!bad)
				printf("# differs: '%.*s'\n", (int)n, buf);
			bad++;
		}
	}
	CHECK(bad == 0, "scanner == PCRE2 on 30000 random strings (%d differ)", bad);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
}

static struct bn_tokenizer *load(const char *json, struct bn_errbuf *eb)
{
	struct bn_tokenizer *t = NULL;

	if (bn_tokenizer_load(&t, json, strlen(json), eb) < 0)
		return NULL;
	return t;
}

static int encode_is(const struct bn_tokenizer *t, const char *text, int flags,
		     const int32_t *want, size_t nwant)
{
	int32_t *ids;
	size_t n;
	struct bn_errbuf eb;
	int ok;

	if (bn_tokenizer_encode(t, text, strlen(text), flags, &ids, &n, &eb) < 0)
		return 0;
	ok = n == nwant && (!n || !memcmp(ids, want, n * sizeof *ids));
	if (!ok) {
		printf("# '%s' ->", text);
		for (size_t i = 0; i < n; i++)
			printf(" %d", ids[i]);
		printf("\n");
	}
	free(ids);
	return ok;
}

#define TOK(model, pre, post) \
	"{\"normalizer\": null, \"added_tokens\": [" \
	"{\"id\": 9, \"content\": \"<s>\", \"special\": true}, " \
	"{\"id\": 10, \"content\": \"</s>\", \"special\": true}, " \
	"{\"id\": 11, \"content\": \"<s>x\", \"special\": false}]," \
	"\"pre_tokenizer\": " pre ", \"post_processor\": " post ", " \
	"\"decoder\": {\"type\": \"ByteLevel\"}, \"model\": " model "}"
#define VOCAB "\"vocab\": {\"a\": 0, \"b\": 1, \"c\": 2, \"ab\": 3, \"bc\": 4, \"abc\": 5, " \
	"\"\\u0120\": 6, \"aa\": 7, \"\\u0120a\": 8}"
#define BL_NOREGEX "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": false}"
#define BL_REGEX "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"use_regex\": true}"
#define TEMPLATE "{\"type\": \"TemplateProcessing\", \"single\": [" \
	"{\"SpecialToken\": {\"id\": \"<s>\"}}, {\"Sequence\": {\"id\": \"A\"}}, " \
	"{\"SpecialToken\": {\"id\": \"</s>\"}}], \"special_tokens\": {" \
	"\"<s>\": {\"ids\": [9]}, \"</s>\": {\"ids\": [10]}}}"

static void bpe_cases(void)
{
	struct bn_errbuf eb;
	struct bn_tokenizer *t;

	/* merge ranks: b c (0) before a b (1); ties go left */
	t = load(TOK("{\"type\": \"BPE\", " VOCAB ", \"merges\": [\"b c\", [\"a\", \"b\"], \"a bc\", "
		     "\"a a\"]}", BL_NOREGEX, "null"), &eb);
	CHECK(t != NULL, "tiny tokenizer loads (both merge forms)");
	if (t) {
		CHECK(encode_is(t, "abc", 0, (int32_t[]){ 5 }, 1), "lowest rank first: abc");
		CHECK(encode_is(t, "aaa", 0, (int32_t[]){ 7, 0 }, 2), "equal ranks: leftmost first");
		CHECK(encode_is(t, "ab<s>c</s>", 0, (int32_t[]){ 3, 9, 2, 10 }, 4),
		      "added tokens split first");
		CHECK(encode_is(t, "<s>xa", 0, (int32_t[]){ 11, 0 }, 2),
		      "added tokens: leftmost-longest");
		CHECK(encode_is(t, "a<s>b", BN_TOK_NO_SPECIAL, (int32_t[]){ 3 }, 1),
		      "no-special: special strings are text (and unknown bytes dropped)");
		CHECK(encode_is(t, "adz", 0, (int32_t[]){ 0 }, 1), "bytes not in the vocab are dropped");
		CHECK(bn_tokenizer_bos(t) == 9, "BOS found by name without a template");
		CHECK(encode_is(t, "a", BN_TOK_BOS, (int32_t[]){ 9, 0 }, 2), "--bos adds BOS");
		CHECK(bn_tokenizer_n_vocab(t) == 12, "n_vocab counts added tokens");
		CHECK(bn_tokenizer_find(t, "\xc4\xa0" "a") == 8 && bn_tokenizer_find(t, "</s>") == 10 &&
		      bn_tokenizer_find(t, "zz") == -1, "find by tokenizer.json string");
		CHECK(bn_tokenizer_is_special(t, 9) && !bn_tokenizer_is_special(t, 11) &&
		      !bn_tokenizer_is_special(t, 0), "is_special");
		bn_tokenizer_free(t);
	}
	/* ignore_merges: a whole-piece vocab hit wins over the merges */
	t = load(TOK("{\"type\": \"BPE\", \"ignore_merges\": true, " VOCAB ", \"merges\": [\"a b\"]}",
		     BL_NOREGEX, TEMPLATE), &eb);
	CHECK(t != NULL, "ignore_merges tokenizer loads");
	if (t) {
		CHECK(encode_is(t, "abc", BN_TOK_NO_BOS, (int32_t[]){ 5 }, 1), "ignore_merges: abc");
		CHECK(encode_is(t, "abc", 0, (int32_t[]){ 9, 5, 10 }, 3), "template: BOS $A EOS");
		CHECK(encode_is(t, "abc", BN_TOK_BOS, (int32_t[]){ 9, 5, 10 }, 3),
		      "--bos does not double BOS");
		bn_tokenizer_free(t);
	}
	t = load(TOK("{\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a b\"]}", BL_NOREGEX, "null"), &eb);
	if (t) {
		CHECK(encode_is(t, "abc", 0, (int32_t[]){ 3, 2 }, 2), "without ignore_merges: ab c");
		bn_tokenizer_free(t);
	}
	/* GPT-2 style: ByteLevel with its own regex and add_prefix_space */
	t = load(TOK("{\"type\": \"BPE\", " VOCAB ", \"merges\": [\"\\u0120 a\", \"a b\"]}", BL_REGEX,
		     "{\"type\": \"ByteLevel\"}"), &eb);
	CHECK(t != NULL, "GPT-2 style ByteLevel pre-tokenizer loads");
	if (t) {
		CHECK(encode_is(t, "ab a", 0, (int32_t[]){ 8, 1, 8 }, 3),
		      "prefix space and the GPT-2 regex");
		CHECK(bn_tokenizer_bos(t) == 9, "bos");
		bn_tokenizer_free(t);
	}
}

static void rejections(void)
{
	static const struct { const char *json; int rc; const char *what; } cases[] = {
		{ "{\"model\": {", BN_EFORMAT, "truncated JSON" },
		{ "[]", BN_EFORMAT, "not an object" },
		{ "{\"normalizer\": {\"type\": \"NFC\"}}", BN_EUNSUP, "a normalizer" },
		{ TOK("{\"type\": \"WordPiece\", " VOCAB ", \"merges\": []}", BL_NOREGEX, "null"),
		  BN_EUNSUP, "WordPiece" },
		{ TOK("{\"type\": \"BPE\", \"byte_fallback\": true, " VOCAB ", \"merges\": []}",
		      BL_NOREGEX, "null"), BN_EUNSUP, "byte_fallback" },
		{ TOK("{\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a z\"]}", BL_NOREGEX, "null"),
		  BN_EFORMAT, "merge of an unknown token" },
		{ TOK("{\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a b c\"]}", BL_NOREGEX, "null"),
		  BN_EFORMAT, "merge with two spaces" },
		{ TOK("{\"type\": \"BPE\", " VOCAB ", \"merges\": []}", "{\"type\": \"Whitespace\"}",
		      "null"), BN_EUNSUP, "Whitespace pre-tokenizer" },
		{ TOK("{\"type\": \"BPE\", " VOCAB ", \"merges\": []}", BL_NOREGEX,
		      "{\"type\": \"BertProcessing\"}"), BN_EUNSUP, "BertProcessing" },
		{ TOK("{\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}", BL_NOREGEX, "null"),
		  BN_EFORMAT, "negative id" },
	};
	for (size_t i = 0; i < BN_LEN(cases); i++) {
		struct bn_tokenizer *t = NULL;
		struct bn_errbuf eb = { { 0 } };
		int rc = bn_tokenizer_load(&t, cases[i].json, strlen(cases[i].json), &eb);
		CHECK(rc == cases[i].rc && !t && eb.msg[0] && !strchr(eb.msg, '\n'),
		      "rejects %s: %s", cases[i].what, eb.msg);
	}
}

static void utf8_cases(void)
{
	static const struct { const char *in, *out; } c[] = {
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf0\x9f\x98", "\xef\xbf\xbd" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xe2\x82" "A", "\xef\xbf\xbd" "A" },
		{ "\xf0\x80", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "a\x80" "b\xc3\xa9", "a\xef\xbf\xbd" "b\xc3\xa9" },
	};
	for (size_t i = 0; i < BN_LEN(c); i++) {
		char *o;
		size_t n;
		int ok = bn_utf8_sanitize(c[i].in, strlen(c[i].in), &o, &n) == 0 &&
			 n == strlen(c[i].out) && !memcmp(o, c[i].out, n);
		CHECK(ok, "U+FFFD replacement like Python, case %zu", i);
		free(o);
	}
}

/* The token of one byte: GPT-2's map written out independently. */
static int32_t byte_tok(const struct bn_tokenizer *t, unsigned b)
{
	uint32_t cp;
	char ch[8];

	if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
		cp = b;
	else if (b <= 0x20)
		cp = 0x100 + b;
	else if (b >= 0x7F && b <= 0xA0)
		cp = 0x121 + (b - 0x7F);
	else
		cp = 0x143;
	ch[bn_utf8_put(cp, ch)] = 0;
	return bn_tokenizer_find(t, ch);
}

static void llama3_cases(void)
{
	struct bn_errbuf eb;
	struct bn_tokenizer *t;
	int32_t *ids;
	size_t n;
	const char *p;
	size_t pn;
	char scratch[1024], *txt;

	if (bn_tokenizer_load_file(&t, FIX "/llama3/tokenizer.json", &eb) < 0) {
		CHECK(0, "load llama3: %s", eb.msg);
		return;
	}
	CHECK(bn_tokenizer_n_vocab(t) == 128256 && bn_tokenizer_bos(t) == 128000,
	      "llama3: n_vocab 128256, BOS 128000");
	CHECK(encode_is(t, "Hello world", 0, (int32_t[]){ 9906, 1917 }, 2) &&
	      encode_is(t, " Hello world", 0, (int32_t[]){ 22691, 1917 }, 2) &&
	      encode_is(t, "Hello, world!", 0, (int32_t[]){ 9906, 11, 1917, 0 }, 4) &&
	      encode_is(t, "\n", BN_TOK_BOS, (int32_t[]){ 128000, 198 }, 2),
	      "llama.cpp golden vectors");
	CHECK(bn_tokenizer_token_bytes(t, 1917, &p, &pn, scratch) == 0 && pn == 6 &&
	      !memcmp(p, " world", 6), "token bytes through the inverse byte map");
	CHECK(bn_tokenizer_token_bytes(t, 999999, &p, &pn, scratch) == BN_EINVAL && pn == 0,
	      "unknown id");
	{
		int ok = 1;
		for (unsigned b = 0; b < 256; b++) {
			const char *p1;
			size_t n1;
			int32_t id = byte_tok(t, b);
			ok &= id >= 0 && bn_tokenizer_token_bytes(t, id, &p1, &n1, scratch) == 0 &&
			      n1 == 1 && (unsigned char)p1[0] == b;
		}
		CHECK(ok, "byte map: all 256 byte tokens map back to their byte");
	}
	CHECK(bn_tokenizer_find(t, "\xc4\x8a") == 198 && bn_tokenizer_find(t, "<|eot_id|>") == 128009,
	      "byte map: newline is U+010A");
	{
		int rc = bn_tokenizer_encode(t, "a\xff" "b", 3, 0, &ids, &n, &eb);
		CHECK(rc == BN_TOK_REPLACED, "invalid UTF-8 is reported");
	}
	if (ids && bn_tokenizer_decode(t, ids, n, 0, &txt, &pn, &eb) == 0) {
		CHECK(pn == 5 && !memcmp(txt, "a\xef\xbf\xbd" "b", 5), "... and encoded as U+FFFD");
		free(txt);
	}
	free(ids);

	/* streaming: byte tokens of é, 世, 😀 fed one at a time */
	{
		const char *text = "x\xc3\xa9\xe4\xb8\x96\xf0\x9f\x98\x80!";
		struct bn_detok d;
		char out[64], all[64];
		size_t on, an = 0;
		int ok = 1;
		bn_detok_init(&d, t, 0);
		for (const char *s = text; *s; s++) {
			int32_t id = byte_tok(t, (unsigned char)*s);
			ok &= id >= 0;
			ok &= bn_detok_push(&d, id, out, sizeof out, &on) == 0;
			ok &= on == 0 || s[0] == 'x' || s[0] == '!' || (unsigned char)s[0] >= 0x80;
			memcpy(all + an, out, on);
			an += on;
		}
		ok &= bn_detok_flush(&d, out, sizeof out, &on) == 0 && on == 0;
		CHECK(ok && an == strlen(text) && !memcmp(all, text, an),
		      "streaming decode holds split UTF-8 until complete");
		/* an incomplete sequence at the end, and one cut by an ASCII byte */
		bn_detok_init(&d, t, 0);
		an = 0;
		bn_detok_push(&d, byte_tok(t, 0xC3), out, sizeof out, &on);
		an += on;
		bn_detok_push(&d, bn_tokenizer_find(t, "a"), out, sizeof out, &on);
		memcpy(all, out, on);
		an = on;
		bn_detok_push(&d, byte_tok(t, 0xE4), out, sizeof out, &on);
		memcpy(all + an, out, on);
		an += on;
		bn_detok_flush(&d, out, sizeof out, &on);
		memcpy(all + an, out, on);
		an += on;
		CHECK(an == 7 && !memcmp(all, "\xef\xbf\xbd" "a\xef\xbf\xbd", 7),
		      "streaming decode: ill-formed and truncated become U+FFFD");
		bn_detok_init(&d, t, 1);
		bn_detok_push(&d, 128000, out, sizeof out, &on);
		CHECK(on == 0, "skip_special drops BOS");
	}
	/* pathological inputs finish and round-trip */
	{
		size_t big = 1 << 20;
		char *s = malloc(big);
		int ok = 1;
		for (int k = 0; k < 2 && s; k++) {
			memset(s, k ? ' ' : 'a', big);
			ok &= bn_tokenizer_encode(t, s, big, 0, &ids, &n, &eb) == 0;
			ok &= bn_tokenizer_decode(t, ids, n, 0, &txt, &pn, &eb) == 0 && pn == big &&
			      !memcmp(txt, s, big);
			free(ids);
			free(txt);
		}
		CHECK(s && ok, "1 MB of 'a' and of spaces encode and round-trip");
		free(s);
	}
	/* fast scanner and PCRE2 give the same ids on a mixed text */
	{
		struct bn_tok_ctx *c1, *c2;
		const int32_t *a, *b;
		size_t na, nb;
		const char *text = "It's 2024: naïve café, ¿qué? 12345\r\n\n  x\t\u3000y 😀👍🏽 'LL";
		bn_tok_ctx_new(&c1, t);
		bn_tok_ctx_new(&c2, t);
		bn_tok_ctx_set_fast(c2, 0);
		CHECK(bn_tok_encode(c1, text, strlen(text), 0, &a, &na, &eb) == 0 &&
		      bn_tok_encode(c2, text, strlen(text), 0, &b, &nb, &eb) == 0 && na == nb &&
		      !memcmp(a, b, na * sizeof *a), "fast and PCRE2 paths give the same ids");
		/* letters new in Unicode 15.0 (U+1E030), 15.1 (U+2EBF0) and 16.0
		 * (U+13460) before a contraction: the regex path uses bn's tables,
		 * not PCRE2's older ones */
		text = "x\xf0\x9e\x80\xb0's \xf0\xae\xaf\xb0've \xf0\x93\x91\xa0'LL \xe1\xa0\x8e 1\xf0\x9e\x93\xb0";
		CHECK(bn_tok_encode(c1, text, strlen(text), 0, &a, &na, &eb) == 0 &&
		      bn_tok_encode(c2, text, strlen(text), 0, &b, &nb, &eb) == 0 && na == nb &&
		      !memcmp(a, b, na * sizeof *a),
		      "fast and PCRE2 paths agree on Unicode 15-16 letters (%zu, %zu ids)", na, nb);
		bn_tok_ctx_free(c1);
		bn_tok_ctx_free(c2);
	}
	bn_tokenizer_free(t);
}

int main(void)
{
	scanner_vs_pcre2();
	bpe_cases();
	rejections();
	utf8_cases();
	llama3_cases();
	return unit_done();
}
