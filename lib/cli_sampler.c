/* cli_sampler.c - sampler options for bn-infer and bn-sample. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli.h"
#include "cli_sampler.h"

static int seed_drawn;	/* the last -s was -1 */

static uint64_t random_seed(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		die("cannot draw a random seed:");
	return v;
}

static uint64_t parse_seed(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10);
	if (!isdigit((unsigned char)*s) || *end || errno)
		usage_error("invalid value '%s' for --seed (expected an integer in 0..%llu)",
			    s, (unsigned long long)UINT64_MAX);
	return v;
}

int cli_sampler_opt(int c, const char *arg, struct bn_sampler_params *p)
{
	switch (c) {
	case 's':
		seed_drawn = !strcmp(arg, "-1");	/* llama.cpp's "random seed" */
		p->seed = seed_drawn ? random_seed() : parse_seed(arg);
		break;
	case CLI_O_TEMP: p->temp = (float)cli_float(arg, -1e6, 1e6, "--temp"); break;
	case CLI_O_TOPK: p->top_k = (int)cli_int(arg, -1, 1 << 24, "--top-k"); break;
	case CLI_O_TOPP: p->top_p = (float)cli_float(arg, 0, 1, "--top-p"); break;
	case CLI_O_MINP: p->min_p = (float)cli_float(arg, 0, 1, "--min-p"); break;
	case CLI_O_TYP: p->typical = (float)cli_float(arg, 0, 1, "--typical"); break;
	case CLI_O_RPEN:
		p->repeat_penalty = (float)cli_float(arg, 1e-6, 1e6, "--repeat-penalty");
		break;
	case CLI_O_RLAST:
		p->repeat_last_n = (int)cli_int(arg, -1, BN_REPEAT_LAST_N_MAX, "--repeat-last-n");
		break;
	case CLI_O_PPEN:
		p->presence_penalty = (float)cli_float(arg, -1e6, 1e6, "--presence-penalty");
		break;
	case CLI_O_FPEN:
		p->freq_penalty = (float)cli_float(arg, -1e6, 1e6, "--frequency-penalty");
		break;
	default:
		return 0;
	}
	return 1;
}

void cli_sampler_done(struct bn_sampler_params *p, int quiet, int ctx_window)
{
	if (seed_drawn && !quiet)
		warn("random seed %llu", (unsigned long long)p->seed);
	if (p->repeat_last_n >= 0)
		return;
	if (!ctx_window)
		usage_error("--repeat-last-n -1 means the context size, and there is no "
			    "context here");
	p->repeat_last_n = ctx_window;
}
