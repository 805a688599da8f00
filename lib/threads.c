/* threads.c - persistent pthread pool with a generation-counter start
 * and an atomic countdown finish.  Workers spin for a short while, then
 * block on a condition variable, so an idle pool costs no CPU. */
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
	atomic_uint gen;	/* bumped for each job */
	atomic_int pending;	/* workers still running the current job */
	atomic_int quit;
	int sleepers;		/* protected by mu */
};

struct worker { struct bn_pool *p; int ith; };

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
