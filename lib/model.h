/* model.h - a BitNet b1.58 model loaded from a bn GGUF file (docs/bn-model.5).
 *
 * The file is mapped read-only; every weight pointer below points into the
 * mapping (zero copies) and is valid until bn_model_close().  Keys (arch
 * "bitnet-b1.58"):
 *   bitnet-b1.58.vocab_size, .embedding_length (dim), .block_count,
 *   .feed_forward_length, .attention.head_count, .attention.head_count_kv,
 *   .attention.key_length (head_dim), .context_length, .rope.freq_base,
 *   .attention.layer_norm_rms_epsilon
 *   tokenizer.huggingface.json (the whole tokenizer.json text),
 *   tokenizer.ggml.bos_token_id, bn.stop_token_ids (i32 array),
 *   tokenizer.chat_template (optional)
 * Tensors (dims in GGUF order, row length first):
 *   token_embd.weight [dim, vocab] f32|f16|bf16|q8_0
 *   output.weight     [dim, vocab] (only when untied)
 *   output_norm.weight [dim] f32
 *   blk.N.attn_norm.weight, blk.N.ffn_norm.weight [dim] f32
 *   blk.N.attn_sub_norm.weight [n_heads*head_dim] f32
 *   blk.N.ffn_sub_norm.weight [ffn] f32
 *   blk.N.{attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down}.weight
 *       [in, out] bn_t2, each with blk.N.<name>.scale [1] f32: y = acc / s * scale
 */
#ifndef BN_MODEL_H
#define BN_MODEL_H

#include "bn.h"
#include "file.h"
#include "gguf.h"

#define BN_ARCH "bitnet-b1.58"
#define BN_MAX_STOP 16
#define BN_CTX_LIMIT (1 << 24)	/* positions; ctx_max is the training context */

struct bn_config {
	int n_vocab, dim, n_layers, n_heads, n_kv_heads, head_dim, ffn_dim;
	int ctx_max;			/* training context: a default, not a limit */
	float rope_theta, norm_eps;
	int tied;
	int32_t bos;			/* -1 if none */
	int32_t stop[BN_MAX_STOP];	/* generation stops on any of these */
	int n_stop;
};

struct bn_tlin {			/* a ternary linear layer */
	const uint8_t *w;		/* [out][row_bytes] T2 rows */
	size_t row_bytes;
	int in, out;
	float scale;
};

struct bn_layer {
	const float *attn_norm, *ffn_norm, *attn_sub_norm, *ffn_sub_norm;
	struct bn_tlin q, k, v, o, gate, up, down;
};

struct bn_dense {			/* embedding / output head rows */
	const uint8_t *w;
	uint32_t type;			/* BN_TYPE_F32, F16, BF16, Q8_0 */
	size_t row_bytes;
};

struct bn_model {
	struct bn_config cfg;
	struct bn_dense embd, head;	/* head == embd when tied */
	const float *out_norm;
	struct bn_layer *layers;
	const char *tok_json;		/* into the mapping, tok_json_len bytes */
	size_t tok_json_len;
	const char *chat_template;	/* NULL-terminated copy or NULL */
	struct bn_gguf g;
	struct bn_map map;
	uint8_t *owned;			/* in-memory image (HF dir input), or NULL */
	size_t file_size;
	int repacked;			/* 1: a llama.cpp / bitnet.cpp GGUF, converted
					 * in memory (costs time and a full copy) */
};

/* Open a bn GGUF file, a Hugging Face checkpoint directory, or a BitNet GGUF
 * of llama.cpp or bitnet.cpp (both converted in memory; see interop.h).  On success the model owns its mapping; close with
 * bn_model_close(). */
int bn_model_open(struct bn_model *m, const char *path, struct bn_errbuf *eb);
/* Open from a GGUF image in memory; takes ownership of buf (malloc'd). */
int bn_model_open_mem(struct bn_model *m, uint8_t *buf, size_t size, const char *name,
		      struct bn_errbuf *eb);
void bn_model_close(struct bn_model *m);	/* NULL-safe */
/* Row r of the embedding (or head) as float32 into out[dim]. */
void bn_dense_row(const struct bn_dense *d, int dim, int r, float *out);

#endif
