/* batch.c - records in, results out (see batch.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "json.h"

struct bn_batch {
	struct bn_infer *r;
	struct bn_batch_opts o;
	struct bn_batch_stats st;
	char **keys;		/* --resume: sorted record keys */
	size_t nkeys;
	const char *where;	/* input name for messages */
	uint64_t lineno;
	struct bn_buf out;
};

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Record key: "i" + the id's compact JSON, or "#" + the record index. */
static char *make_key(const char *id_json, uint64_t index)
{
	char *k;

	if (id_json) {
		if ((k = malloc(strlen(id_json) + 2)))
			sprintf(k, "i%s", id_json);
	} else if ((k = malloc(24))) {
		snprintf(k, 24, "#%llu", (unsigned long long)index);
	}
	return k;
}

/* The id as JSON text: a number as written in the line s (every digit),
 * anything else as cJSON prints it.  NULL when out of memory. */
static char *id_text(const cJSON *id, const char *s, size_t n)
{
	size_t off, len;
	char *t;

	if (!cJSON_IsNumber(id) || !bn_json_raw_member(s, n, "id", &off, &len) ||
	    !bn_json_number_ok(s + off, len))
		return cJSON_PrintUnformatted(id);
	if ((t = malloc(len + 1))) {
		memcpy(t, s + off, len);
		t[len] = 0;
	}
	return t;
}

/* Keys of the records of a previous output that succeeded. */
static int load_resume(struct bn_batch *b, const char *path, struct bn_errbuf *eb)
{
	struct bn_reader *in;
	size_t cap = 0, n;
	char *line;
	int rc;

	BN_TRY(bn_reader_open(&in, path, eb));
	while ((rc = bn_reader_line(in, &line, &n, eb)) == 1) {
		cJSON *j = cJSON_ParseWithLength(line, n), *id, *ix;
		int ok = cJSON_IsObject(j) && !cJSON_GetObjectItemCaseSensitive(j, "error"),
		    want = 0;
		char *idj = NULL, *k = NULL;
		if (ok && (id = cJSON_GetObjectItemCaseSensitive(j, "id"))) {
			want = 1;
			if ((idj = id_text(id, line, n)))
				k = make_key(idj, 0);
		} else if (ok && cJSON_IsNumber(ix = cJSON_GetObjectItemCaseSensitive(j, "index")) &&
			   ix->valuedouble >= 0) {
			want = 1;
			k = make_key(NULL, (uint64_t)ix->valuedouble);
		}
		free(idj);
		cJSON_Delete(j);
		if (!k) {
			if (!want)
				continue;	/* a partial line, an error record: run it again */
			rc = bn_fail(eb, BN_ENOMEM, "out of memory");
			break;
		}
		if (b->nkeys == cap) {
			char **nk = realloc(b->keys, (cap = cap * 2 + 64) * sizeof(*nk));
			if (!nk) {
				free(k);
				rc = bn_fail(eb, BN_ENOMEM, "out of memory");
				break;
			}
			b->keys = nk;
		}
		b->keys[b->nkeys++] = k;
	}
	bn_reader_close(in);
	if (rc < 0)
		return rc;
	if (b->nkeys)
		qsort(b->keys, b->nkeys, sizeof(*b->keys), cmp_key);
	return BN_OK;
}

/* Appending to the --resume file itself after a killed run: start on a
 * fresh line if it ends in a partial one. */
static void fix_partial_line(struct bn_batch *b, const char *path)
{
	struct stat so, sr;
	char c = '\n';
	FILE *fp;

	if (fstat(fileno(b->r->out), &so) || stat(path, &sr) || !S_ISREG(so.st_mode) ||
	    so.st_dev != sr.st_dev || so.st_ino != sr.st_ino || !sr.st_size)
		return;
	if ((fp = fopen(path, "rb"))) {
		if (fseek(fp, -1, SEEK_END) || fread(&c, 1, 1, fp) != 1)
			c = '\n';
		fclose(fp);
	}
	if (c != '\n')
		fputc('\n', b->r->out);
}

int bn_batch_new(struct bn_batch **out, struct bn_infer *r, const struct bn_batch_opts *o,
		 struct bn_errbuf *eb)
{
	struct bn_batch *b = calloc(1, sizeof(*b));
	int rc;

	*out = NULL;
	if (!b)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	b->r = r;
	b->o = *o;
	b->st.t0 = bn_now_ms();
	if (o->resume) {
		if ((rc = load_resume(b, o->resume, eb)) < 0) {
			bn_batch_free(b);
			return rc;
		}
		fix_partial_line(b, o->resume);
	}
	*out = b;
	return BN_OK;
}

void bn_batch_free(struct bn_batch *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->nkeys; i++)
		free(b->keys[i]);
	free(b->keys);
	bn_buf_release(&b->out);
	free(b);
}

const struct bn_batch_stats *bn_batch_stats(const struct bn_batch *b)
{
	return &b->st;
}

/* ---- one record ---- */

struct rec {
	char *id_json;		/* compact JSON of "id", or NULL */
	uint64_t index;
	uint32_t stream;
	cJSON *j;
	const char *prompt;	/* text prompt, or NULL with messages */
	size_t plen;
	struct bn_chat_msg *msgs;
	int nmsgs;
};

static void rec_release(struct rec *c)
{
	free(c->id_json);
	free(c->msgs);
	cJSON_Delete(c->j);
}

/* Parse a JSON record: id, prompt or messages. */
static int parse_rec(struct rec *c, const char *line, size_t len, const char *system,
		     struct bn_errbuf *eb)
{
	const cJSON *id, *p, *m, *e;
	int i = 0, n;

	/* strict: UTF-8, nothing after the object, no duplicate keys; a line
	 * that is no JSON at all keeps the short message */
	if (!(c->j = bn_json_parse(line, len, 0, "record", eb))) {
		cJSON *lax = cJSON_ParseWithLength(line, len);
		int syntax = !lax;
		cJSON_Delete(lax);
		return syntax ? bn_fail(eb, BN_EFORMAT, "not a JSON object") : BN_EFORMAT;
	}
	if (!cJSON_IsObject(c->j))
		return bn_fail(eb, BN_EFORMAT, "not a JSON object");
	if ((id = cJSON_GetObjectItemCaseSensitive(c->j, "id"))) {
		if (!(c->id_json = id_text(id, line, len)))
			return bn_fail(eb, BN_ENOMEM, "out of memory");
		c->stream = (uint32_t)bn_hash_str(cJSON_IsString(id) ? id->valuestring : c->id_json);
	}
	if (cJSON_IsString(p = cJSON_GetObjectItemCaseSensitive(c->j, "prompt"))) {
		c->prompt = p->valuestring;
		c->plen = strlen(p->valuestring);
		return BN_OK;
	}
	if (!cJSON_IsArray(m = cJSON_GetObjectItemCaseSensitive(c->j, "messages")))
		return bn_fail(eb, BN_EFORMAT, "no \"prompt\" string or \"messages\" array");
	n = cJSON_GetArraySize(m);
	if (!(c->msgs = calloc((size_t)n + 1, sizeof(*c->msgs))))
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	cJSON_ArrayForEach(e, m) {
		const cJSON *ro = cJSON_GetObjectItemCaseSensitive(e, "role"),
			    *co = cJSON_GetObjectItemCaseSensitive(e, "content");
		if (!cJSON_IsString(ro) || !cJSON_IsString(co))
			return bn_fail(eb, BN_EFORMAT, "message %d has no \"role\" and \"content\" "
				       "strings", i);
		if (!i && system && strcmp(ro->valuestring, "system"))
			c->msgs[i++] = (struct bn_chat_msg){ "system", system };
		c->msgs[i++] = (struct bn_chat_msg){ ro->valuestring, co->valuestring };
	}
	c->nmsgs = i;
	if (!i)
		return bn_fail(eb, BN_EFORMAT, "no messages");
	return BN_OK;
}

static int rec_tokens(struct bn_batch *b, struct rec *c, int32_t **ids, size_t *n,
		      struct bn_errbuf *eb)
{
	struct bn_infer *r = b->r;

	if (c->msgs || b->o.chat) {
		struct bn_chat_msg m[2] = { { "system", b->o.system }, { "user", c->prompt } };
		int builtin;
		if (!r->tmpl)	/* "messages" without --chat */
			BN_TRY(bn_infer_chat_init(r, NULL, &builtin, eb));
		if (r->o.ids_in)
			return bn_fail(eb, BN_EINVAL, "chat prompts cannot be token ids");
		if (c->msgs)
			return bn_infer_chat_tokens(r, c->msgs, c->nmsgs, ids, n, eb);
		if (strlen(c->prompt) != c->plen)
			return bn_fail(eb, BN_EFORMAT, "prompt contains a NUL byte");
		return bn_infer_chat_tokens(r, b->o.system ? m : m + 1, b->o.system ? 2 : 1, ids, n,
					    eb);
	}
	return bn_infer_tokens(r, c->prompt, c->plen, r->o.tok_flags, ids, n, eb);
}

static int write_out(struct bn_batch *b, struct bn_errbuf *eb)
{
	FILE *fp = b->r->out;

	if (b->out.err)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	if ((b->out.n && fwrite(b->out.p, 1, b->out.n, fp) != b->out.n) || fflush(fp))
		return bn_fail(eb, BN_EIO, "write error: %s", strerror(errno));
	b->out.n = 0;
	return BN_OK;
}

static void json_head(struct bn_batch *b, const struct rec *c)
{
	if (c->id_json) {
		bn_buf_put(&b->out, "{\"id\":", 6);
		bn_buf_put(&b->out, c->id_json, strlen(c->id_json));
	} else {
		bn_buf_put(&b->out, "{\"index\":", 9);
		bn_buf_putu(&b->out, c->index);
	}
	bn_buf_putc(&b->out, ',');
}

/* Run one record: line (raw: a -p prompt, no escapes, no JSON), or, with
 * line NULL, a line over BN_INFER_LINE_MAX that the reader skipped.  A
 * record's own failure is reported, not returned. */
static int one(struct bn_batch *b, char *line, size_t len, int raw, struct bn_errbuf *eb)
{
	struct bn_infer *r = b->r;
	struct bn_errbuf e = { "" };
	struct rec c = { .index = b->st.records };
	int32_t *ids = NULL;
	size_t n = 0;
	int rc = line ? BN_OK : BN_ERANGE, shard;

	b->st.records++;
	shard = b->o.shard_n ? (int)(c.index % (uint64_t)b->o.shard_n) + 1 : 0;
	if (shard != (b->o.shard_n ? b->o.shard_k : 0))
		return BN_OK;
	c.stream = (uint32_t)c.index;
	if (!line) {
		snprintf(e.msg, sizeof(e.msg), "line longer than %zu bytes", BN_INFER_LINE_MAX);
	} else if (r->o.jsonl && !raw && len && line[0] == '{') {
		rc = parse_rec(&c, line, len, b->o.system, &e);
	} else {
		c.prompt = line;
		c.plen = len;
	}
	if (b->nkeys && rc >= 0) {
		char *k = make_key(c.id_json, c.index);
		int hit = k && bsearch(&k, b->keys, b->nkeys, sizeof(*b->keys), cmp_key);
		free(k);
		if (hit) {
			b->st.skipped++;
			rec_release(&c);
			return BN_OK;
		}
	}
	b->st.done++;
	if (rc >= 0 && (rc = rec_tokens(b, &c, &ids, &n, &e)) == BN_TOK_REPLACED && b->o.on_error) {
		char where[300];
		snprintf(where, sizeof(where), "%s:%llu", b->where, (unsigned long long)b->lineno);
		b->o.on_error(b->o.ctx, where, "input is not valid UTF-8; invalid bytes were "
			      "replaced by U+FFFD");
	}
	if (rc >= 0)
		rc = bn_infer_run(r, ids, n, c.stream, (c.msgs || b->o.chat ? BN_RUN_CHAT : 0) |
				  (raw ? 0 : BN_RUN_ESCAPE), &e);
	free(ids);
	if (r->write_err) {	/* the output itself failed: fatal */
		rec_release(&c);
		return bn_fail(eb, BN_EIO, "%s", e.msg);
	}
	if (rc >= 0) {
		int ng;
		bn_infer_ids(r, &ng);
		b->st.tokens += r->res.n_prompt + (uint64_t)ng;
	} else {
		char where[300];
		b->st.failed++;
		snprintf(where, sizeof(where), "%s:%llu", b->where, (unsigned long long)b->lineno);
		if (b->o.on_error)
			b->o.on_error(b->o.ctx, where, e.msg[0] ? e.msg : bn_strerror(rc));
	}
	if (r->o.jsonl && !r->o.logits) {
		json_head(b, &c);
		if (rc >= 0) {
			bn_infer_json(r, &b->out);
		} else {
			bn_buf_put(&b->out, "\"error\":", 8);
			bn_json_quote(&b->out, e.msg, strlen(e.msg));
		}
		bn_buf_put(&b->out, "}\n", 2);
	} else if (!r->o.logits) {
		bn_buf_putc(&b->out, '\n');
	}
	rec_release(&c);
	BN_TRY(write_out(b, eb));
	if (b->o.on_progress)
		b->o.on_progress(b->o.ctx, &b->st);
	return BN_OK;
}

int bn_batch_prompt(struct bn_batch *b, const char *text, size_t len, struct bn_errbuf *eb)
{
	char *copy = malloc(len + 1);
	int rc;

	if (!copy)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	memcpy(copy, text, len);
	copy[len] = 0;
	b->where = "prompt";
	b->lineno = 1;
	rc = one(b, copy, len, 1, eb);
	free(copy);
	return rc;
}

int bn_batch_run(struct bn_batch *b, struct bn_reader *in, struct bn_errbuf *eb)
{
	const char *name = bn_reader_name(in);
	char *line;
	size_t n;
	int rc;

	b->where = strcmp(name, "-") ? name : "standard input";
	bn_reader_set_limit(in, BN_INFER_LINE_MAX);
	while ((rc = bn_reader_line(in, &line, &n, eb)) == 1 || rc == BN_ERANGE) {
		b->lineno++;
		if (rc == BN_ERANGE) {	/* too long: skipped, an error record */
			BN_TRY(one(b, NULL, 0, 0, eb));
			continue;
		}
		if (n && line[n - 1] == '\r')
			line[--n] = 0;
		if (b->r->o.jsonl && strspn(line, " \t") == n)
			continue;	/* blank lines are no records */
		BN_TRY(one(b, line, n, 0, eb));
	}
	return rc;
}

/* ---- interactive chat ---- */

int bn_batch_interactive(struct bn_batch *b, FILE *in, FILE *pfp, const char *prompt,
			 struct bn_errbuf *eb)
{
	struct bn_infer *r = b->r;
	struct bn_chat_msg *m = NULL;
	char *line = NULL, **own = NULL;
	size_t cap = 0, nm = 0, no = 0;
	ssize_t len;
	int rc = BN_OK, turn = 0;

	if (!r->tmpl)
		return bn_fail(eb, BN_EINVAL, "interactive mode needs --chat");
	if (!(m = malloc(2 * sizeof(*m))))
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	if (b->o.system)
		m[nm++] = (struct bn_chat_msg){ "system", b->o.system };
	for (;;) {
		int32_t *ids = NULL;
		size_t n, tl;
		const char *t;
		void *p;
		if (pfp && prompt) {
			fputs(prompt, pfp);
			fflush(pfp);
		}
		if ((len = getline(&line, &cap, in)) < 0)
			break;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (!len)
			continue;
		if (!(p = realloc(m, (nm + 2) * sizeof(*m))) ||
		    !(m = p, p = realloc(own, (no + 2) * sizeof(*own)))) {
			rc = bn_fail(eb, BN_ENOMEM, "out of memory");
			break;
		}
		own = p;
		if (!(own[no++] = strdup(line))) {
			rc = bn_fail(eb, BN_ENOMEM, "out of memory");
			break;
		}
		m[nm++] = (struct bn_chat_msg){ "user", own[no - 1] };
		if ((rc = bn_infer_chat_tokens(r, m, (int)nm, &ids, &n, eb)) >= 0)
			rc = bn_infer_run(r, ids, n, (uint32_t)turn++, BN_RUN_KEEP | BN_RUN_CHAT, eb);
		free(ids);
		if (rc < 0)
			break;
		t = bn_infer_text(r, &tl);
		if (!(own[no++] = strdup(t))) {
			rc = bn_fail(eb, BN_ENOMEM, "out of memory");
			break;
		}
		m[nm++] = (struct bn_chat_msg){ "assistant", own[no - 1] };
		b->st.done++;
		b->st.tokens += r->res.n_eval;
		if (r->o.jsonl && !r->o.logits) {	/* {"turn":N,...} */
			bn_buf_put(&b->out, "{\"turn\":", 8);
			bn_buf_putu(&b->out, (unsigned long long)turn - 1);
			bn_buf_putc(&b->out, ',');
			bn_infer_json(r, &b->out);
			bn_buf_put(&b->out, "}\n", 2);
		} else if (!r->o.logits) {
			bn_buf_putc(&b->out, '\n');
		}
		if ((rc = write_out(b, eb)) < 0)
			break;
	}
	while (no)
		free(own[--no]);
	free(own);
	free(m);
	free(line);
	return rc;
}

/* ---- shards and progress ---- */

int bn_shard_parse(const char *s, int *k, int *n)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (*end != '/')
		return BN_EINVAL;
	b = strtol(end + 1, &end, 10);
	if (*end || errno || a < 1 || b < 1 || a > b || b > 1 << 30)
		return BN_EINVAL;
	*k = (int)a;
	*n = (int)b;
	return BN_OK;
}

int bn_shard_env(int *k, int *n)
{
	const char *id = getenv("SLURM_ARRAY_TASK_ID"), *cnt = getenv("SLURM_ARRAY_TASK_COUNT"),
		   *min = getenv("SLURM_ARRAY_TASK_MIN");
	char buf[64];

	if (!id || !cnt || !*id || !*cnt)
		return 0;
	snprintf(buf, sizeof(buf), "%lld/%s", atoll(id) - (min ? atoll(min) : 0) + 1, cnt);
	return bn_shard_parse(buf, k, n) < 0 ? BN_EINVAL : 1;
}

double bn_batch_count(const char *path, int jsonl, int k, int n)
{
	struct bn_errbuf eb;
	struct bn_reader *in;
	unsigned long long i = 0, mine = 0;
	size_t len;
	char *line;

	if (!path || !strcmp(path, "-") || bn_reader_open(&in, path, &eb) < 0)
		return 0;
	while (bn_reader_line(in, &line, &len, &eb) == 1) {
		if (jsonl && strspn(line, " \t\r") == len)
			continue;
		mine += !n || (int)(i % (unsigned)n) + 1 == k;
		i++;
	}
	bn_reader_close(in);
	return (double)mine;
}

void bn_batch_progress_text(const struct bn_batch_stats *st, double total, char *buf,
			    size_t cap)
{
	double ms = bn_now_ms() - st->t0, left = total - (double)(st->done + st->skipped);
	int n = snprintf(buf, cap, "%llu records", (unsigned long long)st->done);

	if (st->failed && n >= 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, " (%llu failed)",
			      (unsigned long long)st->failed);
	if (n >= 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, ", %.1f tokens/s",
			      ms > 0 ? (double)st->tokens * 1e3 / ms : 0.0);
	if (total > 0 && st->done && left > 0 && n >= 0 && (size_t)n < cap) {
		long s = (long)(left * ms / (double)st->done / 1e3);
		snprintf(buf + n, cap - (size_t)n, ", ETA %ld:%02ld:%02ld", s / 3600, s / 60 % 60,
			 s % 60);
	}
}

/* ---- escapes ---- */

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

size_t bn_unescape(char *s)
{
	static const char from[] = "ntr\\'\"abfv", to[] = "\n\t\r\\'\"\a\b\f\v";
	char *w = s, *r = s;

	while (*r) {
		const char *k;
		if (*r != '\\' || !r[1]) {
			*w++ = *r++;
			continue;
		}
		if ((k = strchr(from, r[1]))) {
			*w++ = to[k - from];
			r += 2;
		} else if (r[1] == 'x' && hexval(r[2]) >= 0 && hexval(r[3]) >= 0) {
			*w++ = (char)(hexval(r[2]) * 16 + hexval(r[3]));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
	return (size_t)(w - s);
}

int bn_escape_write(FILE *fp, const char *p, size_t n)
{
	size_t i, from = 0;

	for (i = 0; i < n; i++) {
		const char *e = p[i] == '\\' ? "\\\\" : p[i] == '\n' ? "\\n" :
				p[i] == '\r' ? "\\r" : NULL;
		if (!e)
			continue;
		if (fwrite(p + from, 1, i - from, fp) != i - from || fwrite(e, 1, 2, fp) != 2)
			return -1;
		from = i + 1;
	}
	return fwrite(p + from, 1, n - from, fp) == n - from ? 0 : -1;
}
