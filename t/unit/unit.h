/* unit.h - a tiny TAP producer for the C unit tests.
 * CHECK(cond, fmt, ...) prints "ok N - ..." or "not ok N - ..."; main returns
 * unit_done(), which prints the plan and exits non-zero on any failure. */
#ifndef BN_UNIT_H
#define BN_UNIT_H

#include <stdio.h>

static int unit_n, unit_failed;

#define CHECK(cond, ...) do { \
	int unit_ok_ = !!(cond);	/* evaluated once: side effects are safe */ \
	unit_n++; \
	if (unit_ok_) { printf("ok %d - ", unit_n); } \
	else { unit_failed++; printf("not ok %d - ", unit_n); } \
	printf(__VA_ARGS__); \
	if (!unit_ok_) printf(" (%s:%d: %s)", __FILE__, __LINE__, #cond); \
	putchar('\n'); \
} while (0)

static inline int unit_done(void)
{
	printf("1..%d\n", unit_n);
	return unit_failed ? 1 : 0;
}

#endif
