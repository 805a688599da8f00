/* bench_out.h - benchmark records printed as llama-bench does: a markdown
 * table (md), CSV, one JSON array (json) or JSON Lines (jsonl).
 *
 * A record is a list of key/value fields with flags saying where each one
 * appears (md shows a readable subset, csv the scalar fields, json all).
 * Consecutive records of the same section form one md/csv table; md
 * titles it with the section text. */
#ifndef BN_BENCH_OUT_H
#define BN_BENCH_OUT_H

#include <stdio.h>

#include "bn.h"

enum bn_fmt { BN_FMT_MD, BN_FMT_CSV, BN_FMT_JSON, BN_FMT_JSONL };

#define BN_F_MD 1
#define BN_F_CSV 2
#define BN_F_JSON 4
#define BN_F_STR 8		/* a string (quoted in JSON); else a JSON number/array */
#define BN_F_ALL (BN_F_MD | BN_F_CSV | BN_F_JSON)
#define BN_F_DATA (BN_F_CSV | BN_F_JSON)
#define BN_REC_MAX 40

struct bn_field {
	const char *key;	/* static string */
	char *val;		/* owned */
	int flags;
};

struct bn_rec {
	const char *section;	/* static string */
	struct bn_field f[BN_REC_MAX];
	int n;
};

struct bn_recs {		/* zero-initialise; free with bn_recs_free */
	struct bn_rec *r;
	int n, cap, err;	/* err: BN_ENOMEM after a failed allocation */
};

struct bn_rec *bn_rec_new(struct bn_recs *rs, const char *section);
void bn_rec_add(struct bn_recs *rs, struct bn_rec *r, const char *key, int flags,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void bn_recs_free(struct bn_recs *rs);
void bn_recs_print(FILE *fp, enum bn_fmt fmt, const struct bn_recs *rs);
/* "md", "csv", "json", "jsonl"; BN_EINVAL otherwise. */
int bn_fmt_parse(const char *s, enum bn_fmt *out);

#endif
