/* file.c - atomic output files: content across stdio block boundaries,
 * commit and abort, and the 2 MB blocks that let the kernel keep a freshly
 * written model in huge page-cache folios. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "unit.h"

static char dir[] = "/tmp/bn-unit-file.XXXXXX";

static unsigned char byte_at(size_t i)
{
	return (unsigned char)(i * 2654435761u >> 13);
}

static size_t entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Write n pattern bytes through bn_out in pieces of awkward sizes. */
static int write_pieces(const char *path, size_t n, struct bn_errbuf *eb)
{
	static const size_t piece[] = { 1, 4095, 65541, 300007, 100 };
	unsigned char *p = malloc(n);
	struct bn_out o;
	size_t at = 0;
	int rc;

	if (!p)
		return -1;
	for (size_t i = 0; i < n; i++)
		p[i] = byte_at(i);
	if ((rc = bn_out_open(&o, path, eb)) < 0) {
		free(p);
		return rc;
	}
	for (int k = 0; at < n && rc == BN_OK; k = (k + 1) % 5) {
		size_t m = piece[k] < n - at ? piece[k] : n - at;
		rc = bn_out_write(&o, p + at, m, eb);
		at += m;
	}
	rc = rc == BN_OK ? bn_out_commit(&o, eb) : (bn_out_abort(&o), rc);
	free(p);
	return rc;
}

static int same_pattern(const struct bn_map *m, size_t n)
{
	if (m->size != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (m->base[i] != byte_at(i))
			return 0;
	return 1;
}

static long touched_pmd_kb(const char *path, size_t *size)
{
	struct bn_errbuf eb;
	struct bn_map m;
	volatile unsigned s = 0;
	long kb;

	if (bn_map_open(&m, path, &eb) < 0)
		return -1;
	for (size_t i = 0; i < m.size; i += 4096)
		s += m.base[i];
	kb = bn_map_huge_bytes(&m) / 1024;
	*size = m.size;
	bn_map_close(&m);
	return kb;
}

/* Can this kernel and file system keep a file in huge folios at all?  A file
 * written by write(2) in aligned 2 MB blocks is the most favourable case. */
static int huge_folios_possible(const char *path)
{
	char *p = calloc(1, BN_OUT_BLOCK);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), ok = fd >= 0 && p;
	size_t size;

	for (int i = 0; ok && i < 4; i++)
		ok = write(fd, p, BN_OUT_BLOCK) == (ssize_t)BN_OUT_BLOCK;
	if (fd >= 0)
		ok = fsync(fd) == 0 && close(fd) == 0 && ok;
	free(p);
	return ok && touched_pmd_kb(path, &size) > 0;	/* also -1: no smaps */
}

int main(void)
{
	char a[64], b[64], ctl[64];
	struct bn_errbuf eb;
	struct bn_map m;
	size_t n = (9 << 20) + 12345, size;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp %s", dir);
		return unit_done();
	}
	snprintf(a, sizeof(a), "%s/a.bin", dir);
	snprintf(b, sizeof(b), "%s/b.bin", dir);
	snprintf(ctl, sizeof(ctl), "%s/ctl.bin", dir);

	CHECK(write_pieces(a, n, &eb) == BN_OK, "bn_out writes %zu bytes in odd pieces", n);
	CHECK(entries() == 1, "commit leaves the final file and no temp file");
	CHECK(bn_map_open(&m, a, &eb) == BN_OK && same_pattern(&m, n),
	      "the file holds every byte in order across the 2 MB blocks");
	CHECK((uintptr_t)m.base % BN_HUGE_PAGE == 0, "a mapping of 2 MB or more starts at a 2 MB boundary");
	bn_map_close(&m);

	{
		struct bn_out o;
		int rc = bn_out_open(&o, b, &eb);

		if (rc == BN_OK)
			rc = bn_out_write(&o, "partial", 7, &eb);
		bn_out_abort(&o);
		CHECK(rc == BN_OK && entries() == 1 && access(b, F_OK) != 0,
		      "abort removes the temp file and creates nothing");
	}

	{
		size_t sz = (3 << 20) + 100, i, nz = 0;
		uint8_t *h = bn_huge_alloc(sz);

		CHECK(h && (uintptr_t)h % BN_HUGE_PAGE == 0, "bn_huge_alloc starts at a 2 MB boundary");
		for (i = 0; h && i < sz; i++)
			nz += h[i] != 0;
		if (h)
			memset(h, 0xa5, sz);
		CHECK(h && nz == 0 && h[sz - 1] == 0xa5, "its memory is zeroed and writable to the last byte");
		bn_huge_free(h, sz);
		bn_huge_free(NULL, sz);
		CHECK(bn_huge_alloc(0) == NULL && bn_huge_alloc(SIZE_MAX - 100) == NULL,
		      "bn_huge_alloc refuses 0 bytes and sizes that overflow");
	}

	if (!huge_folios_possible(ctl)) {
		printf("ok %d - # SKIP no huge page-cache folios on this kernel or file system\n",
		       ++unit_n);
	} else {
		long kb = touched_pmd_kb(a, &size);
		long want = (long)(size / BN_OUT_BLOCK * BN_OUT_BLOCK >> 10);

		CHECK(kb == want, "a bn_out file is mapped in huge pages: %ld of %ld kB", kb, want);
	}
	unlink(a);
	unlink(ctl);
	rmdir(dir);
	return unit_done();
}
