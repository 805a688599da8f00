/* safetensors.c - validated safetensors reader (single file or shards). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "safetensors.h"

#define HEADER_LIMIT 100000000u		/* the format's own limit */

static const struct { const char *name; enum bn_st_dtype d; size_t size; } dtypes[] = {
	{ "BOOL", BN_ST_BOOL, 1 }, { "U8", BN_ST_U8, 1 }, { "I8", BN_ST_I8, 1 },
	{ "I16", BN_ST_I16, 2 }, { "U16", BN_ST_U16, 2 }, { "F16", BN_ST_F16, 2 },
	{ "BF16", BN_ST_BF16, 2 }, { "I32", BN_ST_I32, 4 }, { "U32", BN_ST_U32, 4 },
	{ "F32", BN_ST_F32, 4 }, { "F64", BN_ST_F64, 8 }, { "I64", BN_ST_I64, 8 },
	{ "U64", BN_ST_U64, 8 }, { "F8_E5M2", BN_ST_OTHER, 1 }, { "F8_E4M3", BN_ST_OTHER, 1 },
	{ "F8_E8M0", BN_ST_OTHER, 1 }, { "C64", BN_ST_OTHER, 8 },
};

size_t bn_st_itemsize(enum bn_st_dtype d)
{
	size_t i;

	for (i = 0; i < BN_LEN(dtypes); i++)
		if (dtypes[i].d == d)
			return dtypes[i].size;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct bn_st_tensor *)a)->name, ((const struct bn_st_tensor *)b)->name);
}

static int by_data(const void *a, const void *b)
{
	const struct bn_st_tensor *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->data != y->data)
		return x->data < y->data ? -1 : 1;
	return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* The n tensors of one file, in data order, must tile its data section
 * [data, data + dlen) exactly: no overlap, no hole, no trailing bytes (the
 * safetensors library refuses such files too). */
static int check_cover(struct bn_st_tensor *t, int n, const uint8_t *data, size_t dlen,
		       const char *path, struct bn_errbuf *eb)
{
	const uint8_t *at = data;
	int i;

	qsort(t, (size_t)n, sizeof(*t), by_data);
	for (i = 0; i < n; at = t[i].data + t[i].nbytes, i++)
		if (t[i].data != at)
			return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' starts at data byte %zu, "
				       "not at %zu where the previous one ends (%s)", path, t[i].name,
				       (size_t)(t[i].data - data), (size_t)(at - data),
				       t[i].data < at ? "overlap" : "hole");
	if (at != data + dlen)
		return bn_fail(eb, BN_EFORMAT, "%s: %zu bytes after the last tensor's data", path,
			       (size_t)(data + dlen - at));
	return BN_OK;
}

static int parse_u64(const cJSON *j, uint64_t *v)
{
	if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 9007199254740992.0 ||
	    j->valuedouble != (double)(uint64_t)j->valuedouble)
		return -1;
	*v = (uint64_t)j->valuedouble;
	return 0;
}

/* Parse one entry of the header into t; data section is [data, data+dlen). */
static int parse_entry(const cJSON *e, struct bn_st_tensor *t, const uint8_t *data,
		       size_t dlen, const char *path, struct bn_errbuf *eb)
{
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
	const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
	const cJSON *d;
	uint64_t b, en, numel = 1;
	size_t i, isz = 0, bytes;

	if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off))
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s': missing dtype, shape or data_offsets",
			       path, t->name);
	for (i = 0; i < BN_LEN(dtypes); i++)
		if (!strcmp(dt->valuestring, dtypes[i].name)) {
			t->dtype = dtypes[i].d;
			t->dtype_name = dtypes[i].name;
			isz = dtypes[i].size;
		}
	if (!isz)
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s': unknown dtype '%s'", path, t->name,
			       dt->valuestring);
	if (cJSON_GetArraySize(sh) > BN_ST_MAX_DIMS)
		return bn_fail(eb, BN_EUNSUP, "%s: tensor '%s': more than %d dimensions", path,
			       t->name, BN_ST_MAX_DIMS);
	t->ndim = 0;
	cJSON_ArrayForEach(d, sh) {
		uint64_t v;
		if (parse_u64(d, &v) < 0 || v > INT64_MAX)
			return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s': bad shape", path, t->name);
		if (__builtin_mul_overflow(numel, v, &numel))
			return bn_fail(eb, BN_ERANGE, "%s: tensor '%s': shape overflows", path, t->name);
		t->shape[t->ndim++] = (int64_t)v;
	}
	t->numel = numel;
	if (cJSON_GetArraySize(off) != 2 || parse_u64(off->child, &b) < 0 ||
	    parse_u64(off->child->next, &en) < 0 || en < b)
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s': bad data_offsets", path, t->name);
	if (numel > SIZE_MAX / isz || (bytes = (size_t)numel * isz) != en - b)
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s': data_offsets size %llu does not match "
			       "shape and dtype", path, t->name, (unsigned long long)(en - b));
	if (en > dlen)
		return bn_fail(eb, BN_EFORMAT, "%s: tensor '%s' ends past end of file", path, t->name);
	t->data = data + b;
	t->nbytes = bytes;
	t->file = path;
	return BN_OK;
}

/* Append the tensors of one file to st. */
static int open_file(struct bn_st *st, const char *path, struct bn_errbuf *eb)
{
	struct bn_map *m;
	uint64_t hlen = 0;
	cJSON *root = NULL, *e;
	const uint8_t *data;
	size_t dlen;
	int i, rc = BN_OK, cnt = 0, meta = 0;
	void *p;

	if (!(p = realloc(st->maps, (size_t)(st->nfiles + 1) * sizeof(*st->maps))))
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", path);
	st->maps = p;
	if (!(p = realloc(st->paths, (size_t)(st->nfiles + 1) * sizeof(*st->paths))))
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", path);
	st->paths = p;
	m = &st->maps[st->nfiles];
	BN_TRY(bn_map_open(m, path, eb));
	if (!(st->paths[st->nfiles] = strdup(path))) {
		bn_map_close(m);
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", path);
	}
	path = st->paths[st->nfiles++];
	if (m->size < 8)
		return bn_fail(eb, BN_EFORMAT, "%s: file too short for a safetensors header", path);
	for (i = 7; i >= 0; i--)
		hlen = hlen << 8 | m->base[i];
	if (hlen > m->size - 8)
		return bn_fail(eb, BN_EFORMAT, "%s: header length %llu past end of file", path,
			       (unsigned long long)hlen);
	if (hlen > HEADER_LIMIT)
		return bn_fail(eb, BN_ERANGE, "%s: header length %llu above the format's limit of %u",
			       path, (unsigned long long)hlen, HEADER_LIMIT);
	if (hlen < 2 || m->base[8] != '{')
		return bn_fail(eb, BN_EFORMAT, "%s: not a safetensors file (bad header)", path);
	/* the header ends with spaces (padding to 8 bytes), which JSON allows */
	if (!(root = bn_json_parse((const char *)m->base + 8, (size_t)hlen, 0, path, eb)))
		return BN_EFORMAT;
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return bn_fail(eb, BN_EFORMAT, "%s: header is not a JSON object", path);
	}
	data = m->base + 8 + hlen;
	dlen = m->size - 8 - (size_t)hlen;
	cJSON_ArrayForEach(e, root)
		cnt++;
	if (!(p = realloc(st->t, (size_t)(st->n + cnt) * sizeof(*st->t)))) {
		rc = bn_fail(eb, BN_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	st->t = p;
	cJSON_ArrayForEach(e, root) {
		struct bn_st_tensor *t = &st->t[st->n];
		if (!strcmp(e->string, "__metadata__")) {
			if (!cJSON_IsObject(e)) {
				rc = bn_fail(eb, BN_EFORMAT, "%s: __metadata__ is not an object", path);
				goto out;
			}
			meta = 1;
			continue;
		}
		memset(t, 0, sizeof(*t));
		if (!(t->name = strdup(e->string))) {
			rc = bn_fail(eb, BN_ENOMEM, "%s: out of memory", path);
			goto out;
		}
		st->n++;
		if ((rc = parse_entry(e, t, data, dlen, path, eb)) < 0)
			goto out;
	}
	rc = check_cover(st->t + st->n - (cnt - meta), cnt - meta, data, dlen, path, eb);
out:
	cJSON_Delete(root);
	return rc;
}

/* Names unique across the files (each file's data checked by check_cover). */
static int check_table(struct bn_st *st, struct bn_errbuf *eb)
{
	int i;

	qsort(st->t, (size_t)st->n, sizeof(*st->t), by_name);
	for (i = 1; i < st->n; i++)
		if (!strcmp(st->t[i - 1].name, st->t[i].name))
			return bn_fail(eb, BN_EFORMAT, "%s: duplicate tensor '%s'", st->t[i].file,
				       st->t[i].name);
	return BN_OK;
}

/* Shards from model.safetensors.index.json: distinct values of weight_map. */
static int open_index(struct bn_st *st, const char *dir, const char *index,
		      struct bn_errbuf *eb)
{
	char *json = NULL, path[4096];
	cJSON *root, *wm, *e, *seen;
	size_t len;
	int rc = BN_OK;

	BN_TRY(bn_read_file(index, 16u << 20, &json, &len, eb));
	root = bn_json_parse(json, len, 0, index, eb);
	free(json);
	if (!root)
		return BN_EFORMAT;
	wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
	if (!cJSON_IsObject(wm)) {
		cJSON_Delete(root);
		return bn_fail(eb, BN_EFORMAT, "%s: no weight_map object", index);
	}
	seen = cJSON_CreateObject();
	cJSON_ArrayForEach(e, wm) {
		const char *f = cJSON_GetStringValue(e);
		if (!f || !*f || strchr(f, '/') || !strcmp(f, "..")) {
			rc = bn_fail(eb, BN_EFORMAT, "%s: bad shard name for '%s'", index, e->string);
			break;
		}
		if (cJSON_GetObjectItemCaseSensitive(seen, f))
			continue;
		cJSON_AddNullToObject(seen, f);
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		if ((rc = open_file(st, path, eb)) < 0)
			break;
	}
	cJSON_Delete(seen);
	cJSON_Delete(root);
	return rc;
}

int bn_st_open(struct bn_st *st, const char *path, struct bn_errbuf *eb)
{
	struct stat sb;
	char buf[4096];
	int rc;

	memset(st, 0, sizeof(*st));
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		snprintf(buf, sizeof(buf), "%s/model.safetensors", path);
		if (stat(buf, &sb) == 0) {
			rc = open_file(st, buf, eb);
		} else {
			snprintf(buf, sizeof(buf), "%s/model.safetensors.index.json", path);
			if (stat(buf, &sb) != 0)
				return bn_fail(eb, BN_ENOENT, "%s: no model.safetensors or "
					       "model.safetensors.index.json", path);
			rc = open_index(st, path, buf, eb);
		}
	} else {
		rc = open_file(st, path, eb);
	}
	if (rc >= 0)
		rc = check_table(st, eb);
	if (rc < 0)
		bn_st_close(st);
	return rc;
}

void bn_st_close(struct bn_st *st)
{
	int i;

	if (!st)
		return;
	for (i = 0; i < st->n; i++)
		free(st->t[i].name);
	for (i = 0; i < st->nfiles; i++) {
		bn_map_close(&st->maps[i]);
		free(st->paths[i]);
	}
	free(st->t);
	free(st->maps);
	free(st->paths);
	memset(st, 0, sizeof(*st));
}

const struct bn_st_tensor *bn_st_find(const struct bn_st *st, const char *name)
{
	struct bn_st_tensor key = { .name = (char *)name };

	if (!st->n)
		return NULL;
	return bsearch(&key, st->t, (size_t)st->n, sizeof(*st->t), by_name);
}

float bn_st_getf(const struct bn_st_tensor *t, size_t i)
{
	const uint8_t *p = t->data;
	float f;

	switch (t->dtype) {
	case BN_ST_F32: memcpy(&f, p + 4 * i, 4); return f;
	case BN_ST_F16: return bn_f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
	case BN_ST_BF16: return bn_bf16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
	default: return 0.0f;
	}
}
