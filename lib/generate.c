/* generate.c - prompt evaluation + generation loop. */
#include <stdlib.h>
#include <string.h>

#include "generate.h"

struct pick_ctx {
	const struct bn_gen *g;
	struct bn_state *st;
	int n_vocab, want_all;
	int32_t next;
	int err;
	float *buf;
};

int32_t bn_argmax(const float *x, int n)
{
	int32_t best = 0;
	int i;

	for (i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

const char *bn_stop_name(enum bn_stop_reason r)
{
	switch (r) {
	case BN_STOP_EOS: return "eos";
	case BN_STOP_LENGTH: return "length";
	case BN_STOP_CTX: return "context";
	case BN_STOP_USER: return "stop";
	default: return "none";
	}
}

/* Logits of an evaluated position: report it, and pick from the last one. */
static int on_logits(void *ctx, int i, const float *logits)
{
	struct pick_ctx *p = ctx;
	int rc;

	if (p->g->on_logits && (rc = p->g->on_logits(p->g->ctx, i, logits)) != 0)
		return rc;
	if (p->want_all && i != p->want_all - 1)
		return 0;
	memcpy(p->buf, logits, (size_t)p->n_vocab * sizeof(float));
	p->next = p->g->pick(p->g->ctx, p->buf, p->n_vocab, bn_state_eval_pos(p->st) + i);
	if (p->next < 0 || p->next >= p->n_vocab) {
		p->err = 1;
		return 1;
	}
	return 0;
}

static int is_stop(const struct bn_gen *g, int32_t id)
{
	int i;

	for (i = 0; i < g->n_stop; i++)
		if (g->stop[i] == id)
			return 1;
	return 0;
}

int bn_generate(struct bn_state *st, const struct bn_gen *g, const int32_t *prompt, int n,
		enum bn_stop_reason *reason, int *n_gen, struct bn_errbuf *eb)
{
	struct pick_ctx p = { g, st, 0, 0, -1, 0, NULL };
	enum bn_logits_mode mode = g->prompt_logits;
	int rc = BN_OK, gen = 0;

	*reason = BN_STOP_NONE;
	*n_gen = 0;
	if (n < 1)
		return bn_fail(eb, BN_EINVAL, "empty prompt");
	p.n_vocab = bn_state_vocab(st);
	if (!(p.buf = malloc((size_t)p.n_vocab * sizeof(float))))
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	if (g->n_predict != 0 && mode != BN_LOGITS_ALL)
		mode = BN_LOGITS_LAST;
	p.want_all = mode == BN_LOGITS_ALL && g->n_predict != 0 ? n : 0;
	if (g->n_predict == 0)
		p.want_all = -1;	/* evaluate only: never pick */
	if (p.want_all < 0) {
		rc = bn_eval(st, prompt, n, mode, g->on_logits, g->ctx, eb);
		*reason = BN_STOP_LENGTH;
		goto out;
	}
	if ((rc = bn_eval(st, prompt, n, mode, on_logits, &p, eb)) != 0)
		goto fail;
	p.want_all = 0;
	for (;;) {
		int32_t id = p.next;
		if (!g->ignore_eos && is_stop(g, id)) {
			*reason = BN_STOP_EOS;
			if (g->on_token && g->on_token(g->ctx, id))
				*reason = BN_STOP_USER;
			gen++;
			break;
		}
		gen++;
		if (g->on_token && g->on_token(g->ctx, id)) {
			*reason = BN_STOP_USER;
			break;
		}
		if (g->n_predict > 0 && gen >= g->n_predict) {
			*reason = BN_STOP_LENGTH;
			break;
		}
		if (bn_state_pos(st) >= bn_state_ctx(st)) {
			*reason = BN_STOP_CTX;
			break;
		}
		if ((rc = bn_eval(st, &id, 1, BN_LOGITS_LAST, on_logits, &p, eb)) != 0)
			goto fail;
	}
	*n_gen = gen;
	goto out;
fail:
	if (p.err)
		rc = bn_fail(eb, BN_EINVAL, "the sampler returned an invalid token id");
	else if (rc > 0)
		rc = bn_fail(eb, BN_EIO, "stopped by the logits consumer");
out:
	free(p.buf);
	return rc;
}
