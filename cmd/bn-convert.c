/* bn-convert - convert a Hugging Face BitNet checkpoint, or a llama.cpp /
 * bitnet.cpp GGUF, into a bn model; or a model into a llama.cpp / bitnet.cpp
 * GGUF (--to). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "convert.h"
#include "file.h"
#include "gguf.h"
#include "interop.h"
#include "model.h"

static int quiet;
static double t0;

static void usage(FILE *fp)
{
	char shapes[128];

	bn_synthetic_list(shapes, sizeof(shapes));
	fprintf(fp,
		"Usage: bn-convert [OPTIONS] INPUT -o MODEL.gguf\n"
		"       bn-convert [OPTIONS] --synthetic SHAPE -o MODEL.gguf\n"
		"       bn-convert [OPTIONS] --to FORMAT INPUT -o OUT.gguf\n"
		"Convert a Hugging Face BitNet b1.58 checkpoint (packed ternary or bf16 master\n"
		"weights), or a BitNet GGUF of llama.cpp (TQ1_0/TQ2_0) or bitnet.cpp (I2_S),\n"
		"into one mmap-able bn model file (GGUF); or, with --to, write a bn model,\n"
		"checkpoint or GGUF in llama.cpp's or bitnet.cpp's format.\n\n"
		"  -o, --output FILE       write the model to FILE ('-' for stdout)\n"
		"  -t, --to FORMAT         output format: bn (default), llama.cpp (TQ2_0),\n"
		"                          i2_s (bitnet.cpp)\n"
		"  -e, --embed-type TYPE   embedding/output head type: f16, bf16, f32, q8_0\n"
		"                          (default: the first of f16, bf16, f32 that is exact)\n"
		"      --synthetic SHAPE   random ternary weights, no input; SHAPE is one of\n"
		"                          %s\n"
		"      --seed N            seed for --synthetic (default 1)\n"
		"  -q, --quiet             no progress or warnings\n"
		"  -h, --help              show this help and exit\n"
		"  -V, --version           show the version and exit\n", shapes);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void progress(void *ctx, int done, int total, uint64_t bytes)
{
	double dt = now() - t0;

	(void)ctx;
	fprintf(stderr, "\r%s: %d/%d tensors, %.1f MB, %.1f MB/s ", argv0, done, total,
		(double)bytes / 1e6, dt > 0 ? (double)bytes / 1e6 / dt : 0.0);
	if (done == total)
		fputc('\n', stderr);
}

static void warn_cb(void *ctx, const char *msg)
{
	(void)ctx;
	if (!quiet)
		warn("%s", msg);
}

static uint32_t parse_type(const char *s)
{
	if (!strcmp(s, "f16")) return BN_TYPE_F16;
	if (!strcmp(s, "bf16")) return BN_TYPE_BF16;
	if (!strcmp(s, "f32")) return BN_TYPE_F32;
	if (!strcmp(s, "q8_0")) return BN_TYPE_Q8_0;
	usage_error("unknown embedding type '%s' (f16, bf16, f32, q8_0)", s);
}

static int parse_to(const char *s)
{
	if (!strcmp(s, "bn")) return -1;
	if (!strcmp(s, "llama.cpp") || !strcmp(s, "tq2_0")) return BN_EXPORT_LLAMACPP;
	if (!strcmp(s, "i2_s") || !strcmp(s, "bitnet.cpp")) return BN_EXPORT_I2S;
	usage_error("unknown output format '%s' (bn, llama.cpp, i2_s)", s);
}

static const char *parse_shape(const char *s)
{
	char shapes[128];

	if (bn_synthetic_known(s))
		return s;
	bn_synthetic_list(shapes, sizeof(shapes));
	usage_error("unknown synthetic shape '%s' (%s)", s, shapes);
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* A GGUF file of llama.cpp or bitnet.cpp -> bn model. */
static int import(const char *path, const struct bn_convert_opts *o, FILE *fp,
		  struct bn_errbuf *eb)
{
	struct bn_map map;
	int rc;

	BN_TRY(bn_map_open(&map, path, eb));
	rc = bn_convert_gguf(map.base, map.size, path, o, fp, eb);
	bn_map_close(&map);
	return rc;
}

/* Any input bn can open -> llama.cpp or bitnet.cpp GGUF. */
static int export(const char *path, int to, const struct bn_convert_opts *o, FILE *fp,
		  struct bn_errbuf *eb)
{
	struct bn_model m;
	int rc;

	if (is_dir(path)) {
		uint8_t *buf;
		size_t size;
		BN_TRY(bn_convert_hf_mem(path, o, &buf, &size, eb));
		BN_TRY(bn_model_open_mem(&m, buf, size, path, eb));
	} else {
		BN_TRY(bn_model_open(&m, path, eb));
	}
	rc = bn_export_gguf(&m, (enum bn_export_fmt)to, o, fp, eb);
	if (rc == BN_OK && !quiet)
		warn("warning: %s builds the BitNet FFN with SiLU instead of relu^2 "
		     "(microsoft/BitNet #588, #602), so it does not compute BitNet b1.58 2B4T "
		     "correctly; the file itself is exact", to == BN_EXPORT_LLAMACPP ?
		     "upstream llama.cpp" : "bitnet.cpp's pinned llama.cpp fork");
	bn_model_close(&m);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "to", required_argument, NULL, 't' },
		{ "embed-type", required_argument, NULL, 'e' },
		{ "synthetic", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct bn_convert_opts o;
	struct bn_errbuf eb = { "" };
	struct bn_out out;
	const char *output = NULL, *synthetic = NULL;
	unsigned long long seed = 1;
	int c, rc, to = -1;

	cli_init(argv[0]);
	bn_convert_opts_default(&o);
	while ((c = getopt_long(argc, argv, "o:t:e:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 't': to = parse_to(optarg); break;
		case 'e': o.embd_type = parse_type(optarg); break;
		case 'S': synthetic = parse_shape(optarg); break;
		case 's': seed = (unsigned long long)cli_int(optarg, 0, INT64_MAX, "--seed"); break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return close_stdout();
		case 'V': print_version();
		default: fprintf(stderr, "Try '%s --help' for more information.\n", argv0); return 2;
		}
	}
	if (!output)
		usage_error("missing -o OUTPUT");
	if (synthetic && to >= 0)
		usage_error("--synthetic writes bn models only");
	if (synthetic ? optind != argc : optind != argc - 1)
		usage_error(synthetic ? "--synthetic takes no input" :
			    "expected one input (checkpoint directory or GGUF file)");
	o.warn = warn_cb;
	if (!quiet && cli_stderr_tty() && strcmp(output, "-")) {
		o.progress = progress;
		t0 = now();
	}
	if (bn_out_open(&out, output, &eb) < 0)
		die_err(BN_EIO, &eb);
	if (synthetic)
		rc = bn_convert_synthetic(synthetic, seed, &o, out.fp, &eb);
	else if (to >= 0)
		rc = export(argv[optind], to, &o, out.fp, &eb);
	else if (is_file(argv[optind]))
		rc = import(argv[optind], &o, out.fp, &eb);
	else
		rc = bn_convert_hf(argv[optind], &o, out.fp, &eb);
	if (rc < 0) {
		int e = errno, werr = rc == BN_EIO && ferror(out.fp);
		bn_out_abort(&out);	/* removes the temp file: no partial output */
		errno = e;
		if (werr && !strcmp(output, "-"))
			cli_check_stdout();	/* EPIPE: exit 0 quietly */
		if (werr && e)	/* as bn_out_commit says it, when the flush fails */
			die("cannot write '%s': %s", output, strerror(e));
		if (werr)
			die("%s: %s", output, eb.msg);
		die_err(rc, &eb);
	}
	if (bn_out_commit(&out, &eb) < 0) {
		if (!strcmp(output, "-"))
			cli_check_stdout();
		die_err(BN_EIO, &eb);
	}
	return 0;
}
