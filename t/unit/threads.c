/* threads.c - the pool: bn_pool_run gives every thread its index once,
 * bn_pool_run_ranges runs every unit exactly once in non-empty ranges
 * (also past the 2^20 units a slot holds), the others take over the units
 * of a thread that stalls, and thousands of short jobs of both kinds in a
 * row (late workers racing the next job) lose or repeat nothing. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "threads.h"
#include "unit.h"

#define MAXI 4096

struct items { atomic_int count[MAXI]; atomic_int bad_ith, calls; int nth; };

static void item_fn(void *arg, int i0, int i1, int ith)
{
	struct items *j = arg;

	if (i0 >= i1 || i0 < 0 || i1 > MAXI)
		atomic_fetch_add(&j->bad_ith, 1);
	for (; i0 < i1; i0++)
		atomic_fetch_add(&j->count[i0], 1);
	atomic_fetch_add(&j->calls, 1);
	if (ith < 0 || ith >= j->nth)
		atomic_fetch_add(&j->bad_ith, 1);
}

/* Thread 0 stalls 50 ms in its first range; the units it ran are
 * counted. */
struct stall { atomic_int mine, all, first; };

static void stall_fn(void *arg, int i0, int i1, int ith)
{
	struct stall *j = arg;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	if (ith == 0 && atomic_exchange(&j->first, 0))
		nanosleep(&ts, NULL);
	if (ith == 0)
		atomic_fetch_add(&j->mine, i1 - i0);
	atomic_fetch_add(&j->all, i1 - i0);
}

/* Many units: each counted once in a byte. */
#define BIG ((1 << 21) + 5)
struct big { unsigned char seen[BIG]; atomic_int bad; };

static void big_fn(void *arg, int i0, int i1, int ith)
{
	struct big *j = arg;

	(void)ith;
	if (i0 < 0 || i1 > BIG || i0 >= i1)
		atomic_fetch_add(&j->bad, 1);
	for (; i0 < i1; i0++)	/* ranges are disjoint, so plain bytes */
		j->seen[i0]++;
}

struct job { atomic_int seen[64]; atomic_int bad; };

static void job_fn(void *arg, int ith, int nth)
{
	struct job *j = arg;

	if (ith < 0 || ith >= nth || nth > 64)
		atomic_fetch_add(&j->bad, 1);
	else
		atomic_fetch_add(&j->seen[ith], 1);
}

int main(void)
{
	static struct items it;
	static struct job jb;
	int nth, rep, i;

	for (nth = 1; nth <= 4; nth++) {
		struct bn_pool *p;
		int wrong = 0, wrong_job = 0;

		CHECK(bn_pool_new(&p, nth) == BN_OK && bn_pool_size(p) == nth, "pool of %d", nth);
		for (rep = 0; rep < 3000; rep++) {
			int n = rep % 7 == 0 ? 0 : rep % 97 + 1;
			memset(&it, 0, sizeof(it));
			it.nth = nth;
			bn_pool_run_ranges(p, item_fn, &it, n);
			for (i = 0; i < n; i++)
				wrong += atomic_load(&it.count[i]) != 1;
			wrong += atomic_load(&it.bad_ith) != 0;
			if (rep % 3 == 0) {	/* a static job right after items */
				memset(&jb, 0, sizeof(jb));
				bn_pool_run(p, job_fn, &jb);
				for (i = 0; i < nth; i++)
					wrong_job += atomic_load(&jb.seen[i]) != 1;
				wrong_job += atomic_load(&jb.bad) != 0;
			}
		}
		CHECK(wrong == 0, "%d threads: 3000 range jobs, every unit run exactly once", nth);
		CHECK(wrong_job == 0, "%d threads: interleaved bn_pool_run jobs see each index once",
		      nth);
		memset(&it, 0, sizeof(it));
		it.nth = nth;
		bn_pool_run_ranges(p, item_fn, &it, MAXI);
		for (i = 0, wrong = 0; i < MAXI; i++)
			wrong += atomic_load(&it.count[i]) != 1;
		CHECK(wrong == 0, "%d threads: %d units", nth, MAXI);
		/* each thread takes a quarter of its share at a time: far
		 * fewer calls than units, but more than one per thread */
		CHECK(nth == 1 ? atomic_load(&it.calls) == 1
			       : atomic_load(&it.calls) > nth && atomic_load(&it.calls) < MAXI / 16,
		      "%d threads: %d units in %d ranges", nth, MAXI, atomic_load(&it.calls));
		if (nth > 1) {
			static struct stall st;
			static struct big bg;
			atomic_store(&st.mine, 0);
			atomic_store(&st.all, 0);
			atomic_store(&st.first, 1);
			bn_pool_run_ranges(p, stall_fn, &st, 1000);
			CHECK(atomic_load(&st.all) == 1000 && atomic_load(&st.mine) < 1000 / nth,
			      "%d threads: the others take over a stalled thread's units (it ran %d of "
			      "1000)", nth, atomic_load(&st.mine));
			memset(&bg, 0, sizeof(bg));
			bn_pool_run_ranges(p, big_fn, &bg, BIG);
			for (i = 0, wrong = 0; i < BIG; i++)
				wrong += bg.seen[i] != 1;
			CHECK(wrong == 0 && atomic_load(&bg.bad) == 0, "%d threads: %d units, each once",
			      nth, BIG);
		}
		bn_pool_free(p);
	}
	memset(&it, 0, sizeof(it));
	it.nth = 1;
	bn_pool_run_ranges(NULL, item_fn, &it, 5);
	CHECK(atomic_load(&it.count[0]) == 1 && atomic_load(&it.count[4]) == 1 &&
	      atomic_load(&it.count[5]) == 0 && atomic_load(&it.bad_ith) == 0 &&
	      atomic_load(&it.calls) == 1, "no pool: one range [0, 5) run in the caller as thread 0");
	bn_pool_run_ranges(NULL, item_fn, &it, 0);
	CHECK(atomic_load(&it.calls) == 1, "no pool: no units, no call");
	return unit_done();
}
