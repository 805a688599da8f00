/* tokrec.c - records in, ids (or text) out; batched over a thread pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "threads.h"
#include "tok_impl.h"
#include "tokrec.h"

#define JWS(c) ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')

static void put_ids(struct bn_buf *b, const int32_t *ids, size_t n, const char *sep)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			bn_buf_put(b, sep, strlen(sep));
		bn_buf_putu(b, (unsigned long long)ids[i]);
	}
}

/* A token's tokenizer.json string with blanks, controls and '\' escaped. */
static void put_piece(struct bn_buf *b, const struct bn_tokenizer *t, int32_t id)
{
	char tmp[256], *p = tmp;
	int n = bn_tokenizer_piece(t, id, tmp, sizeof tmp);

	if (n >= (int)sizeof tmp && (p = malloc((size_t)n + 1)))
		bn_tokenizer_piece(t, id, p, (size_t)n + 1);
	if (!p) {
		b->err = BN_ENOMEM;
		return;
	}
	for (int i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c > ' ' && c != '\\' && c != 0x7f) {
			bn_buf_putc(b, (char)c);
		} else {
			char e[5];
			snprintf(e, sizeof e, "\\x%02x", c);
			bn_buf_put(b, e, 4);
		}
	}
	if (p != tmp)
		free(p);
}

static int parse_ids(const struct bn_tokenizer *t, const char *s, size_t n, int json,
		     struct bn_buf *ids, struct bn_errbuf *eb)
{
	size_t i = 0;
	int need = 0;

	ids->n = 0;
#define WS(c) ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')
	if (json) {
		while (i < n && WS(s[i]))
			i++;
		while (n > i && WS(s[n - 1]))
			n--;
		if (i >= n || s[i] != '[' || s[n - 1] != ']')
			return bn_fail(eb, BN_EFORMAT, "\"ids\" is not an array");
		i++;
		n--;
	}
	for (;;) {
		long long v = 0;
		size_t d = i;
		while (i < n && WS(s[i]))
			i++;
		if (i >= n) {
			if (need)
				return bn_fail(eb, BN_EFORMAT, "bad token id list");
			break;
		}
		while (i < n && s[i] >= '0' && s[i] <= '9' && v < TOK_MAX_ID)
			v = v * 10 + (s[i++] - '0');
		if (i == d || (i < n && !WS(s[i]) && !(json && s[i] == ',')) ||
		    v >= bn_tokenizer_n_vocab(t) || bn_tokenizer_piece(t, (int32_t)v, NULL, 0) < 0) {
			size_t e = d;
			while (e < n && !WS(s[e]) && s[e] != ',')
				e++;
			return bn_fail(eb, BN_EFORMAT, "bad token id '%.*s'", (int)BN_MIN(e - d, 40),
				       s + d);
		}
		int32_t id = (int32_t)v;
		bn_buf_put(ids, &id, sizeof id);
		while (i < n && WS(s[i]))
			i++;
		need = 0;
		if (json && i < n) {
			if (s[i] != ',')
				return bn_fail(eb, BN_EFORMAT, "bad token id list");
			i++;
			need = 1;
		}
	}
#undef WS
	return ids->err ? bn_fail(eb, BN_ENOMEM, "out of memory") : BN_OK;
}

/* rec without the members named in drop[], into b (an object's text). */
static int drop_members(const char *rec, size_t n, const char *const *drop, struct bn_buf *b)
{
	b->n = 0;
	bn_buf_put(b, rec, n);
	for (; *drop; drop++) {
		struct bn_json_span sp;
		int rc = bn_json_find(b->p, b->n, *drop, &sp);
		size_t a, e, j;
		if (rc < 0)
			return rc;
		if (!rc)
			continue;
		a = sp.mo;
		e = sp.mo + sp.ml;
		for (j = e; j < b->n && JWS(b->p[j]); j++)
			;
		if (j < b->n && b->p[j] == ',') {	/* "k": v, ... */
			for (e = j + 1; e < b->n && JWS(b->p[e]); e++)
				;
		} else {				/* ..., "k": v } */
			for (j = a; j > 0 && JWS(b->p[j - 1]); j--)
				;
			if (j > 0 && b->p[j - 1] == ',')
				a = j - 1;
		}
		memmove(b->p + a, b->p + e, b->n - e);
		b->n -= e - a;
	}
	return BN_OK;
}

struct tr_scratch {
	struct bn_buf obj, ids, text;
};

static int one(struct bn_tok_ctx *c, const struct bn_tokrec_opts *o, char *rec, size_t n,
	       struct bn_buf *out, int *replaced, struct tr_scratch *S, struct bn_errbuf *eb)
{
	static const char *const drop_enc[] = { "ids", "tokens", "n_tokens", NULL };
	static const char *const drop_dec[] = { "text", NULL };
	const struct bn_tokenizer *t = bn_tok_ctx_tokenizer(c);
	const char *in = rec;
	char *owned = NULL;
	size_t inlen = n, close = 0;
	int rc;

	if (o->jsonl) {
		struct bn_json_span sp;
		size_t k = 0;
		while (k < n && JWS(rec[k]))
			k++;
		if (k == n)	/* blank line */
			return BN_OK;
		const char *key = o->mode == BN_TR_DECODE ? "ids" : "text";
		rc = bn_json_find(rec, n, key, &sp);
		if (rc < 0)
			return bn_fail(eb, rc, "invalid JSON object");
		if (!rc)
			return bn_fail(eb, BN_EFORMAT, "no \"%s\" member", key);
		if (o->mode == BN_TR_DECODE) {
			in = rec + sp.vo;
			inlen = sp.vl;
		} else {
			if (rec[sp.vo] != '"')
				return bn_fail(eb, BN_EFORMAT, "\"text\" is not a string");
			if ((rc = bn_json_unquote(rec + sp.vo, sp.vl, &owned, &inlen)) < 0)
				return bn_fail(eb, rc, "bad string in \"text\"");
			in = owned;
		}
		if ((rc = drop_members(rec, n, o->mode == BN_TR_DECODE ? drop_dec : drop_enc,
				       &S->obj)) < 0) {
			free(owned);
			return bn_fail(eb, rc, "invalid JSON object");
		}
		/* everything up to the closing brace, then our members */
		close = S->obj.n;
		while (close > 0 && S->obj.p[close - 1] != '}')
			close--;
		if (!close) {
			free(owned);
			return bn_fail(eb, BN_EFORMAT, "invalid JSON object");
		}
		close--;
		bn_buf_put(out, S->obj.p, close);
		{
			size_t k = close;
			while (k > 0 && JWS(S->obj.p[k - 1]))
				k--;
			if (k > 0 && S->obj.p[k - 1] != '{')
				bn_buf_put(out, ", ", 2);
		}
	}
	if (o->mode == BN_TR_DECODE) {
		char *txt;
		size_t tl;
		if ((rc = parse_ids(t, in, inlen, o->jsonl, &S->ids, eb)) < 0)
			return rc;
		if ((rc = bn_tokenizer_decode(t, (int32_t *)S->ids.p, S->ids.n / sizeof(int32_t),
					      o->skip_special, &txt, &tl, eb)) < 0)
			return rc;
		if (o->jsonl) {
			bn_buf_put(out, "\"text\": ", 8);
			bn_json_quote(out, txt, tl);
		} else {
			bn_buf_put(out, txt, tl);
		}
		free(txt);
	} else {
		const int32_t *ids;
		size_t nids;
		rc = bn_tok_encode(c, in, inlen, o->flags, &ids, &nids, eb);
		free(owned);
		if (rc < 0)
			return rc;
		if (rc == BN_TOK_REPLACED)
			*replaced = 1;
		if (o->mode == BN_TR_COUNT) {
			if (o->jsonl)
				bn_buf_put(out, "\"n_tokens\": ", 12);
			bn_buf_putu(out, nids);
		} else if (o->jsonl) {
			bn_buf_put(out, "\"ids\": [", 8);
			put_ids(out, ids, nids, ", ");
			bn_buf_putc(out, ']');
			if (o->mode == BN_TR_PIECES) {
				char tmp[256], *p;
				bn_buf_put(out, ", \"tokens\": [", 13);
				for (size_t i = 0; i < nids; i++) {
					int l = bn_tokenizer_piece(t, ids[i], tmp, sizeof tmp);
					if (i)
						bn_buf_put(out, ", ", 2);
					p = l < (int)sizeof tmp ? tmp : malloc((size_t)l + 1);
					if (!p)
						return bn_fail(eb, BN_ENOMEM, "out of memory");
					if (p != tmp)
						bn_tokenizer_piece(t, ids[i], p, (size_t)l + 1);
					bn_json_quote(out, p, (size_t)l);
					if (p != tmp)
						free(p);
				}
				bn_buf_putc(out, ']');
			}
		} else if (o->mode == BN_TR_PIECES) {
			for (size_t i = 0; i < nids; i++) {
				if (i)
					bn_buf_putc(out, ' ');
				bn_buf_putu(out, (unsigned long long)ids[i]);
				bn_buf_putc(out, ':');
				put_piece(out, t, ids[i]);
			}
		} else {
			put_ids(out, ids, nids, " ");
		}
	}
	if (o->jsonl)
		bn_buf_put(out, S->obj.p + close, S->obj.n - close);
	/* terminator: ids a line each, decoded text that of -0 or of lines */
	if (o->mode != BN_TR_DECODE || o->delim == '\n' || o->jsonl)
		bn_buf_putc(out, '\n');
	else if (o->delim == 0)
		bn_buf_putc(out, '\0');
	return out->err ? bn_fail(eb, BN_ENOMEM, "out of memory") : BN_OK;
}

int bn_tokrec_one(struct bn_tok_ctx *c, const struct bn_tokrec_opts *o, char *rec, size_t n,
		  struct bn_buf *out, int *replaced, struct bn_errbuf *eb)
{
	struct tr_scratch S = { 0 };
	int rc = one(c, o, rec, n, out, replaced, &S, eb);

	bn_buf_release(&S.obj);
	bn_buf_release(&S.ids);
	bn_buf_release(&S.text);
	return rc;
}

/* ---- batches over threads ---- */

#define BATCH_RECS 4096
#define BATCH_BYTES (4u << 20)

struct tr_worker {
	struct bn_tok_ctx *c;
	struct bn_buf out;
	struct tr_scratch S;
	size_t bad;		/* index of the failed record, or SIZE_MAX */
	int rc, replaced;
	struct bn_errbuf eb;
};

struct tr_job {
	const struct bn_tokrec_opts *o;
	struct tr_worker *w;
	char *arena;
	size_t *off;		/* record i: arena[off[i] .. off[i+1] - 1) */
	int nrec;
};

static void tr_work(void *arg, int ith, int nth)
{
	struct tr_job *j = arg;
	struct tr_worker *w = &j->w[ith];
	int lo, hi;

	bn_split(j->nrec, 1, ith, nth, &lo, &hi);
	w->out.n = 0;
	for (int i = lo; i < hi && w->rc >= 0; i++) {
		w->rc = one(w->c, j->o, j->arena + j->off[i], j->off[i + 1] - 1 - j->off[i], &w->out,
			    &w->replaced, &w->S, &w->eb);
		if (w->rc < 0)
			w->bad = (size_t)i;
	}
}

int bn_tokrec_run(const struct bn_tokenizer *t, const struct bn_tokrec_opts *o,
		  struct bn_reader *r, struct bn_writer *w, int *replaced, struct bn_errbuf *eb)
{
	int nth = o->nthreads < 1 ? 1 : o->nthreads, rc = BN_OK, k, eof = 0;
	int delim = o->mode == BN_TR_DECODE && o->delim == 0 ? '\n' : o->delim;	/* of ids */
	struct tr_worker *wk = calloc((size_t)nth, sizeof *wk);
	struct bn_buf arena = { 0 };
	size_t *off = malloc((BATCH_RECS + 1) * sizeof *off), recno = 0;
	struct bn_pool *pool = NULL;
	struct tr_job job = { .o = o, .w = wk, .off = off };

	if (!wk || !off || (nth > 1 && bn_pool_new(&pool, nth) < 0)) {
		rc = bn_fail(eb, BN_ENOMEM, "out of memory");
		goto out;
	}
	for (k = 0; k < nth; k++)
		if (bn_tok_ctx_new(&wk[k].c, t) < 0) {
			rc = bn_fail(eb, BN_ENOMEM, "out of memory");
			goto out;
		}
	while (!eof) {
		int n = 0;
		arena.n = 0;
		/* from a pipe, a batch is what came before the input paused */
		while (n < BATCH_RECS && arena.n < BATCH_BYTES &&
		       (!n || o->delim < 0 || bn_reader_ready(r, delim))) {
			char *p;
			size_t len;
			if (o->delim < 0) {
				if ((rc = bn_reader_all(r, &p, &len, eb)) < 0)
					goto out;
				off[n++] = arena.n;
				bn_buf_put(&arena, p, len);
				bn_buf_putc(&arena, 0);
				free(p);
				eof = 1;
				break;
			}
			if ((rc = bn_reader_record(r, delim, &p, &len, eb)) < 0)
				goto out;
			if (!rc) {
				eof = 1;
				break;
			}
			/* a text line ending in CR LF: the CR goes with the LF, as
			 * for bn-infer -f and Python's universal newlines */
			if (delim == '\n' && o->mode != BN_TR_DECODE && !o->jsonl && len &&
			    p[len - 1] == '\r')
				len--;
			off[n++] = arena.n;
			bn_buf_put(&arena, p, len);
			bn_buf_putc(&arena, 0);
		}
		rc = BN_OK;
		if (arena.err) {
			rc = bn_fail(eb, BN_ENOMEM, "out of memory");
			goto out;
		}
		if (!n)
			break;
		off[n] = arena.n;
		job.arena = arena.p;
		job.nrec = n;
		for (k = 0; k < nth; k++)
			wk[k].rc = 0;
		if (pool)
			bn_pool_run(pool, tr_work, &job);
		else
			tr_work(&job, 0, 1);
		for (k = 0; k < nth; k++) {
			if (wk[k].replaced)
				*replaced = 1;
			if ((rc = bn_writer_write(w, wk[k].out.p, wk[k].out.n, eb)) < 0)
				goto out;
			if (wk[k].rc < 0) {
				rc = bn_fail(eb, wk[k].rc, "%s:%zu: %s", bn_reader_name(r),
					     recno + wk[k].bad + 1, wk[k].eb.msg);
				goto out;
			}
		}
		/* and its answers go out before waiting for more */
		if (!eof && !bn_reader_ready(r, delim) && (rc = bn_writer_flush(w, eb)) < 0)
			goto out;
		recno += (size_t)n;
	}
out:
	for (k = 0; wk && k < nth; k++) {
		bn_tok_ctx_free(wk[k].c);
		bn_buf_release(&wk[k].out);
		bn_buf_release(&wk[k].S.obj);
		bn_buf_release(&wk[k].S.ids);
		bn_buf_release(&wk[k].S.text);
	}
	bn_pool_free(pool);
	bn_buf_release(&arena);
	free(off);
	free(wk);
	return rc;
}
