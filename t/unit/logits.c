/* logits.c - logits frames: round trips in both formats, autodetection and
 * the reader's refusals of hostile streams. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "logits.h"
#include "unit.h"

static FILE *mem(const void *p, size_t n)
{
	FILE *fp = tmpfile();

	if (n)
		fwrite(p, 1, n, fp);
	rewind(fp);
	return fp;
}

/* Read every frame of fp; returns the last rc, the message in eb. */
static int read_all(FILE *fp, int fmt, int *frames, struct bn_errbuf *eb)
{
	struct bn_logits_reader r;
	struct bn_logits_frame f;
	int rc;

	*frames = 0;
	eb->msg[0] = 0;
	bn_logits_reader_init(&r, fp, "t", fmt);
	while ((rc = bn_logits_read_frame(&r, &f, eb)) == 1)
		(*frames)++;
	bn_logits_reader_release(&r);
	fclose(fp);
	return rc;
}

static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

static void test_round_trip(int fmt, const char *name)
{
	float a[5] = { 1.5f, -2.25f, 0.1f, 3.4028235e38f, -1e-30f }, b[5] = { NAN, 0, INFINITY, -INFINITY, 7 };
	struct bn_logits_reader r;
	struct bn_logits_frame f;
	struct bn_errbuf eb = { "" };
	FILE *fp = tmpfile();
	int rc;

	rc = bn_logits_write(fp, fmt, 3, 17, a, 5);
	if (rc == BN_OK)
		rc = bn_logits_write(fp, fmt, 4, 0, b, 5);
	CHECK(rc == BN_OK, "%s: two frames written", name);
	rewind(fp);
	bn_logits_reader_init(&r, fp, "t", BN_LOGITS_AUTO);
	rc = bn_logits_read_frame(&r, &f, &eb);
	CHECK(rc == 1 && r.fmt == fmt && f.rec == 3 && f.pos == 17 && f.n_vocab == 5 &&
	      !memcmp(f.logits, a, sizeof(a)) && f.n_nan == 0, "%s: first frame exact (%s)", name, eb.msg);
	rc = bn_logits_read_frame(&r, &f, &eb);
	CHECK(rc == 1 && f.rec == 4 && f.pos == 0 && f.logits[0] == -INFINITY && f.logits[1] == 0 &&
	      f.logits[4] == 7, "%s: second frame, NaN read as -inf", name);
	if (fmt == BN_LOGITS_F32)
		CHECK(f.n_nan == 1 && f.logits[2] == INFINITY && f.logits[3] == -INFINITY,
		      "%s: infinities kept, one NaN counted", name);
	else
		CHECK(f.n_nan == 3 && f.logits[2] == -INFINITY, "%s: nulls read as -inf and counted", name);
	rc = bn_logits_read_frame(&r, &f, &eb);
	CHECK(rc == 0 && r.frames == 2, "%s: clean end (rc %d, %llu frames)", name, rc, (unsigned long long)r.frames);
	bn_logits_reader_release(&r);
	fclose(fp);
}

static void test_hostile(void)
{
	unsigned char fr[16 + 8];
	struct bn_errbuf eb;
	int n, rc;

	le32(fr, BN_LOGITS_MAGIC);
	le32(fr + 4, 2);
	le32(fr + 8, 0);
	le32(fr + 12, 0);
	memset(fr + 16, 0, 8);
	rc = read_all(mem(fr, 24), BN_LOGITS_AUTO, &n, &eb);
	CHECK(rc == 0 && n == 1, "a good frame");
	rc = read_all(mem(fr, 0), BN_LOGITS_AUTO, &n, &eb);
	CHECK(rc == 0 && n == 0, "empty stream: no frames, no error");
	rc = read_all(mem(fr, 20), BN_LOGITS_AUTO, &n, &eb);
	CHECK(rc == BN_EFORMAT && strstr(eb.msg, "truncated logits"), "truncated logits: %s", eb.msg);
	rc = read_all(mem(fr, 10), BN_LOGITS_AUTO, &n, &eb);
	CHECK(rc == BN_EFORMAT && strstr(eb.msg, "truncated header"), "truncated header: %s", eb.msg);
	fr[1] = 'X';
	rc = read_all(mem(fr, 24), BN_LOGITS_F32, &n, &eb);
	CHECK(rc == BN_EFORMAT && strstr(eb.msg, "bad magic"), "bad magic: %s", eb.msg);
	rc = read_all(mem(fr, 24), BN_LOGITS_AUTO, &n, &eb);
	CHECK(rc == BN_EFORMAT && n == 0, "bad magic also when autodetected: %s", eb.msg);
	fr[1] = 'N';
	le32(fr + 4, 0);
	rc = read_all(mem(fr, 24), BN_LOGITS_AUTO, &n, &eb);
	CHECK(rc == BN_ERANGE && strstr(eb.msg, "n_vocab 0"), "n_vocab 0: %s", eb.msg);
	le32(fr + 4, (1u << 24) + 1);
	rc = read_all(mem(fr, 24), BN_LOGITS_AUTO, &n, &eb);
	CHECK(rc == BN_ERANGE, "n_vocab over 2^24: %s", eb.msg);

	unsigned char two[24 + 20];
	le32(fr + 4, 2);
	memcpy(two, fr, 24);
	memcpy(two + 24, fr, 16);
	le32(two + 28, 1);
	memset(two + 40, 0, 4);
	rc = read_all(mem(two, 44), BN_LOGITS_AUTO, &n, &eb);
	CHECK(rc == BN_EFORMAT && n == 1 && strstr(eb.msg, "frame 2: n_vocab 1 differs"), "changed n_vocab: %s", eb.msg);

	rc = read_all(mem("xyz", 3), BN_LOGITS_AUTO, &n, &eb);
	CHECK(rc == BN_EFORMAT && strstr(eb.msg, "not a logits stream"), "unknown first byte: %s", eb.msg);

	static const char *bad[] = {
		"{\"rec\":0,\"pos\":0,\"logits\":[1,2]\n",
		"{\"rec\":-1,\"pos\":0,\"logits\":[1]}\n",
		"{\"rec\":0.5,\"pos\":0,\"logits\":[1]}\n",
		"{\"rec\":0,\"logits\":[1]}\n",
		"{\"rec\":0,\"pos\":0,\"logits\":[1,\"x\"]}\n",
		"{\"rec\":0,\"pos\":0,\"logits\":[]}\n",
		"{\"rec\":0,\"pos\":0,\"logits\":{}}\n",
		"{\"rec\":0,\"pos\":0,\"logits\":[1]}\n{\"rec\":0,\"pos\":1,\"logits\":[1,2]}\n",
		"[1,2]\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = read_all(mem(bad[i], strlen(bad[i])), BN_LOGITS_AUTO, &n, &eb);
		CHECK(rc < 0 && eb.msg[0] == 't' && !strchr(eb.msg, '\n'), "bad jsonl %zu refused: %s", i, eb.msg);
	}
	const char *ok = "\n{\"rec\":1,\"pos\":2,\"logits\":[1,null]}\n\n{\"pos\":3,\"rec\":1,\"logits\":[0,1e3]}";
	rc = read_all(mem(ok, strlen(ok)), BN_LOGITS_AUTO, &n, &eb);
	CHECK(rc == 0 && n == 2,
	      "jsonl: blank lines skipped, last line without newline read (%s)", eb.msg);
	float x = 1;
	FILE *fp = tmpfile();
	rc = bn_logits_write(fp, BN_LOGITS_F32, 0, 0, &x, 0);
	n = bn_logits_write(fp, 7, 0, 0, &x, 1);
	CHECK(rc == BN_EINVAL && n == BN_EINVAL && ftell(fp) == 0, "writer refuses n_vocab 0 and unknown formats");
	fclose(fp);
}

int main(void)
{
	test_round_trip(BN_LOGITS_F32, "f32");
	test_round_trip(BN_LOGITS_JSONL, "jsonl");
	test_hostile();
	return unit_done();
}
