/* tok_encode.c - encoding: added tokens, pre-tokenizer, BPE, templates. */
#include <stdlib.h>

#include "tok_impl.h"
#include "unicode.h"

/* ---- the Llama 3 pre-tokenizer, by hand ----
 * P = (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *     ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * tried in order at each position, as a backtracking engine would. */

#define L_ BN_UC_LETTER
#define N_ BN_UC_NUMBER
#define S_ BN_UC_SPACE
static const uint8_t ascii_cls[128] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, S_, S_, S_, S_, S_, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	S_, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, 0, 0, 0, 0, 0, 0,
	0, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_,
	L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, 0, 0, 0, 0, 0,
	0, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_,
	L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, 0, 0, 0, 0, 0,
};
#undef L_
#undef N_
#undef S_

static inline int cls_at(const unsigned char *s, size_t i, size_t *l)
{
	if (s[i] < 0x80) {
		*l = 1;
		return ascii_cls[s[i]];
	}
	return bn_uc_class(bn_utf8_get(s + i, l));
}

static inline size_t run_end(const unsigned char *s, size_t i, size_t n, int cls)
{
	size_t l;

	while (i < n) {
		if (s[i] < 0x80) {
			if (ascii_cls[s[i]] != cls)
				break;
			i++;
		} else {
			if (cls_at(s, i, &l) != cls)
				break;
			i += l;
		}
	}
	return i;
}

static inline int lc(unsigned c)
{
	return c >= 'A' && c <= 'Z' ? (int)(c | 0x20) : (int)c;
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d) at s[i] == '\'': end, or 0 */
static size_t contraction(const unsigned char *s, size_t i, size_t n)
{
	size_t j = i + 1;
	int c, d;

	if (j >= n)
		return 0;
	c = lc(s[j]);
	if (c == 's' || c == 't' || c == 'm' || c == 'd')
		return j + 1;
	if (s[j] == 0xC5 && j + 1 < n && s[j + 1] == 0xBF)	/* U+017F folds to s */
		return j + 2;
	if (j + 1 >= n)
		return 0;
	d = lc(s[j + 1]);
	if ((c == 'r' && d == 'e') || (c == 'v' && d == 'e') || (c == 'l' && d == 'l'))
		return j + 2;
	return 0;
}

size_t bn_pretok_llama3(const unsigned char *s, size_t i, size_t n)
{
	unsigned c0 = s[i];
	size_t l0, j, e;
	int k0;

	if (c0 == '\'' && (e = contraction(s, i, n)))
		return e;
	k0 = cls_at(s, i, &l0);
	if (k0 == BN_UC_LETTER)
		return run_end(s, i + l0, n, BN_UC_LETTER);
	if (k0 != BN_UC_NUMBER && c0 != '\r' && c0 != '\n') {
		size_t l1;
		j = i + l0;
		if (j < n && cls_at(s, j, &l1) == BN_UC_LETTER)
			return run_end(s, j + l1, n, BN_UC_LETTER);
	}
	if (k0 == BN_UC_NUMBER) {
		size_t l;
		j = i + l0;
		for (int k = 1; k < 3 && j < n && cls_at(s, j, &l) == BN_UC_NUMBER; k++)
			j += l;
		return j;
	}
	/* ' ?[^\s\p{L}\p{N}]+[\r\n]*' */
	j = c0 == ' ' ? i + 1 : i;
	if (j < n) {
		size_t l;
		if (cls_at(s, j, &l) == BN_UC_OTHER) {
			j = run_end(s, j + l, n, BN_UC_OTHER);
			while (j < n && (s[j] == '\r' || s[j] == '\n'))
				j++;
			return j;
		}
	}
	/* k0 is white space here: find the run, its last CR/LF and last char */
	{
		size_t last_nl = 0, last = i, l;
		int have_nl = 0;
		j = i;
		while (j < n && cls_at(s, j, &l) == BN_UC_SPACE) {
			if (s[j] == '\r' || s[j] == '\n') {
				have_nl = 1;
				last_nl = j;
			}
			last = j;
			j += l;
		}
		if (have_nl)			/* \s*[\r\n]+ */
			return last_nl + 1;
		if (j == n)			/* \s+(?!\S) at the end */
			return j;
		if (last > i)			/* \s+(?!\S): leave the last one */
			return last;
		return j;			/* \s+ */
	}
}

/* ---- encoding context ---- */

#define CACHE_BITS 13
#define CACHE_KEY 22
#define CACHE_IDS 8

struct cent {
	uint64_t h;
	uint8_t klen, nids;
	char key[CACHE_KEY];
	int32_t ids[CACHE_IDS];
};

struct sym {
	int32_t id, prev, next;
	uint32_t len;
};

/* heap entry: rank << 32 | position; the rank also names the new id */
typedef uint64_t hent;

struct bn_tok_ctx {
	const struct bn_tokenizer *t;
	int fast, err, flags;
	int32_t *ids;
	size_t n, cap;
	struct sym *sym;
	size_t symcap;
	hent *heap;
	size_t heapcap;
	struct cent *cache;
	char *pfx;
	size_t pfxcap;
	pcre2_match_data *md[TOK_MAX_STAGES];
};

int bn_tok_ctx_new(struct bn_tok_ctx **out, const struct bn_tokenizer *t)
{
	struct bn_tok_ctx *c = calloc(1, sizeof *c);

	*out = NULL;
	if (!c)
		return BN_ENOMEM;
	c->t = t;
	c->fast = 1;
	for (int i = 0; i < t->nstage; i++)
		if (t->stage[i].re &&
		    !(c->md[i] = pcre2_match_data_create_from_pattern(t->stage[i].re, NULL))) {
			bn_tok_ctx_free(c);
			return BN_ENOMEM;
		}
	*out = c;
	return BN_OK;
}

void bn_tok_ctx_free(struct bn_tok_ctx *c)
{
	if (!c)
		return;
	for (int i = 0; i < TOK_MAX_STAGES; i++)
		pcre2_match_data_free(c->md[i]);
	free(c->ids);
	free(c->sym);
	free(c->heap);
	free(c->cache);
	free(c->pfx);
	free(c);
}

const struct bn_tokenizer *bn_tok_ctx_tokenizer(const struct bn_tok_ctx *c)
{
	return c->t;
}

void bn_tok_ctx_set_fast(struct bn_tok_ctx *c, int fast)
{
	c->fast = fast;
}

static int grow(void **p, size_t *cap, size_t need, size_t elt)
{
	size_t nc = *cap ? *cap : 64;
	void *np;

	while (nc < need)
		nc *= 2;
	if (nc > SIZE_MAX / elt || !(np = realloc(*p, nc * elt)))
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

static inline void push_id(struct bn_tok_ctx *c, int32_t id)
{
	if (c->n >= c->cap && grow((void **)&c->ids, &c->cap, c->n + 1, sizeof *c->ids)) {
		c->err = BN_ENOMEM;
		return;
	}
	c->ids[c->n++] = id;
}

/* ---- BPE ---- */

static void hpush(hent *h, size_t *n, hent e)
{
	size_t i = (*n)++;

	while (i) {
		size_t p = (i - 1) / 2;
		if (e >= h[p])
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = e;
}

static hent hpop(hent *h, size_t *n)
{
	hent top = h[0], e = h[--*n];
	size_t i = 0, m = *n;

	for (;;) {
		size_t a = 2 * i + 1, k;
		if (a >= m)
			break;
		k = a + 1 < m && h[a + 1] < h[a] ? a + 1 : a;
		if (h[k] >= e)
			break;
		h[i] = h[k];
		i = k;
	}
	if (m)
		h[i] = e;
	return top;
}

#define HENT(rank, pos) ((uint64_t)(rank) << 32 | (uint32_t)(pos))

/* Merge the piece p[0..n) and append its ids (HF word.rs merge_all). */
static void bpe_merge(struct bn_tok_ctx *c, const unsigned char *p, size_t n)
{
	const struct bn_tokenizer *t = c->t;
	struct sym *sy;
	hent *hp;
	size_t ns = 0, nh = 0, i;
	int32_t unk = -1;
	uint32_t unk_len = 0;

	if (n > UINT32_MAX / 4) {
		c->err = BN_ERANGE;
		return;
	}
	if ((n > c->symcap && grow((void **)&c->sym, &c->symcap, n, sizeof *c->sym)) ||
	    (3 * n > c->heapcap && grow((void **)&c->heap, &c->heapcap, 3 * n, sizeof *c->heap))) {
		c->err = BN_ENOMEM;
		return;
	}
	sy = c->sym;
	hp = c->heap;
#define ADD(id_, len_) do { sy[ns].id = (id_); sy[ns].len = (len_); \
	sy[ns].prev = (int32_t)ns - 1; sy[ns].next = (int32_t)ns + 1; ns++; } while (0)
	for (i = 0; i < n; i++) {
		int32_t id = t->byte_id[p[i]];
		if (id >= 0) {
			if (unk >= 0)
				ADD(unk, unk_len);
			unk = -1;
			ADD(id, 1);
		} else if (t->unk_id >= 0) {
			if (unk >= 0 && t->fuse_unk) {
				unk_len++;
			} else {
				if (unk >= 0)
					ADD(unk, unk_len);
				unk = t->unk_id;
				unk_len = 1;
			}
		}
	}
	if (unk >= 0)
		ADD(unk, unk_len);
#undef ADD
	if (!ns)
		return;
	sy[ns - 1].next = -1;
	for (i = 0; i + 1 < ns; i++) {
		const struct tok_ment *m = tok_merge_get(t, sy[i].id, sy[i + 1].id);
		if (m)
			hpush(hp, &nh, HENT(m->rank, i));
	}
	while (nh) {
		hent top = hpop(hp, &nh);
		uint32_t pos = (uint32_t)top;
		int32_t nid = t->rank_id[top >> 32], nx;
		struct sym *cur = &sy[pos], *right;
		const struct tok_ment *m;

		if (!cur->len || cur->next < 0)
			continue;
		nx = cur->next;
		right = &sy[nx];
		m = tok_merge_get(t, cur->id, right->id);
		if (!m || t->rank_id[m->rank] != nid)
			continue;
		cur->id = nid;
		cur->len += right->len;
		right->len = 0;
		cur->next = right->next;
		if (right->next >= 0)
			sy[right->next].prev = (int32_t)pos;
		if (cur->prev >= 0 && (m = tok_merge_get(t, sy[cur->prev].id, cur->id)))
			hpush(hp, &nh, HENT(m->rank, cur->prev));
		if (cur->next >= 0 && (m = tok_merge_get(t, cur->id, sy[cur->next].id)))
			hpush(hp, &nh, HENT(m->rank, pos));
	}
	for (int32_t k = 0; k >= 0; k = sy[k].next)
		push_id(c, sy[k].id);
}

static void bpe(struct bn_tok_ctx *c, const unsigned char *p, size_t n)
{
	const struct bn_tokenizer *t = c->t;
	struct cent *e = NULL;
	uint64_t h = 0;
	size_t before;

	if (!n)
		return;
	if (t->ignore_merges) {
		int32_t id = tok_vocab_get(t, p, n);
		if (id >= 0) {
			push_id(c, id);
			return;
		}
	}
	if (n <= CACHE_KEY) {
		if (!c->cache && !(c->cache = calloc((size_t)1 << CACHE_BITS, sizeof *c->cache))) {
			c->err = BN_ENOMEM;
			return;
		}
		h = tok_hash(p, n);
		e = &c->cache[h >> (64 - CACHE_BITS)];
		if (e->h == h && e->klen == n && !memcmp(e->key, p, n)) {
			for (int k = 0; k < e->nids; k++)
				push_id(c, e->ids[k]);
			return;
		}
	}
	before = c->n;
	bpe_merge(c, p, n);
	if (e && !c->err && c->n - before <= CACHE_IDS) {
		e->h = h;
		e->klen = (uint8_t)n;
		memcpy(e->key, p, n);
		e->nids = (uint8_t)(c->n - before);
		if (e->nids)	/* c->ids may still be NULL: no pointer arithmetic on it */
			memcpy(e->ids, c->ids + before, e->nids * sizeof *e->ids);
	}
}

/* ---- pre-tokenizer stages ---- */

static void stages(struct bn_tok_ctx *c, int k, const unsigned char *s, size_t n);

static void regex_split(struct bn_tok_ctx *c, int k, const unsigned char *s, size_t n)
{
	const struct tok_stage *st = &c->t->stage[k];
	pcre2_match_data *md = c->md[k];
	size_t off = 0, prev = 0;

	while (off < n && !c->err) {
		int rc = pcre2_match(st->re, s, n, off, PCRE2_NO_UTF_CHECK, md, NULL);
		PCRE2_SIZE *ov;
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			c->err = BN_ERANGE;
			return;
		}
		ov = pcre2_get_ovector_pointer(md);
		if (ov[1] <= ov[0]) {	/* empty match: step over one character */
			off = ov[0] + 1;
			while (off < n && (s[off] & 0xC0) == 0x80)
				off++;
			continue;
		}
		if (ov[0] > prev)
			stages(c, k + 1, s + prev, ov[0] - prev);
		stages(c, k + 1, s + ov[0], ov[1] - ov[0]);
		prev = off = ov[1];
	}
	if (prev < n)
		stages(c, k + 1, s + prev, n - prev);
}

static void stages(struct bn_tok_ctx *c, int k, const unsigned char *s, size_t n)
{
	const struct bn_tokenizer *t = c->t;

	if (!n || c->err)
		return;
	if (k == t->nstage) {
		bpe(c, s, n);
		return;
	}
	switch (t->stage[k].kind) {
	case ST_FAST:
		if (c->fast) {
			for (size_t i = 0, e; i < n && !c->err; i = e) {
				e = bn_pretok_llama3(s, i, n);
				stages(c, k + 1, s + i, e - i);
			}
			return;
		}
		/* fall through */
	case ST_REGEX:
		regex_split(c, k, s, n);
		return;
	case ST_PREFIX:
		if (s[0] == ' ') {
			stages(c, k + 1, s, n);
			return;
		}
		if (n + 1 > c->pfxcap && grow((void **)&c->pfx, &c->pfxcap, n + 1, 1)) {
			c->err = BN_ENOMEM;
			return;
		}
		c->pfx[0] = ' ';
		memcpy(c->pfx + 1, s, n);
		stages(c, k + 1, (unsigned char *)c->pfx, n + 1);
		return;
	}
}

/* Added tokens, leftmost-longest: pass 0 (not normalized) on the raw text,
 * pass 1 on the gaps, then the pre-tokenizer. */
static void split_added(struct bn_tok_ctx *c, int pass, const unsigned char *s, size_t n)
{
	const struct bn_tokenizer *t = c->t;
	const struct tok_matcher *m = &t->match[pass];
	int nospecial = c->flags & BN_TOK_NO_SPECIAL;
	size_t i = 0, gap = 0;

	if (pass == 2) {
		stages(c, 0, s, n);
		return;
	}
	if (!m->n) {
		split_added(c, pass + 1, s, n);
		return;
	}
	while (i < n && !c->err) {
		const struct tok_added *hit = NULL;
		if (m->first[s[i]]) {
			for (uint32_t k = m->start[s[i]]; k < m->start[s[i] + 1]; k++) {
				const struct tok_added *a = &t->added[m->order[k]];
				if (nospecial && a->special)
					continue;
				if (a->len <= n - i && !memcmp(t->pool + a->off, s + i, a->len)) {
					hit = a;
					break;
				}
			}
		}
		if (!hit) {
			i++;
			continue;
		}
		split_added(c, pass + 1, s + gap, i - gap);
		push_id(c, hit->id);
		i += hit->len;
		gap = i;
	}
	split_added(c, pass + 1, s + gap, n - gap);
}

int bn_tok_encode(struct bn_tok_ctx *c, const char *text, size_t len, int flags,
		  const int32_t **ids, size_t *n, struct bn_errbuf *eb)
{
	const struct bn_tokenizer *t = c->t;
	char *fixed = NULL;
	const unsigned char *s = (const unsigned char *)text;
	int replaced = 0;

	*ids = NULL;
	*n = 0;
	c->n = 0;
	c->err = 0;
	c->flags = flags;
	if (bn_utf8_valid_prefix(s, len) < len) {
		if (bn_utf8_sanitize(text, len, &fixed, &len) < 0)
			return bn_fail(eb, BN_ENOMEM, "tokenizer: out of memory");
		s = (const unsigned char *)fixed;
		replaced = 1;
	}
	if (!(flags & BN_TOK_NO_BOS))
		for (int k = 0; k < t->n_pre; k++)
			push_id(c, t->pre_ids[k]);
	if ((flags & BN_TOK_BOS) && !(flags & BN_TOK_NO_BOS) && t->bos >= 0 &&
	    !(c->n && c->ids[0] == t->bos)) {
		push_id(c, t->bos);
		if (!c->err && c->n > 1) {
			memmove(c->ids + 1, c->ids, (c->n - 1) * sizeof *c->ids);
			c->ids[0] = t->bos;
		}
	}
	split_added(c, 0, s, len);
	if (!(flags & BN_TOK_NO_BOS))
		for (int k = 0; k < t->n_post; k++)
			push_id(c, t->post_ids[k]);
	free(fixed);
	if (c->err == BN_ENOMEM)
		return bn_fail(eb, c->err, "tokenizer: out of memory");
	if (c->err)
		return bn_fail(eb, c->err, "tokenizer: input too large or regex match failed");
	if (!c->ids && grow((void **)&c->ids, &c->cap, 1, sizeof *c->ids))
		return bn_fail(eb, BN_ENOMEM, "tokenizer: out of memory");
	*ids = c->ids;
	*n = c->n;
	return replaced ? BN_TOK_REPLACED : BN_OK;
}

int bn_tokenizer_encode(const struct bn_tokenizer *t, const char *text, size_t len, int flags,
			int32_t **ids, size_t *n, struct bn_errbuf *eb)
{
	struct bn_tok_ctx *c;
	const int32_t *v;
	int rc;

	*ids = NULL;
	*n = 0;
	if (bn_tok_ctx_new(&c, t) < 0)
		return bn_fail(eb, BN_ENOMEM, "tokenizer: out of memory");
	rc = bn_tok_encode(c, text, len, flags, &v, n, eb);
	if (rc >= 0) {
		/* hand over the context's array instead of copying */
		*ids = c->ids;
		c->ids = NULL;
		(void)v;
	}
	bn_tok_ctx_free(c);
	return rc;
}
