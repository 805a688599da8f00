/* safetensors.h - read-only, validated view of safetensors checkpoints.
 *
 * Format: u64 LE header length N, N bytes of JSON {name: {dtype, shape,
 * data_offsets:[begin,end]}, "__metadata__": {str: str}}, then the data
 * section; offsets are relative to byte 8+N.  bn_st_open() checks every
 * entry (dtype, shape product overflow, size = numel * itemsize, bounds,
 * overlaps, duplicate names) before returning, so tensor views are safe.
 * A checkpoint may span several shard files (model.safetensors.index.json). */
#ifndef BN_SAFETENSORS_H
#define BN_SAFETENSORS_H

#include "bn.h"
#include "file.h"

#define BN_ST_MAX_DIMS 8

enum bn_st_dtype {
	BN_ST_BOOL, BN_ST_U8, BN_ST_I8, BN_ST_I16, BN_ST_U16, BN_ST_F16, BN_ST_BF16,
	BN_ST_I32, BN_ST_U32, BN_ST_F32, BN_ST_F64, BN_ST_I64, BN_ST_U64,
	BN_ST_OTHER	/* a valid safetensors dtype bn does not compute with */
};

struct bn_st_tensor {
	char *name;
	enum bn_st_dtype dtype;
	const char *dtype_name;		/* as in the file */
	int ndim;
	int64_t shape[BN_ST_MAX_DIMS];
	uint64_t numel;
	const uint8_t *data;		/* into the mapping; valid until bn_st_close() */
	size_t nbytes;
	const char *file;		/* shard path, for messages */
};

struct bn_st {
	int nfiles;
	struct bn_map *maps;
	char **paths;
	int n;				/* tensors */
	struct bn_st_tensor *t;		/* sorted by name */
};

/* Open a checkpoint directory: model.safetensors, or the shards listed in
 * model.safetensors.index.json.  Also accepts a single .safetensors file. */
int bn_st_open(struct bn_st *st, const char *path, struct bn_errbuf *eb);
void bn_st_close(struct bn_st *st);	/* NULL-safe */
/* Borrowed pointer or NULL. */
const struct bn_st_tensor *bn_st_find(const struct bn_st *st, const char *name);
size_t bn_st_itemsize(enum bn_st_dtype d);
/* Element i of a float tensor (F32/F16/BF16) as float. */
float bn_st_getf(const struct bn_st_tensor *t, size_t i);

#endif
