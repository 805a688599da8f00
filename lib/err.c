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

int bn_fail(struct bn_errbuf *eb, int code, const char *fmt, ...)
{
	va_list ap;

	if (eb) {
		va_start(ap, fmt);
		vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}
