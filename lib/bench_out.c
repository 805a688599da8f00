/* bench_out.c - bn-bench records and their md/csv/json/jsonl forms
 * (bench_out.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_out.h"
#include "jsonl.h"

void bn_recs_free(struct bn_recs *rs)
{
	int i, j;

	if (!rs)
		return;
	for (i = 0; i < rs->n; i++)
		for (j = 0; j < rs->r[i].n; j++)
			free(rs->r[i].f[j].val);
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

struct bn_rec *bn_rec_new(struct bn_recs *rs, const char *section)
{
	struct bn_rec *r;

	if (rs->n == rs->cap) {
		int cap = rs->cap ? 2 * rs->cap : 16;
		struct bn_rec *p = realloc(rs->r, (size_t)cap * sizeof(*p));
		if (!p) {
			rs->err = BN_ENOMEM;
			return NULL;
		}
		rs->r = p;
		rs->cap = cap;
	}
	r = &rs->r[rs->n++];
	memset(r, 0, sizeof(*r));
	r->section = section;
	return r;
}

void bn_rec_add(struct bn_recs *rs, struct bn_rec *r, const char *key, int flags,
		const char *fmt, ...)
{
	va_list ap;
	char *v;
	int len;

	if (!r || r->n == BN_REC_MAX)
		return;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0 || !(v = malloc((size_t)len + 1))) {
		rs->err = BN_ENOMEM;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(v, (size_t)len + 1, fmt, ap);
	va_end(ap);
	r->f[r->n].key = key;
	r->f[r->n].flags = flags;
	r->f[r->n].val = v;
	r->n++;
}

static void csv_cell(FILE *fp, const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fputs(s, fp);
		return;
	}
	putc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', fp);
		putc(*s, fp);
	}
	putc('"', fp);
}

static void json_rec(FILE *fp, const struct bn_rec *r)
{
	struct bn_buf b = { 0 };
	int j, first = 1;

	bn_buf_putc(&b, '{');
	for (j = 0; j < r->n; j++) {
		const struct bn_field *f = &r->f[j];
		if (!(f->flags & BN_F_JSON))
			continue;
		if (!first)
			bn_buf_put(&b, ", ", 2);
		first = 0;
		bn_json_quote(&b, f->key, strlen(f->key));
		bn_buf_put(&b, ": ", 2);
		if (f->flags & BN_F_STR)
			bn_json_quote(&b, f->val, strlen(f->val));
		else
			bn_buf_put(&b, f->val, strlen(f->val));
	}
	bn_buf_putc(&b, '}');
	if (!b.err)
		fwrite(b.p, 1, b.n, fp);
	bn_buf_release(&b);
}

/* Records r[i0..i1) share a section: print them as one table. */
static void table(FILE *fp, enum bn_fmt fmt, const struct bn_rec *r, int n)
{
	int want = fmt == BN_FMT_MD ? BN_F_MD : BN_F_CSV, i, j;
	const struct bn_rec *h = &r[0];

	if (fmt == BN_FMT_MD) {
		fputs("|", fp);
		for (j = 0; j < h->n; j++)
			if (h->f[j].flags & want)
				fprintf(fp, " %s |", h->f[j].key);
		fputs("\n|", fp);
		for (j = 0; j < h->n; j++)
			if (h->f[j].flags & want)
				fputs(h->f[j].flags & BN_F_STR ? " --- |" : " ---: |", fp);
		fputc('\n', fp);
	} else {
		for (i = 0, j = 0; j < h->n; j++)
			if (h->f[j].flags & want) {
				fputs(i++ ? "," : "", fp);
				csv_cell(fp, h->f[j].key);
			}
		fputc('\n', fp);
	}
	for (i = 0; i < n; i++) {
		int c = 0;
		if (fmt == BN_FMT_MD)
			fputs("|", fp);
		for (j = 0; j < r[i].n; j++) {
			if (!(r[i].f[j].flags & want))
				continue;
			if (fmt == BN_FMT_MD) {
				fprintf(fp, " %s |", r[i].f[j].val);
			} else {
				fputs(c++ ? "," : "", fp);
				csv_cell(fp, r[i].f[j].val);
			}
		}
		fputc('\n', fp);
	}
}

void bn_recs_print(FILE *fp, enum bn_fmt fmt, const struct bn_recs *rs)
{
	int i, i0;

	if (fmt == BN_FMT_JSON || fmt == BN_FMT_JSONL) {
		if (fmt == BN_FMT_JSON)
			fputs("[\n", fp);
		for (i = 0; i < rs->n; i++) {
			if (fmt == BN_FMT_JSON)
				fputs("  ", fp);
			json_rec(fp, &rs->r[i]);
			fputs(fmt == BN_FMT_JSON && i + 1 < rs->n ? ",\n" : "\n", fp);
		}
		if (fmt == BN_FMT_JSON)
			fputs("]\n", fp);
		return;
	}
	for (i0 = 0; i0 < rs->n; i0 = i) {
		for (i = i0; i < rs->n && !strcmp(rs->r[i].section, rs->r[i0].section); i++)
			;
		if (i0 > 0)
			fputc('\n', fp);
		if (fmt == BN_FMT_MD && rs->r[i0].section[0])
			fprintf(fp, "%s\n\n", rs->r[i0].section);
		table(fp, fmt, &rs->r[i0], i - i0);
	}
}

int bn_fmt_parse(const char *s, enum bn_fmt *out)
{
	static const char *const names[] = { "md", "csv", "json", "jsonl" };
	int i;

	for (i = 0; i < (int)BN_LEN(names); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum bn_fmt)i;
			return BN_OK;
		}
	return BN_EINVAL;
}
