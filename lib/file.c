/* file.c - whole-file reads, mappings and atomic writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

int bn_read_file(const char *path, size_t limit, char **out, size_t *len,
		 struct bn_errbuf *eb)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, n = 0;
	char *buf = NULL, *nb;

	*out = NULL;
	if (!fp)
		return bn_fail(eb, BN_EIO, "cannot open '%s': %s", path, strerror(errno));
	for (;;) {
		size_t got;
		if (!buf || n + 1 >= cap) {
			if (buf)
				cap *= 2;
			if (!(nb = realloc(buf, cap)))
				goto nomem;
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, fp);
		n += got;
		if (n > limit) {
			free(buf);
			if (fp != stdin)
				fclose(fp);
			return bn_fail(eb, BN_ERANGE, "%s: file larger than %zu bytes", path, limit);
		}
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		int e = errno;
		free(buf);
		if (fp != stdin)
			fclose(fp);
		return bn_fail(eb, BN_EIO, "cannot read '%s': %s", path, strerror(e));
	}
	if (fp != stdin)
		fclose(fp);
	buf[n] = 0;
	*out = buf;
	if (len)
		*len = n;
	return BN_OK;
nomem:
	free(buf);
	if (fp != stdin)
		fclose(fp);
	return bn_fail(eb, BN_ENOMEM, "%s: out of memory", path);
}

/* Reserve size bytes plus a huge page of anonymous memory (prot) and
 * return where the first 2 MB boundary in it lies; MAP_FAILED on failure. */
static uint8_t *reserve(size_t size, int prot, uint8_t **r)
{
	size_t huge = BN_HUGE_PAGE;

	*r = mmap(NULL, size + huge, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*r == MAP_FAILED)
		return MAP_FAILED;
	return (uint8_t *)(((uintptr_t)*r + huge - 1) & ~(uintptr_t)(huge - 1));
}

/* size rounded up to whole pages. */
static size_t pages(size_t size)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (size + pg - 1) / pg * pg;
}

/* Give back the parts of reservation r around [a, a + size). */
static void trim(uint8_t *r, uint8_t *a, size_t size)
{
	size_t end = pages(size);
	uint8_t *stop = r + size + BN_HUGE_PAGE;

	if (a > r)
		munmap(r, (size_t)(a - r));
	if (stop > a + end)
		munmap(a + end, (size_t)(stop - (a + end)));
}

/* A read-only private mapping of fd at a 2 MB-aligned address, so that
 * huge page-cache folios can be mapped whole (the kernel aligns file
 * mappings by itself only in some versions): map the file over the aligned
 * part of a reservation and return the rest.  Small files map anywhere. */
static void *map_aligned(int fd, size_t size)
{
	uint8_t *r, *a;
	int e;

	if (size < BN_HUGE_PAGE || size > SIZE_MAX - 2 * BN_HUGE_PAGE)
		return mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if ((a = reserve(size, PROT_NONE, &r)) == MAP_FAILED)
		return MAP_FAILED;
	if (mmap(a, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
		e = errno;
		munmap(r, size + BN_HUGE_PAGE);
		errno = e;
		return MAP_FAILED;
	}
	trim(r, a, size);
	return a;
}

/* Under AddressSanitizer the buffers come from its allocator instead, so
 * that an access past their end is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define HUGE_FROM_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HUGE_FROM_MALLOC 1
#endif
#endif

void *bn_huge_alloc(size_t bytes)
{
	uint8_t *a;
#ifdef HUGE_FROM_MALLOC
	void *m;
#else
	uint8_t *r;
#endif

	if (bytes == 0 || bytes > SIZE_MAX - 2 * BN_HUGE_PAGE)
		return NULL;
#ifdef HUGE_FROM_MALLOC
	if (posix_memalign(&m, BN_HUGE_PAGE, bytes))
		return NULL;
	a = memset(m, 0, bytes);
#else
	if ((a = reserve(bytes, PROT_READ | PROT_WRITE, &r)) == MAP_FAILED)
		return NULL;
	trim(r, a, bytes);
	madvise(a, bytes, MADV_HUGEPAGE);	/* advice only: 4 KB pages where refused */
#endif
	return a;
}

void bn_huge_free(void *p, size_t bytes)
{
#ifdef HUGE_FROM_MALLOC
	(void)bytes;
	free(p);
#else
	if (p)
		munmap(p, pages(bytes));
#endif
}

int bn_map_open(struct bn_map *m, const char *path, struct bn_errbuf *eb)
{
	struct stat st;
	void *p;
	int fd;

	m->base = NULL;
	m->size = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return bn_fail(eb, BN_EIO, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return bn_fail(eb, BN_EIO, "%s: not a regular file", path);
	}
	if (st.st_size > 0) {
		p = map_aligned(fd, (size_t)st.st_size);
		if (p == MAP_FAILED) {
			int e = errno;
			close(fd);
			return bn_fail(eb, BN_EIO, "cannot map '%s': %s", path, strerror(e));
		}
		/* Where the page cache is cold, read it in huge folios (see
		 * BN_OUT_BLOCK); advice only, so its failure is no error. */
		madvise(p, (size_t)st.st_size, MADV_HUGEPAGE);
		m->base = p;
		m->size = (size_t)st.st_size;
	}
	close(fd);
	return BN_OK;
}

void bn_map_close(struct bn_map *m)
{
	if (m && m->base)
		munmap((void *)m->base, m->size);
	if (m) {
		m->base = NULL;
		m->size = 0;
	}
}

long long bn_map_huge_bytes(const struct bn_map *m)
{
	char line[512], perms[8];
	unsigned long long lo, hi;
	long long kb = -1;
	FILE *fp;
	int in = 0;

	if (!m->base || !(fp = fopen("/proc/self/smaps", "r")))
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) == 3)	/* a mapping */
			in = lo == (uintptr_t)m->base;
		else if (in && sscanf(line, "FilePmdMapped: %lld kB", &kb) == 1)
			break;
	}
	fclose(fp);
	return kb < 0 ? -1 : kb * 1024;
}

/* The temp files of the outputs now open, for bn_out_unlink_tmp.  A fixed
 * table of lock-free pointers, as a signal handler may neither lock nor
 * allocate; a temp file beyond it is only not removed on a signal. */
#define NLIVE 8
static _Atomic(char *) live_tmp[NLIVE];

static void live_add(char *tmp)
{
	for (size_t i = 0; i < NLIVE; i++) {
		char *none = NULL;
		if (atomic_compare_exchange_strong(&live_tmp[i], &none, tmp))
			return;
	}
}

static void live_drop(char *tmp)
{
	for (size_t i = 0; i < NLIVE; i++) {
		char *p = tmp;
		if (atomic_compare_exchange_strong(&live_tmp[i], &p, NULL))
			return;
	}
}

void bn_out_unlink_tmp(void)
{
	for (size_t i = 0; i < NLIVE; i++) {
		char *p = atomic_load(&live_tmp[i]);
		if (p)
			unlink(p);
	}
}

int bn_out_open(struct bn_out *o, const char *path, struct bn_errbuf *eb)
{
	size_t n = strlen(path);
	struct stat st;
	int fd;

	memset(o, 0, sizeof(*o));
	if (!strcmp(path, "-")) {
		o->fp = stdout;
		return BN_OK;
	}
	if (!(o->path = strdup(path)))
		goto nomem;
	/* /dev/null, /dev/stdout, a FIFO: write in place.  A temp file renamed
	 * over them would replace the device node itself (as root). */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode) || !(o->fp = fopen(path, "wb"))) {
			int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
			bn_out_abort(o);
			return bn_fail(eb, BN_EIO, "cannot create '%s': %s", path, strerror(e));
		}
		return BN_OK;
	}
	if (!(o->tmp = malloc(n + 16)))
		goto nomem;
	snprintf(o->tmp, n + 16, "%s.tmp.XXXXXX", path);
	if ((fd = mkstemp(o->tmp)) < 0) {
		int e = errno;
		free(o->tmp);
		o->tmp = NULL;
		bn_out_abort(o);
		return bn_fail(eb, BN_EIO, "cannot create '%s': %s", path, strerror(e));
	}
	live_add(o->tmp);
	fchmod(fd, 0644 & ~0022);
	if (!(o->buf = malloc(BN_OUT_BLOCK)) || !(o->fp = fdopen(fd, "wb"))) {
		close(fd);
		goto nomem;
	}
	setvbuf(o->fp, o->buf, _IOFBF, BN_OUT_BLOCK);
	return BN_OK;
nomem:
	bn_out_abort(o);
	return bn_fail(eb, BN_ENOMEM, "%s: out of memory", path);
}

int bn_out_write(struct bn_out *o, const void *p, size_t n, struct bn_errbuf *eb)
{
	if (n && fwrite(p, 1, n, o->fp) != n)
		return bn_fail(eb, BN_EIO, "cannot write '%s': %s",
			       o->path ? o->path : "<stdout>", strerror(errno));
	return BN_OK;
}

int bn_out_commit(struct bn_out *o, struct bn_errbuf *eb)
{
	int e = 0;

	if (o->fp == stdout) {
		if (fflush(o->fp) != 0)
			return bn_fail(eb, BN_EIO, "cannot write <stdout>: %s", strerror(errno));
		return BN_OK;
	}
	if (!o->tmp) {	/* a device or FIFO, written in place */
		if (fflush(o->fp) != 0)
			e = errno;
		if (fclose(o->fp) != 0 && !e)
			e = errno;
		o->fp = NULL;
		if (e) {
			int rc = bn_fail(eb, BN_EIO, "cannot write '%s': %s", o->path, strerror(e));
			bn_out_abort(o);
			return rc;
		}
		free(o->path);
		o->path = NULL;
		return BN_OK;
	}
	if (fflush(o->fp) != 0 || fsync(fileno(o->fp)) != 0)
		e = errno;
	if (fclose(o->fp) != 0 && !e)
		e = errno;
	o->fp = NULL;
	if (!e && rename(o->tmp, o->path) != 0)
		e = errno;
	if (e) {
		int rc = bn_fail(eb, BN_EIO, "cannot write '%s': %s", o->path, strerror(e));
		bn_out_abort(o);
		return rc;
	}
	live_drop(o->tmp);	/* the name is the output's now */
	free(o->tmp);
	free(o->path);
	free(o->buf);
	o->tmp = o->path = o->buf = NULL;
	return BN_OK;
}

void bn_out_abort(struct bn_out *o)
{
	if (!o)
		return;
	if (o->fp && o->fp != stdout)
		fclose(o->fp);
	if (o->tmp) {
		unlink(o->tmp);
		live_drop(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

int bn_write_file_atomic(const char *path, const void *data, size_t len,
			 struct bn_errbuf *eb)
{
	struct bn_out o;

	BN_TRY(bn_out_open(&o, path, eb));
	if (bn_out_write(&o, data, len, eb) < 0) {
		bn_out_abort(&o);
		return BN_EIO;
	}
	return bn_out_commit(&o, eb);
}
