/* hub.c - Hugging Face Hub downloads over libcurl, verified with libcrypto.
 *
 * Flow, as huggingface_hub's snapshot_download: resolve the revision to a
 * commit (/api/models/R/revision/REV), list the tree at that commit
 * (/api/models/R/tree/C?recursive=true, Link rel="next" pages), then per
 * file HEAD /R/resolve/C/PATH without following absolute redirects to read
 * X-Repo-Commit, X-Linked-Etag/ETag and X-Linked-Size/Content-Length, and
 * GET the Location (Authorization dropped when the host changes) into
 * blobs/<etag>.incomplete with Range resume.  The content is hashed while
 * it streams and renamed into blobs/<etag> only when size and hash match. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "file.h"
#include "hub.h"
#include "json.h"
#include "sha.h"

#define MAX_HOPS 5
#define API_LIMIT (64u << 20)	/* largest API response accepted */
#define ERRBODY_MAX 4096

struct bn_hub {
	CURL *curl;
	char *endpoint;		/* no trailing slash */
	char *token;
	char *cache;
	char *local_dir;
	int offline, retries;
	long backoff_ms, timeout_s;
	bn_hub_progress_fn progress;
	void *ud;
	uint64_t downloaded, all_done, all_size;
	size_t index, count;
	char ua[64];
};

/* ==== one HTTP exchange ==== */

struct sink;

struct resp {
	long status;
	char commit[48], etag[96], linked_etag[96];
	char errcode[64], errmsg[256];
	int64_t linked_size, content_length;
	long retry_after;
	int has_crange;
	uint64_t crange_start;
	char *location, *link_next;
	/* body: into buf (API calls, error bodies) or through the sink */
	char *buf;
	size_t len, cap, limit;
	int too_big;
	struct sink *sink;
};

static void resp_reset_headers(struct resp *r)
{
	r->status = 0;
	r->commit[0] = r->etag[0] = r->linked_etag[0] = 0;
	r->errcode[0] = r->errmsg[0] = 0;
	r->linked_size = r->content_length = -1;
	r->retry_after = -1;
	r->has_crange = 0;
	free(r->location);
	free(r->link_next);
	r->location = r->link_next = NULL;
}

static void resp_release(struct resp *r)
{
	free(r->location);
	free(r->link_next);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

static void copy_val(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = 0;
}

/* Link: <url>; rel="next", <url2>; rel="prev" */
static char *parse_link_next(const char *v, size_t n)
{
	const char *end = v + n, *p = v;

	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p)), *gt, *comma;
		if (!lt || !(gt = memchr(lt, '>', (size_t)(end - lt))))
			return NULL;
		comma = memchr(gt, ',', (size_t)(end - gt));
		if (!comma)
			comma = end;
		if (memmem(gt, (size_t)(comma - gt), "rel=\"next\"", 10) ||
		    memmem(gt, (size_t)(comma - gt), "rel=next", 8))
			return strndup(lt + 1, (size_t)(gt - lt - 1));
		p = comma + 1;
	}
	return NULL;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct resp *r = ud;
	size_t n = size * nmemb, k;
	const char *v;

	if (n >= 5 && !memcmp(data, "HTTP/", 5)) {
		const char *sp = memchr(data, ' ', n);
		resp_reset_headers(r);
		if (sp)
			r->status = strtol(sp + 1, NULL, 10);
		return n;
	}
	if (!(v = memchr(data, ':', n)))
		return n;
	k = (size_t)(v - data);
	v++;
	while (v < data + n && (*v == ' ' || *v == '\t'))
		v++;
	size_t vn = (size_t)(data + n - v);
	while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
		vn--;
#define IS(name) (k == sizeof(name) - 1 && !strncasecmp(data, name, k))
	if (IS("X-Repo-Commit"))
		copy_val(r->commit, sizeof(r->commit), v, vn);
	else if (IS("ETag"))
		copy_val(r->etag, sizeof(r->etag), v, vn);
	else if (IS("X-Linked-Etag"))
		copy_val(r->linked_etag, sizeof(r->linked_etag), v, vn);
	else if (IS("X-Error-Code"))
		copy_val(r->errcode, sizeof(r->errcode), v, vn);
	else if (IS("X-Error-Message"))
		copy_val(r->errmsg, sizeof(r->errmsg), v, vn);
	else if (IS("X-Linked-Size") || IS("Content-Length")) {
		char tmp[32], *end;
		long long x;
		copy_val(tmp, sizeof(tmp), v, vn);
		x = strtoll(tmp, &end, 10);
		if (end != tmp && !*end && x >= 0) {
			if (IS("X-Linked-Size"))
				r->linked_size = x;
			else
				r->content_length = x;
		}
	} else if (IS("Retry-After")) {
		char tmp[32], *end;
		long x;
		copy_val(tmp, sizeof(tmp), v, vn);
		x = strtol(tmp, &end, 10);
		if (end != tmp && x >= 0)
			r->retry_after = x > 3600 ? 3600 : x;
	} else if (IS("Location")) {
		free(r->location);
		r->location = strndup(v, vn);
	} else if (IS("Link")) {
		free(r->link_next);
		r->link_next = parse_link_next(v, vn);
	} else if (IS("Content-Range")) {
		/* bytes START-END/TOTAL */
		char tmp[96];
		copy_val(tmp, sizeof(tmp), v, vn);
		if (!strncmp(tmp, "bytes ", 6) && isdigit((unsigned char)tmp[6])) {
			r->crange_start = strtoull(tmp + 6, NULL, 10);
			r->has_crange = 1;
		}
	}
#undef IS
	return n;
}

/* Body bytes of a 2xx response go to the sink when there is one; anything
 * else is kept (bounded) in buf for error messages and API parsing. */
static size_t sink_write(struct sink *s, struct resp *r, const char *p, size_t n);

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct resp *r = ud;
	size_t n = size * nmemb;

	if (r->sink && r->status >= 200 && r->status < 300)
		return sink_write(r->sink, r, data, n);
	if (r->len + n > r->limit) {
		r->too_big = 1;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *b;
		while (cap < r->len + n + 1)
			cap *= 2;
		if (!(b = realloc(r->buf, cap)))
			return 0;
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	r->buf[r->len] = 0;
	return n;
}

/* scheme://host:port of url (lowercased host).  Allocates. */
static char *origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *s = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		char *c;
		for (c = host; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (asprintf(&s, "%s://%s:%s", scheme, host, port) < 0)
			s = NULL;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return s;
}

static int same_origin(const char *a, const char *b)
{
	char *oa = origin(a), *ob = origin(b);
	int same = oa && ob && !strcmp(oa, ob);

	free(oa);
	free(ob);
	return same;
}

/* Resolve a Location against the URL it came from.  Allocates. */
static char *resolve_url(const char *base, const char *loc)
{
	CURLU *u = curl_url();
	char *out = NULL, *s = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
		s = strdup(out);
	curl_free(out);
	curl_url_cleanup(u);
	return s;
}

static int is_absolute(const char *loc)
{
	return !strncasecmp(loc, "http://", 7) || !strncasecmp(loc, "https://", 8) ||
	       !strncmp(loc, "//", 2);
}

/* One request, no redirects followed.  Returns the curl result. */
static CURLcode perform(struct bn_hub *h, int head, const char *url, int auth,
			uint64_t range_from, struct resp *r)
{
	struct curl_slist *hdr = NULL;
	char line[96], *authline = NULL, range[48];
	CURLcode c;
	CURL *k = h->curl;

	resp_reset_headers(r);
	r->len = 0;
	r->too_big = 0;
	if (r->buf)
		r->buf[0] = 0;
	curl_easy_reset(k);
	hdr = curl_slist_append(hdr, "Accept-Encoding: identity");
	snprintf(line, sizeof(line), "User-Agent: %s", h->ua);
	hdr = curl_slist_append(hdr, line);
	if (auth && h->token && asprintf(&authline, "Authorization: Bearer %s", h->token) >= 0)
		hdr = curl_slist_append(hdr, authline);
	curl_easy_setopt(k, CURLOPT_URL, url);
	curl_easy_setopt(k, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, h->timeout_s);
	curl_easy_setopt(k, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(k, CURLOPT_LOW_SPEED_TIME, h->timeout_s);
	curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(k, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(k, CURLOPT_WRITEDATA, r);
	if (head)
		curl_easy_setopt(k, CURLOPT_NOBODY, 1L);
	if (range_from) {
		snprintf(range, sizeof(range), "%" PRIu64 "-", range_from);
		curl_easy_setopt(k, CURLOPT_RANGE, range);
	}
	c = curl_easy_perform(k);
	if (c == CURLE_OK || !r->status) {
		long st = 0;
		curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &st);
		if (st)
			r->status = st;
	}
	curl_slist_free_all(hdr);
	if (authline) {
		explicit_bzero(authline, strlen(authline));
		free(authline);
	}
	return c;
}

/* ==== retries and errors ==== */

static int retry_status(long s)
{
	return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static int retry_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT: case CURLE_SEND_ERROR: case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE: case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Back off before attempt number attempt (1-based); tell the caller why. */
static void backoff(struct bn_hub *h, int attempt, long retry_after, const char *why)
{
	long ms = h->backoff_ms << (attempt > 4 ? 3 : attempt - 1);

	if (retry_after >= 0)
		ms = (retry_after + 1) * h->backoff_ms;
	if (h->progress) {
		struct bn_hub_progress p = { .ev = BN_HUB_RETRY, .reason = why,
					     .wait_ms = ms, .attempt = attempt };
		h->progress(h->ud, &p);
	}
	sleep_ms(ms);
}

/* Printable, bounded copy of server text for messages. */
static void clean_text(char *dst, size_t cap, const char *s)
{
	size_t i = 0;

	for (; s && *s && i + 1 < cap; s++)
		dst[i++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
	dst[i] = 0;
}

/* An error response to a request about repo (and path or rev) as one line. */
static int status_error(const struct resp *r, const char *repo, const char *rev,
			const char *path, struct bn_errbuf *eb)
{
	char msg[256];

	clean_text(msg, sizeof(msg), r->errmsg);
	if (!msg[0] && r->buf && r->len) {
		cJSON *j = cJSON_ParseWithLength(r->buf, r->len);
		cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		if (cJSON_IsString(e))
			clean_text(msg, sizeof(msg), e->valuestring);
		cJSON_Delete(j);
	}
	if (!strcmp(r->errcode, "GatedRepo"))
		return bn_fail(eb, BN_ENOENT, "access to repository '%s' is restricted: "
			       "request access on the Hub and pass a token", repo);
	if (!strcmp(r->errcode, "RepoNotFound") ||
	    (r->status == 401 && !strstr(msg, "Invalid credentials") && !r->errcode[0]))
		return bn_fail(eb, BN_ENOENT, "repository '%s' not found "
			       "(if it is private or gated, set HF_TOKEN or use --token)", repo);
	if (!strcmp(r->errcode, "RevisionNotFound"))
		return bn_fail(eb, BN_ENOENT, "revision '%s' not found in repository '%s'",
			       rev ? rev : "?", repo);
	if (!strcmp(r->errcode, "EntryNotFound"))
		return bn_fail(eb, BN_ENOENT, "file '%s' not found in repository '%s'",
			       path ? path : "?", repo);
	if (r->status == 401)
		return bn_fail(eb, BN_ENET, "invalid credentials for repository '%s' "
			       "(check HF_TOKEN or --token)", repo);
	if (r->status == 403)
		return bn_fail(eb, BN_ENET, "access to repository '%s' denied: "
			       "the token lacks permission%s%s", repo, msg[0] ? ": " : "", msg);
	if (r->status == 416)
		return bn_fail(eb, BN_ENET, "'%s': requested range not satisfiable",
			       path ? path : repo);
	return bn_fail(eb, BN_ENET, "'%s%s%s': HTTP %ld%s%s", repo, path ? "/" : "",
		       path ? path : "", r->status, msg[0] ? ": " : "", msg);
}

static int curl_error(CURLcode c, const char *url, struct bn_errbuf *eb)
{
	char *o = origin(url);
	int rc = bn_fail(eb, BN_ENET, "cannot reach '%s': %s", o ? o : "server",
			 curl_easy_strerror(c));
	free(o);
	return rc;
}

/* GET (or HEAD) with retries, following relative and same-origin redirects
 * (keeping Authorization).  With stop_at_absolute, an absolute redirect to
 * another origin is returned as is; *final gets the last URL.  Returns
 * BN_OK with r->status < 400, or an error in eb. */
static int request(struct bn_hub *h, int head, const char *url0, int stop_at_absolute,
		   struct resp *r, char **final, const char *repo, const char *rev,
		   const char *path, struct bn_errbuf *eb)
{
	char *url = strdup(url0);
	int hops = 0, attempt = 0, rc;

	if (!url)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	for (;;) {
		int auth = same_origin(url, h->endpoint);
		CURLcode c = perform(h, head, url, auth, 0, r);
		if (c != CURLE_OK && !(c == CURLE_WRITE_ERROR && r->too_big) && retry_curl(c)) {
			if (++attempt > h->retries) {
				rc = curl_error(c, url, eb);
				break;
			}
			backoff(h, attempt, -1, curl_easy_strerror(c));
			continue;
		}
		if (r->too_big) {
			rc = bn_fail(eb, BN_ERANGE, "'%s': response too large", repo);
			break;
		}
		if (c != CURLE_OK) {
			rc = curl_error(c, url, eb);
			break;
		}
		if (retry_status(r->status)) {
			char why[32];
			if (++attempt > h->retries) {
				rc = status_error(r, repo, rev, path, eb);
				break;
			}
			snprintf(why, sizeof(why), "HTTP %ld", r->status);
			backoff(h, attempt, r->status == 429 ? r->retry_after : -1, why);
			continue;
		}
		if (r->status >= 300 && r->status < 400 && r->location) {
			char *next;
			if (++hops > MAX_HOPS) {
				rc = bn_fail(eb, BN_ENET, "'%s': too many redirects", repo);
				break;
			}
			if (!(next = resolve_url(url, r->location))) {
				rc = bn_fail(eb, BN_ENET, "'%s': bad redirect", repo);
				break;
			}
			if (stop_at_absolute && is_absolute(r->location) &&
			    !same_origin(next, h->endpoint)) {
				free(next);
				rc = BN_OK;
				break;
			}
			free(url);
			url = next;
			continue;
		}
		if (r->status >= 400 || r->status < 200) {
			rc = status_error(r, repo, rev, path, eb);
			break;
		}
		rc = BN_OK;
		break;
	}
	if (rc == BN_OK && final) {
		*final = url;
		url = NULL;
	}
	free(url);
	return rc;
}

/* ==== handle ==== */

int bn_hub_open(struct bn_hub **hp, const struct bn_hub_opts *o, struct bn_errbuf *eb)
{
	struct bn_hub *h = calloc(1, sizeof(*h));
	const char *ep = o->endpoint ? o->endpoint : getenv("HF_ENDPOINT");
	size_t n;

	*hp = NULL;
	if (!h)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	if (!ep || !*ep)
		ep = "https://huggingface.co";
	h->endpoint = strdup(ep);
	h->token = o->token && *o->token ? strdup(o->token) : NULL;
	h->cache = o->cache_dir ? strdup(o->cache_dir) : bn_hf_cache_dir();
	h->local_dir = o->local_dir ? strdup(o->local_dir) : NULL;
	if (!h->endpoint || !h->cache || (o->token && *o->token && !h->token) ||
	    (o->local_dir && !h->local_dir)) {
		bn_hub_close(h);
		return bn_fail(eb, BN_EINVAL, "cannot determine the cache directory "
			       "(set HF_HUB_CACHE or HF_HOME)");
	}
	n = strlen(h->endpoint);
	while (n && h->endpoint[n - 1] == '/')
		h->endpoint[--n] = 0;
	if (strncmp(h->endpoint, "http://", 7) && strncmp(h->endpoint, "https://", 8)) {
		bn_fail(eb, BN_EINVAL, "invalid endpoint '%.200s' (expected http:// or https://)",
			h->endpoint);
		bn_hub_close(h);
		return BN_EINVAL;
	}
	if (o->offline && h->local_dir) {
		bn_hub_close(h);
		return bn_fail(eb, BN_EUNSUP, "offline mode reads the cache and cannot be "
			       "combined with --local-dir");
	}
	h->offline = o->offline;
	h->retries = o->retries < 0 ? 5 : o->retries;
	h->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 1000;
	h->timeout_s = o->timeout_s > 0 ? o->timeout_s : 10;
	h->progress = o->progress;
	h->ud = o->ud;
	snprintf(h->ua, sizeof(h->ua), "bn-fetch/%s", BN_VERSION);
	if (!h->offline) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(h->curl = curl_easy_init())) {
			bn_hub_close(h);
			return bn_fail(eb, BN_ENET, "cannot initialise libcurl");
		}
	}
	*hp = h;
	return BN_OK;
}

void bn_hub_close(struct bn_hub *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	if (h->token) {
		explicit_bzero(h->token, strlen(h->token));
		free(h->token);
	}
	free(h->endpoint);
	free(h->cache);
	free(h->local_dir);
	free(h);
}

uint64_t bn_hub_downloaded(const struct bn_hub *h)
{
	return h->downloaded;
}

/* Percent-encode s; keep '/' when keep_slash.  Allocates. */
static char *escape(struct bn_hub *h, const char *s, int keep_slash)
{
	size_t n = strlen(s), i, k = 0;
	char *out = malloc(3 * n + 1);
	static const char hex[] = "0123456789ABCDEF";

	(void)h;
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
		    (keep_slash && c == '/')) {
			out[k++] = (char)c;
		} else {
			out[k++] = '%';
			out[k++] = hex[c >> 4];
			out[k++] = hex[c & 15];
		}
	}
	out[k] = 0;
	return out;
}

/* ==== resolve and list ==== */

int bn_hub_resolve(struct bn_hub *h, const char *repo, const char *rev,
		   char commit[41], struct bn_errbuf *eb)
{
	struct resp r = { .limit = API_LIMIT };
	char *url = NULL, *erev;
	cJSON *j = NULL, *sha;
	int rc;

	BN_TRY(bn_hf_check_repo(repo, eb));
	BN_TRY(bn_hf_check_rev(rev, eb));
	if (h->offline) {
		char *dir = bn_hf_repo_dir(h->cache, repo), *snap = NULL;
		struct stat st;
		if (!dir)
			return bn_fail(eb, BN_ENOMEM, "out of memory");
		rc = bn_hf_read_ref(dir, rev, commit, eb);
		if (rc == BN_OK && (asprintf(&snap, "%s/snapshots/%s", dir, commit) < 0 ||
				    stat(snap, &st) < 0))
			rc = bn_fail(eb, BN_ENOENT, "revision '%s' of '%s' is not in the cache "
				     "(offline mode)", rev, repo);
		else if (rc < 0)
			rc = bn_fail(eb, rc, "revision '%s' of '%s' is not in the cache "
				     "(offline mode)", rev, repo);
		free(snap);
		free(dir);
		return rc;
	}
	if (!(erev = escape(h, rev, 0)))
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	if (asprintf(&url, "%s/api/models/%s/revision/%s", h->endpoint, repo, erev) < 0)
		url = NULL;
	free(erev);
	if (!url)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	rc = request(h, 0, url, 0, &r, NULL, repo, rev, NULL, eb);
	if (rc == BN_OK) {
		struct bn_errbuf jeb;
		j = bn_json_parse(r.buf ? r.buf : "", r.len, 0, repo, &jeb);
		sha = cJSON_GetObjectItemCaseSensitive(j, "sha");
		if (!cJSON_IsString(sha) || !bn_hf_is_commit(sha->valuestring))
			rc = bn_fail(eb, BN_EFORMAT, "'%s': revision info without a commit id", repo);
		else
			memcpy(commit, sha->valuestring, 41);
	}
	cJSON_Delete(j);
	resp_release(&r);
	free(url);
	return rc;
}

static int hex_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[n] == 0;
}

static int parse_tree(const char *repo, const char *buf, size_t len, struct bn_hub_list *l,
		      struct bn_errbuf *eb)
{
	struct bn_errbuf jeb;	/* strict JSON: a listing with duplicate keys is refused */
	cJSON *j = bn_json_parse(buf, len, 0, repo, &jeb), *it;
	int rc = BN_OK;

	if (!cJSON_IsArray(j)) {
		cJSON_Delete(j);
		return bn_fail(eb, BN_EFORMAT, "'%s': malformed tree listing", repo);
	}
	cJSON_ArrayForEach(it, j) {
		cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
		cJSON *path = cJSON_GetObjectItemCaseSensitive(it, "path");
		cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "size");
		cJSON *oid = cJSON_GetObjectItemCaseSensitive(it, "oid");
		cJSON *lfs = cJSON_GetObjectItemCaseSensitive(it, "lfs");
		cJSON *loid = cJSON_GetObjectItemCaseSensitive(lfs, "oid");
		cJSON *lsize = cJSON_GetObjectItemCaseSensitive(lfs, "size");
		const char *sha = NULL, *o = NULL;
		double sz;

		if (!cJSON_IsString(type) || !cJSON_IsString(path)) {
			rc = bn_fail(eb, BN_EFORMAT, "'%s': malformed tree entry", repo);
			break;
		}
		if (strcmp(type->valuestring, "file"))
			continue;
		if (cJSON_IsString(oid) && strlen(oid->valuestring) == 40 &&
		    hex_ok(oid->valuestring, 40))
			o = oid->valuestring;
		if (cJSON_IsString(loid) && strlen(loid->valuestring) == 64 &&
		    hex_ok(loid->valuestring, 64))
			sha = loid->valuestring;
		sz = cJSON_IsNumber(lsize) ? lsize->valuedouble :
		     cJSON_IsNumber(size) ? size->valuedouble : -1;
		if (lfs && !sha) {
			rc = bn_fail(eb, BN_EFORMAT, "'%s': tree entry '%.200s' has a bad LFS id",
				     repo, path->valuestring);
			break;
		}
		if (sz < 0 || sz > 9.0e15) {
			rc = bn_fail(eb, BN_EFORMAT, "'%s': tree entry '%.200s' has a bad size",
				     repo, path->valuestring);
			break;
		}
		if ((rc = bn_hub_list_add(l, path->valuestring, (uint64_t)sz, o, sha, eb)) < 0)
			break;
	}
	cJSON_Delete(j);
	return rc;
}

int bn_hub_list(struct bn_hub *h, const char *repo, const char *commit,
		struct bn_hub_list *l, struct bn_errbuf *eb)
{
	struct resp r = { .limit = API_LIMIT };
	char *url = NULL;
	int rc = BN_OK, pages = 0;

	memset(l, 0, sizeof(*l));
	BN_TRY(bn_hf_check_repo(repo, eb));
	if (!bn_hf_is_commit(commit))
		return bn_fail(eb, BN_EINVAL, "'%s' is not a commit id", commit);
	if (h->offline) {
		char *dir = bn_hf_repo_dir(h->cache, repo), *snap = NULL;
		if (!dir || asprintf(&snap, "%s/snapshots/%s", dir, commit) < 0)
			rc = bn_fail(eb, BN_ENOMEM, "out of memory");
		else
			rc = bn_hf_list_snapshot(snap, l, eb);
		if (!dir)
			snap = NULL;
		free(snap);
		free(dir);
		return rc;
	}
	if (asprintf(&url, "%s/api/models/%s/tree/%s?recursive=true", h->endpoint, repo,
		     commit) < 0)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	while (url) {
		char *next;
		if (++pages > 100000) {
			rc = bn_fail(eb, BN_ERANGE, "'%s': too many listing pages", repo);
			break;
		}
		if ((rc = request(h, 0, url, 0, &r, NULL, repo, commit, NULL, eb)) < 0)
			break;
		if ((rc = parse_tree(repo, r.buf ? r.buf : "", r.len, l, eb)) < 0)
			break;
		next = r.link_next ? resolve_url(url, r.link_next) : NULL;
		if (next && !same_origin(next, h->endpoint)) {
			free(next);
			rc = bn_fail(eb, BN_EFORMAT, "'%s': listing page on another host", repo);
			break;
		}
		free(url);
		url = next;
	}
	free(url);
	resp_release(&r);
	if (rc < 0)
		bn_hub_list_release(l);
	return rc;
}

/* ==== where files go ==== */

char *bn_hub_dest(struct bn_hub *h, const char *repo, const char *commit)
{
	char *dir, *s = NULL;

	if (h->local_dir)
		return strdup(h->local_dir);
	if (!(dir = bn_hf_repo_dir(h->cache, repo)))
		return NULL;
	if (asprintf(&s, "%s/snapshots/%s", dir, commit) < 0)
		s = NULL;
	free(dir);
	return s;
}

static const char *want_etag(const struct bn_hub_file *f)
{
	return f->sha256[0] ? f->sha256 : f->oid;
}

/* Local-dir bookkeeping: <dir>/.cache/huggingface/download/<path>.<suffix> */
static char *ld_meta(struct bn_hub *h, const char *path, const char *suffix)
{
	char *s = NULL;

	if (asprintf(&s, "%s/.cache/huggingface/download/%s%s", h->local_dir, path, suffix) < 0)
		return NULL;
	return s;
}

static int ld_cached(struct bn_hub *h, const struct bn_hub_file *f)
{
	char *dst = NULL, *meta = ld_meta(h, f->path, ".metadata"), *buf = NULL;
	struct stat st;
	struct bn_errbuf eb;
	int ok = 0;

	if (meta && asprintf(&dst, "%s/%s", h->local_dir, f->path) >= 0 &&
	    stat(dst, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == f->size &&
	    bn_read_file(meta, 4096, &buf, NULL, &eb) == 0) {
		/* commit \n etag \n time */
		char *nl = strchr(buf, '\n');
		ok = nl && !strncmp(nl + 1, want_etag(f), strlen(want_etag(f))) &&
		     nl[1 + strlen(want_etag(f))] == '\n';
	}
	free(buf);
	free(meta);
	free(dst);
	return ok;
}

int bn_hub_plan(struct bn_hub *h, const char *repo, const char *commit,
		struct bn_hub_list *l, struct bn_errbuf *eb)
{
	char *dest = bn_hub_dest(h, repo, commit);
	size_t i;
	int rc = BN_OK;

	if (!dest)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	for (i = 0; i < l->n && rc == BN_OK; i++) {
		struct bn_hub_file *f = &l->v[i];
		char *p = NULL;
		struct stat st;
		if (h->offline) {	/* bn_hf_list_snapshot saw which have blobs */
			if (!f->cached)
				rc = bn_fail(eb, BN_ENOENT, "cached file '%s/%s' is missing its "
					     "blob (incomplete download?)", dest, f->path);
			continue;
		}
		if (h->local_dir) {
			f->cached = ld_cached(h, f);
			continue;
		}
		if (asprintf(&p, "%s/%s", dest, f->path) < 0) {
			free(dest);
			return bn_fail(eb, BN_ENOMEM, "out of memory");
		}
		f->cached = stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
			    (uint64_t)st.st_size == f->size;
		free(p);
	}
	free(dest);
	return rc;
}

/* ==== streaming a file into place ==== */

struct sink {
	struct bn_hub *h;
	const struct bn_hub_file *f;
	int fd;
	uint64_t off;		/* bytes in the file (and in the hash) */
	uint64_t range_from;	/* what this request asked for */
	uint64_t got;		/* body bytes this request */
	int started, overflow, ioerr, badrange;
	struct bn_hash hash;
	enum bn_hash_kind kind;
	struct bn_errbuf *eb;
};

static int sink_restart(struct sink *s)
{
	bn_hash_release(&s->hash);
	if (ftruncate(s->fd, 0) < 0)
		return BN_EIO;
	s->off = 0;
	return bn_hash_init(&s->hash, s->kind, s->f->size, s->eb);
}

static void report(struct bn_hub *h, enum bn_hub_event ev, const struct bn_hub_file *f,
		   uint64_t done)
{
	struct bn_hub_progress p = {
		.ev = ev, .path = f->path, .done = done, .size = f->size,
		.all_done = h->all_done, .all_size = h->all_size,
		.index = h->index, .count = h->count,
	};
	if (h->progress)
		h->progress(h->ud, &p);
}

static size_t sink_write(struct sink *s, struct resp *r, const char *p, size_t n)
{
	size_t w = 0;

	if (!s->started) {
		s->started = 1;
		if (r->status == 206) {
			if (!r->has_crange || r->crange_start != s->range_from) {
				s->badrange = 1;
				return 0;
			}
		} else if (s->off > 0) {
			/* the server ignored Range: start over */
			s->h->all_done -= s->off;
			if (sink_restart(s) < 0) {
				s->ioerr = 1;
				return 0;
			}
		}
	}
	if (s->off + n > s->f->size) {
		s->overflow = 1;
		return 0;
	}
	while (w < n) {
		ssize_t k = pwrite(s->fd, p + w, n - w, (off_t)(s->off + w));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			s->ioerr = errno ? errno : EIO;
			return 0;
		}
		w += (size_t)k;
	}
	bn_hash_update(&s->hash, p, n);
	s->off += n;
	s->got += n;
	s->h->downloaded += n;
	s->h->all_done += n;
	report(s->h, BN_HUB_FILE_PROGRESS, s->f, s->off);
	return n;
}

/* Metadata of one file: HEAD on /resolve/<commit>/<path>.  *url receives the
 * download URL (allocated). */
static int head_meta(struct bn_hub *h, const char *repo, const char *commit,
		     const struct bn_hub_file *f, char **url, struct bn_errbuf *eb)
{
	struct resp r = { .limit = ERRBODY_MAX };
	char *epath = escape(h, f->path, 1), *u = NULL, *fin = NULL, etag[96];
	const char *e;
	int64_t size;
	int rc;

	*url = NULL;
	if (!epath || asprintf(&u, "%s/%s/resolve/%s/%s", h->endpoint, repo, commit, epath) < 0) {
		free(epath);
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	}
	free(epath);
	rc = request(h, 1, u, 1, &r, &fin, repo, commit, f->path, eb);
	free(u);
	if (rc < 0)
		goto out;
	if (!r.commit[0]) {
		rc = bn_fail(eb, BN_ENET, "'%s/%s': not a Hub response (no X-Repo-Commit; "
			     "a proxy or firewall in the way?)", repo, f->path);
		goto out;
	}
	if (strcmp(r.commit, commit)) {
		rc = bn_fail(eb, BN_EVERIFY, "'%s/%s': server answered for another commit",
			     repo, f->path);
		goto out;
	}
	/* etag: X-Linked-Etag, else ETag, without W/ and quotes */
	e = r.linked_etag[0] ? r.linked_etag : r.etag;
	if (!strncmp(e, "W/", 2))
		e += 2;
	clean_text(etag, sizeof(etag), e[0] == '"' ? e + 1 : e);
	if (etag[0] && etag[strlen(etag) - 1] == '"')
		etag[strlen(etag) - 1] = 0;
	size = r.linked_size >= 0 ? r.linked_size :
	       r.status >= 300 ? -1 : r.content_length;
	if (!etag[0] || size < 0) {
		rc = bn_fail(eb, BN_ENET, "'%s/%s': server sent no %s", repo, f->path,
			     etag[0] ? "file size" : "ETag");
		goto out;
	}
	if (strcmp(etag, want_etag(f)) || (uint64_t)size != f->size) {
		rc = bn_fail(eb, BN_EVERIFY, "'%s/%s': file metadata does not match the "
			     "listing (size or hash)", repo, f->path);
		goto out;
	}
	if (r.status >= 300 && r.location) {
		/* request() stopped at a redirect to another host: follow it
		 * for the download, without the token */
		*url = resolve_url(fin, r.location);
	} else {
		*url = fin;
		fin = NULL;
	}
	if (!*url)
		rc = bn_fail(eb, BN_ENOMEM, "out of memory");
out:
	free(fin);
	resp_release(&r);
	return rc;
}

/* GET url into fd (already holding s->off verified-prefix bytes), resuming
 * with Range after drops.  Returns BN_OK when all bytes arrived. */
static int get_body(struct bn_hub *h, const char *repo, const char *url0, struct sink *s,
		    struct bn_errbuf *eb)
{
	struct resp r = { .limit = ERRBODY_MAX, .sink = s };
	char *url = strdup(url0);
	int attempt = 0, hops = 0, rc;

	if (!url)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	for (;;) {
		CURLcode c;
		if (s->off == s->f->size) {
			rc = BN_OK;
			break;
		}
		s->started = s->overflow = s->ioerr = s->badrange = 0;
		s->got = 0;
		s->range_from = s->off;
		c = perform(h, 0, url, same_origin(url, h->endpoint), s->off, &r);
		if (s->overflow) {
			rc = bn_fail(eb, BN_EVERIFY, "'%s/%s': server sent more than %" PRIu64
				     " bytes", repo, s->f->path, s->f->size);
			break;
		}
		if (s->ioerr) {
			rc = bn_fail(eb, BN_EIO, "cannot write download of '%s': %s",
				     s->f->path, strerror(s->ioerr));
			break;
		}
		if (s->badrange) {
			rc = bn_fail(eb, BN_ENET, "'%s/%s': server answered a different range",
				     repo, s->f->path);
			break;
		}
		if (c == CURLE_OK && r.status >= 300 && r.status < 400 && r.location) {
			char *next = resolve_url(url, r.location);
			if (!next || ++hops > MAX_HOPS) {
				free(next);
				rc = bn_fail(eb, BN_ENET, "'%s/%s': bad or too many redirects",
					     repo, s->f->path);
				break;
			}
			free(url);
			url = next;
			continue;
		}
		if (c == CURLE_OK && r.status >= 200 && r.status < 300 && s->off == s->f->size) {
			rc = BN_OK;
			break;
		}
		if (c == CURLE_OK && r.status >= 400 && !retry_status(r.status)) {
			rc = status_error(&r, repo, NULL, s->f->path, eb);
			break;
		}
		/* dropped connection, short body, 408/429/5xx: back off, resume */
		if (c != CURLE_OK && !retry_curl(c)) {
			rc = curl_error(c, url, eb);
			break;
		}
		if (++attempt > h->retries) {
			if (c != CURLE_OK)
				rc = bn_fail(eb, BN_ENET, "'%s/%s': download failed after %" PRIu64
					     " of %" PRIu64 " bytes: %s", repo, s->f->path, s->off,
					     s->f->size, curl_easy_strerror(c));
			else if (r.status >= 400)
				rc = status_error(&r, repo, NULL, s->f->path, eb);
			else
				rc = bn_fail(eb, BN_ENET, "'%s/%s': connection closed after %" PRIu64
					     " of %" PRIu64 " bytes", repo, s->f->path, s->off,
					     s->f->size);
			break;
		}
		{
			char why[64];
			if (c != CURLE_OK)
				snprintf(why, sizeof(why), "%s", curl_easy_strerror(c));
			else if (r.status >= 400)
				snprintf(why, sizeof(why), "HTTP %ld", r.status);
			else
				snprintf(why, sizeof(why), "short read");
			backoff(h, attempt, c == CURLE_OK && r.status == 429 ? r.retry_after : -1,
				why);
		}
	}
	free(url);
	resp_release(&r);
	return rc;
}

static int lock_file(const char *path, struct bn_errbuf *eb)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0)
		return bn_fail(eb, BN_EIO, "cannot open lock '%s': %s", path, strerror(errno));
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		/* flock unsupported (some network file systems): go on
		 * without it; per-process temp files keep this safe */
		close(fd);
		return -1 - 1000;
	}
	return fd;
}

/* Download one file to final (through incomplete), verified. */
static int fetch_one(struct bn_hub *h, const char *repo, const char *commit,
		     const struct bn_hub_file *f, const char *incomplete0, const char *final,
		     const char *lockpath, struct bn_errbuf *eb)
{
	struct sink s = { .h = h, .f = f, .fd = -1, .eb = eb };
	char *url = NULL, *incomplete = NULL, hex[72];
	int lockfd, rc, tries;
	struct stat st;

	s.kind = f->sha256[0] ? BN_HASH_SHA256 : BN_HASH_GITBLOB;
	if ((rc = bn_hf_mkparent(lockpath, eb)) < 0)
		return rc;
	lockfd = lock_file(lockpath, eb);
	if (lockfd < 0 && lockfd != -1 - 1000)
		return lockfd;
	/* unlocked: a private temp file, no cross-run resume */
	if (lockfd < 0) {
		if (asprintf(&incomplete, "%s.%ld", incomplete0, (long)getpid()) < 0)
			incomplete = NULL;
	} else {
		incomplete = strdup(incomplete0);
	}
	if (!incomplete) {
		rc = bn_fail(eb, BN_ENOMEM, "out of memory");
		goto out;
	}
	/* another process may have finished it while we waited */
	if (h->local_dir ? ld_cached(h, f) :
	    stat(final, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == f->size) {
		rc = BN_OK;
		goto out;
	}
	if ((rc = head_meta(h, repo, commit, f, &url, eb)) < 0)
		goto out;
	if ((s.fd = open(incomplete, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 ||
	    fstat(s.fd, &st) < 0) {
		rc = bn_fail(eb, BN_EIO, "cannot open '%s': %s", incomplete, strerror(errno));
		goto out;
	}
	for (tries = 0; tries < 2; tries++) {
		s.off = (uint64_t)st.st_size;
		if (s.off > f->size || tries) {
			if (ftruncate(s.fd, 0) < 0) {
				rc = bn_fail(eb, BN_EIO, "cannot truncate '%s'", incomplete);
				goto out;
			}
			s.off = 0;
		}
		bn_hash_release(&s.hash);
		if ((rc = bn_hash_init(&s.hash, s.kind, f->size, eb)) < 0 ||
		    (rc = bn_hash_fd(&s.hash, s.fd, s.off, eb)) < 0)
			goto out;
		h->all_done += s.off;
		report(h, BN_HUB_FILE_START, f, s.off);
		rc = get_body(h, repo, url, &s, eb);
		if (rc == BN_OK) {
			bn_hash_final_hex(&s.hash, hex, sizeof(hex));
			if (!strcmp(hex, want_etag(f)))
				break;
			rc = bn_fail(eb, BN_EVERIFY, "'%s/%s': %s mismatch (got %.12s..., "
				     "expected %.12s...)", repo, f->path,
				     s.kind == BN_HASH_SHA256 ? "SHA-256" : "git blob SHA-1",
				     hex, want_etag(f));
		}
		if (rc != BN_EVERIFY)
			goto out;
		/* corrupt or oversized: drop the temp file, try once more from zero */
		h->all_done -= s.off;
		st.st_size = 0;
	}
	if (rc < 0)
		goto out;
	if (fsync(s.fd) < 0 || close(s.fd) < 0) {
		s.fd = -1;
		rc = bn_fail(eb, BN_EIO, "cannot write '%s': %s", incomplete, strerror(errno));
		goto out;
	}
	s.fd = -1;
	if (rename(incomplete, final) < 0) {
		rc = bn_fail(eb, BN_EIO, "cannot rename into '%s': %s", final, strerror(errno));
		goto out;
	}
	report(h, BN_HUB_FILE_DONE, f, f->size);
out:
	if (s.fd >= 0)
		close(s.fd);
	if (rc == BN_EVERIFY && incomplete)
		unlink(incomplete);
	else if (rc < 0 && lockfd < 0 && incomplete)
		unlink(incomplete);	/* private temp: nobody can resume it */
	bn_hash_release(&s.hash);
	if (lockfd >= 0)
		close(lockfd);
	free(incomplete);
	free(url);
	return rc;
}

/* Record commit and etag for a local-dir file. */
static int ld_write_meta(struct bn_hub *h, const char *commit, const struct bn_hub_file *f,
			 struct bn_errbuf *eb)
{
	char *meta = ld_meta(h, f->path, ".metadata"), *txt = NULL;
	int rc;

	if (!meta || asprintf(&txt, "%s\n%s\n%lld\n", commit, want_etag(f),
			      (long long)time(NULL)) < 0) {
		free(meta);
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	}
	rc = bn_write_file_atomic(meta, txt, strlen(txt), eb);
	free(meta);
	free(txt);
	return rc;
}

static int fetch_file(struct bn_hub *h, const char *repo, const char *repo_dir,
		      const char *commit, const struct bn_hub_file *f, struct bn_errbuf *eb)
{
	char *final = NULL, *inc = NULL, *lock = NULL;
	const char *etag = want_etag(f);
	int rc = BN_ENOMEM;
	struct stat st;

	if (strlen(etag) != 40 && strlen(etag) != 64)
		return bn_fail(eb, BN_EFORMAT, "'%s/%s': listing has no hash to verify against",
			       repo, f->path);
	if (h->local_dir) {
		char *gi = NULL;
		if (asprintf(&final, "%s/%s", h->local_dir, f->path) < 0 ||
		    !(inc = ld_meta(h, f->path, "")) || !(lock = ld_meta(h, f->path, ".lock")))
			goto nomem;
		free(inc);
		if (!(inc = ld_meta(h, f->path, "")) ||
		    asprintf(&gi, "%s/.cache/huggingface/.gitignore", h->local_dir) < 0)
			goto nomem;
		if (bn_hf_mkparent(gi, eb) == BN_OK && stat(gi, &st) < 0)
			bn_write_file_atomic(gi, "*\n", 2, eb);
		free(gi);
		{
			char *x = NULL;
			if (asprintf(&x, "%s.%s.incomplete", inc, etag) < 0)
				goto nomem;
			free(inc);
			inc = x;
		}
		if ((rc = bn_hf_mkparent(final, eb)) < 0)
			goto out;
		if ((rc = fetch_one(h, repo, commit, f, inc, final, lock, eb)) == BN_OK)
			rc = ld_write_meta(h, commit, f, eb);
		goto out;
	}
	if (asprintf(&final, "%s/blobs/%s", repo_dir, etag) < 0 ||
	    asprintf(&inc, "%s/blobs/%s.incomplete", repo_dir, etag) < 0 ||
	    asprintf(&lock, "%s/.locks/%s/%s.lock", h->cache, strrchr(repo_dir, '/') + 1,
		     etag) < 0)
		goto nomem;
	if ((rc = bn_hf_mkparent(final, eb)) < 0)
		goto out;
	/* a blob shared with another commit or file needs no download */
	if (!(stat(final, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == f->size))
		if ((rc = fetch_one(h, repo, commit, f, inc, final, lock, eb)) < 0)
			goto out;
	rc = bn_hf_link_snapshot(repo_dir, commit, f->path, etag, eb);
	goto out;
nomem:
	rc = bn_fail(eb, BN_ENOMEM, "out of memory");
out:
	free(final);
	free(inc);
	free(lock);
	return rc;
}

static void write_cachedir_tag(const char *cache)
{
	static const char tag[] = "Signature: 8a477f597d28d172789f06886806bc55\n"
		"# This file is a cache directory tag created by bn-fetch.\n"
		"# For information about cache directory tags see https://bford.info/cachedir/\n";
	char *p = NULL;
	struct stat st;
	struct bn_errbuf eb;

	if (asprintf(&p, "%s/CACHEDIR.TAG", cache) >= 0 && stat(p, &st) < 0)
		bn_write_file_atomic(p, tag, sizeof(tag) - 1, &eb);
	free(p);
}

int bn_hub_fetch(struct bn_hub *h, const char *repo, const char *rev,
		 const char *commit, struct bn_hub_list *l, char **out,
		 struct bn_errbuf *eb)
{
	char *repo_dir = NULL;
	size_t i;
	int rc = BN_OK;

	*out = NULL;
	BN_TRY(bn_hf_check_repo(repo, eb));
	if (!(repo_dir = bn_hf_repo_dir(h->cache, repo)))
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	h->all_done = h->all_size = 0;
	h->count = h->index = 0;
	for (i = 0; i < l->n; i++) {
		if (!l->v[i].cached) {
			h->all_size += l->v[i].size;
			h->count++;
		}
	}
	if (h->count && h->offline) {
		rc = bn_fail(eb, BN_ENOENT, "'%s' is not complete in the cache (offline mode)",
			     repo);
		goto out;
	}
	if (!h->local_dir && !h->offline) {
		if ((rc = bn_hf_mkdirs(repo_dir, eb)) < 0)
			goto out;
		write_cachedir_tag(h->cache);
	}
	for (i = 0; i < l->n && rc == BN_OK; i++) {
		if (l->v[i].cached)
			continue;
		h->index++;
		rc = fetch_file(h, repo, repo_dir, commit, &l->v[i], eb);
	}
	if (rc == BN_OK && !h->local_dir && !h->offline)
		rc = bn_hf_write_ref(repo_dir, rev, commit, eb);
	if (rc == BN_OK && !(*out = bn_hub_dest(h, repo, commit)))
		rc = bn_fail(eb, BN_ENOMEM, "out of memory");
out:
	free(repo_dir);
	return rc;
}
