/* bench.h - throughput measurements for bn-bench (docs/bn-bench.1).
 *
 * Token tests follow llama-bench: "ppN" evaluates N random prompt tokens
 * in one batch (logits of the last one only), "tgN" evaluates N tokens one
 * at a time from an empty cache (logits every step, no sampling); with a
 * depth d ("pp512 @ d4096") both start after d tokens already in the cache
 * (evaluated once, untimed).  Each test runs once untimed (warm-up), then
 * reps timed repetitions.
 *
 * Kernel mode times each kernel of a table on the model's matrix shapes and
 * measures the machine's read bandwidth (STREAM-style) in the same process,
 * so the ratios it reports are taken under the same conditions. */
#ifndef BN_BENCH_H
#define BN_BENCH_H

#include <stdio.h>

#include "forward.h"
#include "kernels.h"
#include "model.h"

#define BN_BENCH_MAX_REPS 1000

struct bn_bench_result {
	char test[32];			/* "pp128", "tg32", "tg32 @ d4096" */
	int n_prompt, n_gen, n_depth, n_threads, n_batch, reps;
	double samples_ns[BN_BENCH_MAX_REPS];
	double samples_ts[BN_BENCH_MAX_REPS];
	double avg_ns, stddev_ns, avg_ts, stddev_ts;
	long long peak_rss;		/* bytes, -1 if unknown */
	long long kv_bytes;		/* KV cache of the state used */
	int kv_type;			/* its type, BN_TYPE_F32 or BN_TYPE_F16 */
};

/* Run one token test on m with the given pool (threads) and fill r.
 * Exactly one of n_prompt, n_gen is non-zero; n_depth tokens come first. */
int bn_bench_tokens(const struct bn_model *m, struct bn_pool *pool, int n_prompt, int n_gen,
		    int n_depth, int n_batch, int kv_type, int reps, struct bn_bench_result *r,
		    struct bn_errbuf *eb);

/* Weight bytes streamed by one decode step (ternary layers + head row
 * reads), and integer/float operations per token (2 per weight). */
double bn_bench_decode_bytes(const struct bn_model *m);
/* Key and value cache bytes one decode step reads, averaged over test r's
 * steps (its positions n_depth .. n_depth + n_gen - 1). */
double bn_bench_kv_read_bytes(const struct bn_model *m, const struct bn_bench_result *r);
double bn_bench_decode_ops(const struct bn_model *m);

/* Peak resident set (bytes) since the last reset, -1 if unknown; reset
 * sets it to the current RSS (Linux: /proc/self/clear_refs). */
long long bn_bench_peak_rss(void);
void bn_bench_reset_peak_rss(void);
double bn_bench_now(void);	/* monotonic seconds */

/* Read bandwidth in bytes/s with nth threads (STREAM-style sum over a
 * buffer far larger than the caches; best of reps). */
int bn_bench_read_bw(struct bn_pool *pool, size_t bytes, int reps, double *bw,
		     struct bn_errbuf *eb);

/* One kernel measurement. */
struct bn_kbench {
	char kernels[16];		/* table name */
	char kernel[16];		/* gemv_t2, gemm_t2, gemv_f16, dot_q8_0, attn, attn_f16 */
	char shape[32];			/* "6912x2560", "128x6912x2560", "4x4096x128" */
	int n_threads;
	double seconds;			/* best per call */
	double bytes;			/* weight (or cache) bytes streamed per call */
	double ops;			/* 2 per multiply-add */
};

/* Kernel measurements for table k on the shapes of m (m may be NULL: the
 * 2B4T shapes), with the given pool; gemm_t2 with T tokens.  Writes
 * out[0..max); returns the count written or a negative error. */
int bn_bench_kernels(const struct bn_kernels *k, const struct bn_model *m,
		     struct bn_pool *pool, int reps, int T, struct bn_kbench *out, int max,
		     struct bn_errbuf *eb);

/* Records for bench_out.h (struct bn_recs). */
struct bn_recs;
struct bn_bench_info {
	const char *model_filename, *model_type, *cpu_info, *kernels;
	long long model_size;
	double n_params, load_ns;
};
void bn_bench_cpu_name(char *buf, size_t n);	/* /proc/cpuinfo model name */
double bn_bench_params(const struct bn_model *m);	/* parameter count */
void bn_bench_rec_test(struct bn_recs *rs, const struct bn_bench_info *in,
		       const struct bn_bench_result *t);
void bn_bench_rec_kernel(struct bn_recs *rs, const struct bn_kbench *k);
void bn_bench_rec_bw(struct bn_recs *rs, int nth, double bw);
/* Decode test t against bytes per token and read bandwidth bw; huge is the
 * fraction of the model file mapped with huge pages (< 0: unknown, left out). */
void bn_bench_rec_roof(struct bn_recs *rs, const struct bn_bench_result *t, double bytes,
		       double bw, double huge);

/* Roofline chart as a standalone SVG document. */
struct bn_roof_point {
	const char *label;
	double intensity;		/* ops per byte */
	double ops_per_s;
};
struct bn_roof_line {
	const char *label;
	double value;			/* bytes/s for a bandwidth, ops/s for compute */
	int is_bw;
};
int bn_roofline_svg(FILE *fp, const char *title, const struct bn_roof_line *lines, int nl,
		    const struct bn_roof_point *pts, int np);

/* bn-bench's chart: the read bandwidth of the first and the largest thread
 * count, the best gemm_t2 as the compute ceiling, table kernels' kernels at
 * the largest thread count and the end-to-end token tests as points. */
struct bn_bench_plot {
	const char *kernels;
	const int *threads;
	const double *bw;		/* bytes/s, per thread count */
	int nth;
	const struct bn_kbench *kb;
	int nk;
	const struct bn_bench_result *res;
	int nres;
	double ops, bytes;		/* per decode token; ops 0: no model */
};
int bn_bench_plot_svg(FILE *fp, const struct bn_bench_plot *p);

#endif
