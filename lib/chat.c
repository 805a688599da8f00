/* chat.c - a small Jinja-subset renderer for chat templates (see chat.h).
 *
 * Two stages.  Parsing splits the template into text and tags (applying
 * whitespace control, trim_blocks and lstrip_blocks), parses every tag's
 * expression into nodes and nests the blocks; anything outside the subset
 * fails here, before any rendering.  Rendering walks the tree with a small
 * variable stack; strings made on the way live in an arena freed at the end. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "jsonl.h"
#include "unicode.h"

#define MAX_SRC (64 << 10)
#define MAX_DEPTH 32
#define MAX_OUT (16 << 20)
#define MAX_VARS 64

const char bn_chat_template_bitnet[] =
	"{%- for message in messages %}{%- if loop.first %}{{ bos_token }}{%- endif %}\n"
	"{%- if message['role'] == 'system' %}{{ 'System: ' + message['content'] + '<|eot_id|>' }}\n"
	"{%- elif message['role'] == 'user' %}{{ 'User: ' + message['content'] + '<|eot_id|>' }}\n"
	"{%- elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + '<|eot_id|>' }}\n"
	"{%- endif %}{%- endfor %}\n"
	"{%- if add_generation_prompt %}{{ 'Assistant: ' }}{%- endif %}";

enum {	/* statements */
	N_TEXT, N_OUT, N_IF, N_FOR, N_SET,
	/* expressions */
	E_STR, E_INT, E_CONST, E_NAME, E_ATTR, E_INDEX, E_SLICE, E_BIN, E_NOT, E_NEG,
	E_FILTER, E_TEST, E_RAISE,
};

struct node {
	int kind;
	const char *s;		/* text, string, name, operator, filter, test */
	size_t n;
	long long i;		/* integer, constant (0 false, 1 true, 2 none), negation */
	int a, b, c;		/* children, -1 if none */
	int next;		/* next statement of a body */
};

struct bn_chat_tmpl {
	char *src;		/* mutable copy: string literals unescaped in place */
	struct node *nd;
	int nn, cap;
	int root;
};

/* ---- parsing ---- */

struct tag {			/* a piece of the template */
	int kind;		/* 0 text, 1 {{ }}, 2 {% %} */
	char *s;
	size_t n;
	int line;
};

struct parser {
	struct bn_chat_tmpl *t;
	struct tag *tags;
	int ntags, cur;
	/* expression lexer over one tag */
	const char *p, *e;
	int line, depth;
	struct bn_errbuf *eb;
};

static int perr(struct parser *P, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr(struct parser *P, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bn_fail(P->eb, code, "chat template line %d: %s", P->line, msg);
}

static int unsup(struct parser *P, const char *what, size_t n)
{
	return perr(P, BN_EUNSUP, "unsupported chat template construct '%.*s'",
		    (int)BN_MIN(n, 40), what);
}

static int new_node(struct parser *P, int kind)
{
	struct bn_chat_tmpl *t = P->t;
	struct node *x;

	if (t->nn == t->cap) {
		int cap = t->cap ? t->cap * 2 : 64;
		struct node *nd = realloc(t->nd, (size_t)cap * sizeof(*nd));
		if (!nd)
			return bn_fail(P->eb, BN_ENOMEM, "out of memory");
		t->nd = nd;
		t->cap = cap;
	}
	x = &t->nd[t->nn];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->a = x->b = x->c = x->next = -1;
	return t->nn++;
}

static void skip_ws(struct parser *P)
{
	while (P->p < P->e && isspace((unsigned char)*P->p))
		P->p++;
}

static int is_name_ch(int c)
{
	return isalnum(c) || c == '_';
}

/* Next word if it is exactly w (a keyword or operator): consume it. */
static int accept(struct parser *P, const char *w)
{
	size_t l = strlen(w);

	skip_ws(P);
	if ((size_t)(P->e - P->p) < l || memcmp(P->p, w, l))
		return 0;
	if (is_name_ch((unsigned char)w[0]) && P->p + l < P->e && is_name_ch((unsigned char)P->p[l]))
		return 0;
	if (!is_name_ch((unsigned char)w[0]) && l == 1 && P->p + 1 < P->e &&
	    ((w[0] == '<' || w[0] == '>' || w[0] == '!' || w[0] == '=') && P->p[1] == '='))
		return 0;	/* '<' is not the start of '<=' */
	P->p += l;
	return 1;
}

static int name(struct parser *P, const char **s, size_t *n)
{
	skip_ws(P);
	if (P->p >= P->e || !(isalpha((unsigned char)*P->p) || *P->p == '_'))
		return 0;
	*s = P->p;
	while (P->p < P->e && is_name_ch((unsigned char)*P->p))
		P->p++;
	*n = (size_t)(P->p - *s);
	return 1;
}

static int expr(struct parser *P);

/* 'string' or "string", unescaped in place. */
static int string_lit(struct parser *P)
{
	char q = *P->p, *w = (char *)P->p + 1, *r = w, *st = w;
	int x;

	for (; r < P->e && *r != q; r++) {
		if (*r == '\\' && r + 1 < P->e) {
			r++;
			*w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r == 'r' ? '\r' : *r;
		} else {
			*w++ = *r;
		}
	}
	if (r >= P->e)
		return perr(P, BN_EFORMAT, "unterminated string");
	P->p = r + 1;
	BN_TRY(x = new_node(P, E_STR));
	P->t->nd[x].s = st;
	P->t->nd[x].n = (size_t)(w - st);
	return x;
}

static int primary(struct parser *P)
{
	const char *s;
	size_t n;
	int x;

	skip_ws(P);
	if (P->p >= P->e)
		return perr(P, BN_EFORMAT, "expression expected");
	if (*P->p == '\'' || *P->p == '"')
		return string_lit(P);
	if (isdigit((unsigned char)*P->p)) {
		long long v = 0;
		while (P->p < P->e && isdigit((unsigned char)*P->p) && v < (1LL << 50))
			v = v * 10 + (*P->p++ - '0');
		BN_TRY(x = new_node(P, E_INT));
		P->t->nd[x].i = v;
		return x;
	}
	if (accept(P, "(")) {
		BN_TRY(x = expr(P));
		if (!accept(P, ")"))
			return perr(P, BN_EFORMAT, "')' expected");
		return x;
	}
	if (!name(P, &s, &n))
		return unsup(P, P->p, (size_t)(P->e - P->p));
	if ((n == 4 && (!strncmp(s, "true", 4) || !strncmp(s, "True", 4))) ||
	    (n == 5 && (!strncmp(s, "false", 5) || !strncmp(s, "False", 5))) ||
	    (n == 4 && (!strncmp(s, "none", 4) || !strncmp(s, "None", 4)))) {
		BN_TRY(x = new_node(P, E_CONST));
		P->t->nd[x].i = s[0] == 't' || s[0] == 'T' ? 1 : s[0] == 'n' || s[0] == 'N' ? 2 : 0;
		return x;
	}
	if (n == 15 && !strncmp(s, "raise_exception", 15)) {
		BN_TRY(x = new_node(P, E_RAISE));
		if (!accept(P, "("))
			return perr(P, BN_EFORMAT, "'(' expected after raise_exception");
		BN_TRY(P->t->nd[x].a = expr(P));
		if (!accept(P, ")"))
			return perr(P, BN_EFORMAT, "')' expected");
		return x;
	}
	BN_TRY(x = new_node(P, E_NAME));
	P->t->nd[x].s = s;
	P->t->nd[x].n = n;
	return x;
}

static int postfix(struct parser *P)
{
	int x, y;

	BN_TRY(x = primary(P));
	for (;;) {
		const char *s;
		size_t n;
		if (accept(P, ".")) {
			if (!name(P, &s, &n))
				return perr(P, BN_EFORMAT, "attribute name expected");
			if (accept(P, "(")) {	/* x.strip() and friends: as filters */
				if (!accept(P, ")") || !((n == 5 && !strncmp(s, "strip", 5)) ||
				    (n == 5 && !strncmp(s, "lower", 5)) ||
				    (n == 5 && !strncmp(s, "upper", 5))))
					return unsup(P, s, n);
				BN_TRY(y = new_node(P, E_FILTER));
				P->t->nd[y].s = s[0] == 's' ? "trim" : s;
				P->t->nd[y].n = s[0] == 's' ? 4 : n;
			} else {
				BN_TRY(y = new_node(P, E_ATTR));
				P->t->nd[y].s = s;
				P->t->nd[y].n = n;
			}
			P->t->nd[y].a = x;
			x = y;
		} else if (accept(P, "[")) {
			int lo = -1, hi = -1;
			skip_ws(P);
			if (P->p < P->e && *P->p != ':')
				BN_TRY(lo = expr(P));
			if (accept(P, ":")) {
				skip_ws(P);
				if (P->p < P->e && *P->p != ']')
					BN_TRY(hi = expr(P));
				BN_TRY(y = new_node(P, E_SLICE));
				P->t->nd[y].b = lo;
				P->t->nd[y].c = hi;
			} else {
				if (lo < 0)
					return perr(P, BN_EFORMAT, "index expected");
				BN_TRY(y = new_node(P, E_INDEX));
				P->t->nd[y].b = lo;
			}
			if (!accept(P, "]"))
				return perr(P, BN_EFORMAT, "']' expected");
			P->t->nd[y].a = x;
			x = y;
		} else if (accept(P, "(")) {
			return unsup(P, "function call", 13);
		} else {
			return x;
		}
	}
}

/* Filters and tests after x, left to right (jinja2 parses both here, so
 * they bind tighter than any operator). */
static int filters(struct parser *P, int x)
{
	static const char *const fl[] = { "trim", "length", "lower", "upper" };
	static const char *const ts[] = { "defined", "undefined", "none", "string", "odd", "even" };
	const char *s;
	size_t n, i;
	int y, neg = 0, test;

	for (;;) {
		if (accept(P, "|"))
			test = 0;
		else if (accept(P, "is"))
			test = 1, neg = accept(P, "not");
		else
			return x;
		if (!name(P, &s, &n))
			return perr(P, BN_EFORMAT, test ? "test name expected" : "filter name expected");
		for (i = 0; i < (test ? BN_LEN(ts) : BN_LEN(fl)); i++)
			if (strlen(test ? ts[i] : fl[i]) == n && !strncmp(s, test ? ts[i] : fl[i], n))
				break;
		if (i == (test ? BN_LEN(ts) : BN_LEN(fl)))
			return unsup(P, s, n);
		BN_TRY(y = new_node(P, test ? E_TEST : E_FILTER));
		P->t->nd[y].s = s;
		P->t->nd[y].n = n;
		P->t->nd[y].i = neg;
		P->t->nd[y].a = x;
		x = y;
	}
}

/* -x, then filters: as jinja2, -x|f is (-x)|f. */
static int unary(struct parser *P, int with_filters)
{
	int x, y;

	if (accept(P, "-")) {
		if (++P->depth > MAX_DEPTH * 4)
			return perr(P, BN_ERANGE, "expression nested too deeply");
		BN_TRY(x = unary(P, 0));
		P->depth--;
		BN_TRY(y = new_node(P, E_NEG));
		P->t->nd[y].a = x;
	} else {
		BN_TRY(y = postfix(P));
	}
	return with_filters ? filters(P, y) : y;
}

static int binary(struct parser *P, int x, const char *op, int y)
{
	int z;

	BN_TRY(z = new_node(P, E_BIN));
	P->t->nd[z].s = op;
	P->t->nd[z].a = x;
	P->t->nd[z].b = y;
	return z;
}

/* jinja2's levels, loosest first: + -, then ~, then * // %. */
static int arith(struct parser *P, int level)
{
	static const char *const ops[3][3] = { { "+", "-" }, { "~" }, { "*", "//", "%" } };
	int x, y, i;

	BN_TRY(x = level < 2 ? arith(P, level + 1) : unary(P, 1));
	for (;;) {
		skip_ws(P);
		if (level == 2 && P->e - P->p >= 2 && P->p[0] == '*' && P->p[1] == '*')
			return unsup(P, "**", 2);
		if (level == 2 && P->p < P->e && P->p[0] == '/' && (P->e - P->p < 2 || P->p[1] != '/'))
			return unsup(P, "/", 1);
		for (i = 0; i < 3 && ops[level][i] && !accept(P, ops[level][i]); i++)
			;
		if (i == 3 || !ops[level][i])
			return x;
		BN_TRY(y = level < 2 ? arith(P, level + 1) : unary(P, 1));
		BN_TRY(x = binary(P, x, ops[level][i], y));
	}
}

static int comparison(struct parser *P)
{
	static const char *ops[] = { "==", "!=", "<=", ">=", "<", ">", "in" };
	size_t i;
	int x, y;

	BN_TRY(x = arith(P, 0));
	for (;;) {
		if (accept(P, "not")) {	/* x not in y */
			if (!accept(P, "in"))
				return perr(P, BN_EFORMAT, "'in' expected after 'not'");
			BN_TRY(y = arith(P, 0));
			BN_TRY(x = binary(P, x, "in", y));
			BN_TRY(y = new_node(P, E_NOT));
			P->t->nd[y].a = x;
			x = y;
			continue;
		}
		for (i = 0; i < BN_LEN(ops) && !accept(P, ops[i]); i++)
			;
		if (i == BN_LEN(ops))
			return x;
		BN_TRY(y = arith(P, 0));
		BN_TRY(x = binary(P, x, ops[i], y));
	}
}

static int logical_not(struct parser *P)
{
	int x, y;

	if (accept(P, "not")) {
		if (++P->depth > MAX_DEPTH * 4)
			return perr(P, BN_ERANGE, "expression nested too deeply");
		BN_TRY(x = logical_not(P));
		P->depth--;
		BN_TRY(y = new_node(P, E_NOT));
		P->t->nd[y].a = x;
		return y;
	}
	return comparison(P);
}

static int logical(struct parser *P, int level)
{
	int x, y;

	BN_TRY(x = level ? logical_not(P) : logical(P, 1));
	while (accept(P, level ? "and" : "or")) {
		BN_TRY(y = level ? logical_not(P) : logical(P, 1));
		BN_TRY(x = binary(P, x, level ? "and" : "or", y));
	}
	return x;
}

static int expr(struct parser *P)
{
	int x;

	if (++P->depth > MAX_DEPTH * 4)
		return perr(P, BN_ERANGE, "expression nested too deeply");
	x = logical(P, 0);
	P->depth--;
	if (x >= 0) {
		skip_ws(P);
		if (P->p < P->e && !strncmp(P->p, "if", 2) &&
		    (P->p + 2 == P->e || !is_name_ch((unsigned char)P->p[2])))
			return unsup(P, "inline if", 9);
	}
	return x;
}

/* Parse a whole tag's expression. */
static int tag_expr(struct parser *P, const char *s, const char *e)
{
	int x;

	P->p = s;
	P->e = e;
	BN_TRY(x = expr(P));
	skip_ws(P);
	if (P->p != P->e)
		return unsup(P, P->p, (size_t)(P->e - P->p));
	return x;
}

/* The keyword of a {% %} tag. */
static int keyword(const struct tag *g, const char *w)
{
	size_t l = strlen(w);

	return g->n >= l && !memcmp(g->s, w, l) && (g->n == l || !is_name_ch((unsigned char)g->s[l]));
}

/* Statements until a {% %} tag whose keyword is in `ends` (or the end of the
 * template when ends is NULL).  Returns the first node or -1 (empty). */
static int body(struct parser *P, const char *const *ends, int *first)
{
	int last = -1, x;

	*first = -1;
	if (++P->depth > MAX_DEPTH)
		return perr(P, BN_ERANGE, "blocks nested too deeply");
	for (; P->cur < P->ntags; P->cur++) {
		struct tag *g = &P->tags[P->cur];
		P->line = g->line;
		if (g->kind == 0) {
			if (!g->n)
				continue;
			BN_TRY(x = new_node(P, N_TEXT));
			P->t->nd[x].s = g->s;
			P->t->nd[x].n = g->n;
		} else if (g->kind == 1) {
			int e;
			BN_TRY(e = tag_expr(P, g->s, g->s + g->n));
			BN_TRY(x = new_node(P, N_OUT));
			P->t->nd[x].a = e;
		} else {
			const char *const *k;
			for (k = ends; k && *k; k++)
				if (keyword(g, *k)) {
					P->depth--;
					return BN_OK;
				}
			if (keyword(g, "if")) {
				static const char *const if_ends[] = { "elif", "else", "endif", NULL };
				int top, cur;
				BN_TRY(top = cur = new_node(P, N_IF));
				BN_TRY(x = tag_expr(P, g->s + 2, g->s + g->n));
				P->t->nd[cur].a = x;
				for (;;) {
					int b;
					struct tag *h;
					P->cur++;
					BN_TRY(body(P, if_ends, &b));
					P->t->nd[cur].b = b;
					if (P->cur >= P->ntags)
						return perr(P, BN_EFORMAT, "missing endif");
					h = &P->tags[P->cur];
					P->line = h->line;
					if (keyword(h, "endif"))
						break;
					BN_TRY(x = new_node(P, N_IF));
					P->t->nd[cur].c = x;
					cur = x;
					if (keyword(h, "elif")) {
						BN_TRY(x = tag_expr(P, h->s + 4, h->s + h->n));
					} else {	/* else: an if with a true condition */
						if (h->n != 4)
							return unsup(P, h->s, h->n);
						BN_TRY(x = new_node(P, E_CONST));
						P->t->nd[x].i = 1;
					}
					P->t->nd[cur].a = x;
				}
				x = top;
			} else if (keyword(g, "for")) {
				static const char *const for_ends[] = { "endfor", NULL };
				const char *s;
				size_t n;
				int it, b;
				P->p = g->s + 3;
				P->e = g->s + g->n;
				if (!name(P, &s, &n) || !accept(P, "in"))
					return perr(P, BN_EFORMAT, "'for NAME in EXPR' expected");
				BN_TRY(it = expr(P));
				skip_ws(P);
				if (P->p != P->e)
					return unsup(P, P->p, (size_t)(P->e - P->p));
				BN_TRY(x = new_node(P, N_FOR));
				P->t->nd[x].s = s;
				P->t->nd[x].n = n;
				P->t->nd[x].a = it;
				P->cur++;
				BN_TRY(body(P, for_ends, &b));
				if (P->cur >= P->ntags)
					return perr(P, BN_EFORMAT, "missing endfor");
				P->t->nd[x].b = b;
			} else if (keyword(g, "set")) {
				const char *s;
				size_t n;
				int e;
				P->p = g->s + 3;
				P->e = g->s + g->n;
				if (!name(P, &s, &n) || !accept(P, "="))
					return unsup(P, g->s, g->n);
				BN_TRY(e = expr(P));
				skip_ws(P);
				if (P->p != P->e)
					return unsup(P, P->p, (size_t)(P->e - P->p));
				BN_TRY(x = new_node(P, N_SET));
				P->t->nd[x].s = s;
				P->t->nd[x].n = n;
				P->t->nd[x].a = e;
			} else {
				size_t n = 0;
				while (n < g->n && is_name_ch((unsigned char)g->s[n]))
					n++;
				if (keyword(g, "endif") || keyword(g, "endfor") || keyword(g, "elif") ||
				    keyword(g, "else"))
					return perr(P, BN_EFORMAT, "unexpected '%.*s'", (int)n, g->s);
				return unsup(P, g->s, n ? n : g->n);
			}
		}
		if (last < 0)
			*first = x;
		else
			P->t->nd[last].next = x;
		last = x;
	}
	if (ends) {
		while (ends[1])
			ends++;
		return perr(P, BN_EFORMAT, "missing '%s'", *ends);
	}
	P->depth--;
	return BN_OK;
}

/* Split src into text and tags, applying whitespace control. */
static int split(struct parser *P, char *s, size_t len)
{
	size_t i = 0;
	int strip_next = 0, trim_nl = 0, line = 1, cap = 0;

	for (;;) {
		char *o = NULL, *tx;
		size_t j, tn;
		int kind, plus = 0;
		struct tag *g;
		for (j = i; j + 1 < len; j++)
			if (s[j] == '{' && (s[j + 1] == '{' || s[j + 1] == '%' || s[j + 1] == '#')) {
				o = s + j;
				break;
			}
		tx = s + i;
		tn = (o ? (size_t)(o - s) : len) - i;
		if (strip_next)
			while (tn && isspace((unsigned char)*tx))
				tx++, tn--;
		else if (trim_nl && tn && *tx == '\n')
			tx++, tn--;
		kind = !o ? 0 : o[1] == '{' ? 1 : o[1] == '%' ? 2 : 3;
		if (o && o + 2 < s + len && o[2] == '-') {
			while (tn && isspace((unsigned char)tx[tn - 1]))
				tn--;
		} else if (o && o + 2 < s + len && o[2] == '+') {
			plus = 1;
		} else if (kind >= 2) {	/* lstrip_blocks */
			size_t k = tn;
			while (k && (tx[k - 1] == ' ' || tx[k - 1] == '\t'))
				k--;
			if ((k == 0 && (tx == s || tx[-1] == '\n')) || (k && tx[k - 1] == '\n'))
				tn = k;
		}
		if (P->ntags + 2 > cap) {
			struct tag *ng = realloc(P->tags, (size_t)(cap = cap * 2 + 16) * sizeof(*ng));
			if (!ng)
				return bn_fail(P->eb, BN_ENOMEM, "out of memory");
			P->tags = ng;
		}
		g = &P->tags[P->ntags++];
		*g = (struct tag){ 0, tx, tn, line };
		for (j = i; j < (o ? (size_t)(o - s) : len); j++)
			line += s[j] == '\n';
		if (!o)
			return BN_OK;
		/* the tag: find its closer outside string literals */
		{
			char close = kind == 1 ? '}' : kind == 2 ? '%' : '#', q = 0;
			size_t a = (size_t)(o - s) + 2 + (o[2] == '-' || plus), b;
			for (b = a; b + 1 < len; b++) {
				if (kind != 3 && q) {
					if (s[b] == '\\')
						b++;
					else if (s[b] == q)
						q = 0;
				} else if (kind != 3 && (s[b] == '\'' || s[b] == '"')) {
					q = s[b];
				} else if (s[b] == close && s[b + 1] == '}') {
					break;
				}
			}
			if (b + 1 >= len) {
				P->line = line;
				return perr(P, BN_EFORMAT, "unterminated tag");
			}
			strip_next = b > a && s[b - 1] == '-';
			trim_nl = kind >= 2 && !(b > a && s[b - 1] == '+');
			if (kind != 3) {
				size_t e = b - (b > a && (s[b - 1] == '-' || s[b - 1] == '+'));
				g = &P->tags[P->ntags++];
				while (a < e && isspace((unsigned char)s[a]))
					a++;
				while (e > a && isspace((unsigned char)s[e - 1]))
					e--;
				*g = (struct tag){ kind, s + a, e - a, line };
			}
			for (j = (size_t)(o - s); j < b; j++)
				line += s[j] == '\n';
			i = b + 2;
		}
	}
}

int bn_chat_tmpl_parse(struct bn_chat_tmpl **out, const char *src, size_t len,
		       struct bn_errbuf *eb)
{
	struct parser P = { .eb = eb, .line = 1 };
	struct bn_chat_tmpl *t;
	int rc;

	*out = NULL;
	if (len > MAX_SRC)
		return bn_fail(eb, BN_ERANGE, "chat template of %zu bytes is over the limit of %d",
			       len, MAX_SRC);
	if (!(t = calloc(1, sizeof(*t))) || !(t->src = malloc(len + 1))) {
		free(t);
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	}
	memcpy(t->src, src, len);
	t->src[len] = 0;
	P.t = t;
	if ((rc = split(&P, t->src, len)) >= 0)
		rc = body(&P, NULL, &t->root);
	free(P.tags);
	if (rc < 0) {
		bn_chat_tmpl_free(t);
		return rc;
	}
	*out = t;
	return BN_OK;
}

void bn_chat_tmpl_free(struct bn_chat_tmpl *t)
{
	if (!t)
		return;
	free(t->src);
	free(t->nd);
	free(t);
}

/* ---- rendering ---- */

enum { V_UNDEF, V_NONE, V_BOOL, V_INT, V_STR, V_LIST, V_MSG, V_LOOP };

struct val {
	int t;
	long long i;		/* bool, int; list start; loop index */
	const char *s;		/* string */
	size_t n;		/* string length; list count; loop length */
	const struct bn_chat_msg *m;	/* list base or message */
};

struct var {
	const char *name;
	size_t n;
	struct val v;
};

struct blk {
	struct blk *next;
	char data[];
};

struct ev {
	const struct bn_chat_tmpl *t;
	struct var vars[MAX_VARS];
	int nvars;
	int frame;		/* first variable of the current scope (a loop iteration) */
	struct bn_buf out;
	struct blk *arena;
	struct bn_errbuf *eb;
};

static char *ev_alloc(struct ev *E, size_t n)
{
	struct blk *b = malloc(sizeof(*b) + n + 1);

	if (!b)
		return NULL;
	b->next = E->arena;
	E->arena = b;
	return b->data;
}

static int set_var(struct ev *E, const char *name, size_t n, struct val v, int fresh)
{
	int i;

	if (!fresh)	/* set binds in the current scope only, as jinja2 */
		for (i = E->nvars - 1; i >= E->frame; i--)
			if (E->vars[i].n == n && !memcmp(E->vars[i].name, name, n)) {
				E->vars[i].v = v;
				return BN_OK;
			}
	if (E->nvars == MAX_VARS)
		return bn_fail(E->eb, BN_ERANGE, "chat template: too many variables");
	E->vars[E->nvars++] = (struct var){ name, n, v };
	return BN_OK;
}

static struct val str_val(const char *s, size_t n)
{
	return (struct val){ .t = V_STR, .s = s, .n = n };
}

static int truthy(const struct val *v)
{
	switch (v->t) {
	case V_BOOL: case V_INT: return v->i != 0;
	case V_STR: case V_LIST: return v->n != 0;
	case V_MSG: case V_LOOP: return 1;
	default: return 0;
	}
}

static const char *type_name(int t)
{
	static const char *names[] = { "undefined", "none", "boolean", "integer", "string",
				       "list", "message", "loop" };
	return names[t];
}

/* Text of a value as {{ }} prints it, into tmp (>= 32 bytes) if needed. */
static int to_str(struct ev *E, const struct val *v, char *tmp, const char **s, size_t *n)
{
	switch (v->t) {
	case V_UNDEF: *s = ""; *n = 0; return BN_OK;
	case V_NONE: *s = "None"; *n = 4; return BN_OK;
	case V_BOOL: *s = v->i ? "True" : "False"; *n = strlen(*s); return BN_OK;
	case V_INT: *n = (size_t)snprintf(tmp, 32, "%lld", v->i); *s = tmp; return BN_OK;
	case V_STR: *s = v->s; *n = v->n; return BN_OK;
	default:
		return bn_fail(E->eb, BN_EUNSUP, "chat template: cannot print a %s",
			       type_name(v->t));
	}
}

static int eval(struct ev *E, int x, struct val *v);

static int concat(struct ev *E, const struct val *a, const struct val *b, struct val *v)
{
	char t1[32], t2[32], *p;
	const char *s1, *s2;
	size_t n1, n2;

	BN_TRY(to_str(E, a, t1, &s1, &n1));
	BN_TRY(to_str(E, b, t2, &s2, &n2));
	if (n1 + n2 > MAX_OUT)
		return bn_fail(E->eb, BN_ERANGE, "chat template: string over the output limit");
	if (!(p = ev_alloc(E, n1 + n2)))
		return bn_fail(E->eb, BN_ENOMEM, "out of memory");
	memcpy(p, s1, n1);
	memcpy(p + n1, s2, n2);
	*v = str_val(p, n1 + n2);
	return BN_OK;
}

static int equal(const struct val *a, const struct val *b)
{
	if ((a->t == V_INT || a->t == V_BOOL) && (b->t == V_INT || b->t == V_BOOL))
		return a->i == b->i;
	if (a->t != b->t)
		return 0;
	if (a->t == V_STR)
		return a->n == b->n && !memcmp(a->s, b->s, a->n);
	return a->t == V_NONE || a->t == V_UNDEF;
}

/* Length of the white space character that s[0..n) starts with (end = 0)
 * or ends with (end = 1), or 0: what Python's str.strip() and jinja2's trim
 * remove.  str.isspace() is Unicode's White_Space (the tokenizer's table)
 * plus U+001C..U+001F; an ill-formed sequence is not space. */
static size_t py_space(const char *s, size_t n, int end)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t b = 1, len;
	uint32_t cp;

	if (!n)
		return 0;
	if (end)	/* back to the lead byte of the last character */
		while (b < n && b < 4 && (u[n - b] & 0xC0) == 0x80)
			b++;
	u += end ? n - b : 0;
	if (bn_utf8_step(u, end ? b : n) <= 0)
		return 0;
	cp = bn_utf8_get(u, &len);
	if (end && len != b)
		return 0;
	return bn_uc_class(cp) == BN_UC_SPACE || (cp >= 0x1c && cp <= 0x1f) ? len : 0;
}

/* a op b for + - * // %, with Python's floor division and modulo (the sign
 * of the divisor); overflow and division by zero are errors. */
static int arith_int(struct ev *E, const char *op, long long a, long long b, struct val *v)
{
	long long r = 0;
	int bad = 0;

	if ((op[0] == '/' || op[0] == '%') && b == 0)
		return bn_fail(E->eb, BN_EINVAL, "chat template: integer division or modulo by zero");
	switch (op[0]) {
	case '+': bad = __builtin_add_overflow(a, b, &r); break;
	case '-': bad = __builtin_sub_overflow(a, b, &r); break;
	case '*': bad = __builtin_mul_overflow(a, b, &r); break;
	case '/':
	case '%':
		if ((bad = a == LLONG_MIN && b == -1))
			break;
		r = op[0] == '/' ? a / b : a % b;
		if (a % b != 0 && (a % b < 0) != (b < 0))
			r = op[0] == '/' ? r - 1 : r + b;
		break;
	}
	if (bad)
		return bn_fail(E->eb, BN_ERANGE, "chat template: integer overflow in '%s'", op);
	*v = (struct val){ .t = V_INT, .i = r };
	return BN_OK;
}

static int bin(struct ev *E, const struct node *nd, struct val *v)
{
	struct val a, b;
	const char *op = nd->s;

	BN_TRY(eval(E, nd->a, &a));
	if (!strcmp(op, "and") || !strcmp(op, "or")) {
		if (truthy(&a) == (op[0] == 'o')) {
			*v = a;
			return BN_OK;
		}
		return eval(E, nd->b, v);
	}
	BN_TRY(eval(E, nd->b, &b));
	if (!strcmp(op, "~"))
		return concat(E, &a, &b, v);
	if (!strcmp(op, "==") || !strcmp(op, "!=")) {
		*v = (struct val){ .t = V_BOOL, .i = equal(&a, &b) == (op[0] == '=') };
		return BN_OK;
	}
	if (!strcmp(op, "in")) {
		int found;
		if (a.t != V_STR || b.t != V_STR)
			return bn_fail(E->eb, BN_EUNSUP, "chat template: 'in' on a %s and a %s",
				       type_name(a.t), type_name(b.t));
		found = !a.n || (b.n >= a.n && memmem(b.s, b.n, a.s, a.n));
		*v = (struct val){ .t = V_BOOL, .i = found };
		return BN_OK;
	}
	if (!strcmp(op, "+") && a.t == V_STR && b.t == V_STR)
		return concat(E, &a, &b, v);
	if ((a.t != V_INT && a.t != V_BOOL) || (b.t != V_INT && b.t != V_BOOL))
		return bn_fail(E->eb, BN_EINVAL, "chat template: cannot apply '%s' to a %s "
			       "and a %s", op, type_name(a.t), type_name(b.t));
	if (op[0] == '<' || op[0] == '>') {
		*v = (struct val){ .t = V_BOOL, .i = op[0] == '<' ? (op[1] ? a.i <= b.i : a.i < b.i)
							   : (op[1] ? a.i >= b.i : a.i > b.i) };
		return BN_OK;
	}
	return arith_int(E, op, a.i, b.i, v);
}

static int member(struct ev *E, const struct val *o, const char *k, size_t n, struct val *v)
{
	*v = (struct val){ .t = V_UNDEF };
	if (o->t == V_MSG) {
		if (n == 4 && !memcmp(k, "role", 4))
			*v = str_val(o->m->role, strlen(o->m->role));
		else if (n == 7 && !memcmp(k, "content", 7))
			*v = str_val(o->m->content, strlen(o->m->content));
	} else if (o->t == V_LOOP) {
		long long i = o->i, len = (long long)o->n;
		v->t = V_INT;
		if (n == 5 && !memcmp(k, "index", 5))
			v->i = i + 1;
		else if (n == 6 && !memcmp(k, "index0", 6))
			v->i = i;
		else if (n == 6 && !memcmp(k, "length", 6))
			v->i = len;
		else if (n == 8 && !memcmp(k, "revindex", 8))
			v->i = len - i;
		else if (n == 5 && !memcmp(k, "first", 5))
			*v = (struct val){ .t = V_BOOL, .i = i == 0 };
		else if (n == 4 && !memcmp(k, "last", 4))
			*v = (struct val){ .t = V_BOOL, .i = i == len - 1 };
		else
			v->t = V_UNDEF;
	} else if (o->t == V_UNDEF || o->t == V_NONE) {
		return bn_fail(E->eb, BN_EINVAL, "chat template: '%.*s' of an undefined value",
			       (int)n, k);
	}
	return BN_OK;
}

static int eval(struct ev *E, int x, struct val *v)
{
	const struct node *nd = &E->t->nd[x];
	struct val a, b;
	int i;

	switch (nd->kind) {
	case E_STR:
		*v = str_val(nd->s, nd->n);
		return BN_OK;
	case E_INT:
		*v = (struct val){ .t = V_INT, .i = nd->i };
		return BN_OK;
	case E_CONST:
		*v = (struct val){ .t = nd->i == 2 ? V_NONE : V_BOOL, .i = nd->i };
		return BN_OK;
	case E_NAME:
		for (i = E->nvars - 1; i >= 0; i--)
			if (E->vars[i].n == nd->n && !memcmp(E->vars[i].name, nd->s, nd->n)) {
				*v = E->vars[i].v;
				return BN_OK;
			}
		*v = (struct val){ .t = V_UNDEF };
		return BN_OK;
	case E_ATTR:
		BN_TRY(eval(E, nd->a, &a));
		return member(E, &a, nd->s, nd->n, v);
	case E_INDEX:
		BN_TRY(eval(E, nd->a, &a));
		BN_TRY(eval(E, nd->b, &b));
		if (b.t == V_STR)
			return member(E, &a, b.s, b.n, v);
		if (a.t == V_LIST && b.t == V_INT) {
			long long k = b.i < 0 ? b.i + (long long)a.n : b.i;
			if (k < 0 || k >= (long long)a.n)
				return bn_fail(E->eb, BN_EINVAL, "chat template: list index %lld out "
					       "of range", b.i);
			*v = (struct val){ .t = V_MSG, .m = &a.m[a.i + k] };
			return BN_OK;
		}
		return bn_fail(E->eb, BN_EUNSUP, "chat template: cannot index a %s",
			       type_name(a.t));
	case E_SLICE: {
		long long lo = 0, hi, len;
		BN_TRY(eval(E, nd->a, &a));
		if (a.t != V_LIST && a.t != V_STR)
			return bn_fail(E->eb, BN_EUNSUP, "chat template: cannot slice a %s",
				       type_name(a.t));
		hi = len = (long long)a.n;
		if (nd->b >= 0) {
			BN_TRY(eval(E, nd->b, &b));
			lo = b.i < 0 ? b.i + len : b.i;
		}
		if (nd->c >= 0) {
			BN_TRY(eval(E, nd->c, &b));
			hi = b.i < 0 ? b.i + len : b.i;
		}
		lo = BN_MAX(0, BN_MIN(lo, len));
		hi = BN_MAX(lo, BN_MIN(hi, len));
		*v = a;
		if (a.t == V_LIST)
			v->i = a.i + lo;
		else
			v->s = a.s + lo;
		v->n = (size_t)(hi - lo);
		return BN_OK;
	}
	case E_BIN:
		return bin(E, nd, v);
	case E_NOT:
		BN_TRY(eval(E, nd->a, &a));
		*v = (struct val){ .t = V_BOOL, .i = !truthy(&a) };
		return BN_OK;
	case E_NEG:
		BN_TRY(eval(E, nd->a, &a));
		if (a.t != V_INT)
			return bn_fail(E->eb, BN_EINVAL, "chat template: cannot negate a %s",
				       type_name(a.t));
		return arith_int(E, "-", 0, a.i, v);
	case E_TEST:
		BN_TRY(eval(E, nd->a, &a));
		if ((nd->s[0] == 'o' || nd->s[0] == 'e') && a.t != V_INT && a.t != V_BOOL)
			return bn_fail(E->eb, BN_EINVAL, "chat template: '%.*s' of a %s",
				       (int)nd->n, nd->s, type_name(a.t));
		i = nd->s[0] == 'd' ? a.t != V_UNDEF : nd->s[0] == 'u' ? a.t == V_UNDEF :
		    nd->s[0] == 'n' ? a.t == V_NONE : nd->s[0] == 'o' ? (a.i & 1) != 0 :
		    nd->s[0] == 'e' ? (a.i & 1) == 0 : a.t == V_STR;
		*v = (struct val){ .t = V_BOOL, .i = i != nd->i };
		return BN_OK;
	case E_FILTER:
		BN_TRY(eval(E, nd->a, &a));
		if (nd->s[0] == 'l' && nd->s[1] == 'e') {
			if (a.t != V_STR && a.t != V_LIST)
				return bn_fail(E->eb, BN_EINVAL, "chat template: length of a %s",
					       type_name(a.t));
			*v = (struct val){ .t = V_INT, .i = (long long)a.n };
			return BN_OK;
		}
		if (a.t != V_STR)
			return bn_fail(E->eb, BN_EINVAL, "chat template: '%.*s' of a %s",
				       (int)nd->n, nd->s, type_name(a.t));
		if (nd->s[0] == 't') {
			size_t k;
			while ((k = py_space(a.s, a.n, 0)))
				a.s += k, a.n -= k;
			while ((k = py_space(a.s, a.n, 1)))
				a.n -= k;
			*v = a;
		} else {
			char *p = ev_alloc(E, a.n);
			size_t k;
			if (!p)
				return bn_fail(E->eb, BN_ENOMEM, "out of memory");
			for (k = 0; k < a.n; k++)
				p[k] = (char)(nd->s[0] == 'u' ? toupper((unsigned char)a.s[k]) :
					      tolower((unsigned char)a.s[k]));
			*v = str_val(p, a.n);
		}
		return BN_OK;
	case E_RAISE: {
		char tmp[32];
		const char *s;
		size_t n;
		BN_TRY(eval(E, nd->a, &a));
		BN_TRY(to_str(E, &a, tmp, &s, &n));
		return bn_fail(E->eb, BN_EINVAL, "chat template: %.*s", (int)BN_MIN(n, 300), s);
	}
	}
	return bn_fail(E->eb, BN_EINVAL, "chat template: bad node");
}

static int run(struct ev *E, int x)
{
	for (; x >= 0; x = E->t->nd[x].next) {
		const struct node *nd = &E->t->nd[x];
		struct val v;
		switch (nd->kind) {
		case N_TEXT:
			bn_buf_put(&E->out, nd->s, nd->n);
			break;
		case N_OUT: {
			char tmp[32];
			const char *s;
			size_t n;
			BN_TRY(eval(E, nd->a, &v));
			BN_TRY(to_str(E, &v, tmp, &s, &n));
			bn_buf_put(&E->out, s, n);
			break;
		}
		case N_SET:
			BN_TRY(eval(E, nd->a, &v));
			BN_TRY(set_var(E, nd->s, nd->n, v, 0));
			break;
		case N_IF: {
			const struct node *c = nd;
			for (;;) {
				BN_TRY(eval(E, c->a, &v));
				if (truthy(&v)) {
					BN_TRY(run(E, c->b));
					break;
				}
				if (c->c < 0)
					break;
				c = &E->t->nd[c->c];
			}
			break;
		}
		case N_FOR: {	/* every iteration is a scope: its sets end with it */
			struct val it;
			int save = E->nvars, frame = E->frame;
			size_t k;
			BN_TRY(eval(E, nd->a, &it));
			if (it.t != V_LIST)
				return bn_fail(E->eb, BN_EUNSUP, "chat template: cannot loop over a %s",
					       type_name(it.t));
			for (k = 0; k < it.n; k++) {
				E->nvars = save;
				BN_TRY(set_var(E, "loop", 4, (struct val){ .t = V_LOOP, .i = (long long)k,
					       .n = it.n }, 1));
				BN_TRY(set_var(E, nd->s, nd->n, (struct val){ .t = V_MSG,
					       .m = &it.m[it.i + (long long)k] }, 1));
				E->frame = save;
				BN_TRY(run(E, nd->b));	/* an error ends the whole render */
			}
			E->nvars = save;
			E->frame = frame;
			break;
		}
		}
		if (E->out.err)
			return bn_fail(E->eb, BN_ENOMEM, "out of memory");
		if (E->out.n > MAX_OUT)
			return bn_fail(E->eb, BN_ERANGE, "chat template: output over %d bytes",
				       MAX_OUT);
	}
	return BN_OK;
}

int bn_chat_render(const struct bn_chat_tmpl *t, const struct bn_chat_msg *msgs, int n,
		   const char *bos_token, const char *eos_token, int add_generation_prompt,
		   char **out, size_t *outlen, struct bn_errbuf *eb)
{
	struct ev E = { .t = t, .eb = eb };
	int rc;

	*out = NULL;
	*outlen = 0;
	set_var(&E, "messages", 8, (struct val){ .t = V_LIST, .m = msgs, .n = (size_t)n }, 1);
	set_var(&E, "bos_token", 9, str_val(bos_token, strlen(bos_token)), 1);
	set_var(&E, "eos_token", 9, str_val(eos_token, strlen(eos_token)), 1);
	set_var(&E, "add_generation_prompt", 21,
		(struct val){ .t = V_BOOL, .i = add_generation_prompt != 0 }, 1);
	rc = run(&E, t->root);
	bn_buf_putc(&E.out, 0);
	if (rc >= 0 && E.out.err)
		rc = bn_fail(eb, BN_ENOMEM, "out of memory");
	while (E.arena) {
		struct blk *b = E.arena->next;
		free(E.arena);
		E.arena = b;
	}
	if (rc < 0) {
		bn_buf_release(&E.out);
		return rc;
	}
	*out = E.out.p;
	*outlen = E.out.n - 1;
	return BN_OK;
}
