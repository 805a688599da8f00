/* bn-bench - prompt and generation throughput, kernel speeds against the
 * machine's memory bandwidth, and a roofline chart (docs/bn-bench.1).
 * The measurements are in lib/bench*.c; this file parses options, runs
 * the combinations and prints the records. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "bench_out.h"
#include "cli.h"
#include "file.h"
#include "threads.h"

#define MAXL 16
#define MAXK 64
#define MAXR 512	/* token tests in one run */

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: bn-bench [OPTIONS] -m MODEL\n"
		"       bn-bench --kernels all|NAME [OPTIONS] [-m MODEL]\n"
		"measure prompt processing (ppN) and generation (tgN) speed like llama-bench,\n"
		"and the kernels against the memory bandwidth measured in the same run.\n\n"
		"  -m, --model FILE        model to run (bn GGUF)\n"
		"  -p, --n-prompt LIST     prompt lengths, one batch each (default 128; 0 = none)\n"
		"  -n, --n-gen LIST        tokens generated one at a time (default 32; 0 = none)\n"
		"  -d, --n-depth LIST      tokens already in the cache before each test\n"
		"                          (default 0; the tests are then named ppN @ dD)\n"
		"  -t, --threads LIST      thread counts (default: all CPUs)\n"
		"  -r, --repetitions N     timed runs per test (default 5)\n"
		"  -b, --batch-size N      tokens per forward chunk (default 512)\n"
		"      --cache-type T      KV cache: f32 (default) or f16\n"
		"  -o, --output FORMAT     md (default), csv, json or jsonl\n"
		"      --kernels all|NAME  time every kernel table (all) or one, and the\n"
		"                          read bandwidth; with -m, decode against it\n"
		"      --plot FILE.svg     write a roofline chart (implies --kernels)\n"
		"  -h, --help              show this help and exit\n"
		"  -V, --version           show the version and exit\n"
		"LIST is a comma-separated list of numbers, e.g. -t 1,2 (or -t 1 -t 2).\n");
}

/* Append the numbers of the comma-separated s to v, *n so far: a repeated
 * option adds its values, as in llama-bench. */
static void parse_list(const char *s, int *v, int *n, long long lo, long long hi,
		       const char *opt)
{
	char buf[256], *p = buf, *tok;

	if (strlen(s) >= sizeof(buf))
		usage_error("option %s: list too long", opt);
	strcpy(buf, s);
	while ((tok = strsep(&p, ","))) {
		if (!*tok)
			usage_error("option %s: empty item in '%s'", opt, s);
		if (*n == MAXL)
			usage_error("option %s: at most %d values", opt, MAXL);
		v[(*n)++] = (int)cli_int(tok, lo, hi, opt);
	}
}

static void model_type(const struct bn_model *m, char *buf, size_t n)
{
	double p = bn_bench_params(m);

	snprintf(buf, n, p >= 1e9 ? "bitnet-b1.58 %.1fB T2 %s head" : "bitnet-b1.58 %.0fM T2 %s head", p >= 1e9 ? p / 1e9 : p / 1e6,
		 bn_ttype_name(m->head.type));
}

/* Open, build a state and evaluate one token: load to first token. */
static double load(struct bn_model *m, const char *path, int nth)
{
	struct bn_errbuf eb;
	struct bn_pool *pool = NULL;
	struct bn_state *st;
	double t = bn_bench_now();
	int32_t tok = 0;
	int rc;

	if ((rc = bn_model_open(m, path, &eb)) < 0)
		die_err(rc, &eb);
	if (bn_pool_new(&pool, nth) < 0)
		die("out of memory");
	if ((rc = bn_state_new(&st, m, 8, 1, pool, &eb)) < 0 ||
	    (rc = bn_eval(st, &tok, 1, BN_LOGITS_LAST, NULL, NULL, &eb)) < 0)
		die_err(rc, &eb);
	t = bn_bench_now() - t;
	bn_state_free(st);
	bn_pool_free(pool);
	return t * 1e9;
}

/* Raise *bw to the read bandwidth measured now if that is higher: on a
 * shared machine the best figure seen in the run is the roofline (taking
 * one moment's figure could put decode above 100 % of it). */
static void read_bw_max(struct bn_pool *pool, double *bw)
{
	struct bn_errbuf eb;
	double v;
	int rc;

	if ((rc = bn_bench_read_bw(pool, (size_t)512 << 20, 5, &v, &eb)) < 0)
		die_err(rc, &eb);
	if (v > *bw)
		*bw = v;
}

/* The roofline chart into path, written whole or not at all. */
static void plot_svg(const char *path, const struct bn_bench_plot *pl)
{
	struct bn_out out;
	struct bn_errbuf eb;
	int rc;

	if ((rc = bn_out_open(&out, path, &eb)) < 0)
		die_err(rc, &eb);
	if (bn_bench_plot_svg(out.fp, pl) < 0) {
		bn_out_abort(&out);
		die("%s: write error", path);
	}
	if ((rc = bn_out_commit(&out, &eb)) < 0)
		die_err(rc, &eb);
}

enum { O_KERNELS = 256, O_PLOT, O_CTYPE };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "n-prompt", required_argument, NULL, 'p' },
		{ "n-gen", required_argument, NULL, 'n' },
		{ "n-depth", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "repetitions", required_argument, NULL, 'r' },
		{ "batch-size", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ "kernels", required_argument, NULL, O_KERNELS },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "cache-type", required_argument, NULL, O_CTYPE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int pp[MAXL], tg[MAXL], dd[MAXL], th[MAXL], npp = 0, ntg = 0, nd = 0, nth = 0;
	int reps = 5, batch = 512, kv_type = BN_TYPE_F32, c, i, j, nk = 0, nkt = 0, maxth = 0;
	const char *model = NULL, *kname = NULL, *plot = NULL;
	const struct bn_kernels *ktab[8];
	static struct bn_bench_result res[MAXR];
	static struct bn_kbench kb[8 * MAXL * 16];
	double bw[MAXL] = { 0 }, bytes = 0, load_ns = 0, huge = -1;
	struct bn_model m;
	struct bn_recs rs = { 0 };
	struct bn_errbuf eb;
	enum bn_fmt fmt = BN_FMT_MD;
	int nres = 0, rc;

	cli_init(argv[0]);
	while ((c = getopt_long(argc, argv, "m:p:n:d:t:r:b:o:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'p': parse_list(optarg, pp, &npp, 0, 1 << 20, "-p"); break;
		case 'n': parse_list(optarg, tg, &ntg, 0, 1 << 20, "-n"); break;
		case 'd': parse_list(optarg, dd, &nd, 0, 1 << 24, "-d"); break;
		case 't': parse_list(optarg, th, &nth, 1, 1024, "-t"); break;
		case 'r': reps = (int)cli_int(optarg, 1, BN_BENCH_MAX_REPS, "-r"); break;
		case 'b': batch = (int)cli_int(optarg, 1, 1 << 20, "-b"); break;
		case O_CTYPE: kv_type = cli_kv_type(optarg); break;
		case 'o':
			if (bn_fmt_parse(optarg, &fmt) < 0)
				usage_error("unknown output format '%s' (md, csv, json, jsonl)", optarg);
			break;
		case O_KERNELS: kname = optarg; break;
		case O_PLOT: plot = optarg; break;
		case 'h': usage(stdout); return close_stdout();
		case 'V': print_version();
		default: fprintf(stderr, "Try '%s --help' for more information.\n", argv0); return 2;
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!npp)	/* the defaults, for the options not given */
		pp[npp++] = 128;
	if (!ntg)
		tg[ntg++] = 32;
	if (!nd)
		dd[nd++] = 0;
	if (!nth)
		th[nth++] = bn_ncpu();
	if (nth * (npp + ntg) * nd > MAXR)
		usage_error("at most %d tests (threads x lengths x depths)", MAXR);
	if (plot && !kname)
		kname = bn_kernels_get()->name;
	if (!model && !kname)
		usage_error("no model given (-m MODEL)");
	if (kname && !strcmp(kname, "all")) {
		nkt = bn_kernels_all(ktab, (int)BN_LEN(ktab));
	} else if (kname) {
		if (!(ktab[0] = bn_kernels_find(kname)))
			usage_error("unknown or unsupported kernel table '%s'", kname);
		nkt = 1;
	}
	for (i = 0; i < nth; i++)
		maxth = BN_MAX(maxth, th[i]);
	if (model) {
		struct bn_bench_info in;
		char cpu[256], type[128];
		struct stat st;
		load_ns = load(&m, model, maxth);
		bn_bench_cpu_name(cpu, sizeof(cpu));
		model_type(&m, type, sizeof(type));
		in.model_filename = model;
		in.model_type = type;
		in.cpu_info = cpu;
		in.kernels = bn_kernels_get()->name;
		in.model_size = stat(model, &st) == 0 ? (long long)st.st_size : (long long)m.file_size;
		in.n_params = bn_bench_params(&m);
		in.load_ns = load_ns;
		bytes = bn_bench_decode_bytes(&m);
		for (i = 0; i < nth; i++) {
			struct bn_pool *pool;
			if (bn_pool_new(&pool, th[i]) < 0)
				die("out of memory");
			if (nkt)	/* the roofline's bandwidth, also just before */
				read_bw_max(pool, &bw[i]);
			for (j = 0; j < (npp + ntg) * nd; j++) {
				int k = j / nd, p = k < npp ? pp[k] : 0, g = k < npp ? 0 : tg[k - npp];
				if (!p && !g)
					continue;
				if ((rc = bn_bench_tokens(&m, pool, p, g, dd[j % nd], batch, kv_type, reps,
							  &res[nres], &eb)) < 0)
					die_err(rc, &eb);
				bn_bench_rec_test(&rs, &in, &res[nres++]);
			}
			if (nkt)	/* and just after the tests */
				read_bw_max(pool, &bw[i]);
			bn_pool_free(pool);
		}
		long long hb = bn_map_huge_bytes(&m.map);	/* its pages are touched now */
		if (hb >= 0 && m.map.size)
			huge = (double)hb / (double)m.map.size;
	}
	for (i = 0; i < nth && nkt; i++) {
		struct bn_pool *pool;
		if (bn_pool_new(&pool, th[i]) < 0)
			die("out of memory");
		read_bw_max(pool, &bw[i]);
		for (j = 0; j < nkt; j++) {
			rc = bn_bench_kernels(ktab[j], model ? &m : NULL, pool, reps, pp[0] ? pp[0] : 128,
					      kb + nk, (int)BN_LEN(kb) - nk, &eb);
			if (rc < 0)
				die_err(rc, &eb);
			nk += rc;
		}
		bn_pool_free(pool);
	}
	for (i = 0; i < nk; i++)
		bn_bench_rec_kernel(&rs, &kb[i]);
	for (i = 0; i < nth && nkt; i++)
		bn_bench_rec_bw(&rs, th[i], bw[i]);
	for (i = 0; i < nres && nkt; i++)
		for (j = 0; j < nth; j++)
			if (res[i].n_gen && res[i].n_threads == th[j])
				bn_bench_rec_roof(&rs, &res[i], bytes + bn_bench_kv_read_bytes(&m, &res[i]),
						  bw[j], huge);
	if (rs.err)
		die("out of memory");
	bn_recs_print(stdout, fmt, &rs);
	cli_check_stdout();
	if (plot) {
		struct bn_bench_plot pl = { nkt > 1 ? bn_kernels_get()->name : ktab[0]->name,
					    th, bw, nth, kb, nk, res, nres,
					    model ? bn_bench_decode_ops(&m) : 0, bytes };
		plot_svg(plot, &pl);
	}
	if (model)
		bn_model_close(&m);
	bn_recs_free(&rs);
	return close_stdout();
}
