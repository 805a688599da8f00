/* logits.c - reading and writing logits frames (format in logits.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "logits.h"

#define LINE_MAX_BYTES ((size_t)512 << 20)	/* 2^24 logits at ~30 bytes each */

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int write_f32(FILE *fp, const float *x, int n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return fwrite(x, sizeof(float), (size_t)n, fp) == (size_t)n ? 0 : -1;
#else
	unsigned char b[4];
	int i;

	for (i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, &x[i], 4);
		put_le32(b, u);
		if (fwrite(b, 1, 4, fp) != 4)
			return -1;
	}
	return 0;
#endif
}

int bn_logits_write(FILE *fp, int fmt, uint32_t rec, uint32_t pos, const float *logits,
		    int n_vocab)
{
	unsigned char h[BN_LOGITS_HEADER];
	int i;

	if (n_vocab < 1 || (uint32_t)n_vocab > BN_LOGITS_VOCAB_MAX)
		return BN_EINVAL;
	if (fmt == BN_LOGITS_F32) {
		put_le32(h, BN_LOGITS_MAGIC);
		put_le32(h + 4, (uint32_t)n_vocab);
		put_le32(h + 8, pos);
		put_le32(h + 12, rec);
		if (fwrite(h, 1, sizeof(h), fp) != sizeof(h) || write_f32(fp, logits, n_vocab) < 0)
			return BN_EIO;
		return BN_OK;
	}
	if (fmt != BN_LOGITS_JSONL)
		return BN_EINVAL;
	if (fprintf(fp, "{\"rec\":%" PRIu32 ",\"pos\":%" PRIu32 ",\"logits\":[", rec, pos) < 0)
		return BN_EIO;
	for (i = 0; i < n_vocab; i++) {
		if (i)
			putc(',', fp);
		if (isfinite(logits[i]))
			fprintf(fp, "%.9g", (double)logits[i]);
		else
			fputs("null", fp);
	}
	if (fputs("]}\n", fp) == EOF || ferror(fp))
		return BN_EIO;
	return BN_OK;
}

void bn_logits_reader_init(struct bn_logits_reader *r, FILE *fp, const char *name, int fmt)
{
	memset(r, 0, sizeof(*r));
	r->fp = fp;
	r->name = name;
	r->fmt = fmt;
}

void bn_logits_reader_release(struct bn_logits_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->line);
	r->buf = NULL;
	r->line = NULL;
	r->linecap = 0;
}

static int io_error(struct bn_logits_reader *r, struct bn_errbuf *eb)
{
	return bn_fail(eb, BN_EIO, "cannot read '%s': %s", r->name, strerror(errno));
}

/* "NAME: frame N" for binary streams, "NAME:LINE" for jsonl. */
static const char *where(const struct bn_logits_reader *r, char *buf, size_t n)
{
	if (r->fmt == BN_LOGITS_JSONL)
		snprintf(buf, n, "%s:%llu", r->name, (unsigned long long)r->lineno);
	else
		snprintf(buf, n, "%s: frame %llu", r->name, (unsigned long long)r->frames + 1);
	return buf;
}

/* The vocabulary size of a frame: in range and the same as the first one;
 * makes sure buf can hold it. */
static int set_vocab(struct bn_logits_reader *r, uint64_t n, struct bn_errbuf *eb)
{
	char w[256];

	if (n < 1 || n > BN_LOGITS_VOCAB_MAX)
		return bn_fail(eb, BN_ERANGE, "%s: n_vocab %llu outside 1..%u",
			       where(r, w, sizeof(w)), (unsigned long long)n, BN_LOGITS_VOCAB_MAX);
	if (r->n_vocab && (uint64_t)r->n_vocab != n)
		return bn_fail(eb, BN_EFORMAT, "%s: n_vocab %llu differs from %d in the first frame",
			       where(r, w, sizeof(w)), (unsigned long long)n, r->n_vocab);
	if (!r->buf) {
		if (!(r->buf = malloc((size_t)n * sizeof(float))))
			return bn_fail(eb, BN_ENOMEM, "%s: out of memory", r->name);
		r->n_vocab = (int)n;
	}
	return BN_OK;
}

static int read_f32(struct bn_logits_reader *r, struct bn_logits_frame *f, struct bn_errbuf *eb)
{
	unsigned char h[BN_LOGITS_HEADER];
	unsigned long long fr = (unsigned long long)r->frames + 1;
	size_t got = fread(h, 1, sizeof(h), r->fp), n;
	uint32_t magic;
	int i;

	if (got == 0 && !ferror(r->fp))
		return 0;
	if (got < sizeof(h)) {
		if (ferror(r->fp))
			return io_error(r, eb);
		return bn_fail(eb, BN_EFORMAT, "%s: frame %llu: truncated header (%zu of %d bytes)",
			       r->name, fr, got, BN_LOGITS_HEADER);
	}
	if ((magic = get_le32(h)) != BN_LOGITS_MAGIC)
		return bn_fail(eb, BN_EFORMAT, "%s: frame %llu: bad magic 0x%08x (expected 0x%08x \"BNLG\")",
			       r->name, fr, magic, BN_LOGITS_MAGIC);
	BN_TRY(set_vocab(r, get_le32(h + 4), eb));
	f->pos = get_le32(h + 8);
	f->rec = get_le32(h + 12);
	n = (size_t)r->n_vocab;
	if ((got = fread(r->buf, sizeof(float), n, r->fp)) != n) {
		if (ferror(r->fp))
			return io_error(r, eb);
		return bn_fail(eb, BN_EFORMAT, "%s: frame %llu: truncated logits (%zu of %zu values)",
			       r->name, fr, got, n);
	}
	f->n_nan = 0;
	for (i = 0; i < r->n_vocab; i++) {
		uint32_t u;
		float x;
		memcpy(&u, &r->buf[i], 4);
		u = get_le32((const unsigned char *)&u);
		memcpy(&x, &u, 4);
		if (isnan(x)) {
			x = -INFINITY;
			f->n_nan++;
		}
		r->buf[i] = x;
	}
	return 1;
}

/* One line into r->line (without the newline); 0 at end of stream. */
static int get_line(struct bn_logits_reader *r, size_t *len, struct bn_errbuf *eb)
{
	size_t n = 0;

	for (;;) {
		size_t k;
		if (r->linecap - n < 2) {
			size_t cap = r->linecap ? r->linecap * 2 : 1 << 16;
			char *p;
			if (cap > LINE_MAX_BYTES + 2)
				return bn_fail(eb, BN_ERANGE, "%s:%llu: line longer than %zu bytes",
					       r->name, (unsigned long long)r->lineno + 1, LINE_MAX_BYTES);
			if (!(p = realloc(r->line, cap)))
				return bn_fail(eb, BN_ENOMEM, "%s: out of memory", r->name);
			r->line = p;
			r->linecap = cap;
		}
		if (!fgets(r->line + n, (int)BN_MIN(r->linecap - n, (size_t)1 << 30), r->fp)) {
			if (ferror(r->fp))
				return io_error(r, eb);
			if (n == 0)
				return 0;
			break;
		}
		k = strlen(r->line + n);
		n += k;
		if (n && r->line[n - 1] == '\n') {
			r->line[--n] = 0;
			break;
		}
	}
	r->lineno++;
	*len = n;
	return 1;
}

static int json_u32(const cJSON *o, const char *key, uint32_t *v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0) || x->valuedouble > 4294967295.0 ||
	    x->valuedouble != floor(x->valuedouble))
		return -1;
	*v = (uint32_t)x->valuedouble;
	return 0;
}

static int read_jsonl(struct bn_logits_reader *r, struct bn_logits_frame *f, struct bn_errbuf *eb)
{
	const cJSON *arr, *x;
	cJSON *o;
	size_t len = 0, i, commas;
	char w[300];
	int rc;

	do {
		if ((rc = get_line(r, &len, eb)) <= 0)
			return rc;
		for (i = 0; i < len && isspace((unsigned char)r->line[i]); i++)
			;
	} while (i == len);
	/* at most one cJSON node (~64 bytes) per value: bound the values before
	 * parsing, so a long line of "0,0,0,..." cannot cost 30 times its size */
	for (i = 0, commas = 0; i < len; i++)
		commas += r->line[i] == ',';
	if (commas > BN_LOGITS_VOCAB_MAX + 16)
		return bn_fail(eb, BN_ERANGE, "%s:%llu: more than %u values", r->name,
			       (unsigned long long)r->lineno, BN_LOGITS_VOCAB_MAX);
	snprintf(w, sizeof(w), "%s:%llu", r->name, (unsigned long long)r->lineno);
	if (!(o = bn_json_parse(r->line, len, 0, w, eb)))
		return BN_EFORMAT;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return bn_fail(eb, BN_EFORMAT, "%s:%llu: not a JSON object", r->name,
			       (unsigned long long)r->lineno);
	}
	rc = BN_EFORMAT;
	if (json_u32(o, "rec", &f->rec) < 0 || json_u32(o, "pos", &f->pos) < 0) {
		bn_fail(eb, rc, "%s:%llu: \"rec\" and \"pos\" must be integers in 0..2^32-1",
			r->name, (unsigned long long)r->lineno);
		goto out;
	}
	arr = cJSON_GetObjectItemCaseSensitive(o, "logits");
	if (!cJSON_IsArray(arr)) {
		bn_fail(eb, rc, "%s:%llu: \"logits\" is not an array", r->name,
			(unsigned long long)r->lineno);
		goto out;
	}
	for (i = 0, x = arr->child; x; x = x->next)
		i++;
	if ((rc = set_vocab(r, i, eb)) < 0)
		goto out;
	f->n_nan = 0;
	for (i = 0, x = arr->child; x; x = x->next, i++) {
		if (cJSON_IsNull(x)) {
			r->buf[i] = -INFINITY;
			f->n_nan++;
		} else if (cJSON_IsNumber(x)) {
			r->buf[i] = (float)x->valuedouble;
		} else {
			rc = bn_fail(eb, BN_EFORMAT, "%s:%llu: logit %zu is not a number", r->name,
				     (unsigned long long)r->lineno, i);
			goto out;
		}
	}
	rc = 1;
out:
	cJSON_Delete(o);
	return rc;
}

int bn_logits_read_frame(struct bn_logits_reader *r, struct bn_logits_frame *f,
			 struct bn_errbuf *eb)
{
	int rc;

	if (r->fmt == BN_LOGITS_AUTO) {
		int c = getc(r->fp);
		if (c == EOF)
			return ferror(r->fp) ? io_error(r, eb) : 0;
		ungetc(c, r->fp);
		if (c == 'B')
			r->fmt = BN_LOGITS_F32;
		else if (c == '{' || isspace(c))
			r->fmt = BN_LOGITS_JSONL;
		else
			return bn_fail(eb, BN_EFORMAT, "%s: not a logits stream (first byte 0x%02x)",
				       r->name, (unsigned)c);
	}
	rc = r->fmt == BN_LOGITS_F32 ? read_f32(r, f, eb) : read_jsonl(r, f, eb);
	if (rc == 1) {
		f->n_vocab = r->n_vocab;
		f->logits = r->buf;
		r->frames++;
		r->n_nan += f->n_nan;
	}
	return rc;
}
