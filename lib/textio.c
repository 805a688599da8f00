/* textio.c - record reader and writer with transparent zstd. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "file.h"
#include "textio.h"

#define CHUNK (1 << 17)

/* Input is read with read(2), which returns what a pipe holds: a record is
 * handed out as soon as its delimiter arrives, not when a buffer is full. */
struct bn_reader {
	int fd;			/* -1 before open */
	char *name;
	ZSTD_DCtx *z;
	int zdone;		/* last decompress call finished a frame */
	int zmore;		/* it filled buf: it may hold more output */
	unsigned char *in;	/* compressed input */
	ZSTD_inBuffer zin;
	char *buf;		/* data */
	size_t pos, end;
	char *rec;		/* a record spanning refills */
	size_t reccap;
	int eof;
	size_t limit;		/* longest record (bn_reader_set_limit) */
	uint64_t nrec;		/* records returned or refused so far */
};

void bn_reader_set_limit(struct bn_reader *r, size_t max)
{
	r->limit = max;
}

static int rfail(struct bn_reader *r, struct bn_errbuf *eb, int code, const char *what)
{
	return bn_fail(eb, code, "%s: %s", r->name, what);
}

static int rfail_io(struct bn_reader *r, struct bn_errbuf *eb)
{
	return bn_fail(eb, BN_EIO, "cannot read '%s': %s", r->name, strerror(errno));
}

/* read(2), again after a signal. */
static ssize_t rd(struct bn_reader *r, void *p, size_t n)
{
	ssize_t k;

	while ((k = read(r->fd, p, n)) < 0 && errno == EINTR)
		;
	return k;
}

static const unsigned char zmagic[4] = { 0x28, 0xB5, 0x2F, 0xFD };

int bn_reader_open(struct bn_reader **out, const char *path, struct bn_errbuf *eb)
{
	struct bn_reader *r = calloc(1, sizeof *r);
	size_t got = 0;

	*out = NULL;
	if (r) {
		r->fd = -1;
		r->limit = SIZE_MAX;
	}
	if (!r || !(r->name = strdup(path)) || !(r->buf = malloc(CHUNK + 1)) ||
	    !(r->in = malloc(CHUNK))) {
		bn_reader_close(r);
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", path);
	}
	r->fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (r->fd < 0) {
		int e = errno;
		bn_reader_close(r);
		return bn_fail(eb, BN_EIO, "cannot open '%s': %s", path, strerror(e));
	}
	/* sniff the zstd magic, reading on only while the bytes so far may be
	 * its start (a short first line must not wait for more) */
	while (got < 4 && !memcmp(r->in, zmagic, got)) {
		ssize_t k = rd(r, r->in + got, CHUNK - got);
		if (k < 0) {
			int rc = rfail_io(r, eb);
			bn_reader_close(r);
			return rc;
		}
		if (!k)
			break;
		got += (size_t)k;
	}
	if (got >= 4 && !memcmp(r->in, zmagic, 4)) {
		if (!(r->z = ZSTD_createDCtx())) {
			bn_reader_close(r);
			return bn_fail(eb, BN_ENOMEM, "%s: out of memory", path);
		}
		r->zin.src = r->in;
		r->zin.size = got;
	} else {
		memcpy(r->buf, r->in, got);
		r->end = got;
		r->eof = !got;
	}
	*out = r;
	return BN_OK;
}

void bn_reader_close(struct bn_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0 && strcmp(r->name, "-"))
		close(r->fd);
	ZSTD_freeDCtx(r->z);
	free(r->name);
	free(r->in);
	free(r->buf);
	free(r->rec);
	free(r);
}

const char *bn_reader_name(const struct bn_reader *r)
{
	return r->name;
}

/* Refill buf (pos == end); returns bytes now available, 0 at EOF, < 0. */
static long fill(struct bn_reader *r, struct bn_errbuf *eb)
{
	r->pos = r->end = 0;
	if (r->eof)
		return 0;
	if (!r->z) {
		ssize_t got = rd(r, r->buf, CHUNK);
		if (got < 0)
			return rfail_io(r, eb);
		r->eof = !got;
		r->end = (size_t)got;
		return (long)got;
	}
	for (;;) {
		ZSTD_outBuffer zo = { r->buf, CHUNK, 0 };
		size_t ret;
		if (r->zin.pos == r->zin.size && !r->zmore) {
			ssize_t got = rd(r, r->in, CHUNK);
			if (got < 0)
				return rfail_io(r, eb);
			if (!got) {
				r->eof = 1;
				if (!r->zdone)
					return rfail(r, eb, BN_EFORMAT, "truncated zstd stream");
				return 0;
			}
			r->zin.src = r->in;
			r->zin.size = (size_t)got;
			r->zin.pos = 0;
		}
		ret = ZSTD_decompressStream(r->z, &zo, &r->zin);
		if (ZSTD_isError(ret))
			return bn_fail(eb, BN_EFORMAT, "%s: zstd: %s", r->name, ZSTD_getErrorName(ret));
		r->zdone = ret == 0;
		r->zmore = zo.pos == zo.size;
		if (zo.pos) {
			r->end = zo.pos;
			return (long)zo.pos;
		}
	}
}

int bn_reader_ready(const struct bn_reader *r, int delim)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN };

	if (r->pos < r->end && memchr(r->buf + r->pos, delim, r->end - r->pos))
		return 1;
	if (r->eof || (r->z && (r->zin.pos < r->zin.size || r->zmore)))
		return 1;
	return poll(&p, 1, 0) != 0;	/* on an error, let the read report it */
}

static int rec_append(struct bn_reader *r, size_t *len, const char *p, size_t n,
		      struct bn_errbuf *eb)
{
	if (*len + n + 1 > r->reccap) {
		size_t cap = r->reccap ? r->reccap : 4096;
		char *nr;
		while (cap < *len + n + 1)
			cap *= 2;
		if (!(nr = realloc(r->rec, cap)))
			return rfail(r, eb, BN_ENOMEM, "out of memory");
		r->rec = nr;
		r->reccap = cap;
	}
	memcpy(r->rec + *len, p, n);
	*len += n;
	r->rec[*len] = 0;
	return BN_OK;
}

/* A record over the limit: skip to its end, then refuse it. */
static int too_long(struct bn_reader *r, int delim, struct bn_errbuf *eb)
{
	for (;;) {
		char *s = r->buf + r->pos, *e;
		long got;
		if (r->pos == r->end) {
			if ((got = fill(r, eb)) < 0)
				return (int)got;
			if (!got)
				break;
			continue;
		}
		e = memchr(s, delim, r->end - r->pos);
		if (e) {
			r->pos += (size_t)(e - s) + 1;
			break;
		}
		r->pos = r->end;
	}
	return bn_fail(eb, BN_ERANGE, "%s:%llu: record longer than %zu bytes", r->name,
		       (unsigned long long)r->nrec, r->limit);
}

int bn_reader_record(struct bn_reader *r, int delim, char **p, size_t *n,
		     struct bn_errbuf *eb)
{
	size_t len = 0;
	int have = 0;

	for (;;) {
		char *s, *e;
		long got;
		if (r->pos == r->end) {
			if ((got = fill(r, eb)) < 0)
				return (int)got;
			if (!got) {
				if (!have)
					return 0;
				*p = r->rec;
				*n = len;
				r->nrec++;
				return 1;
			}
		}
		s = r->buf + r->pos;
		e = memchr(s, delim, r->end - r->pos);
		if (len + (size_t)((e ? e : r->buf + r->end) - s) > r->limit) {
			r->nrec++;
			if (e) {
				r->pos += (size_t)(e - s) + 1;
				return bn_fail(eb, BN_ERANGE, "%s:%llu: record longer than %zu bytes",
					       r->name, (unsigned long long)r->nrec, r->limit);
			}
			r->pos = r->end;
			return too_long(r, delim, eb);
		}
		if (e && !have) {	/* the common case: no copy */
			*e = 0;
			*p = s;
			*n = (size_t)(e - s);
			r->pos += *n + 1;
			r->nrec++;
			return 1;
		}
		BN_TRY(rec_append(r, &len, s, e ? (size_t)(e - s) : r->end - r->pos, eb));
		have = 1;
		if (e) {
			r->pos += (size_t)(e - s) + 1;
			*p = r->rec;
			*n = len;
			r->nrec++;
			return 1;
		}
		r->pos = r->end;
	}
}

int bn_reader_all(struct bn_reader *r, char **p, size_t *n, struct bn_errbuf *eb)
{
	size_t len = 0;

	*p = NULL;
	*n = 0;
	BN_TRY(rec_append(r, &len, "", 0, eb));
	for (;;) {
		long got;
		if (r->pos < r->end)
			BN_TRY(rec_append(r, &len, r->buf + r->pos, r->end - r->pos, eb));
		if ((got = fill(r, eb)) < 0)
			return (int)got;
		if (!got)
			break;
	}
	*p = r->rec;
	*n = len;
	r->rec = NULL;
	r->reccap = 0;
	return BN_OK;
}

/* ---- writer ---- */

struct bn_writer {
	struct bn_out out;
	ZSTD_CCtx *z;
	char *zbuf;
	size_t zcap;
};

static int wraw(struct bn_writer *w, const void *p, size_t n, struct bn_errbuf *eb)
{
	if (!w->out.tmp) {	/* stdout: leave EPIPE handling to the program */
		if (fwrite(p, 1, n, stdout) != n)
			return bn_fail(eb, BN_EIO, "write error on standard output: %s",
				       strerror(errno));
		return BN_OK;
	}
	return bn_out_write(&w->out, p, n, eb);
}

int bn_writer_open(struct bn_writer **out, const char *path, struct bn_errbuf *eb)
{
	struct bn_writer *w = calloc(1, sizeof *w);
	size_t l = strlen(path);
	int rc;

	*out = NULL;
	if (!w)
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", path);
	if ((rc = bn_out_open(&w->out, path, eb)) < 0) {
		free(w);
		return rc;
	}
	if (l > 4 && !strcmp(path + l - 4, ".zst")) {
		w->zcap = ZSTD_CStreamOutSize();
		if (!(w->z = ZSTD_createCCtx()) || !(w->zbuf = malloc(w->zcap))) {
			bn_writer_abort(w);
			return bn_fail(eb, BN_ENOMEM, "%s: out of memory", path);
		}
		ZSTD_CCtx_setParameter(w->z, ZSTD_c_compressionLevel, 3);
	}
	*out = w;
	return BN_OK;
}

static int zflush(struct bn_writer *w, const void *p, size_t n, ZSTD_EndDirective mode,
		  struct bn_errbuf *eb)
{
	ZSTD_inBuffer in = { p, n, 0 };

	for (;;) {
		ZSTD_outBuffer zo = { w->zbuf, w->zcap, 0 };
		size_t left = ZSTD_compressStream2(w->z, &zo, &in, mode);
		if (ZSTD_isError(left))
			return bn_fail(eb, BN_EIO, "%s: zstd: %s", w->out.path,
				       ZSTD_getErrorName(left));
		BN_TRY(wraw(w, w->zbuf, zo.pos, eb));
		if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0)
			return BN_OK;
	}
}

int bn_writer_write(struct bn_writer *w, const void *p, size_t n, struct bn_errbuf *eb)
{
	if (!n)
		return BN_OK;
	if (w->z)
		return zflush(w, p, n, ZSTD_e_continue, eb);
	return wraw(w, p, n, eb);
}

int bn_writer_flush(struct bn_writer *w, struct bn_errbuf *eb)
{
	if (w->z)
		BN_TRY(zflush(w, "", 0, ZSTD_e_flush, eb));
	if (!w->out.tmp && fflush(stdout))
		return bn_fail(eb, BN_EIO, "write error on standard output: %s", strerror(errno));
	return BN_OK;
}

int bn_writer_close(struct bn_writer *w, struct bn_errbuf *eb)
{
	int rc = BN_OK;

	if (w->z)
		rc = zflush(w, "", 0, ZSTD_e_end, eb);
	if (rc == BN_OK && w->out.tmp)
		rc = bn_out_commit(&w->out, eb);
	else if (rc == BN_OK && fflush(stdout))
		rc = bn_fail(eb, BN_EIO, "write error on standard output: %s", strerror(errno));
	if (rc < 0 && w->out.tmp)
		bn_out_abort(&w->out);
	ZSTD_freeCCtx(w->z);
	free(w->zbuf);
	free(w);
	return rc;
}

void bn_writer_abort(struct bn_writer *w)
{
	if (!w)
		return;
	bn_out_abort(&w->out);
	ZSTD_freeCCtx(w->z);
	free(w->zbuf);
	free(w);
}
