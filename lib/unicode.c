/* unicode.c - UTF-8 validation and replacement of ill-formed sequences. */
#include <stdlib.h>
#include <string.h>

#include "bn.h"
#include "unicode.h"

int bn_uc_class(uint32_t cp)
{
	size_t lo = 0, hi = bn_uc_nranges;	/* cp's run, if any, is in [lo, hi) */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp < bn_uc_ranges[mid].lo)
			hi = mid;
		else if (cp > bn_uc_ranges[mid].hi)
			lo = mid + 1;
		else
			return bn_uc_ranges[mid].cls;
	}
	return BN_UC_OTHER;
}

size_t bn_utf8_put(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

int bn_utf8_step(const unsigned char *s, size_t n)
{
	unsigned c = s[0], lo = 0x80, hi = 0xBF;
	int need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 1;
	else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return -1;
	for (i = 1; i <= need; i++) {
		if ((size_t)i >= n)
			return 0;
		if (s[i] < lo || s[i] > hi)
			return -i;
		lo = 0x80;
		hi = 0xBF;
	}
	return need + 1;
}

size_t bn_utf8_valid_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0;

	for (;;) {
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		while (i < n && s[i] < 0x80)
			i++;
		if (i >= n)
			return n;
		int k = bn_utf8_step(s + i, n - i);
		if (k <= 0)
			return i;
		i += (size_t)k;
	}
}

int bn_utf8_sanitize(const char *str, size_t n, char **out, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, o = 0, cap;
	char *buf;

	/* Worst case: every byte becomes U+FFFD (3 bytes). */
	if (bn_mul_ok(n, 3, &cap) || bn_add_ok(cap, 1, &cap))
		return BN_ENOMEM;
	if (!(buf = malloc(cap)))
		return BN_ENOMEM;
	while (i < n) {
		size_t v = bn_utf8_valid_prefix(s + i, n - i);
		memcpy(buf + o, s + i, v);
		o += v;
		i += v;
		if (i >= n)
			break;
		int k = bn_utf8_step(s + i, n - i);
		/* k == 0: truncated at the end: one U+FFFD for the rest */
		i += k < 0 ? (size_t)-k : n - i;
		memcpy(buf + o, "\xEF\xBF\xBD", 3);
		o += 3;
	}
	buf[o] = 0;
	*out = buf;
	*outlen = o;
	return BN_OK;
}
