/* json.h - strict JSON parsing on top of cJSON for every file bn reads.
 *
 * cJSON alone accepts trailing bytes after the value (so "{} junk" and a
 * text cut at a NUL byte parse) and keeps duplicate keys, of which
 * cJSON_GetObjectItem returns the first while Python's json returns the
 * last: the same file would mean different things to bn and to the tools
 * that made it.  bn_json_parse() refuses both, and text that is not UTF-8
 * (which JSON must be, RFC 8259).  Nesting is limited by
 * cJSON (CJSON_NESTING_LIMIT, 1000 levels), so parsing never recurses
 * without bound. */
#ifndef BN_JSON_H
#define BN_JSON_H

#include <cjson/cJSON.h>

#include "bn.h"

/* Largest tokenizer.json read (the biggest published ones are ~40 MB;
 * cJSON needs several times the text in nodes). */
#define BN_TOKENIZER_JSON_MAX ((size_t)128 << 20)

enum {
	BN_JSON_DUPS = 1,	/* allow duplicate keys (large maps checked elsewhere) */
};

/* Parse len bytes of text (need not be NUL-terminated) as one JSON value
 * followed only by white space.  Returns the tree (free with cJSON_Delete)
 * or NULL with "NAME: invalid JSON (...)" / "NAME: duplicate key 'K'" in eb. */
cJSON *bn_json_parse(const char *text, size_t len, int flags, const char *name,
		     struct bn_errbuf *eb);

/* Offset of the first byte of text that is not valid UTF-8, or len. */
size_t bn_utf8_check(const char *text, size_t len);

/* The first duplicate key of any object in the tree, or NULL. */
const char *bn_json_find_dup(const cJSON *root);

/* The raw text of member key of the object in text s (JSON that parsed):
 * 1 and its span, or 0 if there is none.  Numbers keep every digit this
 * way, where cJSON holds a double and prints 15 significant digits. */
int bn_json_raw_member(const char *s, size_t n, const char *key, size_t *off, size_t *len);
/* Is s[0..n) a number as RFC 8259 writes them (cJSON also takes 01, +1, .5)? */
int bn_json_number_ok(const char *s, size_t n);

#endif
