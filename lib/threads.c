/* threads.c - persistent pthread pool with a generation-counter start
 * and an atomic countdown finish (bn_pool_run), or ranges of units taken
 * from per-thread (generation, first, end) words, with stealing, and a
 * count of finished units (bn_pool_run_ranges).  Workers spin for a short
 * while, then block on a condition variable, so an idle pool costs no
 * CPU. */
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

/* A ranges job's units left to thread i: generation (G_BITS) << 2 U_BITS
 * | first << U_BITS | end, on a cache line of its own. */
#define U_BITS 20
#define G_BITS 24
#define UMAX ((1u << U_BITS) - 1)
#define GMASK ((1u << G_BITS) - 1)
struct slot { _Alignas(64) atomic_ullong w; };

struct bn_pool {
	int nth;
	pthread_t *tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bn_job_fn fn;
	void *arg;
	struct slot *slot;	/* [nth] */
	_Atomic(bn_range_fn) ifn; /* the current ranges job */
	_Atomic(void *) iarg;
	atomic_int n_units, step; /* units of step caller units each */
	atomic_int done;	/* units finished */
	atomic_uint gen;	/* bumped for each job */
	atomic_uint sgen;	/* generation of the last bn_pool_run job */
	atomic_int pending;	/* workers still running the current job */
	atomic_int quit;
	int sleepers;		/* protected by mu */
};

struct worker { struct bn_pool *p; int ith; };

static unsigned long long pack(unsigned g, unsigned lo, unsigned hi)
{
	return (unsigned long long)(g & GMASK) << 2 * U_BITS | (unsigned long long)lo << U_BITS | hi;
}

/* Take units of job g from thread v's slot: the owner from the front, a
 * quarter of what is left (at least one), so it reads its weights in one
 * run of ranges, each starting where the last ended; a thief half of it
 * from the back.  0 when the slot is empty or belongs to another job. */
static int take(struct bn_pool *p, int v, unsigned g, int owner, unsigned *lo, unsigned *hi)
{
	atomic_ullong *w = &p->slot[v].w;
	unsigned long long c = atomic_load_explicit(w, memory_order_relaxed), nc;

	for (;;) {
		unsigned a = (unsigned)(c >> U_BITS) & UMAX, b = (unsigned)c & UMAX, k;
		if ((unsigned)(c >> 2 * U_BITS) != (g & GMASK) || a >= b)
			return 0;
		k = BN_MAX(1, (b - a) / (owner ? 4 : 2));
		nc = owner ? pack(g, a + k, b) : pack(g, a, b - k);
		if (atomic_compare_exchange_weak_explicit(w, &c, nc, memory_order_acq_rel,
							  memory_order_relaxed)) {
			*lo = owner ? a : b - k;
			*hi = owner ? a + k : b;
			return 1;
		}
	}
}

/* Run ranges of job g: thread ith's own units, then what the others have
 * left.  A late thread may read the description of a later job; but the
 * main thread moves every slot to the new generation before it writes
 * that description (release fence / acquire fence below), so such a
 * thread then sees a foreign generation in the slots and stops. */
static void ranges(struct bn_pool *p, unsigned g, int ith)
{
	bn_range_fn fn = atomic_load_explicit(&p->ifn, memory_order_relaxed);
	void *arg = atomic_load_explicit(&p->iarg, memory_order_relaxed);
	int n = atomic_load_explicit(&p->n_units, memory_order_relaxed);
	int step = atomic_load_explicit(&p->step, memory_order_relaxed), v;
	unsigned lo, hi;

	atomic_thread_fence(memory_order_acquire);
	for (v = 0; v < p->nth; v++) {
		int o = (ith + v) % p->nth;
		while (take(p, o, g, v == 0, &lo, &hi)) {
			fn(arg, (int)lo * step, (int)BN_MIN((long long)hi * step, n), ith);
			atomic_fetch_add_explicit(&p->done, (int)(hi - lo), memory_order_release);
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
	if (!(p->slot = aligned_alloc(64, sizeof(*p->slot) * (size_t)p->nth))) {
		free(p);
		return BN_ENOMEM;
	}
	for (i = 0; i < p->nth; i++)	/* no job's generation: empty */
		atomic_init(&p->slot[i].w, 0);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (!(p->tid = calloc((size_t)p->nth, sizeof(*p->tid)))) {
		free(p->slot);
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
	free(p->slot);
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
	int i, step, m;
	unsigned g;

	if (!p || p->nth == 1) {
		if (n > 0)
			fn(arg, 0, n, 0);
		return;
	}
	step = n / UMAX + 1;	/* slots count at most UMAX units */
	m = (n + step - 1) / step;
	g = atomic_load(&p->gen) + 1;
	for (i = 0; i < p->nth; i++)
		atomic_store_explicit(&p->slot[i].w,
				      pack(g, (unsigned)((long long)m * i / p->nth),
					   (unsigned)((long long)m * (i + 1) / p->nth)),
				      memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&p->ifn, fn, memory_order_relaxed);
	atomic_store_explicit(&p->iarg, arg, memory_order_relaxed);
	atomic_store_explicit(&p->n_units, n, memory_order_relaxed);
	atomic_store_explicit(&p->step, step, memory_order_relaxed);
	atomic_store(&p->done, 0);
	pthread_mutex_lock(&p->mu);
	atomic_store_explicit(&p->gen, g, memory_order_release);
	if (p->sleepers)
		pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	ranges(p, g, 0);
	for (i = 0; atomic_load_explicit(&p->done, memory_order_acquire) < m; i++) {
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
