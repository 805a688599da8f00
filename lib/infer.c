/* infer.c - model + tokenizer + state + sampler for bn-infer (see infer.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"

void bn_infer_opts_default(struct bn_infer_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->n_predict = -1;
	o->n_batch = 128;
	o->stream = 1;
	bn_sampler_params_default(&o->sp);
}

int bn_infer_init(struct bn_infer *r, const struct bn_infer_opts *o, FILE *out,
		  struct bn_errbuf *eb)
{
	int rc, nth = o->n_threads > 0 ? o->n_threads : bn_ncpu(), ctx;

	memset(r, 0, sizeof(*r));
	r->o = *o;
	r->out = out;
	BN_TRY(bn_model_open(&r->m, o->model, eb));
	if (r->m.tok_json &&
	    (rc = bn_tokenizer_load_named(&r->tok, r->m.tok_json, r->m.tok_json_len, o->model,
					  eb)) < 0)
		return rc;
	if (!r->tok && !o->ids_in)
		return bn_fail(eb, BN_EUNSUP, "%s: the model has no tokenizer (use --ids)", o->model);
	/* fewer tokens than embedding rows is common (padding); more is a
	 * mismatch every prompt would trip over */
	if (r->tok && bn_tokenizer_n_vocab(r->tok) > r->m.cfg.n_vocab)
		return bn_fail(eb, BN_EFORMAT, "%s: the tokenizer has %d tokens, more than the "
			       "model's vocabulary of %d", o->model, bn_tokenizer_n_vocab(r->tok),
			       r->m.cfg.n_vocab);
	ctx = o->n_ctx > 0 ? o->n_ctx : BN_MIN(r->m.cfg.ctx_max, 4096);
	if (ctx > r->m.cfg.ctx_max)
		return bn_fail(eb, BN_ERANGE, "context size %d exceeds the model's %d", ctx,
			       r->m.cfg.ctx_max);
	if (bn_pool_new(&r->pool, nth) < 0)
		return bn_fail(eb, BN_ENOMEM, "cannot start %d threads", nth);
	BN_TRY(bn_state_new(&r->st, &r->m, ctx, o->n_batch, r->pool, eb));
	BN_TRY(bn_sampler_params_check(&o->sp, eb));
	if (bn_sampler_new(&r->smp, &o->sp, r->m.cfg.n_vocab) < 0)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	r->gcap = 256;
	if (!(r->gen = malloc((size_t)r->gcap * sizeof(*r->gen))))
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	return BN_OK;
}

void bn_infer_release(struct bn_infer *r)
{
	bn_sampler_free(r->smp);
	bn_state_free(r->st);
	bn_pool_free(r->pool);
	bn_tokenizer_free(r->tok);
	bn_model_close(&r->m);
	free(r->tbuf);
	free(r->gen);
	memset(r, 0, sizeof(*r));
}

/* The most ids one input may hold: the largest context a model may declare. */
#define BN_IDS_MAX (1 << 24)

/* "12 34 56" -> ids; every id checked against the vocabulary. */
static int parse_ids(const char *s, size_t len, int n_vocab, int32_t **ids, size_t *n,
		     struct bn_errbuf *eb)
{
	size_t cap = 16, k = 0, i = 0;
	int32_t *v = malloc(cap * sizeof(*v));

	if (!v)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	while (i < len) {
		long long x = 0;
		size_t st;
		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == ',' || s[i] == '\r'))
			i++;
		if (i == len)
			break;
		st = i;
		if (s[i] == '-') {
			free(v);
			return bn_fail(eb, BN_ERANGE, "negative token id");
		}
		while (i < len && s[i] >= '0' && s[i] <= '9' && x < (1LL << 40))
			x = x * 10 + (s[i++] - '0');
		if (i == st || (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != ',' && s[i] != '\r')) {
			free(v);
			return bn_fail(eb, BN_EFORMAT, "not a token id: '%.*s'",
				       (int)BN_MIN(len - st, (size_t)20), s + st);
		}
		if (x >= n_vocab) {
			free(v);
			return bn_fail(eb, BN_ERANGE, "token id %lld is outside the vocabulary "
				       "(0..%d)", x, n_vocab - 1);
		}
		if (k >= BN_IDS_MAX) {
			free(v);
			return bn_fail(eb, BN_ERANGE, "more than %d token ids", BN_IDS_MAX);
		}
		if (k == cap) {
			int32_t *nv = realloc(v, (cap *= 2) * sizeof(*v));
			if (!nv) {
				free(v);
				return bn_fail(eb, BN_ENOMEM, "out of memory");
			}
			v = nv;
		}
		v[k++] = (int32_t)x;
	}
	*ids = v;
	*n = k;
	return BN_OK;
}

int bn_infer_tokens(struct bn_infer *r, const char *text, size_t len, int32_t **ids,
		    size_t *n, struct bn_errbuf *eb)
{
	if (r->o.ids_in)
		return parse_ids(text, len, r->m.cfg.n_vocab, ids, n, eb);
	return bn_tokenizer_encode(r->tok, text, len, r->o.tok_flags, ids, n, eb);
}

/* ---- generation callbacks ---- */

static int put_text(struct bn_infer *r, const char *p, size_t n)
{
	if (r->tlen + n + 1 > r->tcap) {
		size_t cap = (r->tlen + n + 1) * 2;
		char *nb = realloc(r->tbuf, cap);
		if (!nb)
			return -1;
		r->tbuf = nb;
		r->tcap = cap;
	}
	memcpy(r->tbuf + r->tlen, p, n);
	r->tlen += n;
	r->tbuf[r->tlen] = 0;
	if (!r->o.jsonl && !r->o.logits && n) {
		if (fwrite(p, 1, n, r->out) != n || (r->o.stream && fflush(r->out) != 0)) {
			r->write_err = 1;
			return -1;
		}
	}
	return 0;
}

static int on_token(void *ctx, int32_t id)
{
	struct bn_infer *r = ctx;
	char buf[4096];
	size_t n = 0;

	bn_sampler_accept(r->smp, id);
	if (r->ngen == r->gcap) {
		int32_t *ng = realloc(r->gen, (size_t)(r->gcap *= 2) * sizeof(*ng));
		if (!ng)
			return 1;
		r->gen = ng;
	}
	r->gen[r->ngen++] = id;
	if (r->tok && bn_detok_push(&r->dt, id, buf, sizeof(buf), &n) == BN_OK && n)
		return put_text(r, buf, n) ? 1 : 0;
	return 0;
}

static int32_t pick(void *ctx, float *logits, int n_vocab)
{
	struct bn_infer *r = ctx;

	(void)n_vocab;
	return bn_sampler_sample(r->smp, logits);
}

static int on_logits(void *ctx, int i, const float *logits)
{
	struct bn_infer *r = ctx;
	int pos = bn_state_eval_pos(r->st) + i;

	if (bn_logits_write(r->out, r->o.logits_fmt, r->rec, (uint32_t)pos, logits,
			    r->m.cfg.n_vocab) < 0) {
		r->write_err = 1;
		return 1;
	}
	return 0;
}

static void json_ids(FILE *fp, const int32_t *ids, int n)
{
	int i;

	fputc('[', fp);
	for (i = 0; i < n; i++)
		fprintf(fp, i ? ",%d" : "%d", ids[i]);
	fputc(']', fp);
}

static int write_json(struct bn_infer *r, const char *id_json, size_t n_prompt,
		      enum bn_stop_reason why)
{
	cJSON *s = cJSON_CreateString(r->tbuf ? r->tbuf : "");
	char *text = s ? cJSON_PrintUnformatted(s) : NULL;

	cJSON_Delete(s);
	if (!text)
		return BN_ENOMEM;
	fputc('{', r->out);
	if (id_json)
		fprintf(r->out, "\"id\":%s,", id_json);
	fprintf(r->out, "\"text\":%s,\"ids\":", text);
	json_ids(r->out, r->gen, r->ngen);
	fprintf(r->out, ",\"n_prompt\":%zu,\"n_gen\":%d,\"stop_reason\":\"%s\"}\n", n_prompt,
		r->ngen, bn_stop_name(why));
	free(text);
	return ferror(r->out) ? BN_EIO : BN_OK;
}

int bn_infer_record(struct bn_infer *r, const int32_t *ids, size_t n, const char *id_json,
		    struct bn_errbuf *eb)
{
	struct bn_gen g = {
		.n_predict = r->o.n_predict, .ignore_eos = r->o.ignore_eos,
		.stop = r->m.cfg.stop, .n_stop = r->m.cfg.n_stop,
		.pick = pick, .on_token = on_token, .ctx = r,
		.on_logits = r->o.logits ? on_logits : NULL,
		.prompt_logits = r->o.all_logits ? BN_LOGITS_ALL : BN_LOGITS_LAST,
	};
	enum bn_stop_reason why;
	int ngen, rc;
	size_t i;

	r->tlen = 0;
	r->ngen = 0;
	if (r->tbuf)
		r->tbuf[0] = 0;
	if (n > (size_t)bn_state_ctx(r->st))
		return bn_fail(eb, BN_ERANGE, "prompt of %zu tokens does not fit the context of %d",
			       n, bn_state_ctx(r->st));
	bn_state_rewind(r->st, 0);
	bn_sampler_reset(r->smp, r->rec);
	for (i = 0; i < n; i++)
		bn_sampler_accept(r->smp, ids[i]);
	if (r->tok)
		bn_detok_init(&r->dt, r->tok, 1);
	rc = bn_generate(r->st, &g, ids, (int)n, &why, &ngen, eb);
	if (rc == BN_OK && r->tok) {
		char buf[8];
		size_t k = 0;
		bn_detok_flush(&r->dt, buf, sizeof(buf), &k);
		put_text(r, buf, k);
	}
	r->rec++;
	if (r->write_err)
		return bn_fail(eb, BN_EIO, "write error: %s", strerror(errno));
	BN_TRY(rc);
	if (r->o.logits)
		return BN_OK;
	if (r->o.jsonl)
		return write_json(r, id_json, n, why) < 0 ? bn_fail(eb, BN_EIO, "write error") : 0;
	if (fputc('\n', r->out) == EOF || (r->o.stream && fflush(r->out) != 0))
		return bn_fail(eb, BN_EIO, "write error: %s", strerror(errno));
	return BN_OK;
}

/* ---- perplexity ---- */

struct nll_ctx {
	const int32_t *ids;
	size_t n;
	double nll;
	size_t count;
	int n_vocab;
};

static int nll_logits(void *ctx, int i, const float *logits)
{
	struct nll_ctx *c = ctx;

	if ((size_t)i + 1 >= c->n)
		return 0;
	c->nll += bn_logsumexp(logits, c->n_vocab) - (double)logits[c->ids[i + 1]];
	c->count++;
	return 0;
}

int bn_infer_nll(struct bn_infer *r, const int32_t *ids, size_t n, double *nll, size_t *count,
		 struct bn_errbuf *eb)
{
	struct nll_ctx c = { ids, BN_MIN(n, (size_t)bn_state_ctx(r->st)), 0, 0, r->m.cfg.n_vocab };
	int rc;

	*nll = 0;
	*count = 0;
	if (c.n < 2)
		return BN_OK;
	bn_state_rewind(r->st, 0);
	rc = bn_eval(r->st, ids, (int)c.n, BN_LOGITS_ALL, nll_logits, &c, eb);
	BN_TRY(rc);
	*nll = c.nll;
	*count = c.count;
	return BN_OK;
}
