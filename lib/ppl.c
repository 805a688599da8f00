/* ppl.c - perplexity, line by line or llama-perplexity's chunks (ppl.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ppl.h"

static int out_err(struct bn_infer *r, struct bn_errbuf *eb)
{
	if (ferror(r->out) || fflush(r->out))
		return bn_fail(eb, BN_EIO, "write error: %s", strerror(errno));
	return BN_OK;
}

static int lines(struct bn_infer *r, struct bn_reader *in, const struct bn_ppl_opts *o,
		 struct bn_errbuf *eb)
{
	size_t n, lineno = 0, tokens = 0;
	double total = 0;
	char *line;
	int rc;

	bn_reader_set_limit(in, BN_INFER_LINE_MAX);
	while ((rc = bn_reader_line(in, &line, &n, eb)) == 1) {
		int32_t *ids = NULL;
		size_t nid, cnt;
		double nll;
		lineno++;
		if (n && line[n - 1] == '\r')
			n--;
		if (!n)
			continue;
		rc = bn_tokenizer_encode(r->tok, line, n, BN_TOK_BOS, &ids, &nid, eb);
		if (rc >= 0)
			rc = bn_infer_nll(r, ids, nid, 0, &nll, NULL, &cnt, eb);
		free(ids);
		if (rc < 0) {
			struct bn_errbuf e = *eb;
			return bn_fail(eb, rc, "%s:%zu: %s", bn_reader_name(in), lineno, e.msg);
		}
		if (!cnt)
			continue;
		total += nll;
		tokens += cnt;
		if (o->jsonl)
			fprintf(r->out, "{\"line\":%zu,\"ppl\":%.6f,\"nll\":%.6f,\"tokens\":%zu}\n",
				lineno, exp(nll / cnt), nll, cnt);
		else
			fprintf(r->out, "%zu\t%.4f\t%zu\n", lineno, exp(nll / cnt), cnt);
		BN_TRY(out_err(r, eb));
		if (o->on_progress)
			o->on_progress(o->ctx, lineno, 0, tokens, exp(total / tokens));
	}
	if (rc < 0)
		return rc;
	if (!tokens)	/* a perplexity over nothing is undefined */
		return bn_fail(eb, BN_EINVAL, "%s: no tokens to score (it needs a non-empty line "
			       "and a context of 2 tokens or more)", bn_reader_name(in));
	if (o->jsonl)
		fprintf(r->out, "{\"ppl\":%.6f,\"nll\":%.6f,\"tokens\":%zu}\n",
			exp(total / tokens), total, tokens);
	else
		fprintf(r->out, "total\t%.4f\t%zu\n", exp(total / tokens), tokens);
	return out_err(r, eb);
}

static int chunks(struct bn_infer *r, struct bn_reader *in, const struct bn_ppl_opts *o,
		  struct bn_errbuf *eb)
{
	size_t n_ctx = (size_t)bn_state_ctx(r->st), len, ntok, nch, i, count = 0;
	int32_t *ids = NULL, *buf = NULL, bos = bn_tokenizer_bos(r->tok);
	double nll = 0, nll2 = 0, mean, err = 0, ppl;
	char *text = NULL;
	int rc;

	if (bos < 0)
		return bn_fail(eb, BN_EUNSUP, "%s: chunked perplexity needs a BOS token", r->o.model);
	if (n_ctx - 1 - n_ctx / 2 == 0)	/* the second half of a window scores nothing */
		return bn_fail(eb, BN_EINVAL, "%s: chunked perplexity with a context of %zu scores "
			       "no tokens (it needs 3 or more)", bn_reader_name(in), n_ctx);
	BN_TRY(bn_reader_all(in, &text, &len, eb));
	rc = bn_tokenizer_encode(r->tok, text, len, BN_TOK_BOS, &ids, &ntok, eb);
	free(text);
	if (rc < 0)
		goto out;
	if (ntok < 2 * n_ctx) {
		rc = bn_fail(eb, BN_ERANGE, "%s: %zu tokens; chunked perplexity with a context of "
			     "%zu needs at least %zu", bn_reader_name(in), ntok, n_ctx, 2 * n_ctx);
		goto out;
	}
	nch = ntok / n_ctx;
	if (o->max_chunks > 0 && (size_t)o->max_chunks < nch)
		nch = (size_t)o->max_chunks;
	if (!(buf = malloc(n_ctx * sizeof(*buf)))) {
		rc = bn_fail(eb, BN_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nch; i++) {
		double a, a2;
		size_t c;
		memcpy(buf, ids + i * n_ctx, n_ctx * sizeof(*buf));
		buf[0] = bos;
		if ((rc = bn_infer_nll(r, buf, n_ctx, n_ctx / 2, &a, &a2, &c, eb)) < 0)
			goto out;
		nll += a;
		nll2 += a2;
		count += c;
		if (o->on_progress)
			o->on_progress(o->ctx, i + 1, nch, count, exp(nll / count));
	}
	mean = nll / count;
	ppl = exp(mean);
	if (count > 1 && nll2 / count - mean * mean > 0)
		err = sqrt((nll2 / count - mean * mean) / (count - 1)) * ppl;
	if (o->jsonl)
		fprintf(r->out, "{\"chunks\":%zu,\"n_ctx\":%zu,\"tokens\":%zu,\"nll\":%.6f,"
			"\"ppl\":%.6f,\"ppl_err\":%.6f}\n", nch, n_ctx, count, nll, ppl, err);
	else
		fprintf(r->out, "Final estimate: PPL = %.4f +/- %.5f\n", ppl, err);
	rc = out_err(r, eb);
out:
	free(ids);
	free(buf);
	return rc;
}

int bn_ppl_run(struct bn_infer *r, struct bn_reader *in, const struct bn_ppl_opts *o,
	       struct bn_errbuf *eb)
{
	if (!r->tok)
		return bn_fail(eb, BN_EUNSUP, "%s: perplexity needs the model's tokenizer",
			       r->o.model);
	return o->chunks ? chunks(r, in, o, eb) : lines(r, in, o, eb);
}
