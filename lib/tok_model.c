/* tok_model.c - the tokenizer embedded in a bn model file (or rebuilt from
 * the tokenizer.ggml.* keys of a llama.cpp / bitnet.cpp GGUF). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "gguf.h"
#include "interop.h"
#include "tokenizer.h"

int bn_tokenizer_load_model(struct bn_tokenizer **out, const char *path,
			    struct bn_errbuf *eb)
{
	struct bn_map m;
	struct bn_gguf g;
	const char *s;
	size_t len;
	char name[300];
	int rc;

	*out = NULL;
	BN_TRY(bn_map_open(&m, path, eb));
	if ((rc = bn_gguf_parse(&g, m.base, m.size, path, eb)) < 0) {
		bn_map_close(&m);
		return rc;
	}
	rc = bn_gguf_get_str(&g, "tokenizer.huggingface.json", &s, &len);
	if (rc == BN_ENOENT && bn_gguf_is_foreign_bitnet(&g)) {
		char *json;
		if ((rc = bn_tok_json_from_ggml(&g, path, &json, NULL, eb)) == BN_OK) {
			snprintf(name, sizeof name, "%s: tokenizer", path);
			rc = bn_tokenizer_load_named(out, json, strlen(json), name, eb);
			free(json);
		}
	} else if (rc < 0) {
		rc = bn_fail(eb, rc, "%s: %s tokenizer.huggingface.json", path,
			     rc == BN_ENOENT ? "no" : "bad");
	} else {
		snprintf(name, sizeof name, "%s: tokenizer", path);
		rc = bn_tokenizer_load_named(out, s, len, name, eb);
	}
	bn_gguf_release(&g);
	bn_map_close(&m);
	return rc;
}
