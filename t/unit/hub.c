/* hub.c - unit tests for the Hub client's offline parts: path checks, globs,
 * cache naming, tokens, cache-dir precedence and the digests. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "sha.h"
#include "unit.h"

static int digest(enum bn_hash_kind k, const char *s, char *hex)
{
	struct bn_hash h;
	int rc = bn_hash_init(&h, k, strlen(s), NULL);

	if (rc == 0)
		rc = bn_hash_update(&h, s, strlen(s));
	if (rc == 0)
		rc = bn_hash_final_hex(&h, hex, 72);
	bn_hash_release(&h);
	return rc;
}

int main(void)
{
	static const char *const good[] = { "config.json", "a/b/c.safetensors", "..x", "x..",
					    ".gitattributes", "a/.b" };
	static const char *const bad[] = { "", "/etc/passwd", "../x", "a/../../x", "a/..", "./a",
					   "a//b", "a/", "a\\b", "a\nb", ".." };
	static const char *const inc[] = { "*.json", "sub/" };
	static const char *const exc[] = { "secret*" };
	struct bn_hub_list l = { 0 };
	char hex[72], *s;
	size_t i;

	for (i = 0; i < BN_LEN(good); i++)
		CHECK(bn_hf_check_path(good[i], NULL) == 0, "path '%s' accepted", good[i]);
	for (i = 0; i < BN_LEN(bad); i++)
		CHECK(bn_hf_check_path(bad[i], NULL) < 0, "unsafe path #%zu refused", i);
	CHECK(bn_hf_check_repo("microsoft/bitnet-b1.58-2B-4T", NULL) == 0, "repo with dots");
	CHECK(bn_hf_check_repo("gpt2", NULL) == 0, "legacy repo without org");
	CHECK(bn_hf_check_repo("a/b/c", NULL) < 0, "three parts refused");
	CHECK(bn_hf_check_repo("a/..", NULL) < 0, "'..' refused");
	CHECK(bn_hf_check_repo("a/b c", NULL) < 0, "space refused");
	CHECK(bn_hf_check_repo("/a", NULL) < 0, "empty org refused");
	CHECK(bn_hf_check_rev("refs/pr/1", NULL) == 0, "PR revision accepted");
	CHECK(bn_hf_check_rev("../x", NULL) < 0, "'..' revision refused");
	CHECK(bn_hf_is_commit("0123456789abcdef0123456789abcdef01234567"), "commit id");
	CHECK(!bn_hf_is_commit("0123456789ABCDEF0123456789abcdef01234567"), "uppercase is no commit");
	CHECK(!bn_hf_is_commit("main"), "branch is no commit");

	CHECK(bn_hf_match("config.json", inc, 2, exc, 1), "glob *.json");
	CHECK(bn_hf_match("sub/dir/x.bin", inc, 2, exc, 1), "directory pattern");
	CHECK(bn_hf_match("deep/x.json", inc, 2, exc, 1), "'*' matches '/'");
	CHECK(!bn_hf_match("secret.json", inc, 2, exc, 1), "exclude wins");
	CHECK(!bn_hf_match("model.bin", inc, 2, exc, 1), "no include matches");
	CHECK(bn_hf_match("anything", NULL, 0, NULL, 0), "no patterns: all");

	bn_hub_list_add(&l, "a.json", 1, NULL, NULL, NULL);
	bn_hub_list_add(&l, "b.bin", 2, NULL, NULL, NULL);
	CHECK(bn_hub_list_add(&l, "../c", 3, NULL, NULL, NULL) < 0 && l.n == 2, "list refuses escapes");
	CHECK(bn_hub_list_filter(&l, inc, 1, NULL, 0) == 1 && !strcmp(l.v[0].path, "a.json"),
	      "filter keeps matches");
	bn_hub_list_release(&l);

	s = bn_hf_repo_dir("/c", "org/name");
	CHECK(s && !strcmp(s, "/c/models--org--name"), "repo folder name");
	free(s);

	setenv("HOME", "/home/u", 1);
	unsetenv("HF_HUB_CACHE");
	unsetenv("HUGGINGFACE_HUB_CACHE");
	unsetenv("HF_HOME");
	unsetenv("XDG_CACHE_HOME");
	s = bn_hf_cache_dir();
	CHECK(s && !strcmp(s, "/home/u/.cache/huggingface/hub"), "default cache dir");
	free(s);
	setenv("HF_HOME", "~/hf", 1);
	s = bn_hf_cache_dir();
	CHECK(s && !strcmp(s, "/home/u/hf/hub"), "HF_HOME with ~");
	free(s);
	setenv("HF_HUB_CACHE", "/x/hub", 1);
	s = bn_hf_cache_dir();
	CHECK(s && !strcmp(s, "/x/hub"), "HF_HUB_CACHE wins");
	free(s);

	setenv("HF_TOKEN", "  hf_abc\r\n", 1);
	s = bn_hf_token(NULL);
	CHECK(s && !strcmp(s, "hf_abc"), "token stripped");
	free(s);
	s = bn_hf_token(" ");
	CHECK(!s, "empty explicit token means none");
	setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1", 1);
	s = bn_hf_token(NULL);
	CHECK(!s, "implicit token disabled");
	free(s);
	setenv("HF_HUB_OFFLINE", "yes", 1);
	CHECK(bn_hf_offline_env(), "HF_HUB_OFFLINE=yes");
	setenv("HF_HUB_OFFLINE", "0", 1);
	CHECK(!bn_hf_offline_env(), "HF_HUB_OFFLINE=0");

	CHECK(digest(BN_HASH_SHA256, "abc", hex) == 0 &&
	      !strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	      "SHA-256 of 'abc'");
	CHECK(digest(BN_HASH_GITBLOB, "hello\n", hex) == 0 &&
	      !strcmp(hex, "ce013625030ba8dba906f756967f9e9ca394464a"),
	      "git blob id of 'hello\\n' (git hash-object)");
	CHECK(digest(BN_HASH_GITBLOB, "", hex) == 0 &&
	      !strcmp(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"), "git blob id of empty file");
	return unit_done();
}
