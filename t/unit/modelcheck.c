/* modelcheck.c - the bn model loader on hostile files.
 *
 * Without arguments (as a unit test): a synthetic model loads from memory,
 * runs a few tokens, and every single-byte truncation of its header fails
 * cleanly.  With arguments (used by t/6000-malformed.bats until bn-infer
 * opens models):  modelcheck MODEL...  opens each model like bn-infer does,
 * evaluates two tokens, and on the first failure prints one line
 * "modelcheck: MESSAGE" and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "forward.h"
#include "model.h"
#include "unit.h"

static int run_two(const struct bn_model *m, struct bn_errbuf *eb)
{
	struct bn_state *s;
	int32_t tok[2] = { 0, m->cfg.n_vocab - 1 };
	int rc;

	BN_TRY(bn_state_new(&s, m, BN_MIN(m->cfg.ctx_max, 8), 2, NULL, eb));
	rc = bn_eval(s, tok, 2, BN_LOGITS_ALL, NULL, NULL, eb);
	bn_state_free(s);
	return rc;
}

static int check_files(int argc, char **argv)
{
	struct bn_errbuf eb = { "" };
	struct bn_model m;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if ((rc = bn_model_open(&m, argv[i], &eb)) == BN_OK) {
			rc = run_two(&m, &eb);
			bn_model_close(&m);
		}
		if (rc < 0) {
			fprintf(stderr, "modelcheck: %s\n", eb.msg[0] ? eb.msg : bn_strerror(rc));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bn_convert_opts o;
	struct bn_errbuf eb = { "" };
	struct bn_model m;
	char *img = NULL;
	size_t n = 0, cut, bad = 0;
	FILE *fp;
	uint8_t *copy;
	int rc;

	if (argc > 1)
		return check_files(argc, argv);
	bn_convert_opts_default(&o);
	fp = open_memstream(&img, &n);
	rc = bn_convert_synthetic("tiny", 1, &o, fp, &eb);
	fclose(fp);
	CHECK(rc == BN_OK, "synthetic tiny model written (%s)", eb.msg);
	copy = malloc(n);
	memcpy(copy, img, n);
	rc = bn_model_open_mem(&m, copy, n, "tiny", &eb);
	CHECK(rc == BN_OK, "it loads from memory (%s)", eb.msg);
	if (rc == BN_OK) {
		struct bn_config keep = m.cfg;
		struct bn_state *s = NULL;
		CHECK(run_two(&m, &eb) == BN_OK, "two tokens evaluate (%s)", eb.msg);
		/* absurd sizes fail before anything is allocated */
		m.cfg.n_layers = 4096;
		m.cfg.ctx_max = 1 << 24;
		rc = bn_state_new(&s, &m, 1 << 24, 512, NULL, &eb);
		CHECK(rc == BN_ERANGE && !s, "a 2^24 context over 4096 layers is refused (%s)", eb.msg);
		m.cfg.n_kv_heads = m.cfg.n_heads = 4096;
		m.cfg.head_dim = 4096;
		m.cfg.n_vocab = 1 << 24;
		rc = bn_state_new(&s, &m, 1 << 24, 1 << 24, NULL, &eb);
		CHECK(rc == BN_ERANGE && !s, "every dimension at its limit is refused (%s)", eb.msg);
		m.cfg = keep;
		bn_model_close(&m);
	}
	/* every truncation inside the header and the first tensor fails */
	for (cut = 0; cut < BN_MIN(n, (size_t)4096); cut++) {
		copy = malloc(cut + 1);
		memcpy(copy, img, cut);
		eb.msg[0] = 0;
		if (bn_model_open_mem(&m, copy, cut, "cut", &eb) == BN_OK || !eb.msg[0] ||
		    strchr(eb.msg, '\n'))
			bad++;
	}
	CHECK(bad == 0, "the first %zu truncations fail with one line (%zu did not)",
	      BN_MIN(n, (size_t)4096), bad);
	free(img);
	return unit_done();
}
