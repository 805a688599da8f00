/* jsonl.h - just enough JSON for JSON Lines records: find a member of a
 * top-level object by key without building a tree, decode and encode string
 * literals (NUL and invalid UTF-8 safe, unlike cJSON), and a growable byte
 * buffer to build output in. */
#ifndef BN_JSONL_H
#define BN_JSONL_H

#include <stddef.h>

#include "bn.h"

/* Growable buffer.  Zero-initialise; release with bn_buf_release().
 * Appends set b->err (BN_ENOMEM) instead of failing. */
struct bn_buf {
	char *p;
	size_t n, cap;
	int err;
};
void bn_buf_put(struct bn_buf *b, const void *p, size_t n);
static inline void bn_buf_putc(struct bn_buf *b, char c)
{
	if (b->n < b->cap)
		b->p[b->n++] = c;
	else
		bn_buf_put(b, &c, 1);
}
void bn_buf_putu(struct bn_buf *b, unsigned long long v);	/* decimal */
void bn_buf_release(struct bn_buf *b);	/* NULL-safe */

/* Member spans within s[0..n) (offsets from s): the whole member from the
 * key's opening quote to the end of its value, and the value. */
struct bn_json_span {
	size_t mo, ml, vo, vl;
};
/* Look up key in the object that is the whole of s[0..n) (surrounding
 * blanks allowed).  Returns 1 (found), 0 (absent) or BN_EFORMAT. */
int bn_json_find(const char *s, size_t n, const char *key, struct bn_json_span *sp);
/* Decode the string literal s[0..n) (quotes included) to UTF-8; lone
 * surrogates become U+FFFD.  Allocates *out (NUL-terminated); BN_EFORMAT. */
int bn_json_unquote(const char *s, size_t n, char **out, size_t *outlen);
/* Append s[0..n) as a string literal; ill-formed UTF-8 becomes U+FFFD. */
void bn_json_quote(struct bn_buf *b, const char *s, size_t n);

#endif
