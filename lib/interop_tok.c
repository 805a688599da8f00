/* interop_tok.c - tokenizers between llama.cpp's tokenizer.ggml.* keys and
 * Hugging Face tokenizer.json (byte-level BPE only). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "interop_int.h"

/* The Llama 3 Split pattern (tokenizer.ggml.pre "llama-bpe"). */
static const char llama3_re[] =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
	" ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static int kv_bool(const struct bn_gguf *g, const char *key, int def)
{
	const struct bn_gguf_kv *kv = bn_gguf_find_kv(g, key);

	return kv && kv->type == BN_GGUF_BOOL ? kv->val[0] != 0 : def;
}

static const struct bn_gguf_kv *str_array(const struct bn_gguf *g, const char *key)
{
	const struct bn_gguf_kv *kv = bn_gguf_find_kv(g, key);

	return kv && kv->type == BN_GGUF_ARRAY && kv->arr_type == BN_GGUF_STRING ? kv : NULL;
}

static cJSON *byte_level(int use_regex)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "type", "ByteLevel");
	cJSON_AddBoolToObject(b, "add_prefix_space", 0);
	cJSON_AddBoolToObject(b, "trim_offsets", 1);
	cJSON_AddBoolToObject(b, "use_regex", use_regex);
	return b;
}

static void add_pre(cJSON *root, int llama3)
{
	cJSON *pre, *seq, *sp;

	if (!llama3) {
		cJSON_AddItemToObject(root, "pre_tokenizer", byte_level(1));
		return;
	}
	pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
	cJSON_AddStringToObject(pre, "type", "Sequence");
	seq = cJSON_AddArrayToObject(pre, "pretokenizers");
	sp = cJSON_CreateObject();
	cJSON_AddStringToObject(sp, "type", "Split");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(sp, "pattern"), "Regex", llama3_re);
	cJSON_AddStringToObject(sp, "behavior", "Isolated");
	cJSON_AddBoolToObject(sp, "invert", 0);
	cJSON_AddItemToArray(seq, sp);
	cJSON_AddItemToArray(seq, byte_level(0));
}

/* TemplateProcessing that prepends the BOS token (content bos_s, id bos). */
static void add_post(cJSON *root, const char *bos_s, int bos)
{
	cJSON *post = cJSON_AddObjectToObject(root, "post_processor"), *a, *it, *st;
	int i;

	if (!bos_s) {
		cJSON_AddStringToObject(post, "type", "ByteLevel");
		cJSON_AddBoolToObject(post, "add_prefix_space", 1);
		cJSON_AddBoolToObject(post, "trim_offsets", 0);
		cJSON_AddBoolToObject(post, "use_regex", 1);
		return;
	}
	cJSON_AddStringToObject(post, "type", "TemplateProcessing");
	for (i = 0; i < 2; i++) {
		a = cJSON_AddArrayToObject(post, i ? "pair" : "single");
		for (int k = 0; k < 2 * (i + 1); k++) {
			it = cJSON_CreateObject();
			st = cJSON_AddObjectToObject(it, k % 2 ? "Sequence" : "SpecialToken");
			cJSON_AddStringToObject(st, "id", k % 2 ? (k == 1 ? "A" : "B") : bos_s);
			cJSON_AddNumberToObject(st, "type_id", k >= 2);
			cJSON_AddItemToArray(a, it);
		}
	}
	st = cJSON_AddObjectToObject(cJSON_AddObjectToObject(post, "special_tokens"), bos_s);
	cJSON_AddStringToObject(st, "id", bos_s);
	cJSON_AddItemToObject(st, "ids", cJSON_CreateIntArray(&bos, 1));
	cJSON_AddItemToObject(st, "tokens", cJSON_CreateStringArray(&bos_s, 1));
}

static void add_added(cJSON *arr, int id, const char *content, int special)
{
	cJSON *a = cJSON_CreateObject();

	cJSON_AddNumberToObject(a, "id", id);
	cJSON_AddStringToObject(a, "content", content);
	cJSON_AddBoolToObject(a, "single_word", 0);
	cJSON_AddBoolToObject(a, "lstrip", 0);
	cJSON_AddBoolToObject(a, "rstrip", 0);
	cJSON_AddBoolToObject(a, "normalized", !special);
	cJSON_AddBoolToObject(a, "special", special);
	cJSON_AddItemToArray(arr, a);
}

/* A NUL-terminated copy of a GGUF string, or NULL (embedded NUL / no memory). */
static char *dupn(const char *s, size_t n)
{
	char *d;

	if (memchr(s, 0, n) || !(d = malloc(n + 1)))
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

static int build_vocab(const struct bn_gguf *g, cJSON *root, cJSON *model, int64_t *types,
		       int32_t bos, int add_bos, const char *name, struct bn_errbuf *eb)
{
	const struct bn_gguf_kv *tk = str_array(g, "tokenizer.ggml.tokens");
	const struct bn_gguf_kv *mk = str_array(g, "tokenizer.ggml.merges");
	cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
	cJSON *added = cJSON_AddArrayToObject(root, "added_tokens"), *merges;
	const uint8_t *p = tk->val;
	char *bos_s = NULL;
	uint64_t i;
	int rc = BN_OK;

	for (i = 0; i < tk->arr_n && rc == BN_OK; i++) {
		const char *s;
		size_t n;
		char *t;
		p = bn_gguf_str_next(p, &s, &n);
		if (!(t = dupn(s, n))) {
			rc = bn_fail(eb, BN_EFORMAT, "%s: token %llu is empty or holds a NUL byte",
				     name, (unsigned long long)i);
			break;
		}
		if (types[i] == TT_CONTROL || types[i] == TT_USER)
			add_added(added, (int)i, t, types[i] == TT_CONTROL);
		else if (types[i] != TT_UNUSED)
			cJSON_AddNumberToObject(vocab, t, (double)i);
		if ((int64_t)i == bos)
			bos_s = t;
		else
			free(t);
	}
	merges = cJSON_AddArrayToObject(model, "merges");
	for (i = 0, p = mk ? mk->val : NULL; mk && i < mk->arr_n && rc == BN_OK; i++) {
		const char *s, *sp;
		size_t n;
		cJSON *pair;
		char *a;
		p = bn_gguf_str_next(p, &s, &n);
		sp = memchr(s, ' ', n);
		if (!sp || sp == s || sp == s + n - 1 || !(a = dupn(s, n))) {
			rc = bn_fail(eb, BN_EFORMAT, "%s: merge %llu is not two tokens separated by "
				     "a space", name, (unsigned long long)i);
			break;
		}
		a[sp - s] = 0;
		pair = cJSON_CreateArray();
		cJSON_AddItemToArray(pair, cJSON_CreateString(a));
		cJSON_AddItemToArray(pair, cJSON_CreateString(a + (sp - s) + 1));
		cJSON_AddItemToArray(merges, pair);
		free(a);
	}
	if (rc == BN_OK)
		add_post(root, add_bos ? bos_s : NULL, bos);
	free(bos_s);
	return rc;
}

cJSON *bn_tok_json_base(int llama3, cJSON **model)
{
	cJSON *root = cJSON_CreateObject(), *dec;

	cJSON_AddStringToObject(root, "version", "1.0");
	cJSON_AddNullToObject(root, "truncation");
	cJSON_AddNullToObject(root, "padding");
	cJSON_AddNullToObject(root, "normalizer");
	add_pre(root, llama3);
	dec = cJSON_AddObjectToObject(root, "decoder");
	cJSON_AddStringToObject(dec, "type", "ByteLevel");
	cJSON_AddBoolToObject(dec, "add_prefix_space", 1);
	cJSON_AddBoolToObject(dec, "trim_offsets", 1);
	cJSON_AddBoolToObject(dec, "use_regex", 1);
	*model = cJSON_AddObjectToObject(root, "model");
	cJSON_AddStringToObject(*model, "type", "BPE");
	cJSON_AddNullToObject(*model, "dropout");
	cJSON_AddNullToObject(*model, "unk_token");
	cJSON_AddNullToObject(*model, "continuing_subword_prefix");
	cJSON_AddNullToObject(*model, "end_of_word_suffix");
	cJSON_AddBoolToObject(*model, "fuse_unk", 0);
	cJSON_AddBoolToObject(*model, "byte_fallback", 0);
	cJSON_AddBoolToObject(*model, "ignore_merges", llama3);
	return root;
}

int bn_tok_json_from_ggml(const struct bn_gguf *g, const char *name, char **json,
			  const char **note, struct bn_errbuf *eb)
{
	const struct bn_gguf_kv *tk = str_array(g, "tokenizer.ggml.tokens");
	const char *pre, *model_s;
	size_t pre_n, model_n, n;
	uint32_t bos = UINT32_MAX;
	int64_t *types = NULL;
	cJSON *root = NULL, *model;
	int llama3, rc;

	*json = NULL;
	if (note)
		*note = NULL;
	if (!tk)
		return bn_fail(eb, BN_ENOENT, "%s: no tokenizer.ggml.tokens", name);
	if (bn_gguf_get_str(g, "tokenizer.ggml.model", &model_s, &model_n) < 0 || model_n != 4 ||
	    memcmp(model_s, "gpt2", 4))
		return bn_fail(eb, BN_EUNSUP, "%s: tokenizer.ggml.model is not 'gpt2' (byte-level "
			       "BPE); bn cannot run this vocabulary", name);
	if (bn_gguf_get_str(g, "tokenizer.ggml.pre", &pre, &pre_n) < 0) {
		pre = "llama-bpe";
		pre_n = strlen(pre);
		if (note)
			*note = "no tokenizer.ggml.pre: assuming the Llama 3 pre-tokenizer (llama-bpe)";
	}
	llama3 = (pre_n == 9 && !memcmp(pre, "llama-bpe", 9)) || (pre_n == 6 && !memcmp(pre, "llama3", 6));
	if (!llama3 && !(pre_n == 5 && !memcmp(pre, "gpt-2", 5)))
		return bn_fail(eb, BN_EUNSUP, "%s: pre-tokenizer '%.*s' is not supported "
			       "(llama-bpe, gpt-2)", name, (int)BN_MIN(pre_n, 64), pre);
	if (tk->arr_n > (1u << 24))
		return bn_fail(eb, BN_ERANGE, "%s: too many tokens", name);
	n = (size_t)tk->arr_n;
	if (!(types = malloc((n + 1) * sizeof(*types))))
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", name);
	if (!bn_gguf_find_kv(g, "tokenizer.ggml.token_type")) {
		for (size_t i = 0; i < n; i++)
			types[i] = TT_NORMAL;
	} else if (bn_gguf_get_ints(g, "tokenizer.ggml.token_type", types, &n) < 0 ||
		   n != (size_t)tk->arr_n) {
		free(types);
		return bn_fail(eb, BN_EFORMAT, "%s: tokenizer.ggml.token_type is not one integer "
			       "per token", name);
	}
	if (bn_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos) < 0 || bos >= n)
		bos = UINT32_MAX;
	root = bn_tok_json_base(llama3, &model);
	rc = build_vocab(g, root, model, types, bos == UINT32_MAX ? -1 : (int32_t)bos,
			 bos != UINT32_MAX && kv_bool(g, "tokenizer.ggml.add_bos_token", 1), name, eb);
	if (rc == BN_OK && !(*json = cJSON_PrintUnformatted(root)))
		rc = bn_fail(eb, BN_ENOMEM, "%s: out of memory", name);
	cJSON_Delete(root);
	free(types);
	return rc;
}

/* ---- export: tokenizer.json -> tokenizer.ggml.* ---- */

static int is_llama3_pre(const cJSON *pre)
{
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers"), *sp, *pat;
	const char *re;

	if (cJSON_GetArraySize(seq) != 2)
		return 0;
	sp = cJSON_GetArrayItem(seq, 0);
	pat = cJSON_GetObjectItemCaseSensitive(sp, "pattern");
	re = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pat, "Regex"));
	return re && !strcmp(re, llama3_re) &&
	       !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(seq, 1),
							       "use_regex"));
}

/* Does the post-processor (or a TemplateProcessing inside a Sequence)
 * start "single" with the BOS token? */
static int adds_bos(const cJSON *post, int32_t bos)
{
	const char *ty = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(post, "type"));
	const cJSON *it, *st, *ids;
	const char *id;

	if (!ty)
		return 0;
	if (!strcmp(ty, "Sequence")) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(post, "processors"))
			if (adds_bos(it, bos))
				return 1;
		return 0;
	}
	if (strcmp(ty, "TemplateProcessing"))
		return 0;
	it = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(post, "single"), 0);
	st = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
	if (!(id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "id"))))
		return 0;
	st = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(post, "special_tokens"),
					      id);
	ids = cJSON_GetObjectItemCaseSensitive(st, "ids");
	return cJSON_GetArraySize(ids) == 1 && cJSON_GetArrayItem(ids, 0)->valuedouble == bos;
}

struct tokv {
	const char **tok;
	int32_t *type;
	const char **merge;
	char **owned;		/* merges joined from ["a", "b"] lists */
	int n_merge;
};

static void tokv_free(struct tokv *t)
{
	int i;

	for (i = 0; t->owned && i < t->n_merge; i++)
		free(t->owned[i]);
	free(t->owned);
	free(t->tok);
	free(t->type);
	free(t->merge);
}

static int fill_vocab(struct tokv *t, const cJSON *root, int nv, const char *name,
		      struct bn_errbuf *eb)
{
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model"), *it, *id, *c;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(model, "vocab")) {
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= nv ||
		    it->valuedouble != (double)it->valueint || !it->string[0])
			return bn_fail(eb, BN_EFORMAT, "%s: vocab entry '%.40s' has an id outside "
				       "the model's %d tokens", name, it->string, nv);
		t->tok[it->valueint] = it->string;
		t->type[it->valueint] = TT_NORMAL;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "added_tokens")) {
		id = cJSON_GetObjectItemCaseSensitive(it, "id");
		c = cJSON_GetObjectItemCaseSensitive(it, "content");
		if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= nv ||
		    !cJSON_IsString(c) || !c->valuestring[0])
			return bn_fail(eb, BN_EFORMAT, "%s: an added token has no content or an id "
				       "outside the model's %d tokens", name, nv);
		t->tok[id->valueint] = c->valuestring;
		t->type[id->valueint] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special")) ?
					TT_CONTROL : TT_USER;
	}
	return BN_OK;
}

static int fill_merges(struct tokv *t, const cJSON *root, const char *name, struct bn_errbuf *eb)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "model"),
							  "merges"), *it;
	int n = cJSON_GetArraySize(m), i = 0;

	if (!(t->merge = calloc((size_t)n + 1, sizeof(*t->merge))) ||
	    !(t->owned = calloc((size_t)n + 1, sizeof(*t->owned))))
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", name);
	t->n_merge = n;
	cJSON_ArrayForEach(it, m) {
		if (cJSON_IsString(it)) {
			t->merge[i++] = it->valuestring;
			continue;
		}
		const char *a = cJSON_GetStringValue(cJSON_GetArrayItem(it, 0));
		const char *b = cJSON_GetStringValue(cJSON_GetArrayItem(it, 1));
		size_t la, lb;
		if (!a || !b || cJSON_GetArraySize(it) != 2)
			return bn_fail(eb, BN_EFORMAT, "%s: merge %d is not a pair of tokens", name, i);
		la = strlen(a);
		lb = strlen(b);
		if (!(t->owned[i] = malloc(la + lb + 2)))
			return bn_fail(eb, BN_ENOMEM, "%s: out of memory", name);
		memcpy(t->owned[i], a, la);
		t->owned[i][la] = ' ';
		memcpy(t->owned[i] + la + 1, b, lb + 1);
		t->merge[i] = t->owned[i];
		i++;
	}
	return BN_OK;
}

static int32_t find_tok(const struct tokv *t, int nv, const char *s)
{
	int i;

	for (i = 0; i < nv; i++)
		if (t->type[i] == TT_CONTROL && !strcmp(t->tok[i], s))
			return i;
	return -1;
}

static int write_keys(struct bn_gguf_writer *w, struct tokv *t, const cJSON *root,
		      const struct bn_config *c)
{
	const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
	const char *pty = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pre, "type"));
	const char *pres = is_llama3_pre(pre) ? "llama-bpe" :
			   pty && !strcmp(pty, "ByteLevel") ? "gpt-2" : "default";
	int32_t eot = find_tok(t, c->n_vocab, "<|eot_id|>"), eom = find_tok(t, c->n_vocab, "<|eom_id|>");
	int rc = 0, i;

	rc |= bn_gguf_add_str(w, "tokenizer.ggml.model", "gpt2", 4);
	rc |= bn_gguf_add_str(w, "tokenizer.ggml.pre", pres, strlen(pres));
	rc |= bn_gguf_add_strs(w, "tokenizer.ggml.tokens", t->tok, (size_t)c->n_vocab);
	rc |= bn_gguf_add_i32s(w, "tokenizer.ggml.token_type", t->type, (size_t)c->n_vocab);
	rc |= bn_gguf_add_strs(w, "tokenizer.ggml.merges", t->merge, (size_t)t->n_merge);
	if (c->bos >= 0)
		rc |= bn_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)c->bos);
	rc |= bn_gguf_add_bool(w, "tokenizer.ggml.add_bos_token",
			       c->bos >= 0 && adds_bos(cJSON_GetObjectItemCaseSensitive(root,
								"post_processor"), c->bos));
	rc |= bn_gguf_add_bool(w, "tokenizer.ggml.add_eos_token", 0);
	if (c->n_stop) {
		rc |= bn_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)c->stop[0]);
		rc |= bn_gguf_add_i32s(w, "bn.stop_token_ids", c->stop, (size_t)c->n_stop);
	}
	for (i = 0; i < c->n_stop; i++) {
		if (c->stop[i] == eot && i)
			rc |= bn_gguf_add_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)eot);
		if (c->stop[i] == eom && i)
			rc |= bn_gguf_add_u32(w, "tokenizer.ggml.eom_token_id", (uint32_t)eom);
	}
	return rc ? BN_ENOMEM : BN_OK;
}

int bn_interop_tok_keys(struct bn_gguf_writer *w, const char *json, size_t len,
			const struct bn_config *c, const char *name, struct bn_errbuf *eb)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
	const char *ty = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(model, "type"));
	struct tokv t = { 0 };
	char (*pads)[24] = NULL;	/* "[PAD%d]" for any int */
	int rc = BN_OK, i;

	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return bn_fail(eb, BN_EFORMAT, "%s: the tokenizer is not valid JSON", name);
	}
	if (!ty || strcmp(ty, "BPE")) {
		rc = bn_fail(eb, BN_EUNSUP, "%s: only BPE tokenizers can be exported", name);
		goto out;
	}
	t.tok = calloc((size_t)c->n_vocab, sizeof(*t.tok));
	t.type = calloc((size_t)c->n_vocab, sizeof(*t.type));
	pads = calloc((size_t)c->n_vocab, sizeof(*pads));
	if (!t.tok || !t.type || !pads) {
		rc = bn_fail(eb, BN_ENOMEM, "%s: out of memory", name);
		goto out;
	}
	if ((rc = fill_vocab(&t, root, c->n_vocab, name, eb)) < 0 ||
	    (rc = fill_merges(&t, root, name, eb)) < 0)
		goto out;
	for (i = 0; i < c->n_vocab; i++)
		if (!t.tok[i]) {	/* ids the tokenizer never produces */
			snprintf(pads[i], sizeof(pads[i]), "[PAD%d]", i);
			t.tok[i] = pads[i];
			t.type[i] = TT_UNUSED;
		}
	if ((rc = write_keys(w, &t, root, c)) < 0)
		rc = bn_fail(eb, rc, "%s: out of memory", name);
out:
	tokv_free(&t);
	free(pads);
	cJSON_Delete(root);
	return rc;
}
