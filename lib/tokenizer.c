/* tokenizer.c - loading and validating tokenizer.json, lookups. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "file.h"
#include "json.h"
#include "tok_impl.h"
#include "unicode.h"

const char bn_llama3_pattern[] =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
	" ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char gpt2_pattern[] =
	"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static uint16_t byte_char[256];
static int16_t char_byte[0x144];

/* GPT-2's bytes_to_unicode: printable bytes map to themselves, the other 68
 * to U+0100.. in byte order. */
static void byte_map_once(void)
{
	int b, k = 0;

	for (b = 0; b < 0x144; b++)
		char_byte[b] = -1;
	for (b = 0; b < 256; b++) {
		int keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
		byte_char[b] = (uint16_t)(keep ? b : 0x100 + k++);
		char_byte[byte_char[b]] = (int16_t)b;
	}
}

static void init_byte_map(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, byte_map_once);
}

int bn_char_byte(uint32_t cp)
{
	init_byte_map();
	return cp < 0x144 ? char_byte[cp] : -1;
}

uint16_t bn_tok_byte_char(unsigned b)
{
	init_byte_map();
	return byte_char[b & 255];
}

/* ---- loading ---- */

struct sent {		/* vocab by JSON string, load time only */
	uint32_t h;
	int32_t id;
};

struct load {
	struct bn_tokenizer *t;
	const char *name;
	struct bn_errbuf *eb;
	struct sent *stab;
	uint32_t smask;
};

static int lfail(struct load *L, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int lfail(struct load *L, int code, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return bn_fail(L->eb, code, "%s: %s", L->name, msg);
}

/* Append n bytes to the pool; returns the offset or -1. */
static int64_t pool_add(struct bn_tokenizer *t, const void *p, size_t n)
{
	if (t->pool_len + n + 1 > t->pool_cap) {
		size_t cap = t->pool_cap ? t->pool_cap : 1 << 16;
		char *np;
		while (cap < t->pool_len + n + 1)
			cap *= 2;
		if (cap > UINT32_MAX || !(np = realloc(t->pool, cap)))
			return -1;
		t->pool = np;
		t->pool_cap = cap;
	}
	memcpy(t->pool + t->pool_len, p, n);
	t->pool_len += n;
	return (int64_t)(t->pool_len - n);
}

/* Byte-level string -> raw bytes (out >= strlen(s)); -1 if a char is not in
 * the map (or the string is not UTF-8). */
static long unmap(const char *s, size_t n, char *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;

	while (i < n) {
		int k = bn_utf8_step(u + i, n - i), b;
		size_t l;
		if (k <= 0)
			return -1;
		b = bn_char_byte(bn_utf8_get(u + i, &l));
		if (b < 0)
			return -1;
		out[o++] = (char)b;
		i += (size_t)k;
	}
	return (long)o;
}

static int is_null(const cJSON *j)
{
	return !j || cJSON_IsNull(j);
}

static int is_false(const cJSON *j)
{
	return !j || cJSON_IsNull(j) || cJSON_IsFalse(j);
}

static const char *type_of(const cJSON *j)
{
	const cJSON *ty = cJSON_GetObjectItemCaseSensitive(j, "type");
	return cJSON_IsString(ty) ? ty->valuestring : NULL;
}

static int hsize(size_t n, uint32_t *mask)
{
	size_t sz = 16;

	while (sz < 2 * n)
		sz *= 2;
	if (sz > (1u << 30))
		return -1;
	*mask = (uint32_t)sz - 1;
	return 0;
}

static int32_t stab_get(const struct load *L, const char *s, size_t n)
{
	uint64_t h = tok_hash((const unsigned char *)s, n);
	uint32_t i = (uint32_t)h & L->smask;

	for (;; i = (i + 1) & L->smask) {
		const struct sent *e = &L->stab[i];
		if (e->id < 0)
			return -1;
		if (e->h == (uint32_t)(h >> 32)) {
			const struct tok_info *ti = &L->t->info[e->id];
			/* the JSON string is kept after the bytes: see load_vocab */
			const char *js = L->t->pool + ti->voff + ti->vlen;
			size_t jl = ti->flags & TI_VRAW ? 0 : strlen(js);
			if (ti->flags & TI_VRAW)
				js = L->t->pool + ti->voff, jl = ti->vlen;
			if (jl == n && !memcmp(js, s, n))
				return e->id;
		}
	}
}

static int load_vocab(struct load *L, const cJSON *vocab)
{
	struct bn_tokenizer *t = L->t;
	const cJSON *it;
	int n = cJSON_GetArraySize(vocab), maxid = -1, i;
	char *buf = NULL;
	size_t bufcap = 0;

	if (n <= 0)
		return lfail(L, BN_EFORMAT, "model.vocab is empty");
	cJSON_ArrayForEach(it, vocab) {
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= TOK_MAX_ID ||
		    it->valuedouble != (double)it->valueint)
			return lfail(L, BN_EFORMAT, "model.vocab: bad id for '%.40s'", it->string);
		maxid = BN_MAX(maxid, it->valueint);
	}
	t->n_vocab = maxid + 1;
	if (!(t->info = calloc((size_t)t->n_vocab, sizeof *t->info)))
		return lfail(L, BN_ENOMEM, "out of memory");
	if (hsize((size_t)n, &t->vmask) || hsize((size_t)n, &L->smask) ||
	    !(t->vtab = malloc(((size_t)t->vmask + 1) * sizeof *t->vtab)) ||
	    !(L->stab = malloc(((size_t)L->smask + 1) * sizeof *L->stab)))
		return lfail(L, BN_ENOMEM, "out of memory");
	memset(t->vtab, 0xff, ((size_t)t->vmask + 1) * sizeof *t->vtab);
	memset(L->stab, 0xff, ((size_t)L->smask + 1) * sizeof *L->stab);
	cJSON_ArrayForEach(it, vocab) {
		const char *s = it->string;
		size_t sl = strlen(s);
		struct tok_info *ti = &t->info[it->valueint];
		int64_t off;
		long bl;
		uint64_t h;
		uint32_t j;

		if (ti->flags & TI_VOCAB) {
			free(buf);
			return lfail(L, BN_EFORMAT, "model.vocab: id %d used twice", it->valueint);
		}
		if (sl + 1 > bufcap) {
			bufcap = 2 * sl + 64;
			free(buf);
			if (!(buf = malloc(bufcap)))
				return lfail(L, BN_ENOMEM, "out of memory");
		}
		bl = unmap(s, sl, buf);
		ti->flags = TI_VOCAB;
		if (bl >= 0) {
			/* bytes, then the JSON string NUL-terminated (for merges) */
			if ((off = pool_add(t, buf, (size_t)bl)) < 0 || pool_add(t, s, sl + 1) < 0)
				goto nomem;
			ti->voff = (uint32_t)off;
			ti->vlen = (uint32_t)bl;
			h = tok_hash((unsigned char *)buf, (size_t)bl);
			for (j = (uint32_t)h & t->vmask; t->vtab[j].id >= 0; j = (j + 1) & t->vmask)
				;
			t->vtab[j].k8 = tok_k8((unsigned char *)buf, (size_t)bl);
			t->vtab[j].len = (uint32_t)bl;
			t->vtab[j].id = it->valueint;
		} else {
			if ((off = pool_add(t, s, sl)) < 0)
				goto nomem;
			ti->flags |= TI_VRAW;
			ti->voff = (uint32_t)off;
			ti->vlen = (uint32_t)sl;
		}
		ti->off = ti->voff;
		ti->len = ti->vlen;
		h = tok_hash((const unsigned char *)s, sl);
		for (j = (uint32_t)h & L->smask; L->stab[j].id >= 0; j = (j + 1) & L->smask)
			;
		L->stab[j].h = (uint32_t)(h >> 32);
		L->stab[j].id = it->valueint;
	}
	free(buf);
	for (i = 0; i < 256; i++) {
		char c = (char)i;
		t->byte_id[i] = tok_vocab_get(t, (const unsigned char *)&c, 1);
	}
	return BN_OK;
nomem:
	free(buf);
	return lfail(L, BN_ENOMEM, "out of memory");
}

static int load_merges(struct load *L, const cJSON *merges)
{
	struct bn_tokenizer *t = L->t;
	const cJSON *it;
	int n = cJSON_GetArraySize(merges), rank = 0;
	uint32_t mask;
	char *cat = NULL;
	size_t catcap = 0;

	t->mbits = 4;
	while ((1u << t->mbits) < 3u * (unsigned)n / 2 + 16)
		t->mbits++;
	if (t->mbits > 30)
		return lfail(L, BN_ERANGE, "too many merges");
	mask = (1u << t->mbits) - 1;
	if (!(t->mtab = malloc(((size_t)mask + 1) * sizeof *t->mtab)))
		return lfail(L, BN_ENOMEM, "out of memory");
	memset(t->mtab, 0xff, ((size_t)mask + 1) * sizeof *t->mtab);
	if (!(t->rank_id = malloc((size_t)(n ? n : 1) * sizeof *t->rank_id)))
		return lfail(L, BN_ENOMEM, "out of memory");
	cJSON_ArrayForEach(it, merges) {
		const char *a, *b;
		size_t al, bl;
		int32_t ia, ib, nid;
		uint32_t j;

		if (cJSON_IsString(it)) {
			const char *sp = strchr(it->valuestring, ' ');
			if (!sp || strchr(sp + 1, ' '))
				goto bad;
			a = it->valuestring;
			al = (size_t)(sp - a);
			b = sp + 1;
			bl = strlen(b);
		} else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 &&
			   cJSON_IsString(it->child) && cJSON_IsString(it->child->next)) {
			a = it->child->valuestring;
			al = strlen(a);
			b = it->child->next->valuestring;
			bl = strlen(b);
		} else
			goto bad;
		if (al + bl + 1 > catcap) {
			catcap = 2 * (al + bl) + 64;
			free(cat);
			if (!(cat = malloc(catcap)))
				return lfail(L, BN_ENOMEM, "out of memory");
		}
		memcpy(cat, a, al);
		memcpy(cat + al, b, bl);
		if ((ia = stab_get(L, a, al)) < 0 || (ib = stab_get(L, b, bl)) < 0 ||
		    (nid = stab_get(L, cat, al + bl)) < 0) {
			free(cat);
			return lfail(L, BN_EFORMAT, "model.merges[%d]: token not in vocab", rank);
		}
		j = tok_mslot(t, ia, ib);
		while (t->mtab[j].a >= 0 && !(t->mtab[j].a == ia && t->mtab[j].b == ib))
			j = (j + 1) & mask;
		/* a repeated pair: the later rank wins, as in HF's map */
		t->mtab[j].a = ia;
		t->mtab[j].b = ib;
		t->mtab[j].rank = (uint32_t)rank;
		t->rank_id[rank] = nid;
		rank++;
	}
	free(cat);
	return BN_OK;
bad:
	free(cat);
	return lfail(L, BN_EFORMAT, "model.merges[%d]: expected \"a b\" or [\"a\", \"b\"]", rank);
}

static int load_model(struct load *L, const cJSON *m)
{
	struct bn_tokenizer *t = L->t;
	const char *ty = type_of(m);
	const cJSON *vocab, *merges, *j;
	static const char *const unsup_str[] = { "continuing_subword_prefix", "end_of_word_suffix" };
	size_t i;

	if (!cJSON_IsObject(m))
		return lfail(L, BN_EFORMAT, "no model object");
	if (ty && strcmp(ty, "BPE"))
		return lfail(L, BN_EUNSUP, "model type '%s' is not supported (only BPE)", ty);
	vocab = cJSON_GetObjectItemCaseSensitive(m, "vocab");
	merges = cJSON_GetObjectItemCaseSensitive(m, "merges");
	if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges))
		return lfail(L, BN_EFORMAT, "model needs a vocab object and a merges array");
	j = cJSON_GetObjectItemCaseSensitive(m, "dropout");
	if (!is_null(j) && !(cJSON_IsNumber(j) && j->valuedouble == 0))
		return lfail(L, BN_EUNSUP, "BPE dropout is not supported");
	if (!is_false(cJSON_GetObjectItemCaseSensitive(m, "byte_fallback")))
		return lfail(L, BN_EUNSUP, "BPE byte_fallback is not supported");
	for (i = 0; i < BN_LEN(unsup_str); i++) {
		j = cJSON_GetObjectItemCaseSensitive(m, unsup_str[i]);
		if (!is_null(j) && !(cJSON_IsString(j) && !*j->valuestring))
			return lfail(L, BN_EUNSUP, "BPE %s is not supported", unsup_str[i]);
	}
	t->ignore_merges = !is_false(cJSON_GetObjectItemCaseSensitive(m, "ignore_merges"));
	t->fuse_unk = !is_false(cJSON_GetObjectItemCaseSensitive(m, "fuse_unk"));
	BN_TRY(load_vocab(L, vocab));
	BN_TRY(load_merges(L, merges));
	t->unk_id = -1;
	j = cJSON_GetObjectItemCaseSensitive(m, "unk_token");
	if (cJSON_IsString(j)) {
		if ((t->unk_id = stab_get(L, j->valuestring, strlen(j->valuestring))) < 0)
			return lfail(L, BN_EFORMAT, "unk_token '%.40s' is not in the vocab",
				     j->valuestring);
	} else if (!is_null(j))
		return lfail(L, BN_EFORMAT, "model.unk_token is not a string");
	return BN_OK;
}

static int load_added(struct load *L, const cJSON *arr)
{
	struct bn_tokenizer *t = L->t;
	const cJSON *it;
	int n = cJSON_GetArraySize(arr), k = 0, maxid = t->n_vocab - 1;
	static const char *const unsup[] = { "single_word", "lstrip", "rstrip" };

	if (is_null(arr))
		return BN_OK;
	if (!cJSON_IsArray(arr))
		return lfail(L, BN_EFORMAT, "added_tokens is not an array");
	if (n && !(t->added = calloc((size_t)n, sizeof *t->added)))
		return lfail(L, BN_ENOMEM, "out of memory");
	cJSON_ArrayForEach(it, arr) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "content");
		struct tok_added *a = &t->added[k];
		size_t i;
		int64_t off;

		if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= TOK_MAX_ID ||
		    id->valuedouble != (double)id->valueint || !cJSON_IsString(c) || !*c->valuestring)
			return lfail(L, BN_EFORMAT, "added_tokens[%d]: needs an id and a content", k);
		for (i = 0; i < BN_LEN(unsup); i++)
			if (!is_false(cJSON_GetObjectItemCaseSensitive(it, unsup[i])))
				return lfail(L, BN_EUNSUP, "added token '%.40s': %s is not supported",
					     c->valuestring, unsup[i]);
		a->id = id->valueint;
		a->len = (uint32_t)strlen(c->valuestring);
		if ((off = pool_add(t, c->valuestring, a->len)) < 0)
			return lfail(L, BN_ENOMEM, "out of memory");
		a->off = (uint32_t)off;
		a->special = !is_false(cJSON_GetObjectItemCaseSensitive(it, "special"));
		a->normalized = !is_false(cJSON_GetObjectItemCaseSensitive(it, "normalized"));
		maxid = BN_MAX(maxid, a->id);
		k++;
	}
	t->n_added = k;
	if (maxid >= t->n_vocab) {
		struct tok_info *ni = realloc(t->info, (size_t)(maxid + 1) * sizeof *ni);
		if (!ni)
			return lfail(L, BN_ENOMEM, "out of memory");
		memset(ni + t->n_vocab, 0, (size_t)(maxid + 1 - t->n_vocab) * sizeof *ni);
		t->info = ni;
		t->n_vocab = maxid + 1;
	}
	for (k = 0; k < t->n_added; k++) {
		struct tok_added *a = &t->added[k];
		struct tok_info *ti = &t->info[a->id];
		char *tmp = malloc(a->len + 1);
		long bl;
		int64_t off;

		if (!tmp)
			return lfail(L, BN_ENOMEM, "out of memory");
		/* ByteLevel decoder: mapped chars back to bytes, else the raw string */
		bl = unmap(t->pool + a->off, a->len, tmp);
		off = bl >= 0 ? pool_add(t, tmp, (size_t)bl) : (int64_t)a->off;
		free(tmp);
		if (off < 0)
			return lfail(L, BN_ENOMEM, "out of memory");
		ti->off = (uint32_t)off;
		ti->len = bl >= 0 ? (uint32_t)bl : a->len;
		ti->flags |= TI_ADDED | (a->special ? TI_SPECIAL : 0);
	}
	return BN_OK;
}

static int build_matchers(struct load *L)
{
	struct bn_tokenizer *t = L->t;
	int pass, k;

	for (pass = 0; pass < 2; pass++) {
		struct tok_matcher *m = &t->match[pass];
		uint32_t cnt[257] = { 0 }, pos[256];
		int n = 0;

		for (k = 0; k < t->n_added; k++)
			if (t->added[k].normalized == pass) {
				cnt[(unsigned char)t->pool[t->added[k].off]]++;
				n++;
			}
		m->n = n;
		if (!n)
			continue;
		if (!(m->order = malloc((size_t)n * sizeof *m->order)))
			return lfail(L, BN_ENOMEM, "out of memory");
		m->start[0] = 0;
		for (k = 0; k < 256; k++) {
			m->start[k + 1] = m->start[k] + cnt[k];
			pos[k] = m->start[k];
			m->first[k] = cnt[k] != 0;
		}
		for (k = 0; k < t->n_added; k++)
			if (t->added[k].normalized == pass)
				m->order[pos[(unsigned char)t->pool[t->added[k].off]]++] = (uint32_t)k;
		/* longest first within each first byte (insertion sort: few tokens) */
		for (k = 0; k < 256; k++) {
			uint32_t a, b;
			for (a = m->start[k] + 1; a < m->start[k + 1]; a++)
				for (b = a; b > m->start[k] &&
				     t->added[m->order[b - 1]].len < t->added[m->order[b]].len; b--) {
					uint32_t x = m->order[b];
					m->order[b] = m->order[b - 1];
					m->order[b - 1] = x;
				}
		}
	}
	return BN_OK;
}

/* Append "\x{lo}-\x{hi}" (or "\x{lo}") for [lo, hi] less the surrogates to
 * the buffer *out of *cap bytes holding *o; -1 when out of memory. */
static int put_range(char **out, size_t *cap, size_t *o, uint32_t lo, uint32_t hi)
{
	uint32_t part[2][2] = { { lo, BN_MIN(hi, 0xD7FF) }, { BN_MAX(lo, 0xE000), hi } };

	for (int i = 0; i < 2; i++) {
		if (part[i][0] > part[i][1])
			continue;
		if (*o + 32 > *cap) {
			char *q = realloc(*out, *cap *= 2);
			if (!q)
				return -1;
			*out = q;
		}
		*o += (size_t)sprintf(*out + *o, part[i][0] == part[i][1] ? "\\x{%X}" : "\\x{%X}-\\x{%X}",
				      part[i][0], part[i][1]);
	}
	return 0;
}

/* The code points of class cls (or, with neg, of every other class) as
 * PCRE2 class ranges "\x{lo}-\x{hi}...", surrogates left out; NULL when out
 * of memory.  Built from bn's own ranges, so the regex path sees the same
 * Unicode version as the Llama 3 scanner. */
static char *class_ranges(int cls, int neg)
{
	size_t cap = 1 << 15, o = 0, i;
	char *out = malloc(cap);
	uint32_t next = 0;	/* with neg: where the next gap starts */
	int rc = 0;

	if (!out)
		return NULL;
	out[0] = 0;
	for (i = 0; i < bn_uc_nranges && rc == 0; i++) {
		const struct bn_uc_range *r = &bn_uc_ranges[i];
		if (r->cls != cls)
			continue;
		if (!neg)
			rc = put_range(&out, &cap, &o, r->lo, r->hi);
		else if (r->lo > next)
			rc = put_range(&out, &cap, &o, next, r->lo - 1);
		next = r->hi + 1;
	}
	if (rc == 0 && neg && next < 0x110000)
		rc = put_range(&out, &cap, &o, next, 0x10FFFF);
	if (rc < 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Which class escape starts at p: \s \S \p{L} \P{L} \p{N} \P{N} (also \pL
 * \pN); sets its length, class and negation, or returns 0. */
static int class_escape(const char *p, size_t left, size_t *len, int *cls, int *neg)
{
	if (left < 2 || p[0] != '\\')
		return 0;
	*neg = p[1] == 'S' || p[1] == 'P';
	if (p[1] == 's' || p[1] == 'S') {
		*cls = BN_UC_SPACE;
		*len = 2;
		return 1;
	}
	if (p[1] != 'p' && p[1] != 'P')
		return 0;
	if (left >= 3 && (p[2] == 'L' || p[2] == 'N'))
		*len = 3;
	else if (left >= 5 && p[2] == '{' && (p[3] == 'L' || p[3] == 'N') && p[4] == '}')
		*len = 5;
	else
		return 0;
	*cls = p[*len - (*len == 3 ? 1 : 2)] == 'L' ? BN_UC_LETTER : BN_UC_NUMBER;
	return 1;
}

/* Rewrite \s, \S, \p{L}, \P{L}, \p{N}, \P{N} into explicit code point ranges
 * from bn's tables (Unicode 16.0, White_Space for \s, as the Oniguruma of
 * tokenizers): PCRE2's own tables are its release's Unicode version, and its
 * \s also matched U+180E.  Inside a class a negated escape is spelled as the
 * ranges of everything else.  Allocates; NULL when out of memory. */
static char *fix_classes(const char *p)
{
	char *r[3][2] = { { 0 } }, *out = NULL;
	size_t n = strlen(p), o = 0, cap = n + 1, len;
	int cls, neg, in = 0, i, j;

	for (size_t k = 0; k < n; k++)	/* build the ranges the pattern uses */
		if (class_escape(p + k, n - k, &len, &cls, &neg)) {
			if (!r[cls - 1][neg] && !(r[cls - 1][neg] = class_ranges(cls, neg)))
				goto done;
			cap += strlen(r[cls - 1][neg]) + 4;
		}
	if (!(out = malloc(cap)))
		goto done;
	for (size_t k = 0; k < n; k++) {
		if (class_escape(p + k, n - k, &len, &cls, &neg)) {
			o += (size_t)sprintf(out + o, "%s%s%s", in ? "" : "[", r[cls - 1][neg],
					     in ? "" : "]");
			k += len - 1;
			continue;
		}
		if (p[k] == '\\' && k + 1 < n) {	/* any other escape, as it is */
			out[o++] = p[k++];
			out[o++] = p[k];
			continue;
		}
		if (p[k] == '[' && !in) {
			in = 1;
			out[o++] = p[k];
			if (k + 1 < n && p[k + 1] == '^')
				out[o++] = p[++k];
			if (k + 1 < n && p[k + 1] == ']')
				out[o++] = p[++k];
			continue;
		}
		if (p[k] == ']' && in)
			in = 0;
		out[o++] = p[k];
	}
	out[o] = 0;
done:
	for (i = 0; i < 3; i++)
		for (j = 0; j < 2; j++)
			free(r[i][j]);
	return out;
}

static int add_regex(struct load *L, const char *pat, int fast)
{
	struct bn_tokenizer *t = L->t;
	struct tok_stage *st;
	char *fixed;
	int err;
	PCRE2_SIZE eoff;

	if (t->nstage >= TOK_MAX_STAGES)
		return lfail(L, BN_EUNSUP, "too many pre-tokenizer steps");
	st = &t->stage[t->nstage];
	if (!(fixed = fix_classes(pat)))
		return lfail(L, BN_ENOMEM, "out of memory");
	st->re = pcre2_compile((PCRE2_SPTR)fixed, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
			       &err, &eoff, NULL);
	free(fixed);
	if (!st->re) {
		PCRE2_UCHAR msg[120];
		pcre2_get_error_message(err, msg, sizeof msg);
		return lfail(L, BN_EUNSUP, "pre-tokenizer regex: %s", (char *)msg);
	}
	pcre2_jit_compile(st->re, PCRE2_JIT_COMPLETE);	/* optional: falls back to the interpreter */
	st->kind = fast ? ST_FAST : ST_REGEX;
	t->nstage++;
	return BN_OK;
}

static int load_pretok(struct load *L, const cJSON *p, int depth, int *bytelevel)
{
	const char *ty = type_of(p);

	if (is_null(p))
		return lfail(L, BN_EUNSUP, "a pre_tokenizer with ByteLevel is required");
	if (!ty)
		return lfail(L, BN_EFORMAT, "pre_tokenizer without a type");
	if (!strcmp(ty, "Sequence") && depth == 0) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers"), *it;
		if (!cJSON_IsArray(arr))
			return lfail(L, BN_EFORMAT, "pre_tokenizer Sequence without pretokenizers");
		cJSON_ArrayForEach(it, arr)
			BN_TRY(load_pretok(L, it, 1, bytelevel));
		return BN_OK;
	}
	if (!strcmp(ty, "Split")) {
		const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern");
		const cJSON *re = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
		const cJSON *beh = cJSON_GetObjectItemCaseSensitive(p, "behavior");
		if (*bytelevel)
			return lfail(L, BN_EUNSUP, "a Split after ByteLevel is not supported");
		if (!cJSON_IsString(re))
			return lfail(L, BN_EUNSUP, "Split needs a Regex pattern");
		if (!cJSON_IsString(beh) || strcmp(beh->valuestring, "Isolated"))
			return lfail(L, BN_EUNSUP, "Split behavior '%s' is not supported (only Isolated)",
				     cJSON_IsString(beh) ? beh->valuestring : "?");
		if (!is_false(cJSON_GetObjectItemCaseSensitive(p, "invert")))
			return lfail(L, BN_EUNSUP, "Split invert is not supported");
		return add_regex(L, re->valuestring, !strcmp(re->valuestring, bn_llama3_pattern));
	}
	if (!strcmp(ty, "ByteLevel")) {
		const cJSON *ur = cJSON_GetObjectItemCaseSensitive(p, "use_regex");
		if (*bytelevel)
			return lfail(L, BN_EUNSUP, "more than one ByteLevel pre-tokenizer");
		*bytelevel = 1;
		if (!is_false(cJSON_GetObjectItemCaseSensitive(p, "add_prefix_space"))) {
			if (L->t->nstage >= TOK_MAX_STAGES)
				return lfail(L, BN_EUNSUP, "too many pre-tokenizer steps");
			L->t->stage[L->t->nstage++].kind = ST_PREFIX;
		}
		if (!ur || cJSON_IsTrue(ur))	/* use_regex defaults to true */
			return add_regex(L, gpt2_pattern, 0);
		return BN_OK;
	}
	return lfail(L, BN_EUNSUP, "pre_tokenizer '%s' is not supported", ty);
}

static int find_added(const struct bn_tokenizer *t, const char *s)
{
	size_t n = strlen(s);

	for (int k = 0; k < t->n_added; k++)
		if (t->added[k].len == n && !memcmp(t->pool + t->added[k].off, s, n))
			return t->added[k].id;
	return -1;
}

static int load_template(struct load *L, const cJSON *p)
{
	struct bn_tokenizer *t = L->t;
	const cJSON *single = cJSON_GetObjectItemCaseSensitive(p, "single");
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(p, "special_tokens"), *it;
	int seen_a = 0, cnt = 0;

	if (t->pre_ids || t->post_ids)
		return lfail(L, BN_EUNSUP, "more than one TemplateProcessing");
	if (!cJSON_IsArray(single))
		return lfail(L, BN_EFORMAT, "TemplateProcessing without single");
	cJSON_ArrayForEach(it, single)
		cnt++;
	for (int pass = 0; pass < 2; pass++) {
		int32_t *v = NULL;
		int nv = 0;
		if (pass == 0 && !(t->pre_ids = v = calloc((size_t)cnt * 16 + 1, sizeof *v)))
			return lfail(L, BN_ENOMEM, "out of memory");
		if (pass == 1 && !(t->post_ids = v = calloc((size_t)cnt * 16 + 1, sizeof *v)))
			return lfail(L, BN_ENOMEM, "out of memory");
		seen_a = 0;
		cJSON_ArrayForEach(it, single) {
			const cJSON *seq = cJSON_GetObjectItemCaseSensitive(it, "Sequence");
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
			if (seq) {
				const cJSON *id = cJSON_GetObjectItemCaseSensitive(seq, "id");
				if (seen_a || !cJSON_IsString(id) || strcmp(id->valuestring, "A"))
					return lfail(L, BN_EUNSUP, "TemplateProcessing: single must hold $A once");
				seen_a = 1;
			} else if (st) {
				const cJSON *id = cJSON_GetObjectItemCaseSensitive(st, "id");
				const cJSON *e = cJSON_IsString(id) ?
					cJSON_GetObjectItemCaseSensitive(sp, id->valuestring) : NULL;
				const cJSON *ids = cJSON_GetObjectItemCaseSensitive(e, "ids"), *x;
				if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) > 16)
					return lfail(L, BN_EFORMAT, "TemplateProcessing: unknown special token");
				cJSON_ArrayForEach(x, ids) {
					if (!cJSON_IsNumber(x) || x->valuedouble < 0 ||
					    x->valuedouble >= t->n_vocab)
						return lfail(L, BN_EFORMAT, "TemplateProcessing: bad id");
					if (seen_a == pass)
						v[nv++] = x->valueint;
				}
			} else
				return lfail(L, BN_EFORMAT, "TemplateProcessing: bad item in single");
		}
		if (!seen_a)
			return lfail(L, BN_EUNSUP, "TemplateProcessing: single without $A");
		if (pass == 0)
			t->n_pre = nv;
		else
			t->n_post = nv;
	}
	return BN_OK;
}

static int load_post(struct load *L, const cJSON *p, int depth)
{
	const char *ty = type_of(p);

	if (is_null(p))
		return BN_OK;
	if (!ty)
		return lfail(L, BN_EFORMAT, "post_processor without a type");
	if (!strcmp(ty, "ByteLevel"))
		return BN_OK;	/* offsets only */
	if (!strcmp(ty, "TemplateProcessing"))
		return load_template(L, p);
	if (!strcmp(ty, "Sequence") && depth == 0) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(p, "processors"), *it;
		if (!cJSON_IsArray(arr))
			return lfail(L, BN_EFORMAT, "post_processor Sequence without processors");
		cJSON_ArrayForEach(it, arr)
			BN_TRY(load_post(L, it, 1));
		return BN_OK;
	}
	return lfail(L, BN_EUNSUP, "post_processor '%s' is not supported", ty);
}

static int load_decoder(struct load *L, const cJSON *d, int depth)
{
	const char *ty = type_of(d);

	if (is_null(d))
		return lfail(L, BN_EUNSUP, "a ByteLevel decoder is required");
	if (ty && !strcmp(ty, "ByteLevel"))
		return BN_OK;
	if (ty && !strcmp(ty, "Sequence") && depth == 0) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(d, "decoders");
		if (cJSON_GetArraySize(arr) == 1)
			return load_decoder(L, arr->child, 1);
	}
	return lfail(L, BN_EUNSUP, "decoder '%s' is not supported (only ByteLevel)", ty ? ty : "?");
}

static void pick_bos(struct bn_tokenizer *t)
{
	static const char *const names[] = { "<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>" };

	t->bos = -1;
	if (t->n_pre) {
		t->bos = t->pre_ids[0];
		return;
	}
	for (size_t i = 0; i < BN_LEN(names) && t->bos < 0; i++)
		t->bos = find_added(t, names[i]);
}

int bn_tokenizer_load_named(struct bn_tokenizer **out, const char *json, size_t len,
			    const char *name, struct bn_errbuf *eb)
{
	struct load L = { .name = name ? name : "tokenizer.json", .eb = eb };
	struct bn_tokenizer *t;
	cJSON *root;
	const cJSON *j;
	int rc, bytelevel = 0;
	static const char *const unsup[] = { "normalizer", "truncation", "padding" };

	*out = NULL;
	init_byte_map();
	/* strict: UTF-8, no trailing bytes, no duplicate keys (HF keeps the last
	 * of a duplicated vocab entry, a first-match lookup the first) */
	if (!(root = bn_json_parse(json, len, 0, L.name, eb)))
		return BN_EFORMAT;
	if (!(t = L.t = calloc(1, sizeof *t))) {
		cJSON_Delete(root);
		return lfail(&L, BN_ENOMEM, "out of memory");
	}
	rc = BN_EFORMAT;
	if (!cJSON_IsObject(root)) {
		lfail(&L, rc, "not a JSON object");
		goto out;
	}
	for (size_t i = 0; i < BN_LEN(unsup); i++) {
		j = cJSON_GetObjectItemCaseSensitive(root, unsup[i]);
		if (!is_null(j)) {
			const char *ty = type_of(j);
			rc = lfail(&L, BN_EUNSUP, "%s%s%s%s is not supported", unsup[i],
				   ty ? " '" : "", ty ? ty : "", ty ? "'" : "");
			goto out;
		}
	}
	if ((rc = load_model(&L, cJSON_GetObjectItemCaseSensitive(root, "model"))) < 0 ||
	    (rc = load_added(&L, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"))) < 0 ||
	    (rc = build_matchers(&L)) < 0 ||
	    (rc = load_pretok(&L, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), 0,
			      &bytelevel)) < 0 ||
	    (rc = load_post(&L, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), 0)) < 0 ||
	    (rc = load_decoder(&L, cJSON_GetObjectItemCaseSensitive(root, "decoder"), 0)) < 0)
		goto out;
	if (!bytelevel) {
		rc = lfail(&L, BN_EUNSUP, "a ByteLevel pre_tokenizer is required");
		goto out;
	}
	pick_bos(t);
	for (int32_t id = 0; id < t->n_vocab; id++)
		t->max_bytes = BN_MAX(t->max_bytes, t->info[id].len);
	rc = BN_OK;
out:
	free(L.stab);
	cJSON_Delete(root);
	if (rc < 0)
		bn_tokenizer_free(t);
	else
		*out = t;
	return rc;
}

int bn_tokenizer_load(struct bn_tokenizer **out, const char *json, size_t len,
		      struct bn_errbuf *eb)
{
	return bn_tokenizer_load_named(out, json, len, NULL, eb);
}

int bn_tokenizer_load_file(struct bn_tokenizer **out, const char *path, struct bn_errbuf *eb)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	BN_TRY(bn_read_file(path, BN_TOKENIZER_JSON_MAX, &buf, &len, eb));
	rc = bn_tokenizer_load_named(out, buf, len, path, eb);
	free(buf);
	return rc;
}

void bn_tokenizer_free(struct bn_tokenizer *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->nstage; i++)
		pcre2_code_free(t->stage[i].re);
	free(t->match[0].order);
	free(t->match[1].order);
	free(t->info);
	free(t->pool);
	free(t->vtab);
	free(t->mtab);
	free(t->rank_id);
	free(t->added);
	free(t->pre_ids);
	free(t->post_ids);
	free(t);
}

/* ---- lookups ---- */

int bn_tokenizer_n_vocab(const struct bn_tokenizer *t)
{
	return t->n_vocab;
}

int32_t bn_tokenizer_bos(const struct bn_tokenizer *t)
{
	return t->bos;
}

int32_t bn_tokenizer_find(const struct bn_tokenizer *t, const char *token)
{
	size_t n = strlen(token);
	char *tmp;
	long bl;
	int32_t id = find_added(t, token);

	if (id >= 0)
		return id;
	if (!(tmp = malloc(n + 1)))
		return -1;
	bl = unmap(token, n, tmp);
	if (bl >= 0)
		id = tok_vocab_get(t, (unsigned char *)tmp, (size_t)bl);
	free(tmp);
	if (id >= 0)
		return id;
	for (int32_t i = 0; i < t->n_vocab; i++) {	/* rare: not byte-mappable */
		const struct tok_info *ti = &t->info[i];
		if ((ti->flags & TI_VRAW) && ti->vlen == n && !memcmp(t->pool + ti->voff, token, n))
			return i;
	}
	return -1;
}

int bn_tokenizer_is_special(const struct bn_tokenizer *t, int32_t id)
{
	return id >= 0 && id < t->n_vocab && (t->info[id].flags & TI_SPECIAL);
}

int bn_tokenizer_piece(const struct bn_tokenizer *t, int32_t id, char *buf, size_t cap)
{
	const struct tok_info *ti;
	size_t o = 0;

	if (id < 0 || id >= t->n_vocab || !(t->info[id].flags & (TI_VOCAB | TI_ADDED)))
		return -1;
	ti = &t->info[id];
#define PUT(c) do { if (o + 1 < cap) buf[o] = (c); o++; } while (0)
	if (ti->flags & TI_ADDED) {
		for (int k = 0; k < t->n_added; k++)
			if (t->added[k].id == id) {
				for (uint32_t i = 0; i < t->added[k].len; i++)
					PUT(t->pool[t->added[k].off + i]);
				break;
			}
	} else if (ti->flags & TI_VRAW) {
		for (uint32_t i = 0; i < ti->vlen; i++)
			PUT(t->pool[ti->voff + i]);
	} else {
		for (uint32_t i = 0; i < ti->vlen; i++) {
			char u[4];
			size_t l = bn_utf8_put(byte_char[(unsigned char)t->pool[ti->voff + i]], u);
			for (size_t k = 0; k < l; k++)
				PUT(u[k]);
		}
	}
#undef PUT
	if (cap)
		buf[BN_MIN(o, cap - 1)] = 0;
	return (int)o;
}

int bn_tokenizer_token_bytes(const struct bn_tokenizer *t, int32_t id, const char **p,
			     size_t *n, char *scratch)
{
	(void)scratch;
	if (id < 0 || id >= t->n_vocab || !(t->info[id].flags & (TI_VOCAB | TI_ADDED))) {
		*p = "";
		*n = 0;
		return BN_EINVAL;
	}
	*p = t->pool + t->info[id].off;
	*n = t->info[id].len;
	return BN_OK;
}

size_t bn_tokenizer_max_token_bytes(const struct bn_tokenizer *t)
{
	return t->max_bytes;
}
