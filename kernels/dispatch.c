/* dispatch.c - choose the kernel table once, from the CPU's features.
 * BN_KERNELS=scalar|avx2|avx512|neon overrides (if the CPU supports it). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

#include "kernels.h"

#if defined(__x86_64__)
#include <cpuid.h>

/* CPUID.1:ECX.F16C; clang before 17 has no "f16c" for __builtin_cpu_supports */
static int has_f16c(void)
{
	unsigned a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}
#endif

static int supported(const struct bn_kernels *k)
{
	if (k == &bn_kernels_scalar)
		return 1;
#if defined(__x86_64__)
	/* GCC >= 8 checks XCR0 too (the OS saves the wide registers). */
	if (k == &bn_kernels_avx2)	/* Haswell+, Zen+ */
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		       has_f16c();
	/* Cascade Lake+, Zen 4+: BW/VL/DQ + VNNI. */
	if (k == &bn_kernels_avx512)
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
		       __builtin_cpu_supports("avx512dq") && has_f16c();
#endif
#if defined(__aarch64__)
	if (k == &bn_kernels_neon)	/* Armv8.2+ with dot product (Graviton2+, Apple M1+) */
		return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
	return 0;
}

/* Best first. */
static const struct bn_kernels *const tables[] = {
#if defined(BN_HAVE_AVX512)
	&bn_kernels_avx512,
#endif
#if defined(BN_HAVE_AVX2)
	&bn_kernels_avx2,
#endif
#if defined(BN_HAVE_NEON)
	&bn_kernels_neon,
#endif
	&bn_kernels_scalar,
};

const struct bn_kernels *bn_kernels_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (!strcmp(tables[i]->name, name) && supported(tables[i]))
			return tables[i];
	return NULL;
}

int bn_kernels_all(const struct bn_kernels **out, int max)
{
	int n = 0, i;

	for (i = (int)(sizeof(tables) / sizeof(tables[0])) - 1; i >= 0 && n < max; i--)
		if (supported(tables[i]))
			out[n++] = tables[i];
	return n;
}

static const struct bn_kernels *chosen;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void choose(void)
{
	const char *env = getenv("BN_KERNELS");
	size_t i;

	if (env && *env && (chosen = bn_kernels_find(env)))
		return;
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (supported(tables[i])) {
			chosen = tables[i];
			return;
		}
	chosen = &bn_kernels_scalar;
}

const struct bn_kernels *bn_kernels_get(void)
{
	pthread_once(&once, choose);
	return chosen;
}
