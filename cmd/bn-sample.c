/* bn-sample - sample token ids from logits frames (docs/bn-sample.1).
 *
 * Reads the frames bn-infer --logits writes (binary or jsonl, see
 * docs/bn-logits.5) and prints one sampled id per frame.  Each record has
 * its own random stream and penalty history, chosen by the frame's rec, so
 * ids depend only on the seed, the record and its frames.  --serve is the
 * external-sampler side of a generation loop: one "ID\n" per frame, flushed. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_sampler.h"
#include "logits.h"
#include "sampler.h"

/* Records whose frames may interleave: the states of the most recently
 * used SLOTS records are kept; an older record that comes back starts over. */
#define SLOTS 256

struct slot {
	uint32_t rec;
	int used;
	uint64_t last;	/* frame number of its latest use */
	void *state;
};

struct run {
	struct bn_sampler_params sp;
	int logprobs, jsonl, serve;
	struct bn_sampler *s;
	struct slot slot[SLOTS], *cur;
	float *raw;	/* copy of the logits for --logprobs */
	int32_t *ids;
	float *lp;
};

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: bn-sample [OPTIONS] [FILE]\n"
		"sample token ids from logits frames (FILE or - for standard input).\n\n"
		"  -s, --seed N               random seed (default %u; -1 = draw one)\n"
		"      --temp N               temperature; 0 = greedy (default 0.8)\n"
		"      --top-k N              keep the N most likely; 0 = off (default 40)\n"
		"      --top-p N              nucleus mass; 1 = off (default 0.95)\n"
		"      --min-p N              relative to the most likely; 0 = off (default 0.05)\n"
		"      --typical N            locally typical mass; 1 = off (default 1)\n"
		"      --repeat-penalty N     penalise recent ids; 1 = off (default 1)\n"
		"      --repeat-last-n N      ids the penalties look back at (default 64)\n"
		"      --presence-penalty N   subtract N once per recent id (default 0)\n"
		"      --frequency-penalty N  subtract N per occurrence (default 0)\n"
		"      --logprobs K           also print the K most likely ids and log-probabilities\n"
		"      --jsonl                print one JSON object per frame\n"
		"      --serve                external sampler: answer each frame with \"ID\\n\" at once\n"
		"  -h, --help                 show this help and exit\n"
		"  -V, --version              show the version and exit\n", BN_SEED_DEFAULT);
}

/* Make rec the current record: save the old state, load or start the new. */
static void switch_record(struct run *r, uint32_t rec, uint64_t frame)
{
	struct slot *sl = NULL;
	int i;

	if (r->cur && r->cur->rec == rec) {
		r->cur->last = frame;
		return;
	}
	if (r->cur)
		bn_sampler_state_save(r->s, r->cur->state);
	for (i = 0; i < SLOTS; i++)
		if (r->slot[i].used && r->slot[i].rec == rec)
			break;
	if (i < SLOTS) {
		sl = &r->slot[i];
		bn_sampler_state_load(r->s, sl->state);
	} else {
		for (i = 0; i < SLOTS; i++) {	/* a free slot, else the least recently used */
			if (!r->slot[i].used) {
				sl = &r->slot[i];
				break;
			}
			if (!sl || r->slot[i].last < sl->last)
				sl = &r->slot[i];
		}
		if (!sl->state && !(sl->state = malloc(bn_sampler_state_size(r->s))))
			die("out of memory");
		sl->used = 1;
		sl->rec = rec;
		bn_sampler_reset(r->s, rec);
	}
	sl->last = frame;
	r->cur = sl;
}

static void print_lp(float x)
{
	if (isfinite(x))
		printf("%.6f", (double)x);
	else
		fputs("null", stdout);
}

static void emit(struct run *r, const struct bn_logits_frame *f, int32_t id, int k)
{
	int i;

	if (r->jsonl) {
		printf("{\"rec\":%" PRIu32 ",\"pos\":%" PRIu32 ",\"id\":%" PRId32, f->rec, f->pos, id);
		if (r->logprobs) {
			fputs(",\"logprob\":", stdout);
			print_lp((float)(r->raw[id] - bn_logsumexp(r->raw, f->n_vocab)));
			fputs(",\"top\":[", stdout);
			for (i = 0; i < k; i++) {
				printf("%s{\"id\":%" PRId32 ",\"logprob\":", i ? "," : "", r->ids[i]);
				print_lp(r->lp[i]);
				putchar('}');
			}
			putchar(']');
		}
		fputs("}\n", stdout);
	} else {
		printf("%" PRId32, id);
		for (i = 0; i < k; i++)
			printf(" %" PRId32 ":%.6f", r->ids[i], (double)r->lp[i]);
		putchar('\n');
	}
	if (r->serve && fflush(stdout) == EOF)
		cli_check_stdout();
}

static int sample_stream(struct run *r, FILE *fp, const char *name)
{
	struct bn_logits_reader rd;
	struct bn_logits_frame f;
	struct bn_errbuf eb = { "" };
	int rc, k = 0, ret = 0;

	bn_logits_reader_init(&rd, fp, name, BN_LOGITS_AUTO);
	while ((rc = bn_logits_read_frame(&rd, &f, &eb)) == 1) {
		float *x = (float *)f.logits;	/* the reader's buffer, ours until the next read */
		int32_t id;
		if (!r->s) {
			if ((rc = bn_sampler_new(&r->s, &r->sp, f.n_vocab)) < 0)
				die("%s: %s", name, bn_strerror(rc));
			if (r->logprobs) {
				size_t kk = (size_t)BN_MIN(r->logprobs, f.n_vocab);
				r->raw = malloc((size_t)f.n_vocab * sizeof(float));
				r->ids = malloc(kk * sizeof(*r->ids));
				r->lp = malloc(kk * sizeof(*r->lp));
				if (!r->raw || !r->ids || !r->lp)
					die("out of memory");
			}
		}
		switch_record(r, f.rec, rd.frames);
		if (r->logprobs) {
			memcpy(r->raw, x, (size_t)f.n_vocab * sizeof(float));
			k = bn_sampler_topk_logprobs(x, f.n_vocab, r->logprobs, r->ids, r->lp);
		}
		id = bn_sampler_sample(r->s, x);
		bn_sampler_accept(r->s, id);
		emit(r, &f, id, k);
		cli_check_stdout();
	}
	if (rc < 0) {
		warn("%s", eb.msg[0] ? eb.msg : bn_strerror(rc));
		ret = 1;
	}
	if (rd.n_nan)
		warn("%s: %llu NaN or null logits read as -inf", name, (unsigned long long)rd.n_nan);
	bn_logits_reader_release(&rd);
	return ret;
}

int main(int argc, char **argv)
{
	enum { O_LOGPROBS = 256, O_JSONL, O_SERVE };
	static const struct option opts[] = {
		CLI_SAMPLER_LONGOPTS,
		{ "logprobs", required_argument, NULL, O_LOGPROBS },
		{ "jsonl", no_argument, NULL, O_JSONL },
		{ "serve", no_argument, NULL, O_SERVE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct run r = { .logprobs = 0 };
	const char *path = "-";
	FILE *fp;
	int c, ret, i;

	cli_init(argv[0]);
	bn_sampler_params_default(&r.sp);
	while ((c = getopt_long(argc, argv, "s:hV", opts, NULL)) != -1) {
		if (cli_sampler_opt(c, optarg, &r.sp))
			continue;
		switch (c) {
		case O_LOGPROBS: r.logprobs = (int)cli_int(optarg, 0, 1 << 24, "--logprobs"); break;
		case O_JSONL: r.jsonl = 1; break;
		case O_SERVE: r.serve = 1; break;
		case 'h': usage(stdout); return close_stdout();
		case 'V': print_version();
		default: fprintf(stderr, "Try '%s --help' for more information.\n", argv0); return 2;
		}
	}
	if (argc - optind > 1)
		usage_error("too many operands (one FILE at most)");
	cli_sampler_done(&r.sp, 0, 0);
	if (r.serve && (r.jsonl || r.logprobs))
		usage_error("--serve answers with bare ids: no --jsonl or --logprobs");
	if (optind < argc)
		path = argv[optind];
	if (!strcmp(path, "-")) {
		fp = stdin;
		path = "standard input";
	} else if (!(fp = fopen(path, "rb"))) {
		die("cannot open '%s':", path);
	}
	ret = sample_stream(&r, fp, path);
	if (fp != stdin)
		fclose(fp);
	bn_sampler_free(r.s);
	for (i = 0; i < SLOTS; i++)
		free(r.slot[i].state);
	free(r.raw);
	free(r.ids);
	free(r.lp);
	return ret | close_stdout();
}
