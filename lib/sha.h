/* sha.h - SHA-256 and git blob SHA-1 digests (OpenSSL libcrypto EVP).
 *
 * Only bn-fetch links libcrypto; keep callers of these functions out of
 * objects that other programs pull from libbn.a.  A git blob id is the SHA-1
 * of "blob <decimal size>\0" followed by the bytes, so the size must be known
 * before the first byte is hashed. */
#ifndef BN_SHA_H
#define BN_SHA_H

#include <stdint.h>

#include "bn.h"

enum bn_hash_kind { BN_HASH_SHA256, BN_HASH_GITBLOB };

struct bn_hash {
	void *ctx;		/* EVP_MD_CTX */
	enum bn_hash_kind kind;
};

/* Start a digest; for BN_HASH_GITBLOB, size is the blob's full length.
 * Allocates; release with bn_hash_release(). */
int bn_hash_init(struct bn_hash *h, enum bn_hash_kind kind, uint64_t size,
		 struct bn_errbuf *eb);
int bn_hash_update(struct bn_hash *h, const void *p, size_t n);
/* Finish into hex (65 bytes for SHA-256, 41 for SHA-1, NUL-terminated). */
int bn_hash_final_hex(struct bn_hash *h, char *hex, size_t cap);
void bn_hash_release(struct bn_hash *h);	/* NULL-safe, idempotent */

/* Hash the first n bytes of an open file descriptor into h (from offset 0). */
int bn_hash_fd(struct bn_hash *h, int fd, uint64_t n, struct bn_errbuf *eb);

#endif
