/* interop_int.h - internals shared by interop_*.c. */
#ifndef BN_INTEROP_INT_H
#define BN_INTEROP_INT_H

#include "gguf.h"
#include "interop.h"
#include "model.h"

/* llama.cpp's token types (tokenizer.ggml.token_type). */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

/* Add llama.cpp's tokenizer.ggml.* keys (and bn.stop_token_ids) for the
 * tokenizer.json text json[0..len) of a model with config c. */
int bn_interop_tok_keys(struct bn_gguf_writer *w, const char *json, size_t len,
			const struct bn_config *c, const char *name, struct bn_errbuf *eb);

/* One string of a GGUF string array at p (already validated by the
 * parser): sets *s and *len and returns where the next string starts. */
static inline const uint8_t *bn_gguf_str_next(const uint8_t *p, const char **s, size_t *len)
{
	uint64_t n = 0;
	int i;

	for (i = 7; i >= 0; i--)
		n = n << 8 | p[i];
	*s = (const char *)p + 8;
	*len = (size_t)n;
	return p + 8 + n;
}

#endif
