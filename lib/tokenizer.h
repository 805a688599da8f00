/* tokenizer.h - byte-level BPE tokenizer, byte-exact with Hugging Face
 * `tokenizers` for the files of the Llama 3 / GPT-2 family.
 *
 * Encoding: added tokens are split out first (leftmost-longest), each span
 * between them is pre-tokenized by the file's Split regex (a hand-written
 * scanner for the Llama 3 pattern, PCRE2 for any other), mapped to bytes
 * (ByteLevel), and run through BPE with merge ranks (and ignore_merges); the
 * post-processor (TemplateProcessing or none) adds BOS.  Anything in the file
 * that would change ids and is not implemented is rejected by the loader.
 *
 * A loaded tokenizer is immutable and may be shared between threads; each
 * thread encodes through its own struct bn_tok_ctx (or bn_tokenizer_encode,
 * which makes a temporary one). */
#ifndef BN_TOKENIZER_H
#define BN_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "bn.h"

struct bn_tokenizer;

/* Parse a tokenizer.json held in json[0..len).  Allocates; free with
 * bn_tokenizer_free().  Errors: BN_EFORMAT (malformed), BN_EUNSUP
 * (a construct bn does not implement), BN_ENOMEM. */
int bn_tokenizer_load(struct bn_tokenizer **out, const char *json, size_t len,
		      struct bn_errbuf *eb);
/* Same, reading the file at path ("-" = stdin); messages name the file. */
int bn_tokenizer_load_file(struct bn_tokenizer **out, const char *path,
			   struct bn_errbuf *eb);
/* As bn_tokenizer_load, with messages prefixed by name. */
int bn_tokenizer_load_named(struct bn_tokenizer **out, const char *json, size_t len,
			    const char *name, struct bn_errbuf *eb);
/* The tokenizer stored in a bn model (GGUF key tokenizer.huggingface.json). */
int bn_tokenizer_load_model(struct bn_tokenizer **out, const char *path,
			    struct bn_errbuf *eb);
void bn_tokenizer_free(struct bn_tokenizer *t);	/* NULL-safe */

/* Encoding flags.  Default (0): the post-processor decides BOS, special
 * token strings in the text become their ids. */
enum {
	BN_TOK_BOS = 1,		/* post-process, and make sure BOS comes first */
	BN_TOK_NO_BOS = 2,	/* no post-processing (add_special_tokens=False) */
	BN_TOK_NO_SPECIAL = 4,	/* special-token strings are plain text */
};
/* Positive return of the encoders: success, but the input was not valid
 * UTF-8 and each ill-formed sequence was encoded as U+FFFD. */
#define BN_TOK_REPLACED 1

/* Encode text[0..len).  *ids is malloc'd (caller frees; non-NULL even when
 * *n is 0).  Returns BN_OK, BN_TOK_REPLACED, or a negative error. */
int bn_tokenizer_encode(const struct bn_tokenizer *t, const char *text, size_t len,
			int flags, int32_t **ids, size_t *n, struct bn_errbuf *eb);

/* Reusable encoding context: scratch space, a piece cache and regex match
 * data.  Allocates; free with bn_tok_ctx_free().  One per thread. */
struct bn_tok_ctx;
int bn_tok_ctx_new(struct bn_tok_ctx **out, const struct bn_tokenizer *t);
void bn_tok_ctx_free(struct bn_tok_ctx *c);	/* NULL-safe */
/* As bn_tokenizer_encode; *ids points into the context, valid until the
 * next call on it; do not free. */
int bn_tok_encode(struct bn_tok_ctx *c, const char *text, size_t len, int flags,
		  const int32_t **ids, size_t *n, struct bn_errbuf *eb);
/* The tokenizer the context encodes with. */
const struct bn_tokenizer *bn_tok_ctx_tokenizer(const struct bn_tok_ctx *c);
/* Testing aid: use PCRE2 even for the Llama 3 pattern (fast = 0). */
void bn_tok_ctx_set_fast(struct bn_tok_ctx *c, int fast);

int bn_tokenizer_n_vocab(const struct bn_tokenizer *t);	/* max id + 1, added tokens included */
int32_t bn_tokenizer_bos(const struct bn_tokenizer *t);	/* -1 if none */
/* Id of an added token's content or a vocab entry as written in
 * tokenizer.json (byte-level form, e.g. "Ġthe"); -1 if none. */
int32_t bn_tokenizer_find(const struct bn_tokenizer *t, const char *token);
int bn_tokenizer_is_special(const struct bn_tokenizer *t, int32_t id);
/* The token's string as in tokenizer.json (HF's id_to_token), in buf
 * (NUL-terminated, truncated to cap - 1).  Returns its full length, or -1
 * for an unknown id. */
int bn_tokenizer_piece(const struct bn_tokenizer *t, int32_t id, char *buf, size_t cap);

/* Raw bytes of a token (after the inverse byte map), for streaming output.
 * *p points into the tokenizer (or into scratch, >= 1024 bytes); valid
 * while t lives.  BN_EINVAL (with *n = 0) for an unknown id. */
int bn_tokenizer_token_bytes(const struct bn_tokenizer *t, int32_t id, const char **p,
			     size_t *n, char *scratch);
/* Longest token in bytes: an output buffer of 3 * this + 8 bytes is always
 * enough for bn_detok_push. */
size_t bn_tokenizer_max_token_bytes(const struct bn_tokenizer *t);

/* Streaming decoder: feed ids, get complete UTF-8.  Bytes of an incomplete
 * sequence are held until it completes; ill-formed ones become U+FFFD as in
 * HF decode.  Plain struct, no allocation: no release needed. */
struct bn_detok {
	const struct bn_tokenizer *t;
	int skip_special;
	int npend;
	unsigned char pend[4];
};
void bn_detok_init(struct bn_detok *d, const struct bn_tokenizer *t, int skip_special);
/* Write the text completed by id into out[0..cap), *n bytes (not NUL-
 * terminated).  BN_ERANGE when cap is too small (see max_token_bytes);
 * unknown ids are skipped, as HF does. */
int bn_detok_push(struct bn_detok *d, int32_t id, char *out, size_t cap, size_t *n);
/* End of stream: a held incomplete sequence becomes U+FFFD (cap >= 3). */
int bn_detok_flush(struct bn_detok *d, char *out, size_t cap, size_t *n);

/* Whole decode, exactly HF decode(ids, skip_special_tokens) without
 * clean_up_tokenization_spaces.  *out is malloc'd and NUL-terminated
 * (caller frees). */
int bn_tokenizer_decode(const struct bn_tokenizer *t, const int32_t *ids, size_t n,
			int skip_special, char **out, size_t *len, struct bn_errbuf *eb);

/* The Llama 3 pre-tokenizer scanner (exposed for tests): end of the piece
 * that starts at s[i], for valid UTF-8 s[0..n), i < n. */
size_t bn_pretok_llama3(const unsigned char *s, size_t i, size_t n);
/* The exact Llama 3 Split pattern the scanner implements. */
extern const char bn_llama3_pattern[];

#endif
