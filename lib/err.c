/* err.c - error names and the error context. */
#include <stdarg.h>
#include <stdio.h>

#include "bn.h"

const char *bn_strerror(int err)
{
	switch (err) {
	case BN_OK: return "success";
	case BN_EIO: return "input/output error";
	case BN_EFORMAT: return "malformed input";
	case BN_ENOMEM: return "out of memory";
	case BN_ERANGE: return "value out of range";
	case BN_EINVAL: return "invalid argument";
	case BN_EUNSUP: return "unsupported";
	case BN_ENET: return "network error";
	case BN_EVERIFY: return "verification failed";
	case BN_ENOENT: return "not found";
	}
	return "unknown error";
}

/* Messages quote names and strings taken from files: keep them one line of
 * valid UTF-8 without terminal controls, whatever the file holds.  Control
 * bytes and bytes of invalid (or cut) UTF-8 sequences become '?'. */
static void sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 1 :
			(*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 && *p <= 0xf4 ? 3 : -1;
		int i;
		if (n == 0) {
			if (*p < 0x20 || *p == 0x7f)
				*p = '?';
			p++;
			continue;
		}
		for (i = 1; n > 0 && i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = -1;
		/* overlong 3/4-byte forms, surrogates, > U+10FFFF */
		if ((n == 2 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0))) ||
		    (n == 3 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))))
			n = -1;
		if (n < 0) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

int bn_fail(struct bn_errbuf *eb, int code, const char *fmt, ...)
{
	va_list ap;

	if (eb) {
		va_start(ap, fmt);
		vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
		va_end(ap);
		sanitize(eb->msg);
	}
	return code;
}
