/* bench_rec.c - bn-bench results as records (bench.h, bench_out.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_out.h"
#include "gguf.h"

static const char *S_TEST = "";
static const char *S_KERN = "Kernels (weights or KV cache streamed from memory; gemm_t2: one matrix, "
	"T tokens; attn: GQA group x positions x head_dim)";
static const char *S_BW = "Read bandwidth (STREAM-style sum over a 512 MB buffer)";
static const char *S_ROOF = "Decode against the memory roofline";

void bn_bench_cpu_name(char *buf, size_t n)
{
	FILE *fp = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, n, "unknown");
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		char *c = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && c) {
			c += 1 + (c[1] == ' ');
			c[strcspn(c, "\n")] = 0;
			snprintf(buf, n, "%s", c);
			break;
		}
	}
	fclose(fp);
}

double bn_bench_params(const struct bn_model *m)
{
	const struct bn_config *c = &m->cfg;
	double qd = (double)c->n_heads * c->head_dim, kvd = (double)c->n_kv_heads * c->head_dim;
	double per = c->dim * (2 * qd + 2 * kvd + 3.0 * c->ffn_dim) + 2.0 * c->dim + qd + c->ffn_dim;

	return per * c->n_layers + (double)c->dim * c->n_vocab * (c->tied ? 1 : 2) + c->dim;
}

static const char *human_bytes(double b, char *buf, size_t n)
{
	snprintf(buf, n, b >= 1e9 ? "%.2f GiB" : "%.1f MiB", b >= 1e9 ? b / 1073741824.0 : b / 1048576.0);
	return buf;
}

static void samples(struct bn_recs *rs, struct bn_rec *r, const char *key, const double *v,
		    int n, int integral)
{
	char buf[16384];
	size_t o = 0;
	int i;

	buf[o++] = '[';
	for (i = 0; i < n && o + 40 < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, integral ? "%s%.0f" : "%s%.6g",
				      i ? ", " : "", v[i]);
	buf[o++] = ']';
	buf[o] = 0;
	bn_rec_add(rs, r, key, BN_F_JSON, "%s", buf);
}

void bn_bench_rec_test(struct bn_recs *rs, const struct bn_bench_info *in,
		       const struct bn_bench_result *t)
{
	struct bn_rec *r = bn_rec_new(rs, S_TEST);
	char b[64];
	time_t now = time(NULL);
	struct tm tm;

	if (!r)
		return;
	gmtime_r(&now, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
	bn_rec_add(rs, r, "build_commit", BN_F_DATA | BN_F_STR, "%s", BN_VERSION);
	bn_rec_add(rs, r, "cpu_info", BN_F_DATA | BN_F_STR, "%s", in->cpu_info);
	bn_rec_add(rs, r, "model_filename", BN_F_DATA | BN_F_STR, "%s", in->model_filename);
	bn_rec_add(rs, r, "model", BN_F_MD | BN_F_STR, "%s", in->model_type);
	bn_rec_add(rs, r, "model_type", BN_F_DATA | BN_F_STR, "%s", in->model_type);
	bn_rec_add(rs, r, "size", BN_F_MD | BN_F_STR, "%s", human_bytes(in->model_size, b + 32, 32));
	bn_rec_add(rs, r, "model_size", BN_F_DATA, "%lld", in->model_size);
	bn_rec_add(rs, r, "params", BN_F_MD | BN_F_STR, in->n_params >= 1e9 ? "%.2f B" : "%.2f M",
		   in->n_params >= 1e9 ? in->n_params / 1e9 : in->n_params / 1e6);
	bn_rec_add(rs, r, "model_n_params", BN_F_DATA, "%.0f", in->n_params);
	bn_rec_add(rs, r, "kernels", BN_F_ALL | BN_F_STR, "%s", in->kernels);
	bn_rec_add(rs, r, "n_batch", BN_F_DATA, "%d", t->n_batch);
	bn_rec_add(rs, r, "threads", BN_F_MD, "%d", t->n_threads);
	bn_rec_add(rs, r, "n_threads", BN_F_DATA, "%d", t->n_threads);
	bn_rec_add(rs, r, "n_prompt", BN_F_DATA, "%d", t->n_prompt);
	bn_rec_add(rs, r, "n_gen", BN_F_DATA, "%d", t->n_gen);
	bn_rec_add(rs, r, "n_depth", BN_F_DATA, "%d", t->n_depth);
	bn_rec_add(rs, r, "test", BN_F_MD | BN_F_STR, "%s", t->test);
	bn_rec_add(rs, r, "test_time", BN_F_DATA | BN_F_STR, "%s", b);
	bn_rec_add(rs, r, "t/s", BN_F_MD | BN_F_STR, "%.2f ± %.2f", t->avg_ts, t->stddev_ts);
	bn_rec_add(rs, r, "avg_ns", BN_F_DATA, "%.0f", t->avg_ns);
	bn_rec_add(rs, r, "stddev_ns", BN_F_DATA, "%.0f", t->stddev_ns);
	bn_rec_add(rs, r, "avg_ts", BN_F_DATA, "%.6f", t->avg_ts);
	bn_rec_add(rs, r, "stddev_ts", BN_F_DATA, "%.6f", t->stddev_ts);
	bn_rec_add(rs, r, "peak RSS", BN_F_MD | BN_F_STR, "%s",
		   t->peak_rss < 0 ? "-" : human_bytes((double)t->peak_rss, b + 32, 32));
	bn_rec_add(rs, r, "peak_rss", BN_F_DATA, "%lld", t->peak_rss);
	bn_rec_add(rs, r, "kv_bytes", BN_F_DATA, "%lld", t->kv_bytes);
	bn_rec_add(rs, r, "type_k", BN_F_DATA | BN_F_STR, "%s", bn_ttype_name(t->kv_type));
	bn_rec_add(rs, r, "type_v", BN_F_DATA | BN_F_STR, "%s", bn_ttype_name(t->kv_type));
	bn_rec_add(rs, r, "load s", BN_F_MD, "%.3f", in->load_ns / 1e9);
	bn_rec_add(rs, r, "load_ns", BN_F_DATA, "%.0f", in->load_ns);
	samples(rs, r, "samples_ns", t->samples_ns, t->reps, 1);
	samples(rs, r, "samples_ts", t->samples_ts, t->reps, 0);
}

void bn_bench_rec_kernel(struct bn_recs *rs, const struct bn_kbench *k)
{
	struct bn_rec *r = bn_rec_new(rs, S_KERN);

	if (!r)
		return;
	bn_rec_add(rs, r, "kernels", BN_F_ALL | BN_F_STR, "%s", k->kernels);
	bn_rec_add(rs, r, "kernel", BN_F_ALL | BN_F_STR, "%s", k->kernel);
	bn_rec_add(rs, r, "shape", BN_F_ALL | BN_F_STR, "%s", k->shape);
	bn_rec_add(rs, r, "n_threads", BN_F_ALL, "%d", k->n_threads);
	bn_rec_add(rs, r, "us", BN_F_ALL, "%.1f", k->seconds * 1e6);
	bn_rec_add(rs, r, "GB/s", BN_F_MD, "%.1f", k->bytes / k->seconds / 1e9);
	bn_rec_add(rs, r, "gbps", BN_F_DATA, "%.3f", k->bytes / k->seconds / 1e9);
	bn_rec_add(rs, r, "Gop/s", BN_F_MD, "%.1f", k->ops / k->seconds / 1e9);
	bn_rec_add(rs, r, "gops", BN_F_DATA, "%.3f", k->ops / k->seconds / 1e9);
}

void bn_bench_rec_bw(struct bn_recs *rs, int nth, double bw)
{
	struct bn_rec *r = bn_rec_new(rs, S_BW);

	if (!r)
		return;
	bn_rec_add(rs, r, "read_bw_threads", BN_F_ALL, "%d", nth);
	bn_rec_add(rs, r, "GB/s", BN_F_MD, "%.1f", bw / 1e9);
	bn_rec_add(rs, r, "read_gbps", BN_F_DATA, "%.3f", bw / 1e9);
}

void bn_bench_rec_roof(struct bn_recs *rs, const struct bn_bench_result *t, double bytes,
		       double bw, double huge)
{
	struct bn_rec *r = bn_rec_new(rs, S_ROOF);
	double roof = bytes > 0 ? bw / bytes : 0;

	if (!r)
		return;
	bn_rec_add(rs, r, "roof_test", BN_F_ALL | BN_F_STR, "%s", t->test);
	bn_rec_add(rs, r, "n_threads", BN_F_ALL, "%d", t->n_threads);
	bn_rec_add(rs, r, "MB/token", BN_F_MD, "%.1f", bytes / 1e6);
	bn_rec_add(rs, r, "bytes_per_token", BN_F_DATA, "%.0f", bytes);
	bn_rec_add(rs, r, "read GB/s", BN_F_MD, "%.1f", bw / 1e9);
	bn_rec_add(rs, r, "read_gbps", BN_F_DATA, "%.3f", bw / 1e9);
	bn_rec_add(rs, r, "roofline t/s", BN_F_MD, "%.2f", roof);
	bn_rec_add(rs, r, "roofline_ts", BN_F_DATA, "%.4f", roof);
	bn_rec_add(rs, r, "t/s", BN_F_MD, "%.2f", t->avg_ts);
	bn_rec_add(rs, r, "avg_ts", BN_F_DATA, "%.4f", t->avg_ts);
	bn_rec_add(rs, r, "of roofline", BN_F_MD, "%.0f %%", roof > 0 ? 100 * t->avg_ts / roof : 0);
	bn_rec_add(rs, r, "roofline_fraction", BN_F_DATA, "%.4f", roof > 0 ? t->avg_ts / roof : 0);
	if (huge < 0)
		return;
	bn_rec_add(rs, r, "model in huge pages", BN_F_MD, "%.0f %%", 100 * huge);
	bn_rec_add(rs, r, "model_huge_fraction", BN_F_DATA, "%.4f", huge);
}
