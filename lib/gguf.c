/* gguf.c - GGUF reader (validated, zero-copy) and writer. */
#include <stdlib.h>
#include <string.h>

#include "gguf.h"

#define MAX_KV (1u << 20)
#define MAX_TENSORS (1u << 20)
#define MAX_STR (256u << 20)

size_t bn_ttype_row_bytes(uint32_t type, uint64_t n)
{
	if (n > (1ull << 40))
		return 0;
	switch (type) {
	case BN_TYPE_F32: return (size_t)n * 4;
	case BN_TYPE_F16: case BN_TYPE_BF16: return (size_t)n * 2;
	case BN_TYPE_I8: return (size_t)n;
	case BN_TYPE_Q8_0: return n % 32 ? 0 : (size_t)n / 32 * 34;
	case BN_TYPE_TQ2_0: return n % 256 ? 0 : (size_t)n / 256 * 66;
	case BN_TYPE_TQ1_0: return n % 256 ? 0 : (size_t)n / 256 * 54;
	case BN_TYPE_I2_S: return n % 4 ? 0 : (size_t)n / 4;
	case BN_TYPE_T2: return (size_t)(n + 127) / 128 * 32;
	}
	return 0;
}

const char *bn_ttype_name(uint32_t type)
{
	switch (type) {
	case BN_TYPE_F32: return "f32";
	case BN_TYPE_F16: return "f16";
	case BN_TYPE_BF16: return "bf16";
	case BN_TYPE_I8: return "i8";
	case BN_TYPE_Q8_0: return "q8_0";
	case BN_TYPE_TQ1_0: return "tq1_0";
	case BN_TYPE_TQ2_0: return "tq2_0";
	case BN_TYPE_I2_S: return "i2_s";
	case BN_TYPE_T2: return "bn_t2";
	}
	return "unknown";
}

/* ---- reader ---- */

struct cur {
	const uint8_t *p, *end;
	const char *name;
	struct bn_errbuf *eb;
};

static int need(struct cur *c, size_t n, const char *what)
{
	if ((size_t)(c->end - c->p) < n)
		return bn_fail(c->eb, BN_EFORMAT, "%s: truncated %s", c->name, what);
	return BN_OK;
}

static int rd_u32(struct cur *c, uint32_t *v, const char *what)
{
	BN_TRY(need(c, 4, what));
	*v = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 | (uint32_t)c->p[2] << 16 |
	     (uint32_t)c->p[3] << 24;
	c->p += 4;
	return BN_OK;
}

static int rd_u64(struct cur *c, uint64_t *v, const char *what)
{
	uint32_t lo, hi;

	BN_TRY(rd_u32(c, &lo, what));
	BN_TRY(rd_u32(c, &hi, what));
	*v = (uint64_t)hi << 32 | lo;
	return BN_OK;
}

static int rd_str(struct cur *c, const char **s, size_t *len, const char *what)
{
	uint64_t n;

	BN_TRY(rd_u64(c, &n, what));
	if (n > MAX_STR)
		return bn_fail(c->eb, BN_ERANGE, "%s: %s string too long", c->name, what);
	BN_TRY(need(c, (size_t)n, what));
	*s = (const char *)c->p;
	*len = (size_t)n;
	c->p += n;
	return BN_OK;
}

static const size_t vsize[BN_GGUF_NVTYPES] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

static int skip_value(struct cur *c, uint32_t type, struct bn_gguf_kv *kv)
{
	const char *s;
	size_t len;

	if (type >= BN_GGUF_NVTYPES)
		return bn_fail(c->eb, BN_EFORMAT, "%s: bad metadata value type %u", c->name, type);
	if (type == BN_GGUF_STRING)
		return rd_str(c, &s, &len, "metadata");
	if (type == BN_GGUF_ARRAY) {
		uint32_t at;
		uint64_t n, i;
		BN_TRY(rd_u32(c, &at, "metadata array"));
		BN_TRY(rd_u64(c, &n, "metadata array"));
		if (at >= BN_GGUF_NVTYPES || at == BN_GGUF_ARRAY)
			return bn_fail(c->eb, BN_EFORMAT, "%s: bad array element type %u", c->name, at);
		if (kv) {
			kv->arr_type = at;
			kv->arr_n = n;
			kv->val = c->p;
		}
		if (at == BN_GGUF_STRING) {
			for (i = 0; i < n; i++)
				BN_TRY(rd_str(c, &s, &len, "metadata array"));
			return BN_OK;
		}
		if (n > (uint64_t)(c->end - c->p) / vsize[at])
			return bn_fail(c->eb, BN_EFORMAT, "%s: truncated metadata array", c->name);
		c->p += n * vsize[at];
		return BN_OK;
	}
	BN_TRY(need(c, vsize[type], "metadata value"));
	c->p += vsize[type];
	return BN_OK;
}

static int tensor_bytes(const struct bn_gguf_tensor *t, size_t *out)
{
	size_t rows = 1, row;
	uint32_t i;

	for (i = 1; i < t->n_dims; i++)
		if (bn_mul_ok(rows, (size_t)t->dims[i], &rows) < 0)
			return -1;
	if (t->type == BN_TYPE_I2_S) {	/* whole tensor: codes + 32-byte scale tail */
		size_t n;
		if (bn_mul_ok(rows, (size_t)t->dims[0], &n) < 0 || n % 4)
			return -1;
		*out = n / 4 + 32;
		return 0;
	}
	if (!(row = bn_ttype_row_bytes(t->type, t->dims[0])) && t->dims[0])
		return -1;
	return bn_mul_ok(rows, row, out);
}

static int parse_tensor(struct cur *c, struct bn_gguf_tensor *t)
{
	uint32_t i;

	BN_TRY(rd_str(c, &t->name, &t->name_len, "tensor info"));
	BN_TRY(rd_u32(c, &t->n_dims, "tensor info"));
	if (t->n_dims < 1 || t->n_dims > BN_GGUF_MAX_DIMS)
		return bn_fail(c->eb, BN_EFORMAT, "%s: tensor '%.*s': bad dimension count %u",
			       c->name, (int)t->name_len, t->name, t->n_dims);
	for (i = 0; i < t->n_dims; i++) {
		BN_TRY(rd_u64(c, &t->dims[i], "tensor info"));
		if (t->dims[i] > (1ull << 40))
			return bn_fail(c->eb, BN_ERANGE, "%s: tensor '%.*s': dimension too large",
				       c->name, (int)t->name_len, t->name);
	}
	BN_TRY(rd_u32(c, &t->type, "tensor info"));
	BN_TRY(rd_u64(c, &t->offset, "tensor info"));
	if (tensor_bytes(t, &t->nbytes) < 0)
		return bn_fail(c->eb, BN_EFORMAT, "%s: tensor '%.*s': unsupported type %u or bad shape",
			       c->name, (int)t->name_len, t->name, t->type);
	return BN_OK;
}

static int parse_all(struct bn_gguf *g, struct cur *c)
{
	uint64_t i;

	for (i = 0; i < g->n_kv; i++) {
		struct bn_gguf_kv *kv = &g->kv[i];
		BN_TRY(rd_str(c, &kv->key, &kv->key_len, "metadata key"));
		BN_TRY(rd_u32(c, &kv->type, "metadata"));
		kv->val = c->p;
		BN_TRY(skip_value(c, kv->type, kv));
		if (kv->key_len == 17 && !memcmp(kv->key, "general.alignment", 17)) {
			if (kv->type != BN_GGUF_U32)
				return bn_fail(c->eb, BN_EFORMAT, "%s: general.alignment is not u32", c->name);
			memcpy(&g->alignment, kv->val, 4);
			if (!g->alignment || (g->alignment & (g->alignment - 1)) || g->alignment > 65536)
				return bn_fail(c->eb, BN_EFORMAT, "%s: bad alignment %u", c->name, g->alignment);
		}
	}
	for (i = 0; i < g->n_tensors; i++)
		BN_TRY(parse_tensor(c, &g->t[i]));
	g->data_off = (size_t)(c->p - g->base);
	g->data_off = (g->data_off + g->alignment - 1) / g->alignment * g->alignment;
	if (g->data_off > g->size)
		return bn_fail(c->eb, BN_EFORMAT, "%s: data section past end of file", c->name);
	for (i = 0; i < g->n_tensors; i++) {
		struct bn_gguf_tensor *t = &g->t[i];
		size_t avail = g->size - g->data_off;
		if (t->offset % g->alignment)
			return bn_fail(c->eb, BN_EFORMAT, "%s: tensor '%.*s': misaligned offset",
				       c->name, (int)t->name_len, t->name);
		if (t->offset > avail || t->nbytes > avail - t->offset)
			return bn_fail(c->eb, BN_EFORMAT, "%s: tensor '%.*s' ends past end of file",
				       c->name, (int)t->name_len, t->name);
		t->data = g->base + g->data_off + t->offset;
	}
	return BN_OK;
}

struct name { const char *s; size_t n; };

static int by_name(const void *a, const void *b)
{
	const struct name *x = a, *y = b;
	int c = memcmp(x->s, y->s, BN_MIN(x->n, y->n));

	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Lookups return the first match: a second key or tensor of the same name
 * would be invisible to bn but not to other readers, so refuse them. */
static int check_dups(struct bn_gguf *g, struct cur *c)
{
	uint64_t n = BN_MAX(g->n_kv, g->n_tensors), i;
	struct name *v;
	int pass, rc = BN_OK;

	if (n < 2)
		return BN_OK;
	if (!(v = malloc((size_t)n * sizeof(*v))))
		return bn_fail(c->eb, BN_ENOMEM, "%s: out of memory", c->name);
	for (pass = 0; pass < 2 && rc == BN_OK; pass++) {
		uint64_t m = pass ? g->n_tensors : g->n_kv;
		for (i = 0; i < m; i++) {
			v[i].s = pass ? g->t[i].name : g->kv[i].key;
			v[i].n = pass ? g->t[i].name_len : g->kv[i].key_len;
		}
		qsort(v, (size_t)m, sizeof(*v), by_name);
		for (i = 1; i < m && rc == BN_OK; i++)
			if (!by_name(&v[i - 1], &v[i]))
				rc = bn_fail(c->eb, BN_EFORMAT, "%s: duplicate %s '%.*s'", c->name,
					     pass ? "tensor" : "key", (int)BN_MIN(v[i].n, 200), v[i].s);
	}
	free(v);
	return rc;
}

int bn_gguf_parse(struct bn_gguf *g, const uint8_t *buf, size_t size, const char *name,
		  struct bn_errbuf *eb)
{
	struct cur c = { buf, buf, name, eb };
	int rc;

	memset(g, 0, sizeof(*g));
	g->base = buf;
	g->size = size;
	g->alignment = 32;
	if (!buf || size < 4 || memcmp(buf, "GGUF", 4))	/* an empty file maps to NULL */
		return bn_fail(eb, BN_EFORMAT, "%s: not a GGUF file (bad magic)", name);
	c.end = buf + size;
	c.p += 4;
	BN_TRY(rd_u32(&c, &g->version, "header"));
	if (g->version != 2 && g->version != 3)
		return bn_fail(eb, BN_EUNSUP, "%s: unsupported GGUF version %u", name, g->version);
	BN_TRY(rd_u64(&c, &g->n_tensors, "header"));
	BN_TRY(rd_u64(&c, &g->n_kv, "header"));
	if (g->n_kv > MAX_KV || g->n_tensors > MAX_TENSORS ||
	    g->n_kv + g->n_tensors > size / 8)
		return bn_fail(eb, BN_EFORMAT, "%s: implausible counts (%llu keys, %llu tensors)",
			       name, (unsigned long long)g->n_kv, (unsigned long long)g->n_tensors);
	g->kv = calloc((size_t)g->n_kv + 1, sizeof(*g->kv));
	g->t = calloc((size_t)g->n_tensors + 1, sizeof(*g->t));
	if (!g->kv || !g->t) {
		bn_gguf_release(g);
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", name);
	}
	if ((rc = parse_all(g, &c)) < 0 || (rc = check_dups(g, &c)) < 0)
		bn_gguf_release(g);
	return rc;
}

void bn_gguf_release(struct bn_gguf *g)
{
	if (!g)
		return;
	free(g->kv);
	free(g->t);
	g->kv = NULL;
	g->t = NULL;
}

const struct bn_gguf_kv *bn_gguf_find_kv(const struct bn_gguf *g, const char *key)
{
	size_t n = strlen(key);
	uint64_t i;

	for (i = 0; i < g->n_kv; i++)
		if (g->kv[i].key_len == n && !memcmp(g->kv[i].key, key, n))
			return &g->kv[i];
	return NULL;
}

const struct bn_gguf_tensor *bn_gguf_find_tensor(const struct bn_gguf *g, const char *name)
{
	size_t n = strlen(name);
	uint64_t i;

	for (i = 0; i < g->n_tensors; i++)
		if (g->t[i].name_len == n && !memcmp(g->t[i].name, name, n))
			return &g->t[i];
	return NULL;
}

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

int bn_gguf_get_u32(const struct bn_gguf *g, const char *key, uint32_t *v)
{
	const struct bn_gguf_kv *kv = bn_gguf_find_kv(g, key);

	if (!kv)
		return BN_ENOENT;
	switch (kv->type) {
	case BN_GGUF_U8: case BN_GGUF_U16: case BN_GGUF_U32:
		*v = (uint32_t)le(kv->val, vsize[kv->type]);
		return BN_OK;
	case BN_GGUF_I32: case BN_GGUF_U64: case BN_GGUF_I64: {
		uint64_t x = le(kv->val, vsize[kv->type]);
		if ((kv->type == BN_GGUF_I32 && (x & 0x80000000u)) || x > UINT32_MAX)
			return BN_EFORMAT;
		*v = (uint32_t)x;
		return BN_OK;
	}
	}
	return BN_EFORMAT;
}

int bn_gguf_get_f32(const struct bn_gguf *g, const char *key, float *v)
{
	const struct bn_gguf_kv *kv = bn_gguf_find_kv(g, key);

	if (!kv)
		return BN_ENOENT;
	if (kv->type == BN_GGUF_F32) {
		memcpy(v, kv->val, 4);
		return BN_OK;
	}
	if (kv->type == BN_GGUF_F64) {
		double d;
		memcpy(&d, kv->val, 8);
		*v = (float)d;
		return BN_OK;
	}
	return BN_EFORMAT;
}

int bn_gguf_get_str(const struct bn_gguf *g, const char *key, const char **s, size_t *len)
{
	const struct bn_gguf_kv *kv = bn_gguf_find_kv(g, key);

	if (!kv)
		return BN_ENOENT;
	if (kv->type != BN_GGUF_STRING)
		return BN_EFORMAT;
	*len = (size_t)le(kv->val, 8);
	*s = (const char *)kv->val + 8;
	return BN_OK;
}

int bn_gguf_get_ints(const struct bn_gguf *g, const char *key, int64_t *v, size_t *n)
{
	const struct bn_gguf_kv *kv = bn_gguf_find_kv(g, key);
	size_t i, sz;

	if (!kv)
		return BN_ENOENT;
	if (kv->type != BN_GGUF_ARRAY || kv->arr_type > BN_GGUF_I32 || kv->arr_type == BN_GGUF_F32 ||
	    kv->arr_n > *n)
		return BN_EFORMAT;
	sz = vsize[kv->arr_type];
	for (i = 0; i < kv->arr_n; i++) {
		uint64_t x = le(kv->val + i * sz, sz);
		int sgn = kv->arr_type & 1;	/* I8, I16, I32 are odd */
		v[i] = sgn && (x >> (8 * sz - 1)) ? (int64_t)x - ((int64_t)1 << (8 * sz)) : (int64_t)x;
	}
	*n = (size_t)kv->arr_n;
	return BN_OK;
}

/* ---- writer ---- */

struct wtensor {
	char *name;
	uint32_t type, n_dims;
	uint64_t dims[BN_GGUF_MAX_DIMS];
	uint64_t offset;
	size_t nbytes;
};

struct bn_gguf_writer {
	uint32_t alignment;
	uint8_t *kv;
	size_t kv_len, kv_cap;
	uint64_t n_kv;
	struct wtensor *t;
	int n_t;
	uint64_t data_len;
};

int bn_gguf_writer_new(struct bn_gguf_writer **w, uint32_t alignment)
{
	if (!(*w = calloc(1, sizeof(**w))))
		return BN_ENOMEM;
	(*w)->alignment = alignment;
	return BN_OK;
}

void bn_gguf_writer_free(struct bn_gguf_writer *w)
{
	int i;

	if (!w)
		return;
	for (i = 0; i < w->n_t; i++)
		free(w->t[i].name);
	free(w->t);
	free(w->kv);
	free(w);
}

static int put(struct bn_gguf_writer *w, const void *p, size_t n)
{
	if (w->kv_len + n > w->kv_cap) {
		size_t cap = (w->kv_cap + n) * 2;
		uint8_t *nb = realloc(w->kv, cap);
		if (!nb)
			return BN_ENOMEM;
		w->kv = nb;
		w->kv_cap = cap;
	}
	memcpy(w->kv + w->kv_len, p, n);
	w->kv_len += n;
	return BN_OK;
}

static int put_u32(struct bn_gguf_writer *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	return put(w, b, 4);
}

static int put_u64(struct bn_gguf_writer *w, uint64_t v)
{
	BN_TRY(put_u32(w, (uint32_t)v));
	return put_u32(w, (uint32_t)(v >> 32));
}

static int put_str(struct bn_gguf_writer *w, const char *s, size_t n)
{
	BN_TRY(put_u64(w, n));
	return put(w, s, n);
}

static int key(struct bn_gguf_writer *w, const char *k, uint32_t type)
{
	w->n_kv++;
	BN_TRY(put_str(w, k, strlen(k)));
	return put_u32(w, type);
}

int bn_gguf_add_str(struct bn_gguf_writer *w, const char *k, const char *s, size_t len)
{
	BN_TRY(key(w, k, BN_GGUF_STRING));
	return put_str(w, s, len);
}

int bn_gguf_add_u32(struct bn_gguf_writer *w, const char *k, uint32_t v)
{
	BN_TRY(key(w, k, BN_GGUF_U32));
	return put_u32(w, v);
}

int bn_gguf_add_f32(struct bn_gguf_writer *w, const char *k, float v)
{
	uint32_t u;

	memcpy(&u, &v, 4);
	BN_TRY(key(w, k, BN_GGUF_F32));
	return put_u32(w, u);
}

int bn_gguf_add_bool(struct bn_gguf_writer *w, const char *k, int v)
{
	uint8_t b = v != 0;

	BN_TRY(key(w, k, BN_GGUF_BOOL));
	return put(w, &b, 1);
}

int bn_gguf_add_i32s(struct bn_gguf_writer *w, const char *k, const int32_t *v, size_t n)
{
	size_t i;

	BN_TRY(key(w, k, BN_GGUF_ARRAY));
	BN_TRY(put_u32(w, BN_GGUF_I32));
	BN_TRY(put_u64(w, n));
	for (i = 0; i < n; i++)
		BN_TRY(put_u32(w, (uint32_t)v[i]));
	return BN_OK;
}

int bn_gguf_add_f32s(struct bn_gguf_writer *w, const char *k, const float *v, size_t n)
{
	size_t i;

	BN_TRY(key(w, k, BN_GGUF_ARRAY));
	BN_TRY(put_u32(w, BN_GGUF_F32));
	BN_TRY(put_u64(w, n));
	for (i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, &v[i], 4);
		BN_TRY(put_u32(w, u));
	}
	return BN_OK;
}

int bn_gguf_add_strs(struct bn_gguf_writer *w, const char *k, const char *const *v, size_t n)
{
	size_t i;

	BN_TRY(key(w, k, BN_GGUF_ARRAY));
	BN_TRY(put_u32(w, BN_GGUF_STRING));
	BN_TRY(put_u64(w, n));
	for (i = 0; i < n; i++)
		BN_TRY(put_str(w, v[i], strlen(v[i])));
	return BN_OK;
}

int bn_gguf_add_tensor(struct bn_gguf_writer *w, const char *name, uint32_t type,
		       const uint64_t *dims, uint32_t n_dims)
{
	struct bn_gguf_tensor probe = { .n_dims = n_dims, .type = type };
	struct wtensor *t, *nt;

	if (n_dims < 1 || n_dims > BN_GGUF_MAX_DIMS)
		return BN_EINVAL;
	memcpy(probe.dims, dims, n_dims * sizeof(*dims));
	if (tensor_bytes(&probe, &probe.nbytes) < 0)
		return BN_EINVAL;
	if (!(nt = realloc(w->t, (size_t)(w->n_t + 1) * sizeof(*w->t))))
		return BN_ENOMEM;
	w->t = nt;
	t = &w->t[w->n_t];
	memset(t, 0, sizeof(*t));
	if (!(t->name = strdup(name)))
		return BN_ENOMEM;
	w->n_t++;
	t->type = type;
	t->n_dims = n_dims;
	memcpy(t->dims, dims, n_dims * sizeof(*dims));
	t->nbytes = probe.nbytes;
	t->offset = w->data_len;
	w->data_len += (t->nbytes + w->alignment - 1) / w->alignment * w->alignment;
	return BN_OK;
}

size_t bn_gguf_tensor_bytes(const struct bn_gguf_writer *w, int i)
{
	return w->t[i].nbytes;
}

static int pad(FILE *fp, size_t n)
{
	static const uint8_t zero[64];

	while (n) {
		size_t k = BN_MIN(n, sizeof(zero));
		if (fwrite(zero, 1, k, fp) != k)
			return BN_EIO;
		n -= k;
	}
	return BN_OK;
}

int bn_gguf_write_header(struct bn_gguf_writer *w, FILE *fp)
{
	size_t kv_len = w->kv_len, total;
	uint64_t n_kv = w->n_kv;
	int i, rc;
	uint32_t d;

	/* alignment key first, then the caller's keys; tensor infos follow */
	rc = put(w, "GGUF", 4);
	rc = rc < 0 ? rc : put_u32(w, 3);
	rc = rc < 0 ? rc : put_u64(w, (uint64_t)w->n_t);
	rc = rc < 0 ? rc : put_u64(w, n_kv + 1);
	rc = rc < 0 ? rc : put_str(w, "general.alignment", 17);
	rc = rc < 0 ? rc : put_u32(w, BN_GGUF_U32);
	rc = rc < 0 ? rc : put_u32(w, w->alignment);
	BN_TRY(rc);
	if (fwrite(w->kv + kv_len, 1, w->kv_len - kv_len, fp) != w->kv_len - kv_len ||
	    fwrite(w->kv, 1, kv_len, fp) != kv_len)
		return BN_EIO;
	total = w->kv_len;
	w->kv_len = kv_len;
	for (i = 0; i < w->n_t; i++) {
		struct wtensor *t = &w->t[i];
		size_t before = w->kv_len;
		BN_TRY(put_str(w, t->name, strlen(t->name)));
		BN_TRY(put_u32(w, t->n_dims));
		for (d = 0; d < t->n_dims; d++)
			BN_TRY(put_u64(w, t->dims[d]));
		BN_TRY(put_u32(w, t->type));
		BN_TRY(put_u64(w, t->offset));
		if (fwrite(w->kv + before, 1, w->kv_len - before, fp) != w->kv_len - before)
			return BN_EIO;
		total += w->kv_len - before;
		w->kv_len = before;
	}
	return pad(fp, (w->alignment - total % w->alignment) % w->alignment);
}

int bn_gguf_write_data(struct bn_gguf_writer *w, FILE *fp, int i, const void *data, size_t n)
{
	size_t sz = w->t[i].nbytes;

	if (n != sz)
		return BN_EINVAL;
	if (n && fwrite(data, 1, n, fp) != n)
		return BN_EIO;
	return pad(fp, (w->alignment - sz % w->alignment) % w->alignment);
}
