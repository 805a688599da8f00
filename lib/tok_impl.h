/* tok_impl.h - internals shared by tokenizer.c, tok_encode.c, tok_decode.c.
 * Not installed API. */
#ifndef BN_TOK_IMPL_H
#define BN_TOK_IMPL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "tokenizer.h"

#define TOK_MAX_ID (1 << 24)	/* refuse ids beyond this */
#define TOK_MAX_STAGES 8

enum {
	TI_VOCAB = 1,	/* id is in the model vocab */
	TI_VRAW = 2,	/* its vocab string is not byte-mappable: voff/vlen is raw UTF-8 */
	TI_ADDED = 4,	/* an added token (decode uses its content) */
	TI_SPECIAL = 8,
};

struct tok_info {
	uint32_t off, len;	/* decode bytes in pool */
	uint32_t voff, vlen;	/* vocab key: bytes (or raw string if TI_VRAW) */
	uint8_t flags;
};

struct tok_vent {		/* vocab hash entry: raw bytes -> id */
	uint64_t k8;		/* the first 8 bytes, zero-padded (tok_k8) */
	int32_t id;		/* -1: empty */
	uint32_t len;
};

struct tok_ment {		/* merge hash entry: (a,b) -> rank (rank_id: new id) */
	int32_t a, b;		/* a == -1: empty */
	uint32_t rank;
};

struct tok_added {
	int32_t id;
	uint32_t off, len;	/* content in pool */
	uint8_t special, normalized;
};

/* Added-token matcher for one pass: tokens grouped by first byte, longest
 * first. */
struct tok_matcher {
	int n;
	uint8_t first[256];		/* any token starting with this byte */
	uint32_t start[257];		/* by first byte: range in order[] */
	uint32_t *order;		/* indices into t->added */
};

enum { ST_FAST, ST_REGEX, ST_PREFIX };

struct tok_stage {
	int kind;		/* ST_FAST, ST_REGEX: split Isolated; ST_PREFIX: add space */
	pcre2_code *re;		/* for ST_REGEX, and ST_FAST (tests) */
};

struct bn_tokenizer {
	int32_t n_vocab;
	struct tok_info *info;		/* [n_vocab] */
	char *pool;
	size_t pool_len, pool_cap;
	size_t max_bytes;

	struct tok_vent *vtab;		/* vocab by bytes */
	uint32_t vmask;
	struct tok_ment *mtab;
	uint32_t mbits;
	int32_t *rank_id;		/* [rank]: id the merge of that rank makes */
	int32_t byte_id[256];
	int ignore_merges, fuse_unk;
	int32_t unk_id;

	struct tok_added *added;
	int n_added;
	struct tok_matcher match[2];	/* pass 0: normalized false, 1: true */

	struct tok_stage stage[TOK_MAX_STAGES];
	int nstage;

	int32_t *pre_ids, *post_ids;	/* template around $A */
	int n_pre, n_post;
	int32_t bos;
};

static inline uint64_t tok_hash(const unsigned char *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);

	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		if (n >= 4) {
			uint32_t a, b;
			memcpy(&a, p, 4);
			memcpy(&b, p + n - 4, 4);
			w = (uint64_t)a << 32 | b;
		} else {
			w = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
		}
		h = (h ^ w) * 0x94d049bb133111ebull;
	}
	h ^= h >> 32;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return h;
}

/* The first min(n, 8) bytes of p as a little-endian number, without
 * reading past p[n - 1]. */
static inline uint64_t tok_k8(const unsigned char *p, size_t n)
{
	uint64_t w;

	if (n >= 8) {
		memcpy(&w, p, 8);
	} else if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		w = (uint64_t)a | (uint64_t)b << ((n - 4) * 8);
	} else if (n) {
		w = (uint64_t)p[0] | (uint64_t)p[n >> 1] << ((n >> 1) * 8) |
		    (uint64_t)p[n - 1] << ((n - 1) * 8);
	} else {
		w = 0;
	}
	return w;
}

/* Vocab lookup by raw bytes: id or -1. */
static inline int32_t tok_vocab_get(const struct bn_tokenizer *t, const unsigned char *p,
				    size_t n)
{
	uint64_t k8 = tok_k8(p, n), h = tok_hash(p, n);
	uint32_t i = (uint32_t)h & t->vmask;

	for (;; i = (i + 1) & t->vmask) {
		const struct tok_vent *e = &t->vtab[i];
		if (e->id < 0)
			return -1;
		if (e->k8 == k8 && e->len == n &&
		    (n <= 8 || !memcmp(t->pool + t->info[e->id].voff + 8, p + 8, n - 8)))
			return e->id;
	}
}

static inline uint32_t tok_mslot(const struct bn_tokenizer *t, int32_t a, int32_t b)
{
	uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;

	return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - t->mbits));
}

static inline const struct tok_ment *tok_merge_get(const struct bn_tokenizer *t, int32_t a,
						   int32_t b)
{
	uint32_t mask = (1u << t->mbits) - 1, i = tok_mslot(t, a, b);

	for (;; i = (i + 1) & mask) {
		const struct tok_ment *e = &t->mtab[i];
		if (e->a == a && e->b == b)
			return e;
		if (e->a < 0)
			return NULL;
	}
}

/* GPT-2 byte <-> char map. */
uint16_t bn_tok_byte_char(unsigned b);
int bn_char_byte(uint32_t cp);	/* byte for a mapped char, or -1 */

#endif
