/* bn-fetch - download a model repository from the Hugging Face Hub into the
 * shared HF cache and print the snapshot path. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "hub.h"

/* What inference needs: config, generation config, tokenizer, weights. */
static const char *const default_include[] = {
	"*.json", "*.safetensors", "tokenizer.model", "*.tiktoken", "merges.txt", "vocab.txt",
};

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: bn-fetch [OPTIONS] ORG/NAME\n"
		"Download a model repository from the Hugging Face Hub into the shared\n"
		"HF cache and print the local snapshot directory.\n\n"
		"  -r, --revision REV   branch, tag or commit (default: main)\n"
		"  -i, --include GLOB   fetch only matching files (repeatable; default:\n"
		"                       *.json *.safetensors tokenizer.model *.tiktoken\n"
		"                       merges.txt vocab.txt)\n"
		"  -x, --exclude GLOB   skip matching files (repeatable)\n"
		"      --local-dir DIR  write plain files to DIR instead of the cache\n"
		"      --cache-dir DIR  cache root (default: HF_HUB_CACHE or $HF_HOME/hub)\n"
		"      --offline        use the cache only (as HF_HUB_OFFLINE=1)\n"
		"      --token TOKEN    access token (default: HF_TOKEN or $HF_HOME/token)\n"
		"  -n, --dry-run        list the files and sizes that would be fetched\n"
		"      --json           print a JSON summary instead of the path\n"
		"  -q, --quiet          no progress or notices\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n");
}

static struct {
	int quiet, tty, color;
	double last;
} ui;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void human(char *b, size_t n, uint64_t v)
{
	if (v >= 1u << 30)
		snprintf(b, n, "%.2f GB", v / 1073741824.0);
	else if (v >= 1u << 20)
		snprintf(b, n, "%.1f MB", v / 1048576.0);
	else
		snprintf(b, n, "%.1f kB", v / 1024.0);
}

static void on_progress(void *ud, const struct bn_hub_progress *p)
{
	char a[32], b[32];
	int pct, all;

	(void)ud;
	if (ui.quiet)
		return;
	if (p->ev == BN_HUB_RETRY) {
		if (ui.tty)
			fputs("\r\033[K", stderr);
		warn("retrying in %ld ms (%s)", p->wait_ms, p->reason);
		return;
	}
	if (!ui.tty)
		return;
	if (p->ev == BN_HUB_FILE_PROGRESS && now() - ui.last < 0.1)
		return;
	ui.last = now();
	pct = p->size ? (int)(100.0 * p->done / p->size) : 100;
	all = p->all_size ? (int)(100.0 * p->all_done / p->all_size) : 100;
	human(a, sizeof(a), p->done);
	human(b, sizeof(b), p->size);
	fprintf(stderr, "\r\033[K[%zu/%zu] %.40s %3d%% %s/%s  total %3d%%", p->index, p->count,
		p->path, pct, a, b, all);
	if (p->ev == BN_HUB_FILE_DONE)
		fprintf(stderr, " %sdone%s\n", ui.color ? "\033[32m" : "", ui.color ? "\033[0m" : "");
}

static long env_long(const char *name, long def, long lo, long hi)
{
	const char *v = getenv(name);
	return v && *v ? (long)cli_int(v, lo, hi, name) : def;
}

static void print_json(const char *repo, const char *rev, const char *commit,
		       const char *path, const struct bn_hub_list *l, uint64_t bytes, int dry)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char *s;
	size_t i;

	cJSON_AddStringToObject(o, "repo", repo);
	cJSON_AddStringToObject(o, "revision", rev);
	cJSON_AddStringToObject(o, "commit", commit);
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddBoolToObject(o, "dry_run", dry);
	cJSON_AddNumberToObject(o, "downloaded_bytes", (double)bytes);
	arr = cJSON_AddArrayToObject(o, "files");
	for (i = 0; i < l->n; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "path", l->v[i].path);
		cJSON_AddNumberToObject(f, "size", (double)l->v[i].size);
		if (l->v[i].sha256[0])
			cJSON_AddStringToObject(f, "sha256", l->v[i].sha256);
		if (l->v[i].oid[0])
			cJSON_AddStringToObject(f, "oid", l->v[i].oid);
		cJSON_AddBoolToObject(f, "cached", l->v[i].cached);
		cJSON_AddItemToArray(arr, f);
	}
	if (!(s = cJSON_PrintUnformatted(o)))
		die("out of memory");
	puts(s);
	free(s);
	cJSON_Delete(o);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "revision", required_argument, NULL, 'r' },
		{ "include", required_argument, NULL, 'i' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "local-dir", required_argument, NULL, 'L' },
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "offline", no_argument, NULL, 'O' },
		{ "token", required_argument, NULL, 'T' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'J' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char **inc = calloc((size_t)argc + BN_LEN(default_include), sizeof(*inc));
	const char **exc = calloc((size_t)argc + 1, sizeof(*exc));
	const char *rev = "main", *repo, *token_opt = NULL;
	struct bn_hub_opts ho = { .retries = -1 };
	struct bn_hub_list l = { 0 };
	struct bn_errbuf eb = { "" };
	struct bn_hub *h = NULL;
	size_t ninc = 0, nexc = 0, i;
	int c, dry = 0, json = 0, rc;
	char commit[41], *token, *out = NULL;
	uint64_t total = 0;

	cli_init(argv[0]);
	if (!inc || !exc)
		die("out of memory");
	while ((c = getopt_long(argc, argv, "r:i:x:nqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rev = optarg; break;
		case 'i': inc[ninc++] = optarg; break;
		case 'x': exc[nexc++] = optarg; break;
		case 'L': ho.local_dir = optarg; break;
		case 'C': ho.cache_dir = optarg; break;
		case 'O': ho.offline = 1; break;
		case 'T': token_opt = optarg; break;
		case 'n': dry = 1; break;
		case 'J': json = 1; break;
		case 'q': ui.quiet = 1; break;
		case 'h': usage(stdout); exit(close_stdout());
		case 'V': print_version();
		default: fprintf(stderr, "Try '%s --help' for more information.\n", argv0); exit(2);
		}
	}
	if (optind != argc - 1)
		usage_error(optind == argc ? "missing repository id (ORG/NAME)"
					   : "too many arguments");
	if (ho.offline && ho.local_dir)	/* offline reads the cache; --local-dir skips it */
		usage_error("--offline and --local-dir cannot be combined");
	repo = argv[optind];
	if (bn_hf_check_repo(repo, &eb) < 0 || bn_hf_check_rev(rev, &eb) < 0)
		usage_error("%s", eb.msg);
	if (!ninc)
		for (i = 0; i < BN_LEN(default_include); i++)
			inc[ninc++] = default_include[i];
	ui.tty = cli_stderr_tty() && !getenv("HF_HUB_DISABLE_PROGRESS_BARS");
	ui.color = ui.tty && !getenv("NO_COLOR") && !(getenv("TERM") && !strcmp(getenv("TERM"), "dumb"));
	ho.offline |= bn_hf_offline_env();
	ho.retries = (int)env_long("BN_FETCH_RETRIES", -1, 0, 100);
	ho.backoff_ms = env_long("BN_FETCH_BACKOFF_MS", 0, 1, 3600000);
	ho.timeout_s = env_long("HF_HUB_DOWNLOAD_TIMEOUT", 0, 1, 86400);
	ho.progress = on_progress;
	token = bn_hf_token(token_opt);
	ho.token = ho.offline ? NULL : token;
	if ((rc = bn_hub_open(&h, &ho, &eb)) < 0)
		die_err(rc, &eb);
	rc = bn_hub_resolve(h, repo, rev, commit, &eb);
	if (rc == BN_ENET && !ho.offline) {
		/* network trouble: fall back to a cached snapshot of rev */
		struct bn_errbuf eb2 = { "" };
		struct bn_hub *h2 = NULL;
		ho.offline = 1;
		if (bn_hub_open(&h2, &ho, &eb2) == 0 &&
		    bn_hub_resolve(h2, repo, rev, commit, &eb2) == 0) {
			if (!ui.quiet)
				warn("%s; using the cached snapshot", eb.msg);
			bn_hub_close(h);
			h = h2;
			rc = 0;
		} else {
			bn_hub_close(h2);
			ho.offline = 0;
		}
	}
	if (rc < 0 || (rc = bn_hub_list(h, repo, commit, &l, &eb)) < 0)
		die_err(rc, &eb);
	if (!bn_hub_list_filter(&l, inc, ninc, exc, nexc))
		die("no file of '%s' at '%s' matches the include/exclude patterns", repo, rev);
	if ((rc = bn_hub_plan(h, repo, commit, &l, &eb)) < 0)
		die_err(rc, &eb);
	if (dry) {
		out = bn_hub_dest(h, repo, commit);
		if (json) {
			print_json(repo, rev, commit, out ? out : "", &l, 0, 1);
		} else {
			for (i = 0; i < l.n; i++) {
				printf("%" PRIu64 "\t%s%s\n", l.v[i].size, l.v[i].path,
				       l.v[i].cached ? "\t(cached)" : "");
				total += l.v[i].cached ? 0 : l.v[i].size;
			}
			if (!ui.quiet)
				fprintf(stderr, "%s: %zu files, %" PRIu64 " bytes to download\n",
					argv0, l.n, total);
		}
	} else {
		if ((rc = bn_hub_fetch(h, repo, rev, commit, &l, &out, &eb)) < 0) {
			if (ui.tty && !ui.quiet)
				fputs("\r\033[K", stderr);
			die_err(rc, &eb);
		}
		if (json)
			print_json(repo, rev, commit, out, &l, bn_hub_downloaded(h), 0);
		else
			puts(out);
	}
	cli_check_stdout();
	bn_hub_list_release(&l);
	bn_hub_close(h);
	free(out);
	free(token);
	free(inc);
	free(exc);
	return close_stdout();
}
