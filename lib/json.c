/* json.c - strict JSON parsing (see json.h). */
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Offset of the first byte that is not part of valid UTF-8 (RFC 3629: no
 * overlong forms, surrogates or code points past U+10FFFF), or len. */
size_t bn_utf8_check(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n, k;
		if (c < 0x80) {
			i++;
			continue;
		}
		n = c >= 0xc2 && c <= 0xdf ? 1 : (c & 0xf0) == 0xe0 ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
		if (!n || len - i <= n)
			return i;
		for (k = 1; k <= n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
		if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0) ||
		    (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))
			return i;
		i += n + 1;
	}
	return len;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Duplicates among the keys of one object: pairwise for small objects,
 * sorted otherwise (a tokenizer vocabulary has 10^5 keys). */
static const char *object_dup(const cJSON *o)
{
	const cJSON *a, *b;
	const char **keys, *dup = NULL;
	size_t n = 0, i;

	for (a = o->child; a; a = a->next)
		n++;
	if (n <= 16) {
		for (a = o->child; a; a = a->next)
			for (b = a->next; b; b = b->next)
				if (!strcmp(a->string, b->string))
					return a->string;
		return NULL;
	}
	if (!(keys = malloc(n * sizeof(*keys))))
		return NULL;	/* cannot check; the caller still has a valid tree */
	for (i = 0, a = o->child; a; a = a->next)
		keys[i++] = a->string;
	qsort(keys, n, sizeof(*keys), by_key);
	for (i = 1; i < n && !dup; i++)
		if (!strcmp(keys[i - 1], keys[i]))
			dup = keys[i];
	free(keys);
	return dup;
}

/* Depth is at most CJSON_NESTING_LIMIT, so recursion is bounded. */
const char *bn_json_find_dup(const cJSON *j)
{
	const cJSON *c;
	const char *d;

	if (!j)
		return NULL;
	if (cJSON_IsObject(j) && (d = object_dup(j)))
		return d;
	for (c = j->child; c; c = c->next)
		if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && (d = bn_json_find_dup(c)))
			return d;
	return NULL;
}

cJSON *bn_json_parse(const char *text, size_t len, int flags, const char *name,
		     struct bn_errbuf *eb)
{
	const char *end = NULL, *d;
	size_t off;
	cJSON *j;

	if (!len) {
		bn_fail(eb, BN_EFORMAT, "%s: invalid JSON (empty)", name);
		return NULL;
	}
	if ((d = memchr(text, 0, len))) {
		bn_fail(eb, BN_EFORMAT, "%s: invalid JSON (NUL byte at byte %zu)", name,
			(size_t)(d - text));
		return NULL;
	}
	if ((off = bn_utf8_check(text, len)) != len) {
		bn_fail(eb, BN_EFORMAT, "%s: invalid JSON (invalid UTF-8 at byte %zu)", name, off);
		return NULL;
	}
	if (!(j = cJSON_ParseWithLengthOpts(text, len, &end, 0))) {
		if (end >= text && end <= text + len)
			bn_fail(eb, BN_EFORMAT, "%s: invalid JSON (error at byte %zu)", name,
				(size_t)(end - text));
		else
			bn_fail(eb, BN_EFORMAT, "%s: invalid JSON", name);
		return NULL;
	}
	while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != text + len) {
		bn_fail(eb, BN_EFORMAT, "%s: invalid JSON (trailing bytes at byte %zu)", name,
			(size_t)(end - text));
		cJSON_Delete(j);
		return NULL;
	}
	if (!(flags & BN_JSON_DUPS) && (d = bn_json_find_dup(j))) {
		bn_fail(eb, BN_EFORMAT, "%s: duplicate key '%.80s'", name, d);
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* ---- raw text of a member (bn_json_raw_member) ---- */

/* White space as cJSON skips it: every byte up to ' '. */
static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (unsigned char)s[i] <= ' ')
		i++;
	return i;
}

/* s[i] is the opening quote; the index after the closing one. */
static size_t skip_str(const char *s, size_t n, size_t i)
{
	for (i++; i < n && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i + 1;
}

/* The index after the value at s[i]. */
static size_t skip_val(const char *s, size_t n, size_t i)
{
	int depth = 0;

	if (s[i] == '"')
		return skip_str(s, n, i);
	if (s[i] != '{' && s[i] != '[') {
		while (i < n && (unsigned char)s[i] > ' ' && !strchr(",}]", s[i]))
			i++;
		return i;
	}
	while (i < n) {
		if (s[i] == '"') {
			i = skip_str(s, n, i);
			continue;
		}
		if (s[i] == '{' || s[i] == '[')
			depth++;
		else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return n;
}

/* Does the JSON string at s[a..b) (quotes included) decode to key? */
static int key_is(const char *s, size_t a, size_t b, const char *key)
{
	cJSON *k;
	int eq;

	if (!memchr(s + a, '\\', b - a))
		return b - a - 2 == strlen(key) && !memcmp(s + a + 1, key, b - a - 2);
	k = cJSON_ParseWithLength(s + a, b - a);
	eq = cJSON_IsString(k) && !strcmp(k->valuestring, key);
	cJSON_Delete(k);
	return eq;
}

static size_t digits(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

int bn_json_number_ok(const char *s, size_t n)
{
	size_t i = n && s[0] == '-', j;

	if (i < n && s[i] == '0')
		i++;
	else if ((j = digits(s, n, i)) > i)
		i = j;
	else
		return 0;
	if (i < n && s[i] == '.') {
		if ((j = digits(s, n, i + 1)) == i + 1)
			return 0;
		i = j;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i += i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-');
		if ((j = digits(s, n, i + 1)) == i + 1)
			return 0;
		i = j;
	}
	return i == n;
}

int bn_json_raw_member(const char *s, size_t n, const char *key, size_t *off, size_t *len)
{
	size_t i = skip_ws(s, n, 0), k;
	int hit;

	if (i >= n || s[i] != '{')
		return 0;
	for (i = skip_ws(s, n, i + 1); i < n && s[i] == '"'; i = skip_ws(s, n, i + 1)) {
		if ((k = skip_str(s, n, i)) > n)
			return 0;
		hit = key_is(s, i, k, key);
		i = skip_ws(s, n, skip_ws(s, n, k) + 1);	/* past ':' */
		if (i >= n)
			return 0;
		k = skip_val(s, n, i);
		if (hit) {
			*off = i;
			*len = k - i;
			return 1;
		}
		i = skip_ws(s, n, k);
		if (i >= n || s[i] != ',')
			return 0;
	}
	return 0;
}
