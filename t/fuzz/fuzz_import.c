/* fuzz_import.c - foreign BitNet GGUF files (llama.cpp TQ1_0/TQ2_0,
 * bitnet.cpp I2_S): the import into a bn model and the tokenizer rebuilt
 * from tokenizer.ggml.* keys.  An import that succeeds must load. */
#include "fuzz.h"
#include "interop.h"
#include "model.h"
#include "tokenizer.h"
#include "convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bn_errbuf eb = { "" };
	struct bn_convert_opts o;
	struct bn_tokenizer *t = NULL;
	struct bn_model m;
	uint8_t *img;
	size_t n;
	int rc;

	rc = bn_tokenizer_load_model(&t, fuzz_memfile("import", data, size), &eb);
	fuzz_check_msg(rc, &eb);
	bn_tokenizer_free(t);
	bn_convert_opts_default(&o);
	rc = bn_convert_gguf_mem(data, size, "fuzz.gguf", &o, &img, &n, &eb);
	fuzz_check_msg(rc, &eb);
	if (rc < 0)
		return 0;
	if (bn_model_open_mem(&m, img, n, "imported", &eb) < 0)
		abort();	/* the importer wrote a model the loader refuses */
	bn_model_close(&m);
	return 0;
}
