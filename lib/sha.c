/* sha.c - SHA-256 and git blob SHA-1 through OpenSSL EVP. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sha.h"

int bn_hash_init(struct bn_hash *h, enum bn_hash_kind kind, uint64_t size,
		 struct bn_errbuf *eb)
{
	const EVP_MD *md = kind == BN_HASH_SHA256 ? EVP_sha256() : EVP_sha1();
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	h->ctx = NULL;
	h->kind = kind;
	if (!c)
		return bn_fail(eb, BN_ENOMEM, "hash: out of memory");
	if (EVP_DigestInit_ex(c, md, NULL) != 1) {
		EVP_MD_CTX_free(c);
		return bn_fail(eb, BN_EUNSUP, "hash: digest not available");
	}
	if (kind == BN_HASH_GITBLOB) {
		char hdr[32];
		int n = snprintf(hdr, sizeof(hdr), "blob %" PRIu64, size);
		/* the header includes its terminating NUL */
		if (EVP_DigestUpdate(c, hdr, (size_t)n + 1) != 1) {
			EVP_MD_CTX_free(c);
			return bn_fail(eb, BN_EUNSUP, "hash: digest failed");
		}
	}
	h->ctx = c;
	return BN_OK;
}

int bn_hash_update(struct bn_hash *h, const void *p, size_t n)
{
	if (!n)
		return BN_OK;
	return EVP_DigestUpdate(h->ctx, p, n) == 1 ? BN_OK : BN_EINVAL;
}

int bn_hash_final_hex(struct bn_hash *h, char *hex, size_t cap)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (EVP_DigestFinal_ex(h->ctx, d, &n) != 1 || cap < 2 * (size_t)n + 1)
		return BN_EINVAL;
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return BN_OK;
}

void bn_hash_release(struct bn_hash *h)
{
	if (h && h->ctx) {
		EVP_MD_CTX_free(h->ctx);
		h->ctx = NULL;
	}
}

int bn_hash_fd(struct bn_hash *h, int fd, uint64_t n, struct bn_errbuf *eb)
{
	unsigned char buf[1 << 16];
	uint64_t off = 0;

	while (off < n) {
		size_t want = n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);
		ssize_t got = pread(fd, buf, want, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return bn_fail(eb, BN_EIO, "cannot read partial download: %s",
				       got < 0 ? strerror(errno) : "unexpected end of file");
		bn_hash_update(h, buf, (size_t)got);
		off += (uint64_t)got;
	}
	return BN_OK;
}
