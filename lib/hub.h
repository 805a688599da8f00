/* hub.h - a Hugging Face Hub client that shares huggingface_hub's cache.
 *
 * Two halves: hfcache.c (cache layout, tokens, paths, globs; plain POSIX)
 * and hub.c (HTTP through libcurl, verification through libcrypto).  Only
 * bn-fetch links -lcurl -lcrypto, so nothing outside bn-fetch may call the
 * hub.c functions.  The library never prints: progress and retry notices
 * reach the caller through the progress callback.
 *
 * Cache layout (see docs/bn-fetch.1):
 *   <cache>/models--ORG--NAME/blobs/<etag>            verified content
 *   <cache>/models--ORG--NAME/snapshots/<commit>/PATH -> ../../blobs/<etag>
 *   <cache>/models--ORG--NAME/refs/<revision>         40-hex commit, no newline
 *   <cache>/.locks/models--ORG--NAME/<etag>.lock      flock while downloading
 *   <cache>/models--ORG--NAME/blobs/<etag>.incomplete partial download, resumed
 */
#ifndef BN_HUB_H
#define BN_HUB_H

#include <stdint.h>

#include "bn.h"

/* One file of a repository at one commit. */
struct bn_hub_file {
	char *path;		/* repository-relative, checked by bn_hf_check_path */
	uint64_t size;		/* bytes of the real content */
	char oid[41];		/* git blob SHA-1, "" when unknown */
	char sha256[65];	/* LFS SHA-256, "" for a regular git file */
	int cached;		/* already present (set by bn_hub_plan, or
				 * bn_hf_list_snapshot offline) */
};

struct bn_hub_list {
	struct bn_hub_file *v;
	size_t n, cap;
};

/* ==== hfcache.c: no network ==== */

/* Cache root: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub
 * ($HF_HOME defaults to $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface).
 * Allocates; caller frees. NULL when no home directory is known. */
char *bn_hf_cache_dir(void);
char *bn_hf_home(void);
/* Token: explicit (if non-NULL), else HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then
 * the file $HF_TOKEN_PATH or $HF_HOME/token.  Spaces and CR/LF stripped; an
 * empty token means none.  Allocates; caller frees; NULL when none. */
char *bn_hf_token(const char *explicit_token);
/* HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE set to 1/on/yes/true. */
int bn_hf_offline_env(void);

/* Validation: repo ids ORG/NAME (or NAME) of [A-Za-z0-9._-], revisions and
 * repository file paths that cannot escape their directory (no "..", "."
 * or empty components, no absolute paths, backslashes or control bytes). */
int bn_hf_check_repo(const char *repo, struct bn_errbuf *eb);
int bn_hf_check_rev(const char *rev, struct bn_errbuf *eb);
int bn_hf_check_path(const char *path, struct bn_errbuf *eb);
int bn_hf_is_commit(const char *s);	/* 40 lowercase hex digits */

/* "<cache>/models--ORG--NAME".  Allocates; caller frees. */
char *bn_hf_repo_dir(const char *cache, const char *repo);
/* mkdir -p; existing directories are fine. */
int bn_hf_mkdirs(const char *dir, struct bn_errbuf *eb);
/* mkdir -p of the directory holding path. */
int bn_hf_mkparent(const char *path, struct bn_errbuf *eb);

/* Commit for rev: rev itself when it is a commit, else refs/<rev>. */
int bn_hf_read_ref(const char *repo_dir, const char *rev, char commit[41],
		   struct bn_errbuf *eb);
int bn_hf_write_ref(const char *repo_dir, const char *rev, const char *commit,
		    struct bn_errbuf *eb);
/* snapshots/<commit>/<path> -> ../../blobs/<etag>, replaced atomically. */
int bn_hf_link_snapshot(const char *repo_dir, const char *commit, const char *path,
			const char *etag, struct bn_errbuf *eb);

/* Glob filter in huggingface_hub's manner (fnmatch, '*' matches '/', a
 * pattern ending in '/' matches everything below).  No includes = all. */
int bn_hf_match(const char *path, const char *const *inc, size_t ninc,
		const char *const *exc, size_t nexc);
/* Keep only the files that match; returns how many are left. */
size_t bn_hub_list_filter(struct bn_hub_list *l, const char *const *inc, size_t ninc,
			  const char *const *exc, size_t nexc);
int bn_hub_list_add(struct bn_hub_list *l, const char *path, uint64_t size,
		    const char *oid, const char *sha256, struct bn_errbuf *eb);
void bn_hub_list_release(struct bn_hub_list *l);	/* NULL-safe */
/* The files of a cached snapshot (offline mode); a link without its blob
 * is listed with cached = 0, and bn_hub_plan fails if it is selected. */
int bn_hf_list_snapshot(const char *snapdir, struct bn_hub_list *l,
			struct bn_errbuf *eb);

/* ==== hub.c: network (libcurl, libcrypto) ==== */

enum bn_hub_event {
	BN_HUB_FILE_START,	/* path, size, index/count */
	BN_HUB_FILE_PROGRESS,	/* done/size, all_done/all_size */
	BN_HUB_FILE_DONE,
	BN_HUB_RETRY,		/* reason, wait_ms, attempt */
};

struct bn_hub_progress {
	enum bn_hub_event ev;
	const char *path;
	uint64_t done, size;		/* this file */
	uint64_t all_done, all_size;	/* bytes to download in this run */
	size_t index, count;		/* 1-based file number among downloads */
	const char *reason;		/* BN_HUB_RETRY only */
	long wait_ms;
	int attempt;
};
typedef void (*bn_hub_progress_fn)(void *ud, const struct bn_hub_progress *p);

struct bn_hub_opts {
	const char *endpoint;	/* NULL: $HF_ENDPOINT, else https://huggingface.co */
	const char *token;	/* NULL: anonymous; never printed */
	const char *cache_dir;	/* NULL: bn_hf_cache_dir() */
	const char *local_dir;	/* non-NULL: plain files there, no cache */
	int offline;		/* no network at all */
	int retries;		/* < 0: 5 */
	long backoff_ms;	/* <= 0: 1000; Retry-After seconds scale with it */
	long timeout_s;		/* <= 0: 10; connect and stall timeout */
	bn_hub_progress_fn progress;
	void *ud;
};

struct bn_hub;

/* Allocates; free with bn_hub_close(). */
int bn_hub_open(struct bn_hub **hp, const struct bn_hub_opts *o, struct bn_errbuf *eb);
void bn_hub_close(struct bn_hub *h);	/* NULL-safe */

/* Revision (branch, tag or commit) to a commit: the API online, refs/
 * offline.  commit receives 40 hex digits. */
int bn_hub_resolve(struct bn_hub *h, const char *repo, const char *rev,
		   char commit[41], struct bn_errbuf *eb);
/* All files at commit (tree API, all pages), or the cached snapshot offline.
 * Every path is checked; an unsafe one fails the whole listing. */
int bn_hub_list(struct bn_hub *h, const char *repo, const char *commit,
		struct bn_hub_list *l, struct bn_errbuf *eb);
/* Mark the files already present (->cached); offline, a selected file
 * without its blob fails. */
int bn_hub_plan(struct bn_hub *h, const char *repo, const char *commit,
		struct bn_hub_list *l, struct bn_errbuf *eb);
/* Download every file not cached, verify it (size, then SHA-256 or git blob
 * SHA-1) before it enters the cache, link the snapshot and record refs/<rev>.
 * *out gets the snapshot directory (or the local dir).  Allocates *out;
 * caller frees. */
int bn_hub_fetch(struct bn_hub *h, const char *repo, const char *rev,
		 const char *commit, struct bn_hub_list *l, char **out,
		 struct bn_errbuf *eb);
/* Where the files of commit live (snapshot dir or local dir).  Allocates. */
char *bn_hub_dest(struct bn_hub *h, const char *repo, const char *commit);
/* Bytes actually transferred by this handle. */
uint64_t bn_hub_downloaded(const struct bn_hub *h);

#endif
