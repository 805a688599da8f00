/* threads.h - a small persistent pthread pool.
 *
 * One threading contract (ggml's): a parallel job is fn(arg, ith, nth) and
 * splits its own rows.  bn_pool_run() runs fn on all nth threads (the caller
 * is thread 0) and returns when all are done; bn_pool_run_ranges() hands
 * out ranges of work units dynamically instead (the forward pass uses it).
 * Workers spin briefly on an atomic generation counter before sleeping, so
 * per-layer dispatch is cheap. */
#ifndef BN_THREADS_H
#define BN_THREADS_H

#include "bn.h"

typedef void (*bn_job_fn)(void *arg, int ith, int nth);
struct bn_pool;

/* Allocates; free with bn_pool_free().  nth >= 1. */
int bn_pool_new(struct bn_pool **out, int nth);
void bn_pool_free(struct bn_pool *p);	/* NULL-safe */
int bn_pool_size(const struct bn_pool *p);
void bn_pool_run(struct bn_pool *p, bn_job_fn fn, void *arg);

/* Dynamic variant: the units [0, n) are run as contiguous ranges,
 * fn(arg, i0, i1, ith) for each (ith is the thread running it, for
 * per-thread scratch).  Thread i owns the i-th of nth equal parts and
 * takes it from the front a quarter of the rest at a time, so it streams
 * its weights in one pass; a thread done with its part takes half of what
 * another has left, from the back, so a thread that the OS has
 * descheduled delays the job by little.  With one thread fn runs once on
 * [0, n).  Returns when every unit is done.  Results must not depend on
 * how the units are split or who runs them. */
typedef void (*bn_range_fn)(void *arg, int i0, int i1, int ith);
void bn_pool_run_ranges(struct bn_pool *p, bn_range_fn fn, void *arg, int n);
/* Split [0,n) into nth parts, rounded to multiples of align: thread ith
 * gets [*lo,*hi). */
void bn_split(int n, int align, int ith, int nth, int *lo, int *hi);
/* Number of online CPUs (>= 1). */
int bn_ncpu(void);

#endif
