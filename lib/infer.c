/* infer.c - model + tokenizer + state + sampler for bn-infer (see infer.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "infer.h"
#include "textio.h"

void bn_infer_opts_default(struct bn_infer_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->n_predict = -1;
	o->n_batch = 128;
	o->xs_in = o->xs_out = -1;
	bn_sampler_params_default(&o->sp);
}

double bn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#ifndef BN_SHAREDIR
#define BN_SHAREDIR "/usr/local/share/bn"
#endif

const char *bn_infer_default_model(void)
{
	static char buf[4096];
	const char *env = getenv("BN_MODEL");
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 64)) > 0) {
		buf[n] = 0;
		if ((slash = strrchr(buf, '/'))) {
			strcpy(slash, "/../share/bn/demo.gguf");
			if (access(buf, R_OK) == 0)
				return buf;
		}
	}
	return BN_SHAREDIR "/demo.gguf";
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
	memcpy(r->stop, r->m.cfg.stop, (size_t)r->m.cfg.n_stop * sizeof(*r->stop));
	r->n_stop = r->n_stop_model = r->m.cfg.n_stop;
	if (r->tok) {
		int32_t eot = bn_tokenizer_find(r->tok, "<|eot_id|>");
		int i;
		for (i = 0; i < r->n_stop && r->stop[i] != eot; i++)
			;
		if (eot >= 0 && i == r->n_stop)
			r->stop[r->n_stop++] = eot;
	}
	if (bn_pool_new(&r->pool, nth) < 0)
		return bn_fail(eb, BN_ENOMEM, "cannot start %d threads", nth);
	BN_TRY(bn_state_new_kv(&r->st, &r->m, ctx, o->n_batch, o->kv_type, r->pool, eb));
	BN_TRY(bn_sampler_params_check(&o->sp, eb));
	if (bn_sampler_new(&r->smp, &o->sp, r->m.cfg.n_vocab) < 0)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	r->hcap = 256;
	if (!(r->hist = malloc(r->hcap * sizeof(*r->hist))))
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	if (o->xs_in >= 0 && (!(r->xs_r = fdopen(o->xs_in, "r")) ||
			      !(r->xs_w = fdopen(o->xs_out, "w"))))
		return bn_fail(eb, BN_EIO, "external sampler: cannot use file descriptors "
			       "%d,%d: %s", o->xs_in, o->xs_out, strerror(errno));
	return BN_OK;
}

void bn_infer_release(struct bn_infer *r)
{
	if (r->xs_w)
		fclose(r->xs_w);
	if (r->xs_r)
		fclose(r->xs_r);
	bn_chat_tmpl_free(r->tmpl);
	bn_sampler_free(r->smp);
	bn_state_free(r->st);
	bn_pool_free(r->pool);
	bn_tokenizer_free(r->tok);
	bn_model_close(&r->m);
	free(r->tbuf);
	free(r->hist);
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

int bn_infer_tokens(struct bn_infer *r, const char *text, size_t len, int flags,
		    int32_t **ids, size_t *n, struct bn_errbuf *eb)
{
	if (r->o.ids_in)
		return parse_ids(text, len, r->m.cfg.n_vocab, ids, n, eb);
	return bn_tokenizer_encode(r->tok, text, len, flags, ids, n, eb);
}

/* ---- chat ---- */

static void token_str(const struct bn_tokenizer *t, int32_t id, char *buf, size_t cap)
{
	buf[0] = 0;
	if (id >= 0 && bn_tokenizer_piece(t, id, buf, cap) >= (int)cap)
		buf[0] = 0;
}

int bn_infer_chat_init(struct bn_infer *r, const char *src, int *builtin, struct bn_errbuf *eb)
{
	struct bn_errbuf e2 = { "" };
	int rc;

	*builtin = !src && !r->m.chat_template;
	if (!r->tok)
		return bn_fail(eb, BN_EUNSUP, "%s: chat needs the model's tokenizer", r->o.model);
	if (!src)
		src = r->m.chat_template ? r->m.chat_template : "bitnet";
	if (!strcmp(src, "bitnet")) {
		*builtin = 1;
		src = bn_chat_template_bitnet;
	}
	if ((rc = bn_chat_tmpl_parse(&r->tmpl, src, strlen(src), &e2)) < 0)
		return bn_fail(eb, rc, "%s: %s", src == r->m.chat_template ? r->o.model : "--chat-template",
			       e2.msg);
	token_str(r->tok, bn_tokenizer_bos(r->tok), r->bos, sizeof(r->bos));
	token_str(r->tok, r->m.cfg.n_stop ? r->m.cfg.stop[0] : -1, r->eos, sizeof(r->eos));
	return BN_OK;
}

int bn_infer_chat_tokens(struct bn_infer *r, const struct bn_chat_msg *msgs, int n,
			 int32_t **ids, size_t *nids, struct bn_errbuf *eb)
{
	char *text;
	size_t len;
	int rc;

	*ids = NULL;
	BN_TRY(bn_chat_render(r->tmpl, msgs, n, r->bos, r->eos, 1, &text, &len, eb));
	rc = bn_tokenizer_encode(r->tok, text, len, BN_TOK_NO_BOS, ids, nids, eb);
	free(text);
	return rc;
}

/* ---- text: stop strings and streaming ---- */

static int hist_push(struct bn_infer *r, int32_t id)
{
	if (r->nhist == r->hcap) {
		int32_t *nh = realloc(r->hist, r->hcap * 2 * sizeof(*nh));
		if (!nh)
			return -1;
		r->hist = nh;
		r->hcap *= 2;
	}
	r->hist[r->nhist++] = id;
	return 0;
}

static int text_append(struct bn_infer *r, const char *p, size_t n)
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
	return 0;
}

/* Stream tbuf[emitted..upto) in plain text mode. */
static int emit(struct bn_infer *r, size_t upto)
{
	size_t n;

	if (upto <= r->emitted)
		return 0;
	n = upto - r->emitted;
	if (!r->o.jsonl && !r->o.logits &&
	    ((r->esc ? bn_escape_write(r->out, r->tbuf + r->emitted, n) :
		       fwrite(r->tbuf + r->emitted, 1, n, r->out) != n) ||
	     (r->o.stream && fflush(r->out) != 0))) {
		r->write_err = 1;
		return -1;
	}
	r->emitted = upto;
	return 0;
}

/* After new text from old on: cut at the first stop string that ends in the
 * new text (returns 1), else stream what cannot be the start of one. */
static int check_stop(struct bn_infer *r, size_t old)
{
	size_t best = (size_t)-1, hold = 0, upto;
	int i;

	for (i = 0; i < r->o.n_stop_str; i++) {
		const char *s = r->o.stop_str[i], *f;
		size_t l = strlen(s), from = old + 1 > l ? old + 1 - l : 0, k;
		if (!l)
			continue;
		if ((f = memmem(r->tbuf + from, r->tlen - from, s, l)) &&
		    (size_t)(f - r->tbuf) < best)
			best = (size_t)(f - r->tbuf);
		for (k = BN_MIN(l - 1, r->tlen); k > hold; k--)
			if (!memcmp(r->tbuf + r->tlen - k, s, k)) {
				hold = k;
				break;
			}
	}
	if (best != (size_t)-1) {
		r->tlen = best;
		r->tbuf[best] = 0;
		emit(r, best);
		return 1;
	}
	upto = r->tlen - hold;
	while (upto > r->emitted && upto < r->tlen && (r->tbuf[upto] & 0xc0) == 0x80)
		upto--;	/* hold a split UTF-8 sequence back too */
	return emit(r, upto) ? 1 : 0;
}

static int on_token(void *ctx, int32_t id)
{
	struct bn_infer *r = ctx;
	char buf[4096];
	size_t n = 0, old = r->tlen;

	if (!r->t1)
		r->t1 = bn_now_ms();
	bn_sampler_accept(r->smp, id);
	if (hist_push(r, id))
		return 1;
	if (!r->tok || bn_detok_push(&r->dt, id, buf, sizeof(buf), &n) != BN_OK || !n)
		return 0;
	if (text_append(r, buf, n))
		return 1;
	return check_stop(r, old);
}

/* ---- token choice: built-in sampler or external process ---- */

static int32_t pick(void *ctx, float *logits, int n_vocab, int pos)
{
	struct bn_infer *r = ctx;
	char line[64], *end;
	long v;

	if (!r->xs_w)
		return bn_sampler_sample(r->smp, logits);
	if (bn_logits_write(r->xs_w, BN_LOGITS_F32, r->stream, (uint32_t)pos, logits,
			    n_vocab) < 0 || fflush(r->xs_w)) {
		r->xs_err = 1;
		return -1;
	}
	if (!fgets(line, sizeof(line), r->xs_r)) {
		r->xs_err = 2;
		return -1;
	}
	errno = 0;
	v = strtol(line, &end, 10);
	if (end == line || (*end && *end != '\n' && *end != '\r') || errno || v < 0 ||
	    v >= n_vocab) {
		line[strcspn(line, "\r\n")] = 0;
		r->xs_err = 3;
		return -1;
	}
	return (int32_t)v;
}

static int on_logits(void *ctx, int i, const float *logits)
{
	struct bn_infer *r = ctx;
	int pos = bn_state_eval_pos(r->st) + i;

	if (bn_logits_write(r->out, r->o.logits_fmt, r->stream, (uint32_t)pos, logits,
			    r->m.cfg.n_vocab) < 0) {
		r->write_err = 1;
		return 1;
	}
	return 0;
}

static const char *xs_msg(int e)
{
	return e == 1 ? "cannot write a frame to the external sampler" :
	       e == 2 ? "the external sampler closed its output" :
		        "the external sampler answered with no valid token id";
}

int bn_infer_run(struct bn_infer *r, const int32_t *ids, size_t n, uint32_t stream, int flags,
		 struct bn_errbuf *eb)
{
	struct bn_gen g = {
		.n_predict = r->o.n_predict, .ignore_eos = r->o.ignore_eos,
		.stop = r->stop, .n_stop = flags & BN_RUN_CHAT ? r->n_stop : r->n_stop_model,
		.pick = pick, .on_token = on_token, .ctx = r,
		.on_logits = r->o.logits ? on_logits : NULL,
		.prompt_logits = r->o.all_logits ? BN_LOGITS_ALL : BN_LOGITS_LAST,
	};
	size_t k = 0, lim, i;
	int ngen, rc;

	r->tlen = r->emitted = 0;
	r->esc = !!(flags & BN_RUN_ESCAPE);
	if (r->tbuf)
		r->tbuf[0] = 0;
	memset(&r->res, 0, sizeof(r->res));
	r->write_err = r->xs_err = 0;
	if (!n)
		return bn_fail(eb, BN_EINVAL, "empty prompt");
	if (n > (size_t)bn_state_ctx(r->st))
		return bn_fail(eb, BN_ERANGE, "prompt of %zu tokens does not fit the context of %d",
			       n, bn_state_ctx(r->st));
	if (flags & BN_RUN_KEEP) {	/* the cached prefix, leaving one token to evaluate */
		lim = BN_MIN(BN_MIN(r->nhist, (size_t)bn_state_pos(r->st)), n - 1);
		while (k < lim && r->hist[k] == ids[k])
			k++;
	}
	bn_state_rewind(r->st, (int)k);
	r->nhist = 0;
	bn_sampler_reset(r->smp, stream);
	for (i = 0; i < n; i++) {
		bn_sampler_accept(r->smp, ids[i]);
		if (hist_push(r, ids[i]))
			return bn_fail(eb, BN_ENOMEM, "out of memory");
	}
	r->nprompt = n;
	r->stream = stream;
	if (r->tok)
		bn_detok_init(&r->dt, r->tok, 1);
	r->t0 = bn_now_ms();
	r->t1 = 0;
	rc = bn_generate(r->st, &g, ids + k, (int)(n - k), &r->res.why, &ngen, eb);
	if (rc == BN_OK && r->tok) {
		char buf[8];
		size_t m = 0;
		bn_detok_flush(&r->dt, buf, sizeof(buf), &m);
		text_append(r, buf, m);
	}
	if (rc == BN_OK && r->res.why != BN_STOP_USER)
		emit(r, r->tlen);
	r->res.n_prompt = n;
	r->res.n_eval = n - k;
	r->res.ms_prompt = (r->t1 ? r->t1 : bn_now_ms()) - r->t0;
	r->res.ms_gen = r->t1 ? bn_now_ms() - r->t1 : 0;
	if (r->write_err)
		return bn_fail(eb, BN_EIO, "write error: %s", strerror(errno));
	if (r->xs_err)
		return bn_fail(eb, BN_EIO, "%s", xs_msg(r->xs_err));
	return rc;
}

const char *bn_infer_text(const struct bn_infer *r, size_t *len)
{
	*len = r->tlen;
	return r->tbuf ? r->tbuf : "";
}

const int32_t *bn_infer_ids(const struct bn_infer *r, int *n)
{
	*n = (int)(r->nhist - r->nprompt);
	return r->hist + r->nprompt;
}

static void put_ms(struct bn_buf *b, const char *key, double ms)
{
	char tmp[64];
	int n = snprintf(tmp, sizeof(tmp), ",\"%s\":%.3f", key, ms);

	bn_buf_put(b, tmp, (size_t)n);
}

void bn_infer_json(const struct bn_infer *r, struct bn_buf *b)
{
	int i, n;
	const int32_t *ids = bn_infer_ids(r, &n);

	bn_buf_put(b, "\"text\":", 7);
	bn_json_quote(b, r->tbuf ? r->tbuf : "", r->tlen);
	bn_buf_put(b, ",\"ids\":[", 8);
	for (i = 0; i < n; i++) {
		if (i)
			bn_buf_putc(b, ',');
		bn_buf_putu(b, (unsigned long long)ids[i]);
	}
	bn_buf_put(b, "],\"n_prompt\":", 13);
	bn_buf_putu(b, r->res.n_prompt);
	bn_buf_put(b, ",\"n_gen\":", 9);
	bn_buf_putu(b, (unsigned long long)n);
	bn_buf_put(b, ",\"stop_reason\":\"", 16);
	bn_buf_put(b, bn_stop_name(r->res.why), strlen(bn_stop_name(r->res.why)));
	bn_buf_putc(b, '"');
	if (!r->o.no_timings) {
		put_ms(b, "ms_prompt", r->res.ms_prompt);
		put_ms(b, "ms_gen", r->res.ms_gen);
	}
}

/* ---- external sampler process ---- */

int bn_infer_spawn(const char *cmd, int *in_fd, int *out_fd, pid_t *pid,
		   struct bn_errbuf *eb)
{
	int to[2], from[2];

	if (pipe2(to, O_CLOEXEC) < 0)
		return bn_fail(eb, BN_EIO, "cannot make a pipe: %s", strerror(errno));
	if (pipe2(from, O_CLOEXEC) < 0) {
		close(to[0]);
		close(to[1]);
		return bn_fail(eb, BN_EIO, "cannot make a pipe: %s", strerror(errno));
	}
	if ((*pid = fork()) < 0) {
		close(to[0]), close(to[1]), close(from[0]), close(from[1]);
		return bn_fail(eb, BN_EIO, "cannot start '%s': %s", cmd, strerror(errno));
	}
	if (*pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	*in_fd = from[0];
	*out_fd = to[1];
	return BN_OK;
}

/* ---- output file ---- */

static ssize_t of_write(void *c, const char *p, size_t n)
{
	struct bn_outfile *o = c;

	if (bn_writer_write(o->w, p, n, &o->eb) < 0) {
		errno = EIO;
		return -1;
	}
	return (ssize_t)n;
}

int bn_outfile_open(struct bn_outfile *o, const char *path, struct bn_errbuf *eb)
{
	cookie_io_functions_t io = { .write = of_write };

	memset(o, 0, sizeof(*o));
	if (!strcmp(path, "-")) {
		o->fp = stdout;
		return BN_OK;
	}
	BN_TRY(bn_writer_open(&o->w, path, eb));
	if (!(o->fp = fopencookie(o, "w", io))) {
		bn_writer_abort(o->w);
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	}
	return BN_OK;
}

int bn_outfile_close(struct bn_outfile *o, int ok, struct bn_errbuf *eb)
{
	int rc = BN_OK;

	if (!o->w)
		return BN_OK;	/* stdout: the program closes it */
	if (fclose(o->fp) && ok)
		rc = bn_fail(eb, BN_EIO, "%s", o->eb.msg[0] ? o->eb.msg : "write error");
	if (ok && rc == BN_OK)
		rc = bn_writer_close(o->w, eb);
	else
		bn_writer_abort(o->w);
	memset(o, 0, sizeof(*o));
	return rc;
}

/* ---- perplexity ---- */

struct nll_ctx {
	const int32_t *ids;
	size_t n, first;
	double nll, nll2;
	size_t count;
	int n_vocab;
};

static int nll_logits(void *ctx, int i, const float *logits)
{
	struct nll_ctx *c = ctx;
	double x;

	if ((size_t)i + 1 >= c->n || (size_t)i < c->first)
		return 0;
	x = bn_logsumexp(logits, c->n_vocab) - (double)logits[c->ids[i + 1]];
	c->nll += x;
	c->nll2 += x * x;
	c->count++;
	return 0;
}

int bn_infer_nll(struct bn_infer *r, const int32_t *ids, size_t n, size_t first, double *nll,
		 double *nll2, size_t *count, struct bn_errbuf *eb)
{
	struct nll_ctx c = { ids, BN_MIN(n, (size_t)bn_state_ctx(r->st)), first, 0, 0, 0,
			     r->m.cfg.n_vocab };

	*nll = 0;
	*count = 0;
	if (nll2)
		*nll2 = 0;
	if (c.n < 2)
		return BN_OK;
	bn_state_rewind(r->st, 0);
	r->nhist = 0;
	BN_TRY(bn_eval(r->st, ids, (int)c.n, BN_LOGITS_ALL, nll_logits, &c, eb));
	*nll = c.nll;
	*count = c.count;
	if (nll2)
		*nll2 = c.nll2;
	return BN_OK;
}
