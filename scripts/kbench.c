/* kbench.c - quick single-thread kernel timing (not part of the build; the
 * real numbers come from bn-bench):
 *   cc -O2 -Ilib -Ikernels scripts/kbench.c build/libbn.a -lm -pthread -o /tmp/kbench
 * Single-threaded; prints, per table, GB/s of weights streamed and GOPS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bn.h"
#include "kernels.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t s = 12345;
static uint32_t rnd(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (uint32_t)(s >> 32); }

static void *big(size_t n)
{
	void *p = aligned_alloc(64, (n + 63) / 64 * 64);
	if (!p) abort();
	return p;
}

/* Read bandwidth of one core: sum of 64-bit words of a 512 MB buffer. */
static double stream_read(void)
{
	size_t n = (size_t)512 << 20, i;
	uint64_t *a = big(n), acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
	double best = 0;
	int rep;

	memset(a, 1, n);
	for (rep = 0; rep < 3; rep++) {
		double t = now();
		for (i = 0; i < n / 8; i += 4) {
			acc0 += a[i]; acc1 += a[i + 1]; acc2 += a[i + 2]; acc3 += a[i + 3];
		}
		t = now() - t;
		if (n / t / 1e9 > best) best = n / t / 1e9;
	}
	if (acc0 + acc1 + acc2 + acc3 == 42) puts("");
	free(a);
	return best;
}

int main(int argc, char **argv)
{
	const struct bn_kernels *ks[8];
	int nk = bn_kernels_all(ks, 8), i, rep;
	static const int shapes[2][2] = { { 6912, 2560 }, { 2560, 6912 } };
	int copies = 16;	/* cold: cycle through 16 x 4.4 MB > L3 */

#ifndef GEMM_ONLY
	printf("read bandwidth (1 core, plain C sum): %.1f GB/s\n", stream_read());
#endif
	for (i = 0; i < nk; i++) {
		const struct bn_kernels *k = ks[i];
		int sh;
		if (argc > 1 && strcmp(argv[1], k->name)) continue;
		for (sh = 0; sh < 2; sh++) {
			int rows = shapes[sh][0], n = shapes[sh][1], nb = bn_t2_nb(n), c;
			size_t rb = (size_t)nb * 32, mb = rb * rows;
			uint8_t *w = big(mb * copies);
			int8_t *x = big((size_t)nb * 128 * 128);
			int32_t *y = big(sizeof(int32_t) * rows * 128);
			double t, best_hot = 1e9, best_cold = 1e9;
			int reps = k == &bn_kernels_scalar ? 2 : 20;

			for (size_t j = 0; j < mb * copies; j++) w[j] = (uint8_t)(rnd() % 3 | (rnd() % 3) << 2 | (rnd() % 3) << 4 | (rnd() % 3) << 6);
			for (size_t j = 0; j < (size_t)nb * 128 * 128; j++) x[j] = (int8_t)rnd();
#ifdef GEMM_ONLY
			reps = 0;
			copies = 1;
#endif
			for (rep = 0; rep < reps; rep++) {
				t = now();
				k->gemv_t2(w, rb, 0, rows, x, nb, y);
				t = now() - t;
				if (t < best_hot) best_hot = t;
			}
			for (rep = 0; rep < reps; rep++)
				for (c = 0; c < copies; c++) {
					t = now();
					k->gemv_t2(w + mb * c, rb, 0, rows, x, nb, y);
					t = now() - t;
					if (t < best_cold) best_cold = t;
				}
			printf("%-7s gemv_t2 %5dx%-5d %.2f MB: hot %6.1f GB/s (%5.0f us), cold %6.1f GB/s (%5.0f us)\n",
			       k->name, rows, n, mb / 1e6, mb / best_hot / 1e9, best_hot * 1e6,
			       mb / best_cold / 1e9, best_cold * 1e6);
			{
				int T = 128;
				double best = 1e9;
				for (rep = 0; rep < (k == &bn_kernels_scalar ? 1 : 25); rep++) {
					t = now();
					k->gemm_t2(w, rb, 0, rows, x, (size_t)nb * 128, T, nb, y, rows);
					t = now() - t;
					if (t < best) best = t;
				}
				printf("%-7s gemm_t2 %5dx%-5d T=%d: %6.1f GOPS (%.2f ms; 2 ops per weight x token)\n",
				       k->name, rows, n, T, 2.0 * rows * n * T / best / 1e9, best * 1e3);
			}
			free(w); free(x); free(y);
		}
#ifndef GEMM_ONLY
		{
			int rows = 128256, n = 2560, r;
			size_t bytes = (size_t)rows * n * 2;
			uint16_t *h = big(bytes);
			float *x = big(sizeof(float) * n), *y = big(sizeof(float) * rows);
			double t, b1 = 1e9, b2 = 1e9;
			for (size_t j = 0; j < (size_t)rows * n; j++) h[j] = bn_f32_to_f16((float)(int32_t)rnd() / 2147483648.0f);
			for (int j = 0; j < n; j++) x[j] = 1.0f;
			for (rep = 0; rep < (k == &bn_kernels_scalar ? 1 : 4); rep++) {
				t = now();
				for (r = 0; r < rows; r++) y[r] = k->dot_f16(h + (size_t)r * n, x, n);
				t = now() - t;
				if (t < b1) b1 = t;
				t = now();
				k->gemv_f16(h, n, 0, rows, x, n, y);
				t = now() - t;
				if (t < b2) b2 = t;
			}
			printf("%-7s head f16 %dx%d %.0f MB: dot_f16 per row %5.1f GB/s, gemv_f16 %5.1f GB/s (%.1f ms)\n",
			       k->name, rows, n, bytes / 1e6, bytes / b1 / 1e9, bytes / b2 / 1e9, b2 * 1e3);
			free(h);
			{
				size_t qb = (size_t)n / 32 * 34, qbytes = qb * rows;
				uint8_t *q = big(qbytes);
				double bq = 1e9;
				for (size_t j = 0; j < qbytes; j++) q[j] = (uint8_t)rnd();
				for (r = 0; r < rows; r++) { q[r * qb] = 0; q[r * qb + 1] = 0x3c; }
				for (rep = 0; rep < (k == &bn_kernels_scalar ? 1 : 4); rep++) {
					t = now();
					for (r = 0; r < rows; r++) y[r] = k->dot_q8_0(q + (size_t)r * qb, x, n);
					t = now() - t;
					if (t < bq) bq = t;
				}
				printf("%-7s head q8_0 %dx%d %.0f MB: dot_q8_0 per row %5.1f GB/s (%.1f ms)\n",
				       k->name, rows, n, qbytes / 1e6, qbytes / bq / 1e9, bq * 1e3);
				free(q);
			}
			free(x); free(y);
		}
#endif
	}
	return 0;
}
