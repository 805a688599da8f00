/* tok_decode.c - ids back to text: whole and streaming. */
#include <stdlib.h>

#include "tok_impl.h"
#include "unicode.h"

static const char repl[3] = { (char)0xEF, (char)0xBF, (char)0xBD };

void bn_detok_init(struct bn_detok *d, const struct bn_tokenizer *t, int skip_special)
{
	d->t = t;
	d->skip_special = skip_special;
	d->npend = 0;
}

/* Append b[0..n) to the stream: complete characters out, ill-formed
 * subparts as U+FFFD, an incomplete tail kept in d->pend. */
static int feed(struct bn_detok *d, const unsigned char *b, size_t n, char *out, size_t cap,
		size_t *on)
{
	size_t o = 0, i = 0;

	/* Held bytes end as one U+FFFD (a maximal subpart) or complete with new
	 * bytes into at most 4; every other byte gives at most 3: 3n + 4 is
	 * the worst case, within the documented 3 * max_token_bytes + 8 (a
	 * bound with the held bytes counted 3 times each could exceed it) */
	if (cap < 3 * n + 4)
		return BN_ERANGE;
	while (d->npend && i < n) {
		int k;
		d->pend[d->npend++] = b[i++];
		k = bn_utf8_step(d->pend, (size_t)d->npend);
		if (k > 0) {
			memcpy(out + o, d->pend, (size_t)k);
			o += (size_t)k;
			d->npend = 0;
		} else if (k < 0) {
			memcpy(out + o, repl, 3);
			o += 3;
			i -= (size_t)(d->npend + k);	/* rescan the bytes after the subpart */
			d->npend = 0;
		}
	}
	while (i < n) {
		size_t v = bn_utf8_valid_prefix(b + i, n - i);
		int k;
		memcpy(out + o, b + i, v);
		o += v;
		i += v;
		if (i >= n)
			break;
		k = bn_utf8_step(b + i, n - i);
		if (k == 0) {
			memcpy(d->pend, b + i, n - i);
			d->npend = (int)(n - i);
			break;
		}
		memcpy(out + o, repl, 3);
		o += 3;
		i += (size_t)-k;
	}
	*on = o;
	return BN_OK;
}

int bn_detok_push(struct bn_detok *d, int32_t id, char *out, size_t cap, size_t *n)
{
	const char *p;
	size_t len;

	*n = 0;
	if (bn_tokenizer_token_bytes(d->t, id, &p, &len, NULL) < 0)
		return BN_OK;
	if (d->skip_special && bn_tokenizer_is_special(d->t, id))
		return BN_OK;
	return feed(d, (const unsigned char *)p, len, out, cap, n);
}

int bn_detok_flush(struct bn_detok *d, char *out, size_t cap, size_t *n)
{
	*n = 0;
	if (!d->npend)
		return BN_OK;
	if (cap < 3)
		return BN_ERANGE;
	memcpy(out, repl, 3);
	*n = 3;
	d->npend = 0;
	return BN_OK;
}

int bn_tokenizer_decode(const struct bn_tokenizer *t, const int32_t *ids, size_t n,
			int skip_special, char **out, size_t *len, struct bn_errbuf *eb)
{
	size_t total = 0, o = 0;
	char *raw, *res;
	const char *p;
	size_t l;
	int rc;

	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < n; i++)
		if (bn_tokenizer_token_bytes(t, ids[i], &p, &l, NULL) == 0 &&
		    !(skip_special && bn_tokenizer_is_special(t, ids[i])))
			total += l;
	if (!(raw = malloc(total + 1)))
		return bn_fail(eb, BN_ENOMEM, "tokenizer: out of memory");
	for (size_t i = 0; i < n; i++)
		if (bn_tokenizer_token_bytes(t, ids[i], &p, &l, NULL) == 0 &&
		    !(skip_special && bn_tokenizer_is_special(t, ids[i]))) {
			memcpy(raw + o, p, l);
			o += l;
		}
	raw[o] = 0;
	if (bn_utf8_valid_prefix((unsigned char *)raw, o) == o) {
		*out = raw;
		*len = o;
		return BN_OK;
	}
	rc = bn_utf8_sanitize(raw, o, &res, len);
	free(raw);
	if (rc < 0)
		return bn_fail(eb, BN_ENOMEM, "tokenizer: out of memory");
	*out = res;
	return BN_OK;
}
