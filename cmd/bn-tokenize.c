/* bn-tokenize - text to token ids and back, exactly as Hugging Face
 * tokenizers does it (docs/bn-tokenize.1).
 *
 * Each text record (a line by default, a NUL-terminated record with -0,
 * everything with --whole, a JSON object per line with --jsonl) becomes one
 * line of ids, and with -d each line of ids one text record.  The work is
 * in lib/tokrec.c; this file parses options and walks the operands the way
 * sbase's tools do. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "textio.h"
#include "threads.h"
#include "tokenizer.h"
#include "tokrec.h"

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: bn-tokenize [OPTIONS] (-t TOKENIZER.json | -m MODEL) [FILE...]\n"
		"convert text to token ids and back (FILE or - for standard input; .zst is\n"
		"read transparently).\n\n"
		"  -t, --tokenizer FILE   a Hugging Face tokenizer.json\n"
		"  -m, --model FILE       the tokenizer stored in a bn model\n"
		"  -o, --output FILE      write to FILE (compressed if it ends in .zst)\n"
		"      --jsonl            records are JSON objects: read \"text\", add \"ids\"\n"
		"  -0, --null             text records end in NUL instead of newline\n"
		"      --whole            the whole input is one text\n"
		"      --bos              start with BOS even if the tokenizer adds none\n"
		"      --no-bos           no BOS or other post-processing tokens\n"
		"      --no-parse-special special-token strings are plain text\n"
		"      --pieces           print id:piece pairs (with --jsonl: add \"tokens\")\n"
		"      --count            print token counts only\n"
		"  -d, --decode           ids to text\n"
		"      --skip-special     with -d: leave out special tokens\n"
		"  -j, --threads N        worker threads (default 1; 0 = all CPUs)\n"
		"  -h, --help             show this help and exit\n"
		"  -V, --version          show the version and exit\n");
}

enum { O_JSONL = 256, O_WHOLE, O_BOS, O_NOBOS, O_NOSPECIAL, O_PIECES, O_COUNT, O_SKIP };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tokenizer", required_argument, NULL, 't' },
		{ "model", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "jsonl", no_argument, NULL, O_JSONL },
		{ "null", no_argument, NULL, '0' },
		{ "whole", no_argument, NULL, O_WHOLE },
		{ "bos", no_argument, NULL, O_BOS },
		{ "no-bos", no_argument, NULL, O_NOBOS },
		{ "no-parse-special", no_argument, NULL, O_NOSPECIAL },
		{ "pieces", no_argument, NULL, O_PIECES },
		{ "count", no_argument, NULL, O_COUNT },
		{ "decode", no_argument, NULL, 'd' },
		{ "skip-special", no_argument, NULL, O_SKIP },
		{ "threads", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct bn_tokrec_opts o = { .mode = BN_TR_IDS, .delim = '\n', .nthreads = 1 };
	const char *tok = NULL, *model = NULL, *output = "-";
	static const char *const stdin_only[] = { "-", NULL };
	const char *const *files;
	struct bn_tokenizer *t = NULL;
	struct bn_writer *w = NULL;
	struct bn_errbuf eb = { { 0 } };
	int c, rc, ret = 0, replaced = 0, warned = 0, nmodes = 0;

	cli_init(argv[0]);
	while ((c = getopt_long(argc, argv, "t:m:o:0dj:hV", opts, NULL)) != -1) {
		switch (c) {
		case 't': tok = optarg; break;
		case 'm': model = optarg; break;
		case 'o': output = optarg; break;
		case O_JSONL: o.jsonl = 1; break;
		case '0': o.delim = '\0'; break;
		case O_WHOLE: o.delim = -1; break;
		case O_BOS: o.flags = (o.flags & ~BN_TOK_NO_BOS) | BN_TOK_BOS; break;
		case O_NOBOS: o.flags = (o.flags & ~BN_TOK_BOS) | BN_TOK_NO_BOS; break;
		case O_NOSPECIAL: o.flags |= BN_TOK_NO_SPECIAL; break;
		case O_PIECES: o.mode = BN_TR_PIECES; nmodes++; break;
		case O_COUNT: o.mode = BN_TR_COUNT; nmodes++; break;
		case 'd': o.mode = BN_TR_DECODE; nmodes++; break;
		case O_SKIP: o.skip_special = 1; break;
		case 'j': o.nthreads = (int)cli_int(optarg, 0, 1024, "--threads"); break;
		case 'h': usage(stdout); return close_stdout();
		case 'V': print_version();
		default: fprintf(stderr, "Try '%s --help' for more information.\n", argv0); return 2;
		}
	}
	if (!tok == !model)
		usage_error("give exactly one of -t TOKENIZER.json and -m MODEL");
	if (nmodes > 1)
		usage_error("--pieces, --count and --decode exclude each other");
	if (o.jsonl && o.delim != '\n')
		usage_error("--jsonl reads lines; it excludes -0 and --whole");
	if (o.skip_special && o.mode != BN_TR_DECODE)
		usage_error("--skip-special goes with --decode");
	if (o.nthreads == 0)
		o.nthreads = bn_ncpu();
	files = optind < argc ? (const char *const *)argv + optind : stdin_only;

	rc = tok ? bn_tokenizer_load_file(&t, tok, &eb) : bn_tokenizer_load_model(&t, model, &eb);
	if (rc < 0)
		die_err(rc, &eb);
	if ((rc = bn_writer_open(&w, output, &eb)) < 0) {
		bn_tokenizer_free(t);
		die_err(rc, &eb);
	}
	for (; *files; files++) {
		struct bn_reader *r;
		if ((rc = bn_reader_open(&r, *files, &eb)) < 0) {
			warn("%s", eb.msg);
			ret = 1;
			continue;
		}
		replaced = 0;
		rc = bn_tokrec_run(t, &o, r, w, &replaced, &eb);
		if (replaced && !warned) {
			warn("warning: %s: invalid UTF-8 replaced by U+FFFD", *files);
			warned = 1;
		}
		bn_reader_close(r);
		if (rc < 0) {
			if (!strcmp(output, "-"))
				cli_check_stdout();
			warn("%s", eb.msg);
			ret = 1;
			if (rc != BN_EFORMAT)
				break;	/* output or memory trouble: stop */
		}
	}
	if (!strcmp(output, "-"))
		cli_check_stdout();
	if (ret)
		bn_writer_abort(w);	/* a failed run creates or replaces no file */
	else if ((rc = bn_writer_close(w, &eb)) < 0) {
		if (!strcmp(output, "-"))
			cli_check_stdout();
		warn("%s", eb.msg);
		ret = 1;
	}
	bn_tokenizer_free(t);
	return ret | close_stdout();
}
