/* cli_sampler.h - the sampler options shared by bn-infer and bn-sample
 * (llama.cpp's names), for cmd/ only.  Put CLI_SAMPLER_LONGOPTS in the
 * getopt_long table, "s:" in the short options, and hand every option to
 * cli_sampler_opt() first. */
#ifndef BN_CLI_SAMPLER_H
#define BN_CLI_SAMPLER_H

#include "sampler.h"

enum {
	CLI_O_TEMP = 0x1000, CLI_O_TOPK, CLI_O_TOPP, CLI_O_MINP, CLI_O_TYP, CLI_O_RPEN,
	CLI_O_RLAST, CLI_O_PPEN, CLI_O_FPEN,
};

#define CLI_SAMPLER_LONGOPTS \
	{ "seed", 1, 0, 's' }, { "temp", 1, 0, CLI_O_TEMP }, { "temperature", 1, 0, CLI_O_TEMP }, \
	{ "top-k", 1, 0, CLI_O_TOPK }, { "top-p", 1, 0, CLI_O_TOPP }, \
	{ "min-p", 1, 0, CLI_O_MINP }, { "typical", 1, 0, CLI_O_TYP }, \
	{ "typical-p", 1, 0, CLI_O_TYP }, { "repeat-penalty", 1, 0, CLI_O_RPEN }, \
	{ "repeat-last-n", 1, 0, CLI_O_RLAST }, { "presence-penalty", 1, 0, CLI_O_PPEN }, \
	{ "frequency-penalty", 1, 0, CLI_O_FPEN }

/* Apply option c (with argument arg) to p; 1 if c was a sampler option,
 * 0 if not.  A bad value is a usage error (exit 2).  --seed takes decimal,
 * or hexadecimal after 0x, never octal; -1 draws a random seed (from the
 * OS), as in llama.cpp.  --repeat-last-n -1 (llama.cpp's "the context
 * size") is left for cli_sampler_done. */
int cli_sampler_opt(int c, const char *arg, struct bn_sampler_params *p);
/* After the options: say a drawn seed on stderr unless quiet, so that the
 * run can be repeated; make --repeat-last-n -1 ctx_window, a window that
 * holds the whole context, or a usage error where ctx_window is 0 (no
 * context). */
void cli_sampler_done(struct bn_sampler_params *p, int quiet, int ctx_window);

#endif
