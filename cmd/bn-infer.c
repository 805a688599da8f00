/* bn-infer - run a BitNet b1.58 model: generation, chat, batches, logits,
 * perplexity (docs/bn-infer.1).  The work is in lib/infer.c, lib/batch.c,
 * lib/chat.c and lib/ppl.c; this file parses options and reports progress. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"
#include "cli_sampler.h"
#include "ppl.h"

static void usage(FILE *fp)
{
	fputs("Usage: bn-infer [OPTIONS] [-m MODEL] [-p PROMPT | -f FILE | --perplexity FILE]\n"
	"Run a BitNet b1.58 model.  Without -p, each line of FILE (or standard input)\n"
	"is one prompt (a record); the generated text of each is printed on one line.\n\n"
	"  -m, --model FILE        bn model (GGUF) or Hugging Face checkpoint directory\n"
	"                          (default: $BN_MODEL, else the bundled demo model)\n"
	"  -p, --prompt TEXT       one prompt (backslash escapes processed, see -e)\n"
	"  -f, --file FILE         prompts, one per line ('-': standard input; .zst ok)\n"
	"  -o, --output FILE       write to FILE atomically (.zst: compressed)\n"
	"      --ids               input lines are space-separated token ids\n"
	"  -n, --n-predict N       tokens to generate (-1: until a stop; 0: none)\n"
	"  -c, --ctx-size N        context size (default: model's, at most 4096;\n"
	"                          512 for --perplexity)\n"
	"  -b, --batch-size N      prompt tokens per forward pass (default 128)\n"
	"  -t, --threads N         threads (default: online CPUs)\n"
	"      --cache-type T      KV cache: f32 (default) or f16 (half the memory;\n"
	"                          keys and values rounded to f16)\n"
	"      --temp T            temperature (default 0.8; 0 = greedy)\n"
	"      --top-k N           (default 40; 0 = off)\n"
	"      --top-p P           (default 0.95; 1 = off)\n"
	"      --min-p P           (default 0.05; 0 = off)\n"
	"      --typical P         (default 1 = off)\n"
	"      --repeat-penalty X  (default 1 = off)\n"
	"      --repeat-last-n N   (default 64; -1 = the context)\n"
	"      --presence-penalty X, --frequency-penalty X  (default 0)\n"
	"  -s, --seed N            random seed (default 42; -1 = draw one)\n"
	"      --stop STR          stop when the text ends with STR (repeatable)\n"
	"      --ignore-eos        do not stop at the model's stop tokens\n"
	"      --no-bos            do not add BOS to text prompts\n"
	"  -e, --escape            process \\n \\t \\\\ ... in -p, --system, --stop (default)\n"
	"      --no-escape         take them literally\n"
	"      --stream            flush the text after every token (default on a terminal)\n"
	"      --chat              apply the model's chat template; stop at <|eot_id|>\n"
	"      --chat-template T   Jinja template text, or 'bitnet' (the built-in one)\n"
	"      --system TEXT       system message for --chat\n"
	"  -i, --interactive       chat turn by turn from standard input (default with\n"
	"                          --chat when it is a terminal and there is no -p or -f)\n"
	"      --jsonl             JSON records in and out (id, text, ids, n_prompt, n_gen,\n"
	"                          stop_reason, ms_prompt, ms_gen); input lines may be\n"
	"                          {\"id\":..., \"prompt\":...} or {\"id\":..., \"messages\":[...]}\n"
	"      --no-timings        no ms_prompt and ms_gen in JSON output\n"
	"      --shard K/N         only records i with i mod N = K-1 (default from\n"
	"                          SLURM_ARRAY_TASK_ID, _MIN and _COUNT)\n"
	"      --resume FILE       skip records already done in FILE (a --jsonl output)\n"
	"      --logits            write logits frames (bn-logits(5)) to the output\n"
	"      --all-logits        frames for every prompt position, not only the last\n"
	"      --logits-format F   f32 (default) or jsonl\n"
	"      --sampler-fd IN,OUT external sampler: frames to fd OUT, ids from fd IN\n"
	"      --sampler CMD       external sampler: run CMD (sh -c) on two pipes\n"
	"      --perplexity FILE   perplexity of each non-empty line of FILE (BOS + tokens)\n"
	"      --ppl-mode MODE     lines (default) or chunks (llama-perplexity's method)\n"
	"      --chunks N          chunks mode: score at most N chunks\n"
	"  -q, --quiet             no progress line and no warnings\n"
	"  -h, --help              show this help and exit\n"
	"  -V, --version           show the version and exit\n", fp);
}

enum { O_IDS = 256, O_IEOS,
       O_NOBOS, O_JSONL, O_LOGITS, O_ALL, O_LFMT, O_PPL, O_STOP, O_NOESC, O_STREAM, O_CHAT,
       O_TMPL, O_SYS, O_NOTIME, O_SHARD, O_RESUME, O_XSFD, O_XS, O_PMODE, O_CHUNKS, O_CTYPE };

static const struct option opts[] = {
	{ "model", 1, 0, 'm' }, { "prompt", 1, 0, 'p' }, { "file", 1, 0, 'f' },
	{ "output", 1, 0, 'o' }, { "ids", 0, 0, O_IDS }, { "n-predict", 1, 0, 'n' },
	{ "predict", 1, 0, 'n' },
	{ "ctx-size", 1, 0, 'c' }, { "batch-size", 1, 0, 'b' }, { "threads", 1, 0, 't' },
	{ "cache-type", 1, 0, O_CTYPE }, CLI_SAMPLER_LONGOPTS, { "stop", 1, 0, O_STOP },
	{ "ignore-eos", 0, 0, O_IEOS }, { "no-bos", 0, 0, O_NOBOS }, { "escape", 0, 0, 'e' },
	{ "no-escape", 0, 0, O_NOESC }, { "stream", 0, 0, O_STREAM }, { "chat", 0, 0, O_CHAT },
	{ "chat-template", 1, 0, O_TMPL }, { "system", 1, 0, O_SYS },
	{ "interactive", 0, 0, 'i' }, { "jsonl", 0, 0, O_JSONL }, { "no-timings", 0, 0, O_NOTIME },
	{ "shard", 1, 0, O_SHARD }, { "resume", 1, 0, O_RESUME }, { "logits", 0, 0, O_LOGITS },
	{ "all-logits", 0, 0, O_ALL }, { "logits-format", 1, 0, O_LFMT },
	{ "sampler-fd", 1, 0, O_XSFD }, { "sampler", 1, 0, O_XS },
	{ "perplexity", 1, 0, O_PPL }, { "ppl-mode", 1, 0, O_PMODE }, { "chunks", 1, 0, O_CHUNKS },
	{ "quiet", 0, 0, 'q' }, { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' }, { 0 }
};

static struct {
	const char *prompt, *file, *out, *ppl, *tmpl, *xs_cmd;
	int noesc, inter, quiet, progress, stream;
	struct bn_batch_opts b;
	struct bn_ppl_opts p;
	double total;		/* records of this shard in the input, for the ETA; 0 unknown */
} A;

static void parse(int argc, char **argv, struct bn_infer_opts *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "m:p:f:o:n:c:b:t:s:eiqhV", opts, NULL)) != -1) {
		if (cli_sampler_opt(c, optarg, &o->sp))
			continue;
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'p': A.prompt = optarg; break;
		case 'f': A.file = optarg; break;
		case 'o': A.out = optarg; break;
		case O_IDS: o->ids_in = 1; break;
		case 'n': o->n_predict = (int)cli_int(optarg, -1, 1 << 24, "-n"); break;
		case 'c': o->n_ctx = (int)cli_int(optarg, 1, 1 << 24, "-c"); break;
		case 'b': o->n_batch = (int)cli_int(optarg, 1, 1 << 16, "-b"); break;
		case 't': o->n_threads = (int)cli_int(optarg, 1, 1024, "-t"); break;
		case O_CTYPE: o->kv_type = cli_kv_type(optarg); break;
		case O_STOP:
			if (o->n_stop_str == BN_MAX_STOP_STR)
				usage_error("at most %d --stop strings", BN_MAX_STOP_STR);
			o->stop_str[o->n_stop_str++] = optarg;
			break;
		case O_IEOS: o->ignore_eos = 1; break;
		case O_NOBOS: o->tok_flags = BN_TOK_NO_BOS; break;
		case 'e': A.noesc = 0; break;
		case O_NOESC: A.noesc = 1; break;
		case O_STREAM: A.stream = 1; break;
		case O_CHAT: A.b.chat = 1; break;
		case O_TMPL: A.tmpl = optarg; A.b.chat = 1; break;
		case O_SYS: A.b.system = optarg; break;
		case 'i': A.inter = 1; break;
		case O_JSONL: o->jsonl = A.p.jsonl = 1; break;
		case O_NOTIME: o->no_timings = 1; break;
		case O_SHARD:
			if (bn_shard_parse(optarg, &A.b.shard_k, &A.b.shard_n) < 0)
				usage_error("invalid value '%s' for --shard (expected K/N, 1 <= K <= N)",
					    optarg);
			break;
		case O_RESUME: A.b.resume = optarg; break;
		case O_LOGITS: o->logits = 1; break;
		case O_ALL: o->all_logits = 1; break;
		case O_LFMT:
			if (!strcmp(optarg, "f32")) o->logits_fmt = BN_LOGITS_F32;
			else if (!strcmp(optarg, "jsonl")) o->logits_fmt = BN_LOGITS_JSONL;
			else usage_error("unknown logits format '%s' (f32, jsonl)", optarg);
			break;
		case O_XSFD:
			if (sscanf(optarg, "%d,%d%c", &o->xs_in, &o->xs_out, (char[1]){ 0 }) != 2 ||
			    o->xs_in < 0 || o->xs_out < 0)
				usage_error("invalid value '%s' for --sampler-fd (expected IN,OUT)", optarg);
			break;
		case O_XS: A.xs_cmd = optarg; break;
		case O_PPL: A.ppl = optarg; break;
		case O_PMODE:
			if (strcmp(optarg, "lines") && strcmp(optarg, "chunks"))
				usage_error("unknown perplexity mode '%s' (lines, chunks)", optarg);
			A.p.chunks = optarg[0] == 'c';
			break;
		case O_CHUNKS: A.p.max_chunks = (int)cli_int(optarg, 1, 1 << 30, "--chunks"); break;
		case 'q': A.quiet = 1; break;
		case 'h': usage(stdout); exit(close_stdout());
		case 'V': print_version();
		default: fprintf(stderr, "Try '%s --help' for more information.\n", argv0); exit(2);
		}
	}
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	cli_sampler_done(&o->sp, A.quiet, BN_REPEAT_LAST_N_MAX);	/* -1: the whole record */
	if (!!A.prompt + !!A.file + !!A.ppl > 1)
		usage_error("-p, -f and --perplexity exclude each other");
	if (A.xs_cmd && o->xs_in >= 0)
		usage_error("--sampler and --sampler-fd exclude each other");
	if (A.inter && !A.b.chat)
		usage_error("--interactive needs --chat");
	if (!A.noesc) {
		int i;
		if (A.prompt)
			bn_unescape((char *)A.prompt);
		if (A.b.system)
			bn_unescape((char *)A.b.system);
		for (i = 0; i < o->n_stop_str; i++)
			bn_unescape((char *)o->stop_str[i]);
	}
	if (!o->model)
		o->model = bn_infer_default_model();
}

static void on_error(void *ctx, const char *where, const char *msg)
{
	(void)ctx;
	if (!A.quiet || !strstr(msg, "U+FFFD"))
		warn("%s: %s", where, msg);
}

static void batch_progress(void *ctx, const struct bn_batch_stats *st)
{
	char buf[256];

	(void)ctx;
	bn_batch_progress_text(st, A.total, buf, sizeof(buf));
	fprintf(stderr, "\r%s\033[K", buf);
}

static void ppl_progress(void *ctx, size_t done, size_t total, size_t tokens, double ppl)
{
	(void)ctx, (void)total;
	if (A.p.chunks)
		fprintf(stderr, "[%zu]%.4f,", done, ppl);
	else
		fprintf(stderr, "\r%zu lines, %zu tokens, ppl %.4f\033[K", done, tokens, ppl);
}

static struct bn_outfile of;

static void __attribute__((noreturn)) fail(int rc, const struct bn_errbuf *eb)
{
	if (!A.out && ferror(stdout) && strstr(eb->msg, "Broken pipe"))
		exit(0);	/* a closed pipe (| head -1) is not an error */
	bn_outfile_close(&of, 0, NULL);
	die_err(rc, eb);
}

int main(int argc, char **argv)
{
	struct bn_infer_opts o;
	struct bn_infer r;
	struct bn_errbuf eb = { "" };
	struct bn_batch *b = NULL;
	struct bn_reader *in = NULL;
	pid_t pid = 0;
	int rc = 0, builtin, status = 0, ws;

	cli_init(argv[0]);
	bn_infer_opts_default(&o);
	parse(argc, argv, &o);
	if (A.ppl && !o.n_ctx)
		o.n_ctx = 512;
	if (A.b.chat && !A.prompt && !A.file && !A.ppl && isatty(STDIN_FILENO))
		A.inter = 1;
	if (!A.prompt && !A.ppl && !A.inter && !A.b.shard_n &&
	    bn_shard_env(&A.b.shard_k, &A.b.shard_n) < 0)
		usage_error("SLURM_ARRAY_TASK_ID, _MIN and _COUNT do not describe a contiguous "
			    "array (use --shard)");
	o.stream = A.stream || (!A.out && isatty(STDOUT_FILENO));
	A.progress = !A.quiet && !A.inter && !A.prompt && cli_progress_tty(!A.out);
	if (A.xs_cmd && (rc = bn_infer_spawn(A.xs_cmd, &o.xs_in, &o.xs_out, &pid, &eb)) < 0)
		die_err(rc, &eb);
	if ((rc = bn_outfile_open(&of, A.out ? A.out : "-", &eb)) < 0)
		die_err(rc, &eb);
	if ((rc = bn_infer_init(&r, &o, of.fp, &eb)) < 0 ||
	    (A.b.chat && (rc = bn_infer_chat_init(&r, A.tmpl, &builtin, &eb)) < 0))
		fail(rc, &eb);
	if (bn_state_ctx(r.st) > r.m.cfg.ctx_max && !A.quiet)
		warn("warning: context %d exceeds the model's training context %d",
		     bn_state_ctx(r.st), r.m.cfg.ctx_max);
	if (r.m.repacked && !A.quiet)
		warn("note: '%s' is converted in memory at every start; 'bn-convert' it once", o.model);
	if (A.ppl) {
		A.p.on_progress = A.progress ? ppl_progress : NULL;
		if ((rc = bn_reader_open(&in, A.ppl, &eb)) >= 0)
			rc = bn_ppl_run(&r, in, &A.p, &eb);
	} else {
		A.b.on_error = on_error;
		A.b.on_progress = A.progress ? batch_progress : NULL;
		if (A.progress)
			A.total = bn_batch_count(A.file, o.jsonl, A.b.shard_k, A.b.shard_n);
		if ((rc = bn_batch_new(&b, &r, &A.b, &eb)) < 0)
			fail(rc, &eb);
		if (A.inter)
			rc = bn_batch_interactive(b, stdin, stderr, "> ", &eb);
		else if (A.prompt)
			rc = bn_batch_prompt(b, A.prompt, strlen(A.prompt), &eb);
		else if ((rc = bn_reader_open(&in, A.file ? A.file : "-", &eb)) >= 0)
			rc = bn_batch_run(b, in, &eb);
		status = bn_batch_stats(b)->failed != 0;
	}
	if (A.progress)
		fputc('\n', stderr);
	bn_reader_close(in);
	bn_batch_free(b);
	if (rc < 0)
		fail(rc, &eb);
	if ((rc = bn_outfile_close(&of, 1, &eb)) < 0)
		die_err(rc, &eb);
	bn_infer_release(&r);
	if (pid > 0 && (waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws))) {
		warn("the external sampler '%s' failed", A.xs_cmd);
		status = 1;
	}
	return close_stdout() | status;
}
