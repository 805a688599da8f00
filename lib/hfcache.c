/* hfcache.c - the Hugging Face cache layout, tokens, path checks and globs.
 * Plain POSIX: no network and no crypto here (see hub.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "hub.h"

/* ==== environment ==== */

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* Expand a leading "~/" with $HOME.  Allocates. */
static char *expand_home(const char *p)
{
	const char *home = env("HOME");
	char *s = NULL;

	if (p[0] == '~' && (p[1] == '/' || !p[1]) && home) {
		if (asprintf(&s, "%s%s", home, p + 1) < 0)
			return NULL;
		return s;
	}
	return strdup(p);
}

char *bn_hf_home(void)
{
	const char *v;
	char *s = NULL;

	if ((v = env("HF_HOME")))
		return expand_home(v);
	if ((v = env("XDG_CACHE_HOME")))
		return asprintf(&s, "%s/huggingface", v) < 0 ? NULL : s;
	if ((v = env("HOME")))
		return asprintf(&s, "%s/.cache/huggingface", v) < 0 ? NULL : s;
	return NULL;
}

char *bn_hf_cache_dir(void)
{
	const char *v;
	char *home, *s = NULL;

	if ((v = env("HF_HUB_CACHE")) || (v = env("HUGGINGFACE_HUB_CACHE")))
		return expand_home(v);
	if (!(home = bn_hf_home()))
		return NULL;
	if (asprintf(&s, "%s/hub", home) < 0)
		s = NULL;
	free(home);
	return s;
}

static int is_true(const char *v)
{
	return v && (!strcasecmp(v, "1") || !strcasecmp(v, "on") ||
		     !strcasecmp(v, "yes") || !strcasecmp(v, "true"));
}

int bn_hf_offline_env(void)
{
	return is_true(getenv("HF_HUB_OFFLINE")) || is_true(getenv("TRANSFORMERS_OFFLINE"));
}

/* Strip surrounding spaces and CR/LF; NULL for an empty result. */
static char *clean_token(const char *t)
{
	size_t n;

	while (*t && isspace((unsigned char)*t))
		t++;
	n = strlen(t);
	while (n && isspace((unsigned char)t[n - 1]))
		n--;
	return n ? strndup(t, n) : NULL;
}

char *bn_hf_token(const char *explicit_token)
{
	const char *v;
	char *path = NULL, *home, *buf = NULL, *tok;
	struct bn_errbuf eb;

	if (explicit_token)
		return clean_token(explicit_token);
	if (is_true(getenv("HF_HUB_DISABLE_IMPLICIT_TOKEN")))
		return NULL;
	if ((v = env("HF_TOKEN")) || (v = env("HUGGING_FACE_HUB_TOKEN")))
		return clean_token(v);
	if ((v = env("HF_TOKEN_PATH"))) {
		path = expand_home(v);
	} else if ((home = bn_hf_home())) {
		if (asprintf(&path, "%s/token", home) < 0)
			path = NULL;
		free(home);
	}
	if (!path || bn_read_file(path, 4096, &buf, NULL, &eb) < 0) {
		free(path);
		return NULL;
	}
	free(path);
	tok = clean_token(buf);
	free(buf);
	return tok;
}

/* ==== validation ==== */

static int name_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

int bn_hf_check_repo(const char *repo, struct bn_errbuf *eb)
{
	const char *p, *seg = repo;
	int slashes = 0;

	for (p = repo;; p++) {
		if (*p == '/' || !*p) {
			size_t n = (size_t)(p - seg);
			if (n == 0 || n > 96 || seg[0] == '.' || seg[0] == '-' ||
			    memmem(seg, n, "..", 2) || memmem(seg, n, "--", 2))
				goto bad;
			if (!*p)
				break;
			if (++slashes > 1)
				goto bad;
			seg = p + 1;
		} else if (!name_char((unsigned char)*p)) {
			goto bad;
		}
	}
	return BN_OK;
bad:
	return bn_fail(eb, BN_EINVAL, "invalid repository id '%.*s' (expected ORG/NAME)",
		       200, repo);
}

/* Shared by paths and revisions: relative, no empty/./.. components. */
static int safe_rel(const char *s, size_t max)
{
	const char *p, *seg = s;

	if (!*s || strlen(s) > max || *s == '/')
		return 0;
	for (p = s;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '/' || !c) {
			size_t n = (size_t)(p - seg);
			if (n == 0 || (n == 1 && seg[0] == '.') ||
			    (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return 0;
			if (!c)
				return 1;
			seg = p + 1;
		} else if (c < 0x20 || c == 0x7f || c == '\\') {
			return 0;
		}
	}
}

int bn_hf_check_rev(const char *rev, struct bn_errbuf *eb)
{
	if (!safe_rel(rev, 255))
		return bn_fail(eb, BN_EINVAL, "invalid revision '%.*s'", 200, rev);
	return BN_OK;
}

int bn_hf_check_path(const char *path, struct bn_errbuf *eb)
{
	if (!safe_rel(path, 1024))
		return bn_fail(eb, BN_EFORMAT, "refusing unsafe file path '%.*s' from the server",
			       200, path);
	return BN_OK;
}

int bn_hf_is_commit(const char *s)
{
	size_t i;

	for (i = 0; i < 40; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return s[40] == 0;
}

/* ==== directories, refs, snapshots ==== */

char *bn_hf_repo_dir(const char *cache, const char *repo)
{
	size_t i, n = strlen(repo);
	char *s = malloc(strlen(cache) + n * 2 + 16), *q;

	if (!s)
		return NULL;
	q = s + sprintf(s, "%s/models--", cache);
	for (i = 0; i < n; i++) {
		if (repo[i] == '/') {
			*q++ = '-';
			*q++ = '-';
		} else {
			*q++ = repo[i];
		}
	}
	*q = 0;
	return s;
}

int bn_hf_mkdirs(const char *dir, struct bn_errbuf *eb)
{
	char *s = strdup(dir), *p;

	if (!s)
		return bn_fail(eb, BN_ENOMEM, "%s: out of memory", dir);
	for (p = s + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = 0;
			if (mkdir(s, 0777) < 0 && errno != EEXIST) {
				int e = errno;
				bn_fail(eb, BN_EIO, "cannot create directory '%s': %s", s, strerror(e));
				free(s);
				return BN_EIO;
			}
			if (!c)
				break;
			*p = c;
		}
	}
	free(s);
	return BN_OK;
}

int bn_hf_read_ref(const char *repo_dir, const char *rev, char commit[41],
		   struct bn_errbuf *eb)
{
	char *path = NULL, *buf = NULL;
	size_t n;
	int rc;

	if (bn_hf_is_commit(rev)) {
		memcpy(commit, rev, 41);
		return BN_OK;
	}
	BN_TRY(bn_hf_check_rev(rev, eb));
	if (asprintf(&path, "%s/refs/%s", repo_dir, rev) < 0)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	rc = bn_read_file(path, 256, &buf, &n, eb);
	free(path);
	if (rc < 0)
		return bn_fail(eb, BN_ENOENT, "revision '%s' is not in the cache", rev);
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = 0;
	if (!bn_hf_is_commit(buf)) {
		free(buf);
		return bn_fail(eb, BN_EFORMAT, "cached ref '%s' is not a commit id", rev);
	}
	memcpy(commit, buf, 41);
	free(buf);
	return BN_OK;
}

/* Create the parent directory of path. */
int bn_hf_mkparent(const char *path, struct bn_errbuf *eb)
{
	char *d = strdup(path), *s;
	int rc = BN_OK;

	if (!d)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	if ((s = strrchr(d, '/')) && s != d) {
		*s = 0;
		rc = bn_hf_mkdirs(d, eb);
	}
	free(d);
	return rc;
}

int bn_hf_write_ref(const char *repo_dir, const char *rev, const char *commit,
		    struct bn_errbuf *eb)
{
	char *path = NULL;
	int rc;

	if (bn_hf_is_commit(rev))
		return BN_OK;
	BN_TRY(bn_hf_check_rev(rev, eb));
	if (asprintf(&path, "%s/refs/%s", repo_dir, rev) < 0)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	rc = bn_hf_mkparent(path, eb);
	if (rc == BN_OK)
		rc = bn_write_file_atomic(path, commit, 40, eb);
	free(path);
	return rc;
}

int bn_hf_link_snapshot(const char *repo_dir, const char *commit, const char *path,
			const char *etag, struct bn_errbuf *eb)
{
	char *link = NULL, *tmp = NULL, *target = NULL;
	size_t depth = 0, i;
	const char *p;
	int rc = BN_ENOMEM;

	for (p = path; *p; p++)
		depth += *p == '/';
	if (asprintf(&link, "%s/snapshots/%s/%s", repo_dir, commit, path) < 0) {
		link = NULL;
		goto out;
	}
	/* ../../blobs/<etag>, one more ../ per directory level of path */
	if (!(target = malloc(3 * depth + strlen(etag) + 16)))
		goto out;
	strcpy(target, "../../");
	for (i = 0; i < depth; i++)
		strcat(target, "../");
	strcat(target, "blobs/");
	strcat(target, etag);
	if ((rc = bn_hf_mkparent(link, eb)) < 0)
		goto out;
	if (asprintf(&tmp, "%s.%ld.%d.tmp", link, (long)getpid(), rand()) < 0) {
		tmp = NULL;
		rc = BN_ENOMEM;
		goto out;
	}
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, link) < 0) {
		rc = bn_fail(eb, BN_EIO, "cannot link '%s': %s", link, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = BN_OK;
out:
	if (rc == BN_ENOMEM)
		bn_fail(eb, rc, "out of memory");
	free(link);
	free(tmp);
	free(target);
	return rc;
}

/* ==== file lists and globs ==== */

int bn_hf_match(const char *path, const char *const *inc, size_t ninc,
		const char *const *exc, size_t nexc)
{
	size_t i;
	int ok = ninc == 0;

	for (i = 0; i < ninc && !ok; i++) {
		size_t n = strlen(inc[i]);
		if (n && inc[i][n - 1] == '/')
			ok = !strncmp(path, inc[i], n);
		else
			ok = fnmatch(inc[i], path, 0) == 0;
	}
	for (i = 0; i < nexc && ok; i++) {
		size_t n = strlen(exc[i]);
		if (n && exc[i][n - 1] == '/')
			ok = strncmp(path, exc[i], n) != 0;
		else
			ok = fnmatch(exc[i], path, 0) != 0;
	}
	return ok;
}

int bn_hub_list_add(struct bn_hub_list *l, const char *path, uint64_t size,
		    const char *oid, const char *sha256, struct bn_errbuf *eb)
{
	struct bn_hub_file *f;

	BN_TRY(bn_hf_check_path(path, eb));
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct bn_hub_file *v;
		if (cap > (1u << 20))
			return bn_fail(eb, BN_ERANGE, "too many files in repository");
		if (!(v = realloc(l->v, cap * sizeof(*v))))
			return bn_fail(eb, BN_ENOMEM, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	f = &l->v[l->n];
	memset(f, 0, sizeof(*f));
	if (!(f->path = strdup(path)))
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	f->size = size;
	snprintf(f->oid, sizeof(f->oid), "%s", oid ? oid : "");
	snprintf(f->sha256, sizeof(f->sha256), "%s", sha256 ? sha256 : "");
	l->n++;
	return BN_OK;
}

size_t bn_hub_list_filter(struct bn_hub_list *l, const char *const *inc, size_t ninc,
			  const char *const *exc, size_t nexc)
{
	size_t i, k = 0;

	for (i = 0; i < l->n; i++) {
		if (bn_hf_match(l->v[i].path, inc, ninc, exc, nexc))
			l->v[k++] = l->v[i];
		else
			free(l->v[i].path);
	}
	l->n = k;
	return k;
}

void bn_hub_list_release(struct bn_hub_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int walk(const char *root, const char *rel, struct bn_hub_list *l, int depth,
		struct bn_errbuf *eb)
{
	char *dirpath = NULL;
	struct dirent *de;
	DIR *d;
	int rc = BN_OK;

	if (depth > 32)
		return bn_fail(eb, BN_ERANGE, "%s: directories nested too deeply", root);
	if (asprintf(&dirpath, "%s%s%s", root, *rel ? "/" : "", rel) < 0)
		return bn_fail(eb, BN_ENOMEM, "out of memory");
	if (!(d = opendir(dirpath))) {
		rc = bn_fail(eb, BN_ENOENT, "cannot open '%s': %s", dirpath, strerror(errno));
		free(dirpath);
		return rc;
	}
	while (rc == BN_OK && (de = readdir(d))) {
		char *sub = NULL, *full = NULL;
		struct stat st, lst;
		size_t nl = strlen(de->d_name);
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		if (nl > 4 && !strcmp(de->d_name + nl - 4, ".tmp"))
			continue;	/* a link being put in place by another process */
		if (asprintf(&sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0 ||
		    asprintf(&full, "%s/%s", root, sub) < 0) {
			free(sub);
			rc = bn_fail(eb, BN_ENOMEM, "out of memory");
			break;
		}
		if (lstat(full, &lst) < 0) {
			rc = bn_fail(eb, BN_EIO, "cannot stat '%s': %s", full, strerror(errno));
		} else if (S_ISDIR(lst.st_mode)) {
			rc = walk(root, sub, l, depth + 1, eb);
		} else {
			/* a link without its blob is listed, not cached: only the
			 * files the caller selects must be complete */
			int blob = stat(full, &st) == 0 && S_ISREG(st.st_mode);
			rc = bn_hub_list_add(l, sub, blob ? (uint64_t)st.st_size : 0, NULL,
					     NULL, eb);
			if (rc == BN_OK)
				l->v[l->n - 1].cached = blob;
		}
		free(sub);
		free(full);
	}
	closedir(d);
	free(dirpath);
	return rc;
}

int bn_hf_list_snapshot(const char *snapdir, struct bn_hub_list *l, struct bn_errbuf *eb)
{
	int rc = walk(snapdir, "", l, 0, eb);

	if (rc < 0)
		bn_hub_list_release(l);
	return rc;
}
