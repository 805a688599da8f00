/* bn.h - shared basics of libbn: error codes, the error context, helpers.
 *
 * The library never prints and never exits.  Functions return an enum bn_err
 * (BN_OK = 0, failures negative) and, where detail helps, fill the caller's
 * struct bn_errbuf with one line naming the object and the problem. */
#ifndef BN_H
#define BN_H

#include <stddef.h>
#include <stdint.h>

#ifndef BN_VERSION
#define BN_VERSION "0.0.0"
#endif

enum bn_err {
	BN_OK = 0,
	BN_EIO = -1,      /* read/write/open failed; errno kept in the message */
	BN_EFORMAT = -2,  /* malformed or inconsistent input file */
	BN_ENOMEM = -3,   /* allocation failed */
	BN_ERANGE = -4,   /* value out of range, size overflow, limit exceeded */
	BN_EINVAL = -5,   /* bad argument from the caller */
	BN_EUNSUP = -6,   /* valid input that bn does not support */
	BN_ENET = -7,     /* network / HTTP failure */
	BN_EVERIFY = -8,  /* checksum or size mismatch */
	BN_ENOENT = -9,   /* named thing (file, tensor, key, repo) not found */
};

/* Error context: the message names the object and the problem, e.g.
 * "model.safetensors: tensor 'x' ends past end of file". */
struct bn_errbuf {
	char msg[512];
};

const char *bn_strerror(int err);

/* Format into eb->msg (NULL-safe) and return code, so callers can write
 * return bn_fail(eb, BN_EFORMAT, "%s: bad magic", path); */
int bn_fail(struct bn_errbuf *eb, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define BN_TRY(expr) do { int bn_rc_ = (expr); if (bn_rc_ < 0) return bn_rc_; } while (0)
#define BN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define BN_MAX(a, b) ((a) > (b) ? (a) : (b))
#define BN_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Overflow-checked size arithmetic: return 0 and set *r, or -1 on overflow. */
static inline int bn_mul_ok(size_t a, size_t b, size_t *r)
{
	return __builtin_mul_overflow(a, b, r) ? -1 : 0;
}
static inline int bn_add_ok(size_t a, size_t b, size_t *r)
{
	return __builtin_add_overflow(a, b, r) ? -1 : 0;
}

/* Half-precision conversions (exact, portable). */
float bn_f16_to_f32(uint16_t h);
uint16_t bn_f32_to_f16(float f);    /* round to nearest even */
static inline float bn_bf16_to_f32(uint16_t b)
{
	union { uint32_t u; float f; } v = { .u = (uint32_t)b << 16 };
	return v.f;
}
uint16_t bn_f32_to_bf16(float f);   /* round to nearest even */

#endif
