/* jsonl.c - member lookup and string literals for JSON Lines records. */
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "unicode.h"

void bn_buf_put(struct bn_buf *b, const void *p, size_t n)
{
	if (b->err || !n)	/* nothing to add: b->p may still be NULL */
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;
		while (cap < b->n + n)
			cap *= 2;
		if (!(np = realloc(b->p, cap))) {
			b->err = BN_ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

void bn_buf_putu(struct bn_buf *b, unsigned long long v)
{
	char tmp[24];
	int i = 24;

	do
		tmp[--i] = (char)('0' + v % 10);
	while (v /= 10);
	bn_buf_put(b, tmp + i, (size_t)(24 - i));
}

void bn_buf_release(struct bn_buf *b)
{
	if (!b)
		return;
	free(b->p);
	memset(b, 0, sizeof *b);
}

static size_t ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/* End of the string literal starting at s[i] == '"', or 0. */
static size_t str_end(const char *s, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

/* End of the value at s[i], or 0. */
static size_t val_end(const char *s, size_t i, size_t n)
{
	int depth = 0;

	if (i >= n)
		return 0;
	if (s[i] == '"')
		return str_end(s, i, n);
	if (s[i] != '{' && s[i] != '[') {
		size_t j = i;
		while (j < n && !strchr(",}] \t\r\n", s[j]))
			j++;
		return j > i ? j : 0;
	}
	for (; i < n; i++) {
		if (s[i] == '"') {
			if (!(i = str_end(s, i, n)))
				return 0;
			i--;
		} else if (s[i] == '{' || s[i] == '[') {
			depth++;
		} else if (s[i] == '}' || s[i] == ']') {
			if (--depth == 0)
				return i + 1;
		}
	}
	return 0;
}

int bn_json_find(const char *s, size_t n, const char *key, struct bn_json_span *sp)
{
	size_t i = ws(s, 0, n), kl = strlen(key);
	int found = 0;

	if (i >= n || s[i] != '{')
		return BN_EFORMAT;
	i = ws(s, i + 1, n);
	if (i < n && s[i] == '}')
		return ws(s, i + 1, n) == n ? 0 : BN_EFORMAT;
	for (;;) {
		size_t ko = i, ke, vo, ve;
		if (i >= n || s[i] != '"' || !(ke = str_end(s, i, n)))
			return BN_EFORMAT;
		i = ws(s, ke, n);
		if (i >= n || s[i] != ':')
			return BN_EFORMAT;
		vo = ws(s, i + 1, n);
		if (!(ve = val_end(s, vo, n)))
			return BN_EFORMAT;
		if (!found) {
			int match = 0;
			if (!memchr(s + ko, '\\', ke - ko)) {
				match = ke - ko - 2 == kl && !memcmp(s + ko + 1, key, kl);
			} else {
				char *k;
				size_t l;
				if (bn_json_unquote(s + ko, ke - ko, &k, &l) < 0)
					return BN_EFORMAT;
				match = l == kl && !memcmp(k, key, kl);
				free(k);
			}
			if (match) {
				found = 1;
				*sp = (struct bn_json_span){ ko, ve - ko, vo, ve - vo };
			}
		}
		i = ws(s, ve, n);
		if (i < n && s[i] == ',') {
			i = ws(s, i + 1, n);
			continue;
		}
		if (i < n && s[i] == '}' && ws(s, i + 1, n) == n)
			return found;
		return BN_EFORMAT;
	}
}

static int hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v |= (unsigned)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

int bn_json_unquote(const char *s, size_t n, char **out, size_t *outlen)
{
	size_t i, o = 0;
	char *b;

	*out = NULL;
	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return BN_EFORMAT;
	if (!(b = malloc(n + 1)))	/* escapes never grow */
		return BN_ENOMEM;
	for (i = 1; i < n - 1; i++) {
		unsigned cp, lo;
		if (s[i] != '\\') {
			if ((unsigned char)s[i] < 0x20)
				goto bad;
			b[o++] = s[i];
			continue;
		}
		if (++i >= n - 1)
			goto bad;
		switch (s[i]) {
		case '"': case '\\': case '/': b[o++] = s[i]; break;
		case 'b': b[o++] = '\b'; break;
		case 'f': b[o++] = '\f'; break;
		case 'n': b[o++] = '\n'; break;
		case 'r': b[o++] = '\r'; break;
		case 't': b[o++] = '\t'; break;
		case 'u':
			if (i + 4 >= n - 1 || hex4(s + i + 1, &cp))
				goto bad;
			i += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < n - 1 && s[i + 1] == '\\' &&
			    s[i + 2] == 'u' && !hex4(s + i + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 6;
			} else if (cp >= 0xD800 && cp < 0xE000) {
				cp = 0xFFFD;
			}
			o += bn_utf8_put(cp, b + o);
			break;
		default:
			goto bad;
		}
	}
	b[o] = 0;
	*out = b;
	*outlen = o;
	return BN_OK;
bad:
	free(b);
	return BN_EFORMAT;
}

void bn_json_quote(struct bn_buf *b, const char *str, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	bn_buf_putc(b, '"');
	while (i < n) {
		size_t j = i;
		int k;
		while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
			j++;
		bn_buf_put(b, s + i, j - i);
		if ((i = j) >= n)
			break;
		if (s[i] >= 0x80) {
			k = bn_utf8_step(s + i, n - i);
			if (k > 0) {
				bn_buf_put(b, s + i, (size_t)k);
				i += (size_t)k;
			} else {
				bn_buf_put(b, "\xEF\xBF\xBD", 3);
				i += k < 0 ? (size_t)-k : n - i;
			}
			continue;
		}
		bn_buf_putc(b, '\\');
		switch (s[i]) {
		case '"': bn_buf_putc(b, '"'); break;
		case '\\': bn_buf_putc(b, '\\'); break;
		case '\n': bn_buf_putc(b, 'n'); break;
		case '\r': bn_buf_putc(b, 'r'); break;
		case '\t': bn_buf_putc(b, 't'); break;
		default: {
			char u[5] = { 'u', '0', '0', hexd[s[i] >> 4], hexd[s[i] & 15] };
			bn_buf_put(b, u, 5);
		}
		}
		i++;
	}
	bn_buf_putc(b, '"');
}
