/* synth.c - synthetic BitNet models with random ternary weights, for
 * benchmarks: real shapes, no checkpoint needed.  The tokenizer is a
 * byte-level BPE with the 256 byte tokens and no merges, plus the Llama 3
 * special tokens at the top of the vocabulary. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convert_int.h"
#include "interop.h"
#include "kernels.h"

static const struct shape {
	const char *name;
	int dim, ffn, layers, heads, kv_heads, vocab;
} shapes[] = {
	{ "2b4t", 2560, 6912, 30, 20, 5, 128256 },	/* microsoft/bitnet-b1.58-2B-4T */
	{ "125m", 768, 3072, 11, 12, 12, 32002 },	/* bitnet.cpp dummy sizes */
	{ "350m", 1024, 3072, 24, 16, 16, 32002 },
	{ "700m", 2048, 3584, 24, 32, 32, 32002 },
	{ "1b", 2048, 3584, 24, 32, 32, 32002 },
	{ "3b8", 3840, 8192, 24, 32, 32, 32002 },
	{ "7b", 4096, 12032, 32, 32, 32, 32002 },
	{ "tiny", 256, 768, 2, 4, 2, 512 },
};

static const struct shape *find_shape(const char *name)
{
	size_t i;

	for (i = 0; i < BN_LEN(shapes); i++)
		if (!strcmp(shapes[i].name, name))
			return &shapes[i];
	return NULL;
}

int bn_synthetic_known(const char *shape)
{
	return find_shape(shape) != NULL;
}

void bn_synthetic_list(char *buf, size_t n)
{
	size_t i, len = 0;

	for (i = 0; i < BN_LEN(shapes) && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "",
					shapes[i].name);
}

static uint64_t next(uint64_t *s)	/* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* GPT-2 byte-to-unicode map, as UTF-8 into out (<= 3 bytes + NUL). */
static void byte_char(int b, char *out)
{
	int cp = b, n = 0, i;

	if (!((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae))) {
		for (i = 0; i < b; i++)
			n += !((i >= '!' && i <= '~') || (i >= 0xa1 && i <= 0xac) || (i >= 0xae));
		cp = 256 + n;
	}
	if (cp < 0x80) {
		out[0] = (char)cp;
		out[1] = 0;
	} else {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		out[2] = 0;
	}
}

static char *tokenizer_json(int vocab)
{
	static const char *const special[] = { "<|begin_of_text|>", "<|end_of_text|>",
					       "<|eot_id|>" };
	cJSON *model, *root = bn_tok_json_base(1, &model), *v, *added, *post;
	char ch[4], *s;
	int b, i, base = vocab >= 128256 ? 128000 : vocab - 3;

	added = cJSON_AddArrayToObject(root, "added_tokens");
	for (i = 0; i < 3; i++) {
		int id = base + (vocab >= 128256 && i == 2 ? 9 : i);
		cJSON *a = cJSON_CreateObject();
		cJSON_AddNumberToObject(a, "id", id);
		cJSON_AddStringToObject(a, "content", special[i]);
		cJSON_AddBoolToObject(a, "single_word", 0);
		cJSON_AddBoolToObject(a, "lstrip", 0);
		cJSON_AddBoolToObject(a, "rstrip", 0);
		cJSON_AddBoolToObject(a, "normalized", 0);
		cJSON_AddBoolToObject(a, "special", 1);
		cJSON_AddItemToArray(added, a);
	}
	post = cJSON_AddObjectToObject(root, "post_processor");
	cJSON_AddStringToObject(post, "type", "ByteLevel");
	cJSON_AddBoolToObject(post, "add_prefix_space", 1);
	cJSON_AddBoolToObject(post, "trim_offsets", 0);
	cJSON_AddBoolToObject(post, "use_regex", 1);
	v = cJSON_AddObjectToObject(model, "vocab");
	for (b = 0; b < 256; b++) {
		byte_char(b, ch);
		cJSON_AddNumberToObject(v, ch, b);
	}
	cJSON_AddArrayToObject(model, "merges");
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

static int fill_ternary(struct bn_gguf_writer *w, FILE *fp, int *ti, int in, int out,
			uint64_t *rng, int8_t *row, uint8_t *buf)
{
	size_t rb = bn_ttype_row_bytes(BN_TYPE_T2, (uint64_t)in);
	float scale = 0.5f + (float)(next(rng) >> 40) / (float)(1 << 24);
	int r, i;

	for (r = 0; r < out; r++) {
		for (i = 0; i < in; i++)
			row[i] = (int8_t)(next(rng) % 3) - 1;
		bn_t2_pack_row(row, in, buf + (size_t)r * rb);
	}
	BN_TRY(bn_gguf_write_data(w, fp, (*ti)++, buf, rb * (size_t)out));
	return bn_gguf_write_data(w, fp, (*ti)++, &scale, 4);
}

static int fill_dense(struct bn_gguf_writer *w, FILE *fp, int *ti, int rows, int cols,
		      uint32_t type, float mag, float base, uint64_t *rng)
{
	size_t rb = bn_ttype_row_bytes(type, (uint64_t)cols);
	uint8_t *buf = malloc(rb * (size_t)rows);
	float *row = malloc((size_t)cols * sizeof(float));
	int r, i, rc = BN_ENOMEM;

	if (buf && row) {
		for (r = 0; r < rows; r++) {
			for (i = 0; i < cols; i++)
				row[i] = base + mag * ((float)(next(rng) >> 40) / (float)(1 << 24) - 0.5f);
			bn_convert_row(type, row, cols, buf + (size_t)r * rb);
		}
		rc = bn_gguf_write_data(w, fp, (*ti)++, buf, rb * (size_t)rows);
	}
	free(buf);
	free(row);
	return rc;
}

static int write_synth(struct bn_gguf_writer *w, FILE *fp, const struct bn_config *c,
		       uint32_t et, uint64_t rng, const struct bn_convert_opts *o)
{
	int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim, l, p, ti = 0;
	int ins[7] = { c->dim, c->dim, c->dim, qd, c->dim, c->dim, c->ffn_dim };
	int outs[7] = { qd, kvd, kvd, c->dim, c->ffn_dim, c->ffn_dim, c->dim };
	int nd[4] = { c->dim, c->dim, qd, c->ffn_dim };
	int mx = BN_MAX(c->ffn_dim, BN_MAX(c->dim, qd)), total = 2 + 18 * c->n_layers;
	int8_t *row = malloc((size_t)mx);
	uint8_t *buf = malloc(bn_ttype_row_bytes(BN_TYPE_T2, (uint64_t)mx) * (size_t)mx);
	int rc = row && buf ? BN_OK : BN_ENOMEM;

	if (rc == BN_OK)
		rc = fill_dense(w, fp, &ti, c->n_vocab, c->dim, et, 2.0f, 0.0f, &rng);
	if (rc == BN_OK)
		rc = fill_dense(w, fp, &ti, 1, c->dim, BN_TYPE_F32, 0.2f, 1.0f, &rng);
	for (l = 0; l < c->n_layers && rc == BN_OK; l++) {
		for (p = 0; p < 4 && rc == BN_OK; p++)
			rc = fill_dense(w, fp, &ti, 1, nd[p], BN_TYPE_F32, 0.2f, 1.0f, &rng);
		for (p = 0; p < 7 && rc == BN_OK; p++)
			rc = fill_ternary(w, fp, &ti, ins[p], outs[p], &rng, row, buf);
		if (o->progress)
			o->progress(o->progress_ctx, ti, total, (uint64_t)ftell(fp));
	}
	free(row);
	free(buf);
	return rc;
}

int bn_convert_synthetic(const char *shape, uint64_t seed, const struct bn_convert_opts *o,
			 FILE *fp, struct bn_errbuf *eb)
{
	const struct shape *sh = find_shape(shape);
	struct bn_config c;
	struct bn_gguf_writer *w = NULL;
	char *tok = NULL, name[64];
	uint32_t et = o->embd_type == BN_EMBD_AUTO ? BN_TYPE_F16 : o->embd_type;
	int rc;

	if (!sh) {
		char list[128];
		bn_synthetic_list(list, sizeof(list));
		return bn_fail(eb, BN_EINVAL, "unknown synthetic shape '%s' (%s)", shape, list);
	}
	memset(&c, 0, sizeof(c));
	c.n_vocab = sh->vocab;
	c.dim = sh->dim;
	c.ffn_dim = sh->ffn;
	c.n_layers = sh->layers;
	c.n_heads = sh->heads;
	c.n_kv_heads = sh->kv_heads;
	c.head_dim = sh->dim / sh->heads;
	c.ctx_max = 4096;
	c.rope_theta = 500000.0f;
	c.norm_eps = 1e-5f;
	c.tied = 1;
	c.bos = sh->vocab >= 128256 ? 128000 : sh->vocab - 3;
	c.stop[0] = c.bos + 1;
	c.stop[1] = sh->vocab >= 128256 ? 128009 : c.bos + 2;
	c.n_stop = 2;
	snprintf(name, sizeof(name), "synthetic-%s", shape);
	if (!(tok = tokenizer_json(c.n_vocab)) || bn_gguf_writer_new(&w, 64) < 0) {
		rc = bn_fail(eb, BN_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = bn_convert_meta(w, &c, name, tok, strlen(tok), NULL)) < 0 ||
	    (rc = bn_convert_declare(w, &c, et)) < 0 ||
	    (rc = bn_gguf_write_header(w, fp)) < 0 ||
	    (rc = write_synth(w, fp, &c, et, seed, o)) < 0) {
		int e = errno;	/* ENOSPC, EPIPE: kept for the caller */
		rc = bn_fail(eb, rc, "cannot write the synthetic model: %s",
			     rc == BN_EIO && e ? strerror(e) : bn_strerror(rc));
		errno = e;
	}
out:
	free(tok);
	bn_gguf_writer_free(w);
	return rc;
}
