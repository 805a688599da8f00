/* threads.c - persistent pthread pool with a generation-counter start
 * and an atomic countdown finish (bn_pool_run), or ranges of units claimed
 * from an atomic (generation, next unit) word and a count of finished
 * units (bn_pool_run_ranges).  Workers spin for a short while, then block on a
 * condition variable, so an idle pool costs no CPU. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "threads.h"

#define SPIN 20000

/* A polite busy-wait step: PAUSE on x86 frees the pipeline for the other
 * thread of the core and saves power; elsewhere a compiler barrier. */
static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

struct bn_pool {
	int nth;
	pthread_t *tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bn_job_fn fn;
	void *arg;
	_Atomic(bn_range_fn) ifn; /* the current ranges job */
	_Atomic(void *) iarg;
	atomic_int n_units;
	atomic_ullong claim;	/* gen << 32 | next unit (ranges jobs) */
	atomic_int done;	/* units finished */
	atomic_uint gen;	/* bumped for each job */
	atomic_uint sgen;	/* generation of the last bn_pool_run job */
	atomic_int pending;	/* workers still running the current job */
	atomic_int quit;
	int sleepers;		/* protected by mu */
};

struct worker { struct bn_pool *p; int ith; };

/* Claim and run ranges of job g until none is left or the job is over.
 * Guided scheduling: a claim takes 1/(2 nth) of the units left (at least
 * one), so the threads stream long contiguous ranges first and share the
 * tail in small ones.  A late thread may read the description of a later
 * job; but the main thread moves the claim word to the new generation
 * before it writes that description (release fence / acquire fence
 * below), so such a thread then sees a foreign generation in the claim
 * word and stops. */
static void ranges(struct bn_pool *p, unsigned g, int ith)
{
	bn_range_fn fn = atomic_load_explicit(&p->ifn, memory_order_relaxed);
	void *arg = atomic_load_explicit(&p->iarg, memory_order_relaxed);
	int n = atomic_load_explicit(&p->n_units, memory_order_relaxed);

	atomic_thread_fence(memory_order_acquire);
	for (;;) {
		unsigned long long c = atomic_load_explicit(&p->claim, memory_order_relaxed);
		int i0 = (int)(c & 0xffffffffu), k;
		if ((unsigned)(c >> 32) != g || i0 >= n)
			return;
		k = BN_MAX(1, (n - i0) / (2 * p->nth));
		if (atomic_compare_exchange_weak_explicit(&p->claim, &c, c + (unsigned)k,
							  memory_order_acq_rel, memory_order_relaxed)) {
			fn(arg, i0, i0 + k, ith);
			atomic_fetch_add_explicit(&p->done, k, memory_order_release);
		}
	}
}

static void *worker_main(void *v)
{
	struct worker w = *(struct worker *)v;
	struct bn_pool *p = w.p;
	unsigned seen = 0;

	free(v);
	for (;;) {
		unsigned g;
		int i;
		for (i = 0; i < SPIN; i++) {
			if ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) != seen)
				break;
			if (atomic_load(&p->quit))
				return NULL;
			relax();
		}
		if (i == SPIN) {
			pthread_mutex_lock(&p->mu);
			p->sleepers++;
			while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->quit))
				pthread_cond_wait(&p->cv, &p->mu);
			p->sleepers--;
			pthread_mutex_unlock(&p->mu);
		}
		if (atomic_load(&p->quit))
			return NULL;
		seen = g;
		if (atomic_load(&p->sgen) != g) {	/* a ranges job, maybe over */
			ranges(p, g, w.ith);
			continue;
		}
		p->fn(p->arg, w.ith, p->nth);
		atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
	}
}

int bn_pool_new(struct bn_pool **out, int nth)
{
	struct bn_pool *p = calloc(1, sizeof(*p));
	int i;

	*out = NULL;
	if (!p)
		return BN_ENOMEM;
	p->nth = nth < 1 ? 1 : nth;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (!(p->tid = calloc((size_t)p->nth, sizeof(*p->tid)))) {
		free(p);
		return BN_ENOMEM;
	}
	for (i = 1; i < p->nth; i++) {
		struct worker *w = malloc(sizeof(*w));
		if (!w || (w->p = p, w->ith = i,
			   pthread_create(&p->tid[i], NULL, worker_main, w) != 0)) {
			free(w);
			p->nth = i;
			bn_pool_free(p);
			return BN_ENOMEM;
		}
	}
	*out = p;
	return BN_OK;
}

void bn_pool_free(struct bn_pool *p)
{
	int i;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->quit, 1);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 1; i < p->nth; i++)
		pthread_join(p->tid[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->tid);
	free(p);
}

int bn_pool_size(const struct bn_pool *p)
{
	return p ? p->nth : 1;
}

void bn_pool_run(struct bn_pool *p, bn_job_fn fn, void *arg)
{
	int i;

	if (!p || p->nth == 1) {
		fn(arg, 0, 1);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	atomic_store(&p->pending, p->nth - 1);
	atomic_store(&p->sgen, atomic_load(&p->gen) + 1);
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
	if (p->sleepers)
		pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	fn(arg, 0, p->nth);
	/* spin first (the workers finish within microseconds of each other
	 * when the split is even), then give the CPU away */
	for (i = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; i++) {
		if (i < SPIN)
			relax();
		else
			sched_yield();
	}
}

void bn_pool_run_ranges(struct bn_pool *p, bn_range_fn fn, void *arg, int n)
{
	unsigned g;
	int i;

	if (!p || p->nth == 1) {
		if (n > 0)
			fn(arg, 0, n, 0);
		return;
	}
	g = atomic_load(&p->gen) + 1;
	atomic_store(&p->claim, (unsigned long long)g << 32);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&p->ifn, fn, memory_order_relaxed);
	atomic_store_explicit(&p->iarg, arg, memory_order_relaxed);
	atomic_store_explicit(&p->n_units, n, memory_order_relaxed);
	atomic_store(&p->done, 0);
	pthread_mutex_lock(&p->mu);
	atomic_store_explicit(&p->gen, g, memory_order_release);
	if (p->sleepers)
		pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	ranges(p, g, 0);
	for (i = 0; atomic_load_explicit(&p->done, memory_order_acquire) < n; i++) {
		if (i < SPIN)
			relax();
		else
			sched_yield();
	}
	atomic_store_explicit(&p->ifn, NULL, memory_order_relaxed);
}

void bn_split(int n, int align, int ith, int nth, int *lo, int *hi)
{
	int blocks = (n + align - 1) / align;
	int b0 = (int)((long long)blocks * ith / nth);
	int b1 = (int)((long long)blocks * (ith + 1) / nth);

	*lo = BN_MIN(b0 * align, n);
	*hi = BN_MIN(b1 * align, n);
}

int bn_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (int)n;
}
