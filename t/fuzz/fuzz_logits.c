/* fuzz_logits.c - the logits-frame reader (auto-detected binary or jsonl)
 * over an arbitrary stream; every frame read goes through the sampler. */
#include "fuzz.h"
#include "logits.h"
#include "sampler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bn_errbuf eb = { "" };
	struct bn_logits_reader r;
	struct bn_logits_frame f;
	struct bn_sampler_params p;
	struct bn_sampler *s = NULL;
	FILE *fp = fmemopen((void *)data, size ? size : 1, "rb");
	int rc;

	if (!fp)
		return 0;
	if (!size)
		fgetc(fp);	/* fmemopen cannot open an empty buffer: read it to EOF */
	bn_sampler_params_default(&p);
	p.repeat_penalty = 1.1f;
	bn_logits_reader_init(&r, fp, "fuzz", BN_LOGITS_AUTO);
	while ((rc = bn_logits_read_frame(&r, &f, &eb)) == 1) {
		int32_t id;
		if (!s && bn_sampler_new(&s, &p, f.n_vocab) < 0)
			abort();
		bn_sampler_reset(s, f.rec);
		id = bn_sampler_sample(s, (float *)f.logits);
		if (id < 0 || id >= f.n_vocab)
			abort();
		bn_sampler_accept(s, id);
	}
	fuzz_check_msg(rc, &eb);
	bn_sampler_free(s);
	bn_logits_reader_release(&r);
	fclose(fp);
	return 0;
}
