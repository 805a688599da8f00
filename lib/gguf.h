/* gguf.h - GGUF v3 container: validated zero-copy reader and a writer.
 *
 * Layout (little-endian): "GGUF", u32 version (2 or 3), u64 n_tensors,
 * u64 n_kv, then n_kv key/values (string key = u64 len + bytes, u32 type,
 * value), then n_tensors infos (name, u32 n_dims, u64 dims[n_dims] with
 * dims[0] the fastest-varying, u32 type, u64 offset), then padding to
 * general.alignment (default 32), then the data section; each tensor's
 * offset is relative to the data section and a multiple of the alignment.
 * The reader checks every length, count, type, dimension product and offset
 * against the buffer before anything is used. */
#ifndef BN_GGUF_H
#define BN_GGUF_H

#include <stdio.h>

#include "bn.h"

enum bn_gguf_vtype {
	BN_GGUF_U8, BN_GGUF_I8, BN_GGUF_U16, BN_GGUF_I16, BN_GGUF_U32, BN_GGUF_I32,
	BN_GGUF_F32, BN_GGUF_BOOL, BN_GGUF_STRING, BN_GGUF_ARRAY, BN_GGUF_U64,
	BN_GGUF_I64, BN_GGUF_F64, BN_GGUF_NVTYPES
};

/* Tensor types (ggml's numbering, plus bn's own T2). */
enum bn_ttype {
	BN_TYPE_F32 = 0, BN_TYPE_F16 = 1, BN_TYPE_Q8_0 = 8, BN_TYPE_I8 = 24,
	BN_TYPE_BF16 = 30, BN_TYPE_TQ1_0 = 34, BN_TYPE_TQ2_0 = 35, BN_TYPE_I2_S = 36,
	BN_TYPE_T2 = 1000,	/* bn ternary rows, see kernels/kernels.h */
};

#define BN_GGUF_MAX_DIMS 4

struct bn_gguf_kv {
	const char *key;	/* not NUL-terminated: key_len bytes */
	size_t key_len;
	uint32_t type;
	uint32_t arr_type;	/* for arrays */
	uint64_t arr_n;
	const uint8_t *val;	/* start of the value in the buffer */
};

struct bn_gguf_tensor {
	const char *name;	/* not NUL-terminated */
	size_t name_len;
	uint32_t n_dims;
	uint64_t dims[BN_GGUF_MAX_DIMS];	/* dims[0] is the row length */
	uint32_t type;
	uint64_t offset;
	const uint8_t *data;	/* into the buffer */
	size_t nbytes;
};

struct bn_gguf {
	const uint8_t *base;
	size_t size;
	uint32_t version, alignment;
	uint64_t n_kv, n_tensors;
	struct bn_gguf_kv *kv;
	struct bn_gguf_tensor *t;
	size_t data_off;
};

/* Bytes for n elements of a tensor row of type; 0 if the type is unknown or
 * n does not fit its block size. */
size_t bn_ttype_row_bytes(uint32_t type, uint64_t n);
const char *bn_ttype_name(uint32_t type);

/* Parse a GGUF image in memory (borrowed; must outlive g). */
int bn_gguf_parse(struct bn_gguf *g, const uint8_t *buf, size_t size, const char *name,
		  struct bn_errbuf *eb);
void bn_gguf_release(struct bn_gguf *g);	/* NULL-safe */

const struct bn_gguf_kv *bn_gguf_find_kv(const struct bn_gguf *g, const char *key);
const struct bn_gguf_tensor *bn_gguf_find_tensor(const struct bn_gguf *g, const char *name);
/* Typed getters: BN_OK, BN_ENOENT (absent) or BN_EFORMAT (wrong type). */
int bn_gguf_get_u32(const struct bn_gguf *g, const char *key, uint32_t *v);
int bn_gguf_get_f32(const struct bn_gguf *g, const char *key, float *v);
int bn_gguf_get_str(const struct bn_gguf *g, const char *key, const char **s, size_t *len);
/* Array of integers (any int type) copied into v[0..*n); *n in: capacity. */
int bn_gguf_get_ints(const struct bn_gguf *g, const char *key, int64_t *v, size_t *n);

/* ---- writer ---- */
struct bn_gguf_writer;
int bn_gguf_writer_new(struct bn_gguf_writer **w, uint32_t alignment);
void bn_gguf_writer_free(struct bn_gguf_writer *w);
int bn_gguf_add_str(struct bn_gguf_writer *w, const char *key, const char *s, size_t len);
int bn_gguf_add_u32(struct bn_gguf_writer *w, const char *key, uint32_t v);
int bn_gguf_add_f32(struct bn_gguf_writer *w, const char *key, float v);
int bn_gguf_add_bool(struct bn_gguf_writer *w, const char *key, int v);
int bn_gguf_add_i32s(struct bn_gguf_writer *w, const char *key, const int32_t *v, size_t n);
int bn_gguf_add_strs(struct bn_gguf_writer *w, const char *key, const char *const *v, size_t n);
int bn_gguf_add_f32s(struct bn_gguf_writer *w, const char *key, const float *v, size_t n);
/* Declare a tensor; data is written later in the same order. */
int bn_gguf_add_tensor(struct bn_gguf_writer *w, const char *name, uint32_t type,
		       const uint64_t *dims, uint32_t n_dims);
/* Write header + tensor table; returns the total data size in *data_size. */
int bn_gguf_write_header(struct bn_gguf_writer *w, FILE *fp);
/* Write tensor i's bytes (exactly its size) and the padding after it. */
int bn_gguf_write_data(struct bn_gguf_writer *w, FILE *fp, int i, const void *data, size_t n);
size_t bn_gguf_tensor_bytes(const struct bn_gguf_writer *w, int i);

#endif
