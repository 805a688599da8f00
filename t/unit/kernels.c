/* kernels.c - every kernel table this CPU runs against the scalar reference.
 * Integer kernels (gemv_t2, gemm_t2, quant_i8) must agree exactly; float
 * dots within DOT_RTOL of the sum of |products|.  Outputs are poisoned
 * first so an unwritten element shows up. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bn.h"
#include "kernels.h"
#include "unit.h"

/* Float results may differ from scalar only by summation order: allow
 * 1e-5 of sum |a_i b_i| (random data here stays under ~1e-6). */
#define DOT_RTOL 1e-5

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

static float frnd(void)		/* uniform in [-1, 1) */
{
	return (float)((int32_t)rnd()) / 2147483648.0f;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

/* x: nb*128 int8, the first n random (mode 0), extremes (1: -128/127, 2: all
 * -128, 3: all 127), the rest zero as quant_i8 leaves them. */
static void fill_x(int8_t *x, int n, int nb, int mode)
{
	int i;

	for (i = 0; i < nb * 128; i++) {
		int v = mode == 0 ? (int)(rnd() % 256) - 128 :
			mode == 1 ? ((rnd() & 1) ? 127 : -128) : mode == 2 ? -128 : 127;
		x[i] = (int8_t)(i < n ? v : 0);
	}
}

/* W: rows of T2 blocks.  mode 0: packed random ternary rows of n values
 * (padding code 1); mode 1: every byte random (codes 0..3 anywhere, the
 * kernels are linear in the code so 3 must agree too); mode 2: all code 2
 * (weight +1); mode 3: all code 0 (weight -1). */
static void fill_w(uint8_t *w, int rows, int n, int nb, int mode)
{
	int8_t *t = xmalloc((size_t)n);
	int r, i;

	for (r = 0; r < rows; r++) {
		uint8_t *row = w + (size_t)r * nb * 32;
		if (mode == 0) {
			for (i = 0; i < n; i++)
				t[i] = (int8_t)((int)(rnd() % 3) - 1);
			bn_t2_pack_row(t, n, row);
		} else {
			for (i = 0; i < nb * 32; i++)
				row[i] = (uint8_t)(mode == 1 ? rnd() : mode == 2 ? 0xaa : 0x00);
		}
	}
	free(t);
}

static void test_pack(void)
{
	static const int ns[] = { 1, 31, 32, 127, 128, 129, 300, 2560 };
	size_t c;
	int bad = 0;

	for (c = 0; c < sizeof(ns) / sizeof(ns[0]); c++) {
		int n = ns[c], nb = bn_t2_nb(n), i, j;
		int8_t *a = xmalloc((size_t)n), *b = xmalloc((size_t)n);
		uint8_t *p = xmalloc((size_t)nb * 32);

		for (i = 0; i < n; i++)
			a[i] = (int8_t)((int)(rnd() % 3) - 1);
		memset(p, 0xff, (size_t)nb * 32);
		bn_t2_pack_row(a, n, p);
		bn_t2_unpack_row(p, n, b);
		bad += memcmp(a, b, (size_t)n) != 0;
		/* padding elements hold code 1 (weight 0); code 3 never occurs */
		for (i = n; i < nb * 128; i++) {
			int bl = i / 128, l = (i % 128) / 32, by = i % 32;
			bad += ((p[bl * 32 + by] >> (2 * l)) & 3) != 1;
		}
		for (j = 0; j < nb * 32; j++)
			for (i = 0; i < 4; i++)
				bad += ((p[j] >> (2 * i)) & 3) == 3;
		free(a);
		free(b);
		free(p);
	}
	CHECK(bad == 0, "bn_t2_pack_row/unpack_row round trip, padding code 1");
	{
		/* element 128b+32l+j sits in bits 2l of byte j of block b */
		int8_t v[256] = { 0 };
		uint8_t p[64];
		v[128 + 64 + 5] = 1;	/* b=1 l=2 j=5: code 2 at bits 5:4 */
		v[31] = -1;		/* b=0 l=0 j=31: code 0 at bits 1:0 */
		bn_t2_pack_row(v, 256, p);
		CHECK(p[32 + 5] == (0x55 & ~0x30) + 0x20 && p[31] == 0x54 && p[0] == 0x55,
		      "T2 byte layout");
	}
}

static void test_gemv(const struct bn_kernels *k)
{
	static const int nbs[] = { 1, 2, 3, 4, 5, 6, 7, 20, 54, 129, 300 };
	static const int rowss[] = { 1, 2, 3, 4, 5, 7, 8, 9, 13, 33 };
	size_t a, b;
	int bad = 0, cases = 0, mode, wm;

	for (a = 0; a < sizeof(nbs) / sizeof(nbs[0]); a++)
		for (b = 0; b < sizeof(rowss) / sizeof(rowss[0]); b++)
			for (mode = 0; mode < 4; mode++)
				for (wm = 0; wm < 4; wm++) {
					int nb = nbs[a], rows = rowss[b], n = nb * 128 - (int)(rnd() % 128);
					int r0 = rows > 2 ? (int)(rnd() % 2) : 0, r1 = rows - (rows > 5);
					uint8_t *w = xmalloc((size_t)rows * nb * 32);
					int8_t *x = xmalloc((size_t)nb * 128);
					int32_t *y0 = xmalloc(sizeof(int32_t) * (size_t)(rows + 8));
					int32_t *y1 = xmalloc(sizeof(int32_t) * (size_t)(rows + 8));

					fill_w(w, rows, n, nb, wm);
					fill_x(x, n, nb, mode);
					memset(y0, 0x7f, sizeof(int32_t) * (size_t)(rows + 8));
					memset(y1, 0x7f, sizeof(int32_t) * (size_t)(rows + 8));
					bn_kernels_scalar.gemv_t2(w, (size_t)nb * 32, r0, r1, x, nb, y0);
					k->gemv_t2(w, (size_t)nb * 32, r0, r1, x, nb, y1);
					bad += memcmp(y0, y1, sizeof(int32_t) * (size_t)(rows + 8)) != 0;
					cases++;
					free(w);
					free(x);
					free(y0);
					free(y1);
				}
	CHECK(bad == 0, "%s: gemv_t2 equals scalar exactly (%d cases, %d differ)", k->name, cases, bad);

	{
		/* the extremes: all +1 weights against all -128, all -1 against -128
		 * (nb = 300: several column chunks in the avx512 table) */
		int nb = 300, rows = 5, i;
		uint8_t *w = xmalloc((size_t)rows * nb * 32);
		int8_t *x = xmalloc((size_t)nb * 128);
		int32_t y[5];

		fill_w(w, rows, nb * 128, nb, 2);
		fill_x(x, nb * 128, nb, 2);
		k->gemv_t2(w, (size_t)nb * 32, 0, rows, x, nb, y);
		for (i = 0; i < rows; i++)
			bad += y[i] != -128 * nb * 128;
		fill_w(w, rows, nb * 128, nb, 3);
		k->gemv_t2(w, (size_t)nb * 32, 0, rows, x, nb, y);
		for (i = 0; i < rows; i++)
			bad += y[i] != 128 * nb * 128;
		CHECK(bad == 0, "%s: gemv_t2 at the int8 extremes", k->name);
		/* nb = 0: empty rows sum to 0; empty row range writes nothing */
		y[0] = y[1] = 99;
		k->gemv_t2(w, 0, 0, 1, x, 0, y);
		k->gemv_t2(w, 32, 3, 3, x, 1, y + 1);
		CHECK(y[0] == 0 && y[1] == 99, "%s: gemv_t2 with nb = 0 and with no rows", k->name);
		y[0] = y[1] = 99;
		{
			int32_t zero = 0;
			k->gemm_t2(w, 0, 0, 1, x, 0, &zero, 1, 0, y, 1);
			k->gemm_t2(w, 32, 0, 1, x, 128, &zero, 0, 1, y + 1, 1);
		}
		CHECK(y[0] == 0 && y[1] == 99, "%s: gemm_t2 with nb = 0 and with T = 0", k->name);
		free(w);
		free(x);
	}
}

/* The per-token sums gemm_t2 takes (as the caller computes them once). */
static int32_t *xsums(const int8_t *x, size_t ldx, int T, int nb)
{
	int32_t *s = xmalloc(sizeof(int32_t) * (size_t)(T > 0 ? T : 1));
	int t;

	for (t = 0; t < T; t++)
		s[t] = bn_kernels_scalar.sum_i8(x + (size_t)t * ldx, nb);
	return s;
}

static void test_sum(const struct bn_kernels *k)
{
	static const int nbs[] = { 0, 1, 2, 3, 5, 54, 129 };
	int bad = 0, v;
	size_t a, i;

	for (a = 0; a < sizeof(nbs) / sizeof(nbs[0]); a++) {
		size_t n = (size_t)nbs[a] * 128;
		int8_t *x = xmalloc(n + 1);
		for (i = 0; i < n; i++)
			x[i] = (int8_t)(rnd() % 256 - 128);
		bad += k->sum_i8(x, nbs[a]) != bn_kernels_scalar.sum_i8(x, nbs[a]);
		for (v = -128; v <= 127; v += 255) {	/* the extremes */
			memset(x, v, n);
			bad += k->sum_i8(x, nbs[a]) != v * (int)n;
		}
		free(x);
	}
	CHECK(bad == 0, "%s: sum_i8 equals scalar, and at the int8 extremes", k->name);
}

/* scale_i32 equals scalar bit for bit: int32 sums of every magnitude
 * (conversions that round), activation and weight scales at random. */
static void test_scale(const struct bn_kernels *k)
{
	static const int ns[] = { 0, 1, 7, 8, 15, 16, 17, 100, 2560 };
	int bad = 0;
	size_t a;

	for (a = 0; a < sizeof(ns) / sizeof(ns[0]); a++) {
		int n = ns[a], i;
		float *y0 = xmalloc(sizeof(float) * (size_t)(n + 1)), *y1 = xmalloc(sizeof(float) * (size_t)(n + 1));
		float inv = 0.01f + (float)(rnd() % 100000) / 7.0f, sc = (float)(rnd() % 1000 + 1) / 333.0f;
		for (i = 0; i <= n; i++) {
			int32_t v = (int32_t)rnd() >> (rnd() % 31);
			memcpy(&y0[i], &v, sizeof(v));
		}
		memcpy(y1, y0, sizeof(float) * (size_t)(n + 1));
		bn_kernels_scalar.scale_i32(y0, n, inv, sc);
		k->scale_i32(y1, n, inv, sc);
		bad += memcmp(y0, y1, sizeof(float) * (size_t)(n + 1)) != 0;	/* y[n] untouched */
		free(y0);
		free(y1);
	}
	CHECK(bad == 0, "%s: scale_i32 equals scalar bit for bit, nothing written past n", k->name);
}

/* rmsnorm equals scalar bit for bit: every tail length, model widths,
 * magnitudes from 1e-20 to 1e20. */
static void test_rmsnorm(const struct bn_kernels *k)
{
	static const int ns[] = { 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 100, 2560, 6912 };
	int bad = 0;
	size_t a;

	for (a = 0; a < sizeof(ns) / sizeof(ns[0]); a++) {
		int n = ns[a], i;
		float *x = xmalloc(sizeof(float) * (size_t)n), *w = xmalloc(sizeof(float) * (size_t)n);
		float *y0 = xmalloc(sizeof(float) * (size_t)(n + 1)), *y1 = xmalloc(sizeof(float) * (size_t)(n + 1));
		float mag = powf(10.0f, (float)((int)(rnd() % 41) - 20));
		for (i = 0; i < n; i++) {
			x[i] = mag * ((float)(rnd() % 20001) / 10000.0f - 1.0f);
			w[i] = (float)(rnd() % 3001) / 1000.0f - 1.0f;
		}
		y0[n] = y1[n] = 7.0f;
		bn_kernels_scalar.rmsnorm(y0, x, w, n, 1e-5f);
		k->rmsnorm(y1, x, w, n, 1e-5f);
		bad += memcmp(y0, y1, sizeof(float) * (size_t)(n + 1)) != 0;
		free(x);
		free(w);
		free(y0);
		free(y1);
	}
	CHECK(bad == 0, "%s: rmsnorm equals scalar bit for bit, nothing written past n", k->name);
}

static void test_gemm(const struct bn_kernels *k)
{
	static const int nbs[] = { 1, 2, 3, 5, 7, 20, 54 };
	static const int Ts[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 17 };
	static const int rowss[] = { 1, 3, 4, 6, 9, 16, 21 };
	size_t a, b, c;
	int bad = 0, cases = 0;

	for (a = 0; a < sizeof(nbs) / sizeof(nbs[0]); a++)
		for (b = 0; b < sizeof(Ts) / sizeof(Ts[0]); b++)
			for (c = 0; c < sizeof(rowss) / sizeof(rowss[0]); c++) {
				int nb = nbs[a], T = Ts[b], rows = rowss[c], t;
				int n = nb * 128 - (int)(rnd() % 128), wm = (int)(rnd() % 4);
				int r0 = rows > 2 ? 1 : 0, r1 = rows - (rows > 4);
				size_t ldx = (size_t)nb * 128 + 64 * (rnd() % 2), ldy = (size_t)rows + 3;
				uint8_t *w = xmalloc((size_t)rows * nb * 32);
				int8_t *x = xmalloc(ldx * (size_t)T);
				size_t ysz = sizeof(int32_t) * ldy * (size_t)(T + 8);	/* + poisoned rows */
				int32_t *y0 = xmalloc(ysz), *y1 = xmalloc(ysz), *xs;

				fill_w(w, rows, n, nb, wm);
				memset(x, 0x55, ldx * (size_t)T);	/* gaps between rows of x */
				for (t = 0; t < T; t++)
					fill_x(x + (size_t)t * ldx, n, nb, t % 3 ? 0 : (int)(rnd() % 4));
				memset(y0, 0x7f, ysz);
				memset(y1, 0x7f, ysz);
				xs = xsums(x, ldx, T, nb);
				bn_kernels_scalar.gemm_t2(w, (size_t)nb * 32, r0, r1, x, ldx, xs, T, nb, y0, ldy);
				k->gemm_t2(w, (size_t)nb * 32, r0, r1, x, ldx, xs, T, nb, y1, ldy);
				bad += memcmp(y0, y1, ysz) != 0;
				cases++;
				free(xs);
				free(w);
				free(x);
				free(y0);
				free(y1);
			}
	CHECK(bad == 0, "%s: gemm_t2 equals scalar exactly (%d cases, %d differ)", k->name, cases, bad);

	{
		/* a chunked case: enough tokens that tables split them */
		int nb = 20, T = 150, rows = 10, t;
		size_t ldx = (size_t)nb * 128, ysz = sizeof(int32_t) * (size_t)rows * (T + 8);
		uint8_t *w = xmalloc((size_t)rows * nb * 32);
		int8_t *x = xmalloc(ldx * T);
		int32_t *y0 = xmalloc(ysz), *y1 = xmalloc(ysz), *yv = xmalloc(sizeof(int32_t) * rows);

		fill_w(w, rows, nb * 128, nb, 0);
		for (t = 0; t < T; t++)
			fill_x(x + (size_t)t * ldx, nb * 128, nb, 0);
		memset(y0, 0x7f, ysz);
		memset(y1, 0x7f, ysz);
		int32_t *xs = xsums(x, ldx, T, nb);
		bn_kernels_scalar.gemm_t2(w, (size_t)nb * 32, 0, rows, x, ldx, xs, T, nb, y0, rows);
		k->gemm_t2(w, (size_t)nb * 32, 0, rows, x, ldx, xs, T, nb, y1, rows);
		free(xs);
		bad = memcmp(y0, y1, ysz) != 0;
		/* gemm row t equals gemv of token t */
		for (t = 0; t < T; t++) {
			k->gemv_t2(w, (size_t)nb * 32, 0, rows, x + (size_t)t * ldx, nb, yv);
			bad += memcmp(yv, y1 + (size_t)t * rows, sizeof(int32_t) * rows) != 0;
		}
		CHECK(bad == 0, "%s: gemm_t2 with T=%d equals scalar and gemv_t2", k->name, T);
		free(w);
		free(x);
		free(y0);
		free(y1);
		free(yv);
	}
}

static int quant_same(const struct bn_kernels *k, const float *x, int n, int npad)
{
	int8_t *q0 = xmalloc((size_t)npad), *q1 = xmalloc((size_t)npad);
	float s0, s1;
	int same;

	memset(q0, 0x5a, (size_t)npad);
	memset(q1, 0x5a, (size_t)npad);
	s0 = bn_kernels_scalar.quant_i8(x, n, npad, q0);
	s1 = k->quant_i8(x, n, npad, q1);
	same = memcmp(&s0, &s1, sizeof(float)) == 0 && memcmp(q0, q1, (size_t)npad) == 0;
	free(q0);
	free(q1);
	return same;
}

static void test_quant(const struct bn_kernels *k)
{
	static const int ns[] = { 1, 2, 7, 15, 16, 17, 31, 33, 64, 100, 127, 128, 129, 2560, 6912 };
	size_t c;
	int bad = 0, i;
	float *x = xmalloc(sizeof(float) * 7000);

	for (c = 0; c < sizeof(ns) / sizeof(ns[0]); c++) {
		int n = ns[c], npad = bn_t2_nb(n) * 128, rep;
		for (rep = 0; rep < 4; rep++) {
			float scale = rep == 0 ? 1.0f : rep == 1 ? 1e-3f : rep == 2 ? 300.0f : 1e-7f;
			for (i = 0; i < n; i++)
				x[i] = frnd() * scale;
			bad += !quant_same(k, x, n, npad);
		}
	}
	CHECK(bad == 0, "%s: quant_i8 equals scalar exactly on random input", k->name);

	/* exact ties: amax 127 gives s = 1, so k + 0.5 rounds to the even k */
	{
		static const float ties[] = { 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, -126.5f,
					      3.5f, 4.5f, 127.0f, -127.0f, 0.0f, -0.0f, 63.5f, 64.5f, 5.5f };
		int n = (int)(sizeof(ties) / sizeof(ties[0])), npad = 128;
		int8_t q[128];
		float s;

		memcpy(x, ties, sizeof(ties));
		bad = !quant_same(k, x, n, npad);
		s = k->quant_i8(x, n, npad, q);
		bad += s != 1.0f || q[0] != 0 || q[1] != 2 || q[2] != 2 || q[3] != 0 || q[4] != -2 ||
		       q[5] != -2 || q[6] != 126 || q[7] != -126 || q[8] != 4 || q[9] != 4 ||
		       q[15] != 64 || q[16] != 6;
		/* s = 0.5 (amax 254): odd integers tie */
		for (i = 0; i < 40; i++)
			x[i] = (float)(2 * i + 1) * (i % 2 ? 1.0f : -1.0f);
		x[40] = 254.0f;
		bad += !quant_same(k, x, 41, 128);
		for (i = 0; i < 41; i++)
			x[i] = (float)(2 * i - 41);
		x[41] = -254.0f;
		bad += !quant_same(k, x, 42, 256);
		CHECK(bad == 0, "%s: quant_i8 rounds exact .5 ties to even like scalar", k->name);
	}

	/* all zero: s = 127 / 1e-5, q all zero, padding zero */
	{
		int8_t q[256];

		memset(x, 0, sizeof(float) * 200);
		memset(q, 0x33, sizeof(q));
		bad = !quant_same(k, x, 200, 256);
		bad += k->quant_i8(x, 200, 256, q) != 127.0f / 1e-5f;
		for (i = 0; i < 256; i++)
			bad += q[i] != 0;
		CHECK(bad == 0, "%s: quant_i8 of all zeros", k->name);
	}
	free(x);
}

static double sumabs_f(const float *a, const float *b, int n)
{
	double s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += fabs((double)a[i] * b[i]);
	return s;
}

static void test_dots(const struct bn_kernels *k)
{
	static const int ns[] = { 0, 1, 2, 5, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 255, 2560, 6913 };
	int nmax = 6913 + 64, i;
	float *a = xmalloc(sizeof(float) * nmax), *b = xmalloc(sizeof(float) * nmax);
	float *wf = xmalloc(sizeof(float) * nmax);
	uint16_t *h = xmalloc(2 * nmax), *bf = xmalloc(2 * nmax);
	uint8_t *q8 = xmalloc((size_t)nmax / 32 * 34 + 34);
	float *wq = xmalloc(sizeof(float) * nmax);
	double worst[4] = { 0, 0, 0, 0 };
	int bad[4] = { 0, 0, 0, 0 };
	size_t c;

	for (i = 0; i < nmax; i++) {
		a[i] = frnd();
		b[i] = frnd() * 4.0f;
		h[i] = bn_f32_to_f16(frnd() * 2.0f);
		bf[i] = bn_f32_to_bf16(frnd() * 3.0f);
	}
	for (i = 0; i < nmax / 32; i++) {
		uint8_t *blk = q8 + 34 * i;
		uint16_t d = bn_f32_to_f16(0.01f + 0.001f * (float)(i % 7));
		int j;
		blk[0] = (uint8_t)d;
		blk[1] = (uint8_t)(d >> 8);
		for (j = 0; j < 32; j++) {
			blk[2 + j] = (uint8_t)(j == 0 ? 0x80 : j == 1 ? 0x7f : rnd());
			wq[32 * i + j] = bn_f16_to_f32(d) * (float)(int8_t)blk[2 + j];
		}
	}
	for (c = 0; c < sizeof(ns) / sizeof(ns[0]); c++) {
		int n = ns[c], nq = n / 32 * 32;
		double tol, e;

		tol = DOT_RTOL * sumabs_f(a, b, n) + FLT_MIN;
		e = fabs((double)k->dot_f32(a, b, n) - bn_kernels_scalar.dot_f32(a, b, n));
		bad[0] += !(e <= tol);
		worst[0] = fmax(worst[0], e / tol);

		for (i = 0; i < n; i++)
			wf[i] = bn_f16_to_f32(h[i]);
		tol = DOT_RTOL * sumabs_f(wf, b, n) + FLT_MIN;
		e = fabs((double)k->dot_f16(h, b, n) - bn_kernels_scalar.dot_f16(h, b, n));
		bad[1] += !(e <= tol);
		worst[1] = fmax(worst[1], e / tol);

		for (i = 0; i < n; i++)
			wf[i] = bn_bf16_to_f32(bf[i]);
		tol = DOT_RTOL * sumabs_f(wf, b, n) + FLT_MIN;
		e = fabs((double)k->dot_bf16(bf, b, n) - bn_kernels_scalar.dot_bf16(bf, b, n));
		bad[2] += !(e <= tol);
		worst[2] = fmax(worst[2], e / tol);

		tol = DOT_RTOL * sumabs_f(wq, b, nq) + FLT_MIN;
		e = fabs((double)k->dot_q8_0(q8, b, nq) - bn_kernels_scalar.dot_q8_0(q8, b, nq));
		bad[3] += !(e <= tol);
		worst[3] = fmax(worst[3], e / tol);
	}
	CHECK(bad[0] == 0, "%s: dot_f32 within tolerance (worst %.3g of it)", k->name, worst[0]);
	CHECK(bad[1] == 0, "%s: dot_f16 within tolerance (worst %.3g of it)", k->name, worst[1]);
	CHECK(bad[2] == 0, "%s: dot_bf16 within tolerance (worst %.3g of it)", k->name, worst[2]);
	CHECK(bad[3] == 0, "%s: dot_q8_0 within tolerance (worst %.3g of it)", k->name, worst[3]);

	/* gemv_f16: every row bit-identical to this table's dot_f16, whatever
	 * the row range; and within tolerance of scalar */
	{
		static const int gn[] = { 1, 17, 33, 64, 130 };
		int rows = 11, bad_id = 0, bad_tol = 0;
		size_t ld = 131;
		uint16_t *hw = xmalloc(2 * ld * rows);
		float y[12], yref[12];

		for (i = 0; i < (int)ld * rows; i++)
			hw[i] = bn_f32_to_f16(frnd());
		for (c = 0; c < sizeof(gn) / sizeof(gn[0]); c++) {
			int n = gn[c], r0, r1, r;
			for (r0 = 0; r0 < 3; r0++)
				for (r1 = r0; r1 <= rows; r1 += 1 + (r1 > 6)) {
					for (r = 0; r < 12; r++)
						y[r] = NAN;
					k->gemv_f16(hw, ld, r0, r1, b, n, y);
					bn_kernels_scalar.gemv_f16(hw, ld, r0, r1, b, n, yref);
					for (r = r0; r < r1; r++) {
						float d = k->dot_f16(hw + (size_t)r * ld, b, n);
						int j;
						bad_id += memcmp(&d, &y[r - r0], sizeof(float)) != 0;
						for (j = 0; j < n; j++)
							wf[j] = bn_f16_to_f32(hw[(size_t)r * ld + j]);
						bad_tol += !(fabs((double)y[r - r0] - yref[r - r0]) <=
							     DOT_RTOL * sumabs_f(wf, b, n) + FLT_MIN);
					}
					bad_id += !isnan(y[r1 - r0]);	/* nothing past r1 */
				}
		}
		CHECK(bad_id == 0, "%s: gemv_f16 rows equal dot_f16 bit for bit, any row range", k->name);
		CHECK(bad_tol == 0, "%s: gemv_f16 within tolerance of scalar", k->name);
		free(hw);
	}

	/* f32_f16: as bn_f32_to_f16 (nearest even, inf, NaN) on a sweep of
	 * every 4093rd bit pattern plus the rounding edges, any n */
	{
		enum { NS = 4096 };
		static float fv[NS + 3];
		static uint16_t h1[NS + 3];
		int bad_h = 0, nn;
		uint64_t u = 0;

		while (u < 0x100000000ull) {
			for (nn = 0; nn < NS && u < 0x100000000ull; nn++, u += 4093) {
				uint32_t b = (uint32_t)u;
				if (nn % 8 == 1)	/* halfway and near-halfway mantissas */
					b = (b & 0xffffe000u) | 0x1000u | (uint32_t)(nn % 3 == 0);
				memcpy(&fv[nn], &b, 4);
			}
			h1[nn] = 0x5555;
			k->f32_f16(fv, h1, nn);
			for (i = 0; i < nn; i++)
				bad_h += h1[i] != bn_f32_to_f16(fv[i]);
			bad_h += h1[nn] != 0x5555;
		}
		CHECK(bad_h == 0, "%s: f32_f16 equals bn_f32_to_f16 (1 M values), nothing written past n",
		      k->name);
	}

	free(a);
	free(b);
	free(wf);
	free(h);
	free(bf);
	free(q8);
	free(wq);
}

/* n f16 values of random floats in [-lim, lim), and the same as float */
static void fill_kv(uint16_t *h, float *f, size_t n, float lim)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h[i] = bn_f32_to_f16(frnd() * lim);
		f[i] = bn_f16_to_f32(h[i]);
	}
}

/* attn_av and attn_av_f16: bit-identical to scalar attn_av one row at a
 * time (same order, no FMA) for any group size ng, on the same values
 * stored as float and as f16; nothing written past ng*hd. */
static void test_attn_av(const struct bn_kernels *k)
{
	static const int hds[] = { 1, 7, 8, 15, 16, 31, 32, 64, 100, 128, 131, 200 };
	static const int ns[] = { 0, 1, 5, 33 }, ngs[] = { 1, 3, 4, 5, 8 };
	int bad = 0, bad16 = 0, hi, ni, gi, g, i;
	size_t ld = 211, ldw = 37, no = 8 * 210;
	float *wv = xmalloc(sizeof(float) * 8 * ldw), *vv = xmalloc(sizeof(float) * 33 * ld);
	uint16_t *vh = xmalloc(2 * 33 * ld);
	float *o0 = xmalloc(sizeof(float) * no), *o1 = xmalloc(sizeof(float) * no);
	float *o2 = xmalloc(sizeof(float) * no);

	for (i = 0; i < (int)(8 * ldw); i++)
		wv[i] = (float)(rnd() % 1000) / 997.0f;
	fill_kv(vh, vv, 33 * ld, 3.3f);
	for (hi = 0; hi < (int)BN_LEN(hds); hi++)
		for (ni = 0; ni < (int)BN_LEN(ns); ni++)
			for (gi = 0; gi < (int)BN_LEN(ngs); gi++) {
				int hd = hds[hi], ng = ngs[gi];
				for (i = 0; i < (int)no; i++)
					o0[i] = o1[i] = o2[i] = -7.0f;
				for (g = 0; g < ng; g++)	/* one at a time */
					bn_kernels_scalar.attn_av(wv + g * ldw, ldw, 1, vv, ld, ns[ni], hd,
								  o0 + (size_t)g * hd);
				k->attn_av(wv, ldw, ng, vv, ld, ns[ni], hd, o1);
				k->attn_av_f16(wv, ldw, ng, vh, ld, ns[ni], hd, o2);
				bad += memcmp(o0, o1, sizeof(float) * no) != 0;
				bad16 += memcmp(o0, o2, sizeof(float) * no) != 0;
				for (i = ng * hd; i < (int)no; i++)
					bad += o1[i] != -7.0f, bad16 += o2[i] != -7.0f;
			}
	CHECK(bad == 0, "%s: attn_av bit-identical to scalar for groups of 1-8, "
	      "nothing written past ng*hd", k->name);
	CHECK(bad16 == 0, "%s: attn_av_f16 bit-identical to scalar attn_av on the widened "
	      "values, nothing written past ng*hd", k->name);
	free(wv);
	free(vv);
	free(vh);
	free(o0);
	free(o1);
	free(o2);
}

/* attn_qk and attn_qk_f16: bit-identical to scalar attn_qk one query at a
 * time (same summation order) for any n and group size, keys stored as
 * float and as f16; nothing written past n. */
static void test_attn_qk(const struct bn_kernels *k)
{
	static const int qn[] = { 1, 7, 16, 31, 32, 33, 64, 65, 100, 129 };
	static const int qh[] = { 2, 16, 64, 128 }, ngs[] = { 1, 3, 4, 5, 8 };
	int bad = 0, bad16 = 0, hi, gi, c, g, i;
	size_t ld = 160, ldo = 170;
	float *kt = xmalloc(sizeof(float) * 128 * ld), *o0 = xmalloc(sizeof(float) * 8 * ldo);
	float *o1 = xmalloc(sizeof(float) * 8 * ldo), *o2 = xmalloc(sizeof(float) * 8 * ldo);
	float *qv = xmalloc(sizeof(float) * 8 * 128);
	uint16_t *kh = xmalloc(2 * 128 * ld);

	fill_kv(kh, kt, 128 * ld, 4.0f);
	for (i = 0; i < 8 * 128; i++)
		qv[i] = frnd() * (1.0f + (float)(i / 128) * 0.25f);
	for (hi = 0; hi < (int)BN_LEN(qh); hi++)
		for (c = 0; c < (int)BN_LEN(qn); c++)
			for (gi = 0; gi < (int)BN_LEN(ngs); gi++) {
				int n = qn[c], hd = qh[hi], ng = ngs[gi], jj;
				for (i = 0; i < (int)(8 * ldo); i++)
					o0[i] = o1[i] = o2[i] = NAN;
				for (g = 0; g < ng; g++)
					bn_kernels_scalar.attn_qk(qv + g * hd, 1, kt, ld, n, hd,
								  o0 + g * ldo, ldo);
				k->attn_qk(qv, ng, kt, ld, n, hd, o1, ldo);
				k->attn_qk_f16(qv, ng, kh, ld, n, hd, o2, ldo);
				for (g = 0; g < ng; g++) {
					bad += memcmp(o0 + g * ldo, o1 + g * ldo, sizeof(float) * (size_t)n) != 0;
					bad16 += memcmp(o0 + g * ldo, o2 + g * ldo, sizeof(float) * (size_t)n) != 0;
					for (jj = n; jj < (int)ldo; jj++)
						bad += !isnan(o1[g * ldo + jj]), bad16 += !isnan(o2[g * ldo + jj]);
				}
				for (i = ng * (int)ldo; i < (int)(8 * ldo); i++)
					bad += !isnan(o1[i]), bad16 += !isnan(o2[i]);
			}
	CHECK(bad == 0, "%s: attn_qk bit-identical to scalar for groups of 1-8, "
	      "nothing written past n", k->name);
	CHECK(bad16 == 0, "%s: attn_qk_f16 bit-identical to scalar attn_qk on the widened "
	      "keys, nothing written past n", k->name);
	free(kt);
	free(kh);
	free(o0);
	free(o1);
	free(o2);
	free(qv);
}

/* attn_qk_f16 with hd = 1 and a query of 1 is 0 + 1 * key: every one of
 * the 65536 f16 values widens exactly (NaN stays NaN), alone and in a
 * group of four. */
static void test_attn_f16_values(const struct bn_kernels *k)
{
	enum { N = 65536 };
	static const float q[4] = { 1.0f, 1.0f, 1.0f, 1.0f };
	static uint16_t kh[N];
	static float o[4 * (N + 16)];
	int bad = 0, ng, g, i;

	for (i = 0; i < N; i++)
		kh[i] = (uint16_t)i;
	for (ng = 1; ng <= 4; ng += 3) {
		for (i = 0; i < 4 * (N + 16); i++)
			o[i] = -3.0f;
		k->attn_qk_f16(q, ng, kh, N, N, 1, o, N + 16);
		for (g = 0; g < ng; g++)
			for (i = 0; i < N + 16; i++) {
				float r = 0.0f + bn_f16_to_f32(kh[i % N]), y = o[g * (N + 16) + i];
				if (i >= N)
					bad += y != -3.0f;
				else
					bad += isnan(r) ? !isnan(y) : memcmp(&r, &y, 4) != 0;
			}
	}
	CHECK(bad == 0, "%s: attn_qk_f16 widens all 65536 f16 values exactly", k->name);
}

/* softmax: bit-identical to scalar for every length (vector bodies and
 * tails), scores far below the maximum (exponent under -104: 0), -inf,
 * equal maxima, signed zeros and a NaN (which never counts as the
 * largest); nothing written past n; and the scalar table within 2e-6 of a
 * double-precision softmax. */
static void test_softmax(const struct bn_kernels *k)
{
	static const int ns[] = { 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1000, 4097 };
	static float a0[4097 + 16], a1[4097 + 16];
	int bad = 0, far = 0, i, c, mode;

	for (c = 0; c < (int)BN_LEN(ns); c++)
		for (mode = 0; mode < 4; mode++) {
			int n = ns[c];
			for (i = 0; i < n + 16; i++)
				a0[i] = i < n ? frnd() * (mode == 1 ? 400.0f : 8.0f) : -7.0f;
			if (mode == 2)	/* all equal, with zeros of both signs */
				for (i = 0; i < n; i++)
					a0[i] = i % 3 ? 0.0f : -0.0f;
			if (mode == 3 && n > 3) {
				a0[n / 2] = -INFINITY;
				a0[n / 3] = NAN;
				a0[n - 1] = 0.0f;
			}
			memcpy(a1, a0, sizeof(a0));
			bn_kernels_scalar.softmax(a0, n, 0.088f);
			k->softmax(a1, n, 0.088f);
			bad += memcmp(a0, a1, sizeof(a0)) != 0;
		}
	CHECK(bad == 0, "%s: softmax bit-identical to scalar (%d cases, %d differ)", k->name,
	      (int)BN_LEN(ns) * 4, bad);
	if (k != &bn_kernels_scalar)
		return;
	for (c = 0; c < (int)BN_LEN(ns); c++) {
		int n = ns[c];
		double mx = -INFINITY, sum = 0.0;
		for (i = 0; i < n; i++) {
			a0[i] = frnd() * 30.0f;
			mx = fmax(mx, (double)a0[i] * 0.5f);
		}
		for (i = 0; i < n; i++)
			sum += exp((double)a0[i] * 0.5f - mx);
		memcpy(a1, a0, sizeof(a0));
		bn_kernels_scalar.softmax(a1, n, 0.5f);
		for (i = 0; i < n; i++) {
			double r = exp((double)a0[i] * 0.5f - mx) / sum;
			far += fabs(a1[i] - r) > 2e-6 * r + 1e-30;
		}
	}
	CHECK(far == 0, "scalar: softmax within 2e-6 of a double-precision one (%d far)", far);
}

int main(void)
{
	const struct bn_kernels *ks[8];
	int nk = bn_kernels_all(ks, 8), i;
	const char *env = getenv("BN_KERNELS");

	CHECK(nk >= 1 && ks[0] == &bn_kernels_scalar, "scalar table first of %d", nk);
	CHECK(bn_kernels_get() != NULL, "a table is chosen: %s", bn_kernels_get()->name);
	CHECK(bn_kernels_find("scalar") == &bn_kernels_scalar && !bn_kernels_find("nosuch"),
	      "tables found by name");
	if (env && *env && bn_kernels_find(env))
		CHECK(!strcmp(bn_kernels_get()->name, env), "BN_KERNELS=%s is honoured", env);
	for (i = 0; i < nk; i++) {
		const struct bn_kernels *k = ks[i];
		CHECK(k->gemv_t2 && k->gemm_t2 && k->sum_i8 && k->scale_i32 && k->rmsnorm && k->quant_i8 && k->dot_f32 && k->dot_f16 &&
		      k->dot_bf16 && k->dot_q8_0 && k->gemv_f16 && k->f32_f16 && k->attn_av && k->attn_qk &&
		      k->attn_av_f16 && k->attn_qk_f16 && k->softmax,
		      "%s: every function present", k->name);
	}
	test_pack();
	for (i = 0; i < nk; i++) {
		/* scalar against itself still checks determinism and the poisoning */
		test_gemv(ks[i]);
		test_sum(ks[i]);
		test_scale(ks[i]);
		test_rmsnorm(ks[i]);
		test_gemm(ks[i]);
		test_quant(ks[i]);
		test_dots(ks[i]);
		test_attn_av(ks[i]);
		test_attn_qk(ks[i]);
		test_attn_f16_values(ks[i]);
		test_softmax(ks[i]);
	}
	return unit_done();
}
