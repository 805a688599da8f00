/* convert_int.h - internals shared by convert.c, convert_tensors.c, synth.c. */
#ifndef BN_CONVERT_INT_H
#define BN_CONVERT_INT_H

#include <cjson/cJSON.h>

#include "convert.h"
#include "gguf.h"
#include "model.h"
#include "safetensors.h"

struct hf_ckpt {
	const char *dir;
	const struct bn_convert_opts *opts;
	struct bn_config cfg;
	int divide;			/* linear_class bitlinear: y = acc / (s * ws) */
	enum { QM_NONE, QM_OFFLINE, QM_ONLINE } qmode;	/* quantization_config */
	cJSON *tok;			/* tokenizer.json */
	char *tok_text;
	char *chat_template;
	struct bn_st st;
	uint32_t et;			/* embedding/head type written */
};

/* Unpack an HF packed U8 tensor [out/4, in] into W[out][in] in {-1,0,1}. */
int bn_unpack_hf(const struct bn_st_tensor *t, int in, int out, int8_t *w,
		 struct bn_errbuf *eb);
/* absmean quantization of a float master matrix [out, in] (WeightQuant):
 * sw = 1/max(mean|W|, 1e-5), W_t = clamp(rint(W*sw), -1, 1), *scale = 1/sw. */
int bn_absmean_quant(const struct bn_st_tensor *t, int8_t *w, float *scale,
		     struct bn_errbuf *eb);
/* A float matrix that is ternary already (offline mode keeps float
 * weights as stored): every value 0 or +-c for one c > 0; W_t = sign, *c. */
int bn_float_ternary(const struct bn_st_tensor *t, int8_t *w, float *c, struct bn_errbuf *eb);
/* Convert n floats from src (float getter) into dst of the given type. */
int bn_convert_row(uint32_t type, const float *src, int n, uint8_t *dst);

/* Write the GGUF metadata common to real and synthetic models. */
int bn_convert_meta(struct bn_gguf_writer *w, const struct bn_config *c, const char *name,
		    const char *tok_json, size_t tok_len, const char *chat_template);
/* Declare the tensor table of a model with config c. */
int bn_convert_declare(struct bn_gguf_writer *w, const struct bn_config *c, uint32_t embd_type);

extern const char *const bn_proj_names[7];	/* attn_q ... ffn_down */

#endif
