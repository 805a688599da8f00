/* bn-infer - run a BitNet b1.58 model: generation, logits, perplexity. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "file.h"
#include "infer.h"
#include "json.h"

/* Longest input line: a prompt of 64 MiB is already ~16M tokens, the
 * largest context a model may declare. */
#define LINE_LIMIT ((size_t)64 << 20)

#ifndef BN_SHAREDIR
#define BN_SHAREDIR "/usr/local/share/bn"
#endif

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: bn-infer [OPTIONS] [-m MODEL] [-p PROMPT | -f FILE | --perplexity FILE]\n"
		"Run a BitNet b1.58 model.  Without -p, each line of FILE (or standard input)\n"
		"is one prompt; the generated text of each is printed on one line.\n\n"
		"  -m, --model FILE        bn model (GGUF) or Hugging Face checkpoint directory\n"
		"                          (default: $BN_MODEL, else the bundled demo model)\n"
		"  -p, --prompt TEXT       one prompt\n"
		"  -f, --file FILE         prompts, one per line ('-' for standard input)\n"
		"      --ids               input lines are space-separated token ids\n"
		"  -n, --n-predict N       tokens to generate (-1: until end of text; 0: none)\n"
		"  -c, --ctx-size N        context size (default: model's, at most 4096;\n"
		"                          512 for --perplexity)\n"
		"  -b, --batch-size N      prompt tokens per forward pass (default 128)\n"
		"  -t, --threads N         threads (default: online CPUs)\n"
		"      --temp T            temperature (default 0.8; 0 = greedy)\n"
		"      --top-k N           (default 40; 0 = off)\n"
		"      --top-p P           (default 0.95; 1 = off)\n"
		"      --min-p P           (default 0.05; 0 = off)\n"
		"      --typical P         (default 1 = off)\n"
		"      --repeat-penalty X  (default 1 = off)\n"
		"      --repeat-last-n N   (default 64)\n"
		"      --presence-penalty X, --frequency-penalty X  (default 0)\n"
		"  -s, --seed N            random seed (default 42)\n"
		"      --ignore-eos        do not stop at end-of-text tokens\n"
		"      --no-bos            do not add BOS to text prompts\n"
		"      --jsonl             one JSON object per prompt (id, text, ids, n_prompt,\n"
		"                          n_gen, stop_reason); input lines may be JSON objects\n"
		"                          {\"id\":..., \"prompt\":...}\n"
		"      --logits            write logits frames (docs/bn-logits.5) to stdout\n"
		"      --all-logits        frames for every prompt position, not only the last\n"
		"      --logits-format F   f32 (default) or jsonl\n"
		"      --perplexity FILE   score each non-empty line of FILE (BOS + tokens)\n"
		"  -h, --help              show this help and exit\n"
		"  -V, --version           show the version and exit\n");
}

enum { O_IDS = 256, O_TEMP, O_TOPK, O_TOPP, O_MINP, O_TYP, O_RP, O_RLN, O_PP, O_FP,
       O_IEOS, O_NOBOS, O_JSONL, O_LOGITS, O_ALL, O_LFMT, O_PPL };

static const struct option opts[] = {
	{ "model", required_argument, NULL, 'm' }, { "prompt", required_argument, NULL, 'p' },
	{ "file", required_argument, NULL, 'f' }, { "ids", no_argument, NULL, O_IDS },
	{ "n-predict", required_argument, NULL, 'n' }, { "ctx-size", required_argument, NULL, 'c' },
	{ "batch-size", required_argument, NULL, 'b' }, { "threads", required_argument, NULL, 't' },
	{ "temp", required_argument, NULL, O_TEMP }, { "top-k", required_argument, NULL, O_TOPK },
	{ "top-p", required_argument, NULL, O_TOPP }, { "min-p", required_argument, NULL, O_MINP },
	{ "typical", required_argument, NULL, O_TYP },
	{ "repeat-penalty", required_argument, NULL, O_RP },
	{ "repeat-last-n", required_argument, NULL, O_RLN },
	{ "presence-penalty", required_argument, NULL, O_PP },
	{ "frequency-penalty", required_argument, NULL, O_FP },
	{ "seed", required_argument, NULL, 's' }, { "ignore-eos", no_argument, NULL, O_IEOS },
	{ "no-bos", no_argument, NULL, O_NOBOS }, { "jsonl", no_argument, NULL, O_JSONL },
	{ "logits", no_argument, NULL, O_LOGITS }, { "all-logits", no_argument, NULL, O_ALL },
	{ "logits-format", required_argument, NULL, O_LFMT },
	{ "perplexity", required_argument, NULL, O_PPL },
	{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
	{ 0 }
};

/* -m omitted: $BN_MODEL, then the demo model beside the binary, then the
 * installed one. */
static const char *default_model(const char *self)
{
	static char buf[4096];
	const char *env = getenv("BN_MODEL");
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 64)) > 0) {
		buf[n] = 0;
		if ((slash = strrchr(buf, '/'))) {
			strcpy(slash, "/../share/bn/demo.gguf");
			if (access(buf, R_OK) == 0)
				return buf;
		}
	}
	(void)self;
	return BN_SHAREDIR "/demo.gguf";
}

static void parse(int argc, char **argv, struct bn_infer_opts *o, const char **prompt,
		  const char **file, const char **ppl)
{
	int c;

	while ((c = getopt_long(argc, argv, "m:p:f:n:c:b:t:s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'p': *prompt = optarg; break;
		case 'f': *file = optarg; break;
		case O_IDS: o->ids_in = 1; break;
		case 'n': o->n_predict = (int)cli_int(optarg, -1, 1 << 24, "-n"); break;
		case 'c': o->n_ctx = (int)cli_int(optarg, 1, 1 << 24, "-c"); break;
		case 'b': o->n_batch = (int)cli_int(optarg, 1, 1 << 16, "-b"); break;
		case 't': o->n_threads = (int)cli_int(optarg, 1, 1024, "-t"); break;
		case O_TEMP: o->sp.temp = (float)cli_float(optarg, -1e9, 1e9, "--temp"); break;
		case O_TOPK: o->sp.top_k = (int)cli_int(optarg, 0, 1 << 24, "--top-k"); break;
		case O_TOPP: o->sp.top_p = (float)cli_float(optarg, 0, 1, "--top-p"); break;
		case O_MINP: o->sp.min_p = (float)cli_float(optarg, 0, 1, "--min-p"); break;
		case O_TYP: o->sp.typical = (float)cli_float(optarg, 0, 1, "--typical"); break;
		case O_RP: o->sp.repeat_penalty = (float)cli_float(optarg, 1e-6, 1e6, "--repeat-penalty"); break;
		case O_RLN: o->sp.repeat_last_n = (int)cli_int(optarg, 0, 1 << 20, "--repeat-last-n"); break;
		case O_PP: o->sp.presence_penalty = (float)cli_float(optarg, -1e6, 1e6, "--presence-penalty"); break;
		case O_FP: o->sp.freq_penalty = (float)cli_float(optarg, -1e6, 1e6, "--frequency-penalty"); break;
		case 's': o->sp.seed = (uint64_t)cli_int(optarg, 0, INT64_MAX, "--seed"); break;
		case O_IEOS: o->ignore_eos = 1; break;
		case O_NOBOS: o->tok_flags = BN_TOK_NO_BOS; break;
		case O_JSONL: o->jsonl = 1; break;
		case O_LOGITS: o->logits = 1; break;
		case O_ALL: o->all_logits = 1; break;
		case O_LFMT:
			if (!strcmp(optarg, "f32")) o->logits_fmt = BN_LOGITS_F32;
			else if (!strcmp(optarg, "jsonl")) o->logits_fmt = BN_LOGITS_JSONL;
			else usage_error("unknown logits format '%s' (f32, jsonl)", optarg);
			break;
		case O_PPL: *ppl = optarg; break;
		case 'h': usage(stdout); exit(close_stdout());
		case 'V': print_version();
		default: fprintf(stderr, "Try '%s --help' for more information.\n", argv0); exit(2);
		}
	}
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (*prompt && *file)
		usage_error("-p and -f cannot be used together");
	if (o->logits && o->jsonl)
		usage_error("--logits and --jsonl cannot be used together");
	if (!o->model)
		o->model = default_model(argv[0]);
}

/* One input line: a JSON record with --jsonl, else the prompt itself. */
static int run_line(struct bn_infer *r, char *line, size_t len, struct bn_errbuf *eb)
{
	char *id = NULL, *text = line;
	cJSON *rec = NULL;
	int32_t *ids = NULL;
	size_t n;
	int rc;

	if (r->o.jsonl && len && line[0] == '{') {
		const cJSON *p;
		if (!(rec = bn_json_parse(line, len, 0, "input record", eb)))
			return BN_EFORMAT;
		if (!cJSON_IsString(p = cJSON_GetObjectItemCaseSensitive(rec, "prompt"))) {
			cJSON_Delete(rec);
			return bn_fail(eb, BN_EFORMAT, "input record is not a JSON object with a "
				       "\"prompt\" string");
		}
		text = p->valuestring;
		len = strlen(text);
		if ((p = cJSON_GetObjectItemCaseSensitive(rec, "id")))
			id = cJSON_PrintUnformatted(p);
	}
	rc = bn_infer_tokens(r, text, len, &ids, &n, eb);
	if (rc == BN_TOK_REPLACED)
		warn("input is not valid UTF-8; invalid bytes were replaced by U+FFFD");
	if (rc >= 0)
		rc = bn_infer_record(r, ids, n, id, eb);
	free(ids);
	free(id);
	cJSON_Delete(rec);
	return rc;
}

static int run_ppl(struct bn_infer *r, const char *path, struct bn_errbuf *eb)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t cap = 0, lineno = 0, tokens = 0, len;
	double total = 0;
	int rc = BN_OK, got;

	if (!fp)
		return bn_fail(eb, BN_EIO, "cannot open '%s': %s", path, strerror(errno));
	while (rc >= 0 && (got = bn_getline(fp, &line, &cap, &len, LINE_LIMIT)) != 0) {
		int32_t *ids = NULL;
		size_t n, cnt;
		double nll;
		lineno++;
		if (got < 0) {
			rc = bn_fail(eb, got, "%s:%zu: %s", path, lineno, got == BN_ERANGE ?
				     "line longer than 64 MiB" : strerror(errno));
			break;
		}
		while (len && line[len - 1] == '\r')
			line[--len] = 0;
		if (!len)
			continue;
		rc = bn_tokenizer_encode(r->tok, line, len, BN_TOK_BOS, &ids, &n, eb);
		if (rc >= 0)
			rc = bn_infer_nll(r, ids, n, &nll, &cnt, eb);
		free(ids);
		if (rc < 0 || !cnt)
			continue;
		total += nll;
		tokens += cnt;
		if (r->o.jsonl)
			printf("{\"line\":%zu,\"ppl\":%.6f,\"nll\":%.6f,\"tokens\":%zu}\n", lineno,
			       exp(nll / cnt), nll, cnt);
		else
			printf("%zu\t%.4f\t%zu\n", lineno, exp(nll / cnt), cnt);
		cli_check_stdout();
	}
	if (fp != stdin)
		fclose(fp);
	free(line);
	if (rc >= 0 && r->o.jsonl)
		printf("{\"ppl\":%.6f,\"nll\":%.6f,\"tokens\":%zu}\n", tokens ? exp(total / tokens) : 0,
		       total, tokens);
	else if (rc >= 0)
		printf("total\t%.4f\t%zu\n", tokens ? exp(total / tokens) : 0, tokens);
	return rc;
}

int main(int argc, char **argv)
{
	struct bn_infer_opts o;
	struct bn_infer r;
	struct bn_errbuf eb = { "" };
	const char *prompt = NULL, *file = NULL, *ppl = NULL;
	int rc, status = 0;

	cli_init(argv[0]);
	bn_infer_opts_default(&o);
	parse(argc, argv, &o, &prompt, &file, &ppl);
	if (ppl && !o.n_ctx)
		o.n_ctx = 512;
	o.stream = isatty(STDOUT_FILENO) || !o.jsonl;
	if ((rc = bn_infer_init(&r, &o, stdout, &eb)) < 0)
		die_err(rc, &eb);
	if (ppl) {
		if ((rc = run_ppl(&r, ppl, &eb)) < 0)
			die_err(rc, &eb);
	} else if (prompt) {
		if ((rc = run_line(&r, (char *)prompt, strlen(prompt), &eb)) < 0)
			die_err(rc, &eb);
	} else {
		FILE *fp = !file || !strcmp(file, "-") ? stdin : fopen(file, "r");
		const char *name = !file || !strcmp(file, "-") ? "<stdin>" : file;
		char *line = NULL;
		size_t cap = 0, len, lineno = 0;
		int got;
		if (!fp)
			die("cannot open '%s':", file);
		/* a bad line is reported (NAME:LINE: problem) and skipped */
		while ((got = bn_getline(fp, &line, &cap, &len, LINE_LIMIT)) != 0) {
			lineno++;
			if (got == BN_EIO)
				die("cannot read '%s':", name);
			if (got < 0) {
				warn("%s:%zu: %s", name, lineno, got == BN_ERANGE ?
				     "line longer than 64 MiB" : bn_strerror(got));
				status = 1;
				continue;
			}
			while (len && line[len - 1] == '\r')
				line[--len] = 0;
			if ((rc = run_line(&r, line, len, &eb)) < 0) {
				cli_check_stdout();
				warn("%s:%zu: %s", name, lineno, eb.msg);
				status = 1;
			}
		}
		if (fp != stdin)
			fclose(fp);
		free(line);
	}
	cli_check_stdout();
	bn_infer_release(&r);
	return close_stdout() | status;
}
