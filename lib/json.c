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
