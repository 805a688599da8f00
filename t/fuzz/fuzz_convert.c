/* fuzz_convert.c - the Hugging Face checkpoint loaders and converter:
 * config.json, generation_config.json, tokenizer_config.json and
 * model.safetensors, taken from one input split at the lines "@@" (in that
 * order; missing parts are absent files), plus a fixed small tokenizer.json.
 * A conversion that succeeds must give a model that loads and runs. */
#include <sys/stat.h>

#include "convert.h"
#include "forward.h"
#include "fuzz.h"
#include "model.h"

static const char *const files[] = {
	"config.json", "generation_config.json", "tokenizer_config.json", "model.safetensors",
};

static char dir[64];

static void cleanup(void)
{
	char path[256];
	unsigned i;

	for (i = 0; i < BN_LEN(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
	unlink(path);
	rmdir(dir);
}

static void put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(fp = fopen(path, "wb")) || (n && fwrite(p, 1, n, fp) != n) || fclose(fp))
		abort();
}

static const uint8_t *find(const uint8_t *p, const uint8_t *end)
{
	static const char sep[] = "\n@@\n";

	for (; end - p >= 4; p++)
		if (!memcmp(p, sep, 4))
			return p;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bn_errbuf eb = { "" };
	struct bn_convert_opts o;
	struct bn_model m;
	const uint8_t *p = data, *end = data + size, *q;
	uint8_t *img;
	size_t n;
	unsigned i;
	int rc;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/bn-fuzz-convert-%d", (int)getpid());
		mkdir(dir, 0700);
		atexit(cleanup);
		put(dir, "tokenizer.json", "{\"model\":{\"type\":\"BPE\"}}", 24);
	}
	for (i = 0; i < BN_LEN(files); i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
		if (!p)
			continue;
		q = find(p, end);
		put(dir, files[i], p, (size_t)((q ? q : end) - p));
		p = q ? q + 4 : NULL;
	}
	bn_convert_opts_default(&o);
	rc = bn_convert_hf_mem(dir, &o, &img, &n, &eb);
	fuzz_check_msg(rc, &eb);
	if (rc < 0)
		return 0;
	rc = bn_model_open_mem(&m, img, n, "converted", &eb);
	if (rc < 0)
		abort();	/* the converter wrote a model its own loader refuses */
	bn_model_close(&m);
	return 0;
}
