#!/usr/bin/env bats
# bn-fetch against the local Hub emulator (t/hub-emulator.py): cache layout,
# verification, faults, resume, concurrency, offline mode, auth, errors.
bats_require_minimum_version 1.5.0
load lib

TINY="$FIX/models/tiny-a"
DEMO_SRC="$TOP/share/bitnet-demo"

setup() {
	unset HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_TOKEN_PATH HF_HUB_OFFLINE TRANSFORMERS_OFFLINE \
		HUGGINGFACE_HUB_CACHE HF_HUB_DISABLE_IMPLICIT_TOKEN BN_FETCH_RETRIES
	export HF_HUB_CACHE="$BATS_TEST_TMPDIR/cache" HF_HOME="$BATS_TEST_TMPDIR/hfhome"
	export BN_FETCH_BACKOFF_MS=1
	EMU_LOG="$BATS_TEST_TMPDIR/emu.log"
	EMU_PID=
}

teardown() {
	stop_hub
}

# start_hub [--fault SPEC]...: emulator on ephemeral ports; sets HF_ENDPOINT.
start_hub() {
	rm -f "$BATS_TEST_TMPDIR/ports"
	python3 "$TOP/t/hub-emulator.py" --root "$TOP" --portfile "$BATS_TEST_TMPDIR/ports" \
		--log "$EMU_LOG" --idle 30 "$@" 3>&- &
	EMU_PID=$!
	local i
	for i in $(seq 200); do
		[ -s "$BATS_TEST_TMPDIR/ports" ] && break
		sleep 0.05
	done
	read -r HUB_PORT CDN_PORT <"$BATS_TEST_TMPDIR/ports"
	export HF_ENDPOINT="http://127.0.0.1:$HUB_PORT"
}

stop_hub() {
	if [ -n "$EMU_PID" ]; then
		kill "$EMU_PID" 2>/dev/null || true
		wait "$EMU_PID" 2>/dev/null || true
		EMU_PID=
	fi
}

# hub_ctl QUERY: add a fault ("kind=drop&after=10") or "reset".
hub_ctl() {
	local url="$HF_ENDPOINT/_ctl/fault?$1"
	[ "$1" = reset ] && url="$HF_ENDPOINT/_ctl/reset"
	python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1]).read()' "$url"
}

# log_count PYTHON-CONDITION: number of logged requests r matching it.
log_count() {
	python3 -c 'import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if eval(sys.argv[2]): n += 1
print(n)' "$EMU_LOG" "$1"
}

repo_dir() { echo "$HF_HUB_CACHE/models--bn--$1"; }

sha256() { sha256sum "$1" | cut -d' ' -f1; }
gitblob() { python3 -c 'import hashlib, sys
d = open(sys.argv[1], "rb").read()
print(hashlib.sha1(b"blob %d\0" % len(d) + d).hexdigest())' "$1"; }

# same_files SNAPDIR SRCDIR: every file of SRCDIR arrived intact.
same_files() {
	local f
	for f in "$2"/*; do
		cmp "$1/${f##*/}" "$f" || return 1
	done
}

@test "fetch prints the snapshot path and every file matches the fixture" {
	start_hub
	run --separate-stderr bn-fetch bn/tiny-a
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	commit=$(cat "$(repo_dir tiny-a)/refs/main")
	assert_output "$(repo_dir tiny-a)/snapshots/$commit"
	same_files "$output" "$TINY"
	[ -z "$stderr" ]	# not a terminal: no progress
}

@test "the cache has huggingface_hub's layout: blobs, relative symlinks, refs" {
	start_hub
	run bn-fetch -q bn/tiny-a
	assert_success
	rd=$(repo_dir tiny-a)
	commit=$(cat "$rd/refs/main")
	[[ "$commit" =~ ^[0-9a-f]{40}$ ]]
	[ "$(stat -c %s "$rd/refs/main")" -eq 40 ]	# no trailing newline
	[ "$output" = "$rd/snapshots/$commit" ]
	# LFS files are named by SHA-256, regular files by git blob SHA-1
	[ "$(readlink "$output/model.safetensors")" = "../../blobs/$(sha256 "$TINY/model.safetensors")" ]
	[ "$(readlink "$output/config.json")" = "../../blobs/$(gitblob "$TINY/config.json")" ]
	[ "$(readlink "$output/tokenizer.json")" = "../../blobs/$(gitblob "$TINY/tokenizer.json")" ]
	for f in "$output"/*; do
		[ -L "$f" ]
		[ -f "$rd/blobs/$(basename "$(readlink "$f")")" ]
	done
	[ -z "$(find "$HF_HUB_CACHE" -name '*.incomplete')" ]
	[ -f "$HF_HUB_CACHE/.locks/models--bn--tiny-a/$(sha256 "$TINY/model.safetensors").lock" ]
	grep -q '^Signature: 8a477f597d28d172789f06886806bc55' "$HF_HUB_CACHE/CACHEDIR.TAG"
}

@test "files in sub-directories get one more ../ per level" {
	start_hub
	run bn-fetch -q --include '*' bn/nested
	assert_success
	[ "$(readlink "$output/sub/dir/info.json")" = "../../../../blobs/$(gitblob "$output/sub/dir/info.json")" ]
	[[ "$(readlink "$output/weights/part.safetensors")" == ../../../blobs/* ]]
	grep -q 'nested file' "$output/sub/dir/info.json"
	[ "$(stat -L -c %s "$output/weights/part.safetensors")" -eq 300000 ]
}

@test "a second fetch is served from the cache without downloading" {
	start_hub
	first=$(bn-fetch -q bn/tiny-a)
	: >"$EMU_LOG"
	run bn-fetch -q bn/tiny-a
	assert_success
	assert_output "$first"
	[ "$(log_count '"/resolve" in r["path"] or r["server"] == "cdn"')" -eq 0 ]
}

@test "--include and --exclude select files (repeatable globs)" {
	start_hub
	run bn-fetch -q --include config.json --include 'tokenizer*' bn/tiny-a
	assert_success
	[ "$(ls "$output" | tr '\n' ' ')" = "config.json tokenizer.json " ]
	run bn-fetch -q --exclude '*.safetensors' --exclude 'reference*' bn/bitnet-demo
	assert_success
	[ "$(ls "$output" | tr '\n' ' ')" = "config.json generation_config.json tokenizer.json tokenizer_config.json " ]
	run -1 bn-fetch -q --include 'nothing*' bn/tiny-a
	assert_output --partial "matches the include/exclude patterns"
}

@test "the default patterns fetch what inference needs" {
	start_hub
	run bn-fetch -q bn/bitnet-demo
	assert_success
	same_files "$output" "$DEMO_SRC"
}

@test "--revision pins a tag; blobs are shared between commits" {
	start_hub
	main=$(bn-fetch -q bn/tiny-a)
	run bn-fetch -q --revision v1.0 bn/tiny-a
	assert_success
	[ "$output" != "$main" ]
	rd=$(repo_dir tiny-a)
	[ "$output" = "$rd/snapshots/$(cat "$rd/refs/v1.0")" ]
	cmp "$output/config.json" <(cat "$TINY/config.json"; echo)
	cmp "$output/model.safetensors" "$TINY/model.safetensors"
	[ "$(readlink "$output/model.safetensors")" = "$(readlink "$main/model.safetensors")" ]
	[ "$(ls "$rd/blobs" | wc -l)" -eq 7 ]	# six files + the other config.json
	# a commit id works as a revision and writes no ref
	commit=$(basename "$output")
	run bn-fetch -q --revision "$commit" bn/tiny-a
	assert_success
	assert_output "$output"
	[ ! -e "$rd/refs/$commit" ]
}

@test "fault: a dropped connection is resumed with Range in the same run" {
	start_hub --fault "drop,path=model.safetensors,after=100000,count=1"
	run bn-fetch -q bn/tiny-a
	assert_success
	same_files "$output" "$TINY"
	[ "$(log_count 'r["server"] == "cdn" and r["range"] == "bytes=100000-"')" -eq 1 ]
}

@test "fault: a corrupt byte is caught, retried once, then fails with nothing cached" {
	start_hub --fault "corrupt,path=model.safetensors,at=1000,count=1"
	run bn-fetch -q bn/tiny-a
	assert_success
	same_files "$output" "$TINY"
	hub_ctl "kind=corrupt&path=model.safetensors&at=5&count=2"
	rm -rf "$HF_HUB_CACHE"
	run --separate-stderr bn-fetch -q bn/tiny-a
	assert_failure 1
	[[ "$stderr" == "bn-fetch: 'bn/tiny-a/model.safetensors': SHA-256 mismatch"* ]]
	rd=$(repo_dir tiny-a)
	[ ! -e "$rd/blobs/$(sha256 "$TINY/model.safetensors")" ]
	[ -z "$(find "$HF_HUB_CACHE" -name '*.incomplete')" ]
	[ ! -e "$rd/refs/main" ]
}

@test "fault: a corrupt small file fails its git blob SHA-1" {
	start_hub --fault "corrupt,path=config.json,at=3,count=2"
	run --separate-stderr bn-fetch -q bn/tiny-a
	assert_failure 1
	[[ "$stderr" == *"'bn/tiny-a/config.json': git blob SHA-1 mismatch"* ]]
	[ ! -e "$(repo_dir tiny-a)/blobs/$(gitblob "$TINY/config.json")" ]
}

@test "fault: 429 with Retry-After, then success" {
	start_hub --fault "status,code=429,retry_after=1,where=file,path=model.safetensors,count=2"
	run --separate-stderr bn-fetch bn/tiny-a
	assert_success
	[[ "$stderr" == *"retrying in 2 ms (HTTP 429)"* ]]	# (1 s + 1) scaled by BN_FETCH_BACKOFF_MS=1
	[ "$(log_count 'r["server"] == "cdn" and "6eeace" in r["path"]')" -eq 3 ]
	same_files "$output" "$TINY"
}

@test "fault: 500s are retried with backoff, and give up after BN_FETCH_RETRIES" {
	start_hub --fault "status,code=500,where=api,count=2"
	run bn-fetch -q bn/tiny-a
	assert_success
	hub_ctl "kind=status&code=503&where=resolve&path=config.json"
	rm -rf "$HF_HUB_CACHE"
	: >"$EMU_LOG"
	BN_FETCH_RETRIES=2 run --separate-stderr bn-fetch -q bn/tiny-a
	assert_failure 1
	[[ "$stderr" == *"HTTP 503"* ]]
	[ "$(log_count '"/resolve/" in r["path"] and r["path"].endswith("config.json")')" -eq 3 ]
}

@test "fault: a body longer than the listed size is refused, retried once" {
	start_hub --fault "size,path=model.safetensors,count=1"
	run bn-fetch -q bn/tiny-a
	assert_success
	same_files "$output" "$TINY"
	hub_ctl "kind=size&path=tokenizer.json"
	rm -rf "$HF_HUB_CACHE"
	run --separate-stderr bn-fetch -q bn/tiny-a
	assert_failure 1
	[[ "$stderr" == *"'bn/tiny-a/tokenizer.json': server sent more than 123765 bytes"* ]]
	[ -z "$(find "$HF_HUB_CACHE" -name '*.incomplete')" ]
}

@test "fault: a slow trickle still arrives intact" {
	start_hub --fault "slow,chunk=8192,delay_ms=1"
	run bn-fetch -q bn/tiny-a
	assert_success
	same_files "$output" "$TINY"
}

@test "fault: lying metadata and a missing X-Repo-Commit are errors" {
	start_hub --fault "badmeta,path=model.safetensors"
	run --separate-stderr bn-fetch -q bn/tiny-a
	assert_failure 1
	[[ "$stderr" == *"'bn/tiny-a/model.safetensors': file metadata does not match the listing"* ]]
	hub_ctl reset
	rm -rf "$HF_HUB_CACHE"
	hub_ctl "kind=nocommit&path=model.safetensors"
	run --separate-stderr bn-fetch -q bn/tiny-a
	assert_failure 1
	[[ "$stderr" == *"not a Hub response (no X-Repo-Commit"* ]]
}

@test "resume across runs: a failed run leaves .incomplete, the next one sends Range" {
	start_hub --fault "drop,path=model.safetensors,after=200000"
	BN_FETCH_RETRIES=0 run --separate-stderr bn-fetch -q bn/tiny-a
	assert_failure 1
	[[ "$stderr" == *"model.safetensors"* ]]
	rd=$(repo_dir tiny-a)
	sha=$(sha256 "$TINY/model.safetensors")
	[ "$(stat -c %s "$rd/blobs/$sha.incomplete")" -eq 200000 ]
	[ ! -e "$rd/blobs/$sha" ]
	[ ! -e "$rd/refs/main" ]
	hub_ctl reset
	: >"$EMU_LOG"
	run bn-fetch -q bn/tiny-a
	assert_success
	same_files "$output" "$TINY"
	[ "$(log_count 'r["server"] == "cdn" and r["range"] == "bytes=200000-"')" -eq 1 ]
	[ ! -e "$rd/blobs/$sha.incomplete" ]
}

@test "resume across runs restarts from zero when the server ignores Range" {
	start_hub --fault "drop,path=model.safetensors,after=150000,count=1"
	BN_FETCH_RETRIES=0 run bn-fetch -q bn/tiny-a
	assert_failure 1
	hub_ctl "kind=norange"
	run bn-fetch -q bn/tiny-a
	assert_success
	same_files "$output" "$TINY"
	[ "$(log_count 'r["server"] == "cdn" and r["range"] == "bytes=150000-"')" -eq 1 ]
}

@test "resume after the process is killed mid-file" {
	start_hub --fault "slow,path=model.safetensors,chunk=4096,delay_ms=20"
	rd=$(repo_dir tiny-a)
	inc="$rd/blobs/$(sha256 "$TINY/model.safetensors").incomplete"
	bn-fetch -q bn/tiny-a 3>&- &
	pid=$!
	for i in $(seq 400); do
		[ -s "$inc" ] && [ "$(stat -c %s "$inc")" -ge 20000 ] && break
		sleep 0.025
	done
	kill -9 "$pid"
	wait "$pid" || true
	have=$(stat -c %s "$inc")
	[ "$have" -gt 0 ]
	hub_ctl reset
	run bn-fetch -q bn/tiny-a
	assert_success
	same_files "$output" "$TINY"
	[ "$(log_count 'r["server"] == "cdn" and (r["range"] or "").startswith("bytes=")')" -ge 1 ]
}

@test "two concurrent fetches of one repo end with one correct copy" {
	start_hub --fault "slow,path=model.safetensors,chunk=65536,delay_ms=10"
	bn-fetch -q bn/bitnet-demo >a.out 2>a.err 3>&- &
	p1=$!
	bn-fetch -q bn/bitnet-demo >b.out 2>b.err 3>&- &
	p2=$!
	wait "$p1"
	wait "$p2"
	[ "$(cat a.out)" = "$(cat b.out)" ]
	same_files "$(cat a.out)" "$DEMO_SRC"
	rd=$(repo_dir bitnet-demo)
	[ "$(ls "$rd/blobs" | wc -l)" -eq 5 ]
	[ -z "$(find "$HF_HUB_CACHE" -name '*.incomplete' -o -name '*.tmp')" ]
	# the lock let only one of them download the weights
	[ "$(log_count 'r["server"] == "cdn" and r["method"] == "GET"')" -eq 1 ]
}

@test "offline mode resolves from refs and never touches the network" {
	start_hub
	path=$(bn-fetch -q bn/tiny-a)
	stop_hub
	HF_HUB_OFFLINE=1 run bn-fetch bn/tiny-a
	assert_success
	assert_output "$path"
	run bn-fetch --offline -i config.json bn/tiny-a
	assert_success
	assert_output "$path"
	run --separate-stderr bn-fetch --offline --revision v1.0 bn/tiny-a
	assert_failure 1
	[ "$stderr" = "bn-fetch: revision 'v1.0' of 'bn/tiny-a' is not in the cache (offline mode)" ]
	run -1 bn-fetch --offline bn/bitnet-demo
	rm "$(repo_dir tiny-a)/blobs/$(sha256 "$TINY/model.safetensors")"
	run -1 bn-fetch --offline bn/tiny-a
	assert_output --partial "missing its blob"
	run -1 bn-fetch --offline --dry-run bn/tiny-a
	assert_output --partial "model.safetensors' is missing its blob"
}

@test "offline mode checks only the selected files for their blobs" {
	start_hub
	path=$(bn-fetch -q bn/tiny-a)
	stop_hub
	rm "$(repo_dir tiny-a)/blobs/$(sha256 "$TINY/model.safetensors")"
	HF_HUB_OFFLINE=1 run bn-fetch -i config.json bn/tiny-a
	assert_success
	assert_output "$path"
	run bn-fetch --offline -x model.safetensors bn/tiny-a
	assert_success
	assert_output "$path"
	run bn-fetch --offline -n -x model.safetensors bn/tiny-a
	assert_success
	refute_output --partial model.safetensors
	run -1 bn-fetch --offline -i '*.safetensors' bn/tiny-a
	assert_output --partial "model.safetensors' is missing its blob"
}

@test "an unreachable Hub falls back to the cache, or fails clearly" {
	start_hub
	path=$(bn-fetch -q bn/tiny-a)
	stop_hub
	BN_FETCH_RETRIES=1 run --separate-stderr bn-fetch bn/tiny-a
	assert_success
	assert_output "$path"
	[[ "$stderr" == *"cannot reach 'http://127.0.0.1:$HUB_PORT'"*"using the cached snapshot"* ]]
	BN_FETCH_RETRIES=0 run --separate-stderr bn-fetch bn/bitnet-demo
	assert_failure 1
	[[ "$stderr" == "bn-fetch: cannot reach 'http://127.0.0.1:$HUB_PORT'"* ]]
}

@test "Hub errors are one clear line each, exit 1" {
	start_hub
	run --separate-stderr bn-fetch bn/nope
	assert_failure 1
	[ "$stderr" = "bn-fetch: repository 'bn/nope' not found (if it is private or gated, set HF_TOKEN or use --token)" ]
	run --separate-stderr bn-fetch -r nope bn/tiny-a
	assert_failure 1
	[ "$stderr" = "bn-fetch: revision 'nope' not found in repository 'bn/tiny-a'" ]
	run --separate-stderr bn-fetch bn/gated
	assert_failure 1
	[ "$stderr" = "bn-fetch: access to repository 'bn/gated' is restricted: request access on the Hub and pass a token" ]
	run --separate-stderr bn-fetch bn/private
	assert_failure 1
	[[ "$stderr" == "bn-fetch: repository 'bn/private' not found"* ]]
	run --separate-stderr bn-fetch --token hf_wrong bn/private
	assert_failure 1
	[ "$stderr" = "bn-fetch: invalid credentials for repository 'bn/private' (check HF_TOKEN or --token)" ]
	hub_ctl "kind=status&code=404&xcode=EntryNotFound&where=resolve&path=config.json"
	run --separate-stderr bn-fetch bn/tiny-a
	assert_failure 1
	[ "$stderr" = "bn-fetch: file 'config.json' not found in repository 'bn/tiny-a'" ]
	hub_ctl reset
	hub_ctl "kind=status&code=403&where=api&msg=no%20access"
	run --separate-stderr bn-fetch bn/tiny-a
	assert_failure 1
	[ "$stderr" = "bn-fetch: access to repository 'bn/tiny-a' denied: the token lacks permission: no access" ]
}

@test "the token is sent to the Hub, dropped on the CDN redirect, never printed" {
	start_hub
	tok=hf_emulatorTestToken0123456789abcdefgh
	HF_TOKEN=$tok run --separate-stderr bn-fetch bn/private
	assert_success
	same_files "$output" "$TINY"
	[[ "$output$stderr" != *"$tok"* ]]
	[ "$(log_count 'r["server"] == "hub" and r["authorization"] != "Bearer '$tok'"')" -eq 0 ]
	[ "$(log_count 'r["server"] == "cdn"')" -eq 2 ]
	[ "$(log_count 'r["server"] == "cdn" and r["authorization"] is not None')" -eq 0 ]
	# the token file under $HF_HOME, and --token, work too
	rm -rf "$HF_HUB_CACHE"
	mkdir -p "$HF_HOME"
	printf ' %s\n' "$tok" >"$HF_HOME/token"
	run bn-fetch -q bn/private
	assert_success
	rm "$HF_HOME/token" && rm -rf "$HF_HUB_CACHE"
	HUGGING_FACE_HUB_TOKEN=hf_wrong run --separate-stderr bn-fetch -q --token "$tok" bn/private
	assert_success
	rm -rf "$HF_HUB_CACHE"
	HF_TOKEN=hf_wrongButSecret run --separate-stderr bn-fetch bn/private
	assert_failure 1
	[[ "$output$stderr" != *hf_wrongButSecret* ]]
}

@test "paths that escape the snapshot are refused" {
	start_hub
	run --separate-stderr bn-fetch --include '*' bn/evil
	assert_failure 1
	[ "$stderr" = "bn-fetch: refusing unsafe file path '../escape.json' from the server" ]
	[ -z "$(find "$BATS_TEST_TMPDIR" -name escape.json)" ]
	run -2 bn-fetch bn/../etc
	run -2 bn-fetch /etc/passwd
	run -2 bn-fetch -r ../../x bn/tiny-a
	run -2 bn-fetch -r /abs bn/tiny-a
}

@test "--dry-run lists files and sizes and writes nothing" {
	start_hub
	run --separate-stderr bn-fetch --dry-run bn/tiny-a
	assert_success
	assert_line "$(stat -c %s "$TINY/model.safetensors")	model.safetensors"
	assert_line "$(stat -c %s "$TINY/config.json")	config.json"
	[ "${#lines[@]}" -eq 6 ]
	[[ "$stderr" == *"6 files, "*" bytes to download"* ]]
	[ ! -e "$(repo_dir tiny-a)" ]
	bn-fetch -q -i config.json bn/tiny-a
	run bn-fetch -n bn/tiny-a
	assert_line "$(stat -c %s "$TINY/config.json")	config.json	(cached)"
}

@test "--json prints a machine-readable summary" {
	start_hub
	run bn-fetch --json bn/tiny-a
	assert_success
	echo "$output" | python3 -c '
import json, os, sys
j = json.load(sys.stdin)
assert j["repo"] == "bn/tiny-a" and j["revision"] == "main" and len(j["commit"]) == 40
assert os.path.isdir(j["path"]) and j["dry_run"] is False
assert len(j["files"]) == 6 and j["downloaded_bytes"] == sum(f["size"] for f in j["files"])
m = [f for f in j["files"] if f["path"] == "model.safetensors"][0]
assert len(m["sha256"]) == 64 and m["cached"] is False
'
	run bn-fetch --json --dry-run bn/tiny-a
	assert_success
	echo "$output" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["dry_run"] is True and all(f["cached"] for f in j["files"])'
}

@test "--local-dir writes plain files with per-file metadata" {
	start_hub
	run bn-fetch -q --local-dir out bn/nested --include '*'
	assert_success
	assert_output out
	[ ! -L out/config.json ] && [ -f out/sub/dir/info.json ]
	cmp out/config.json "$TINY/config.json"
	[ "$(stat -c %s out/weights/part.safetensors)" -eq 300000 ]
	meta=out/.cache/huggingface/download/weights/part.safetensors.metadata
	[ "$(wc -l <"$meta")" -eq 3 ]
	[ "$(sed -n 2p "$meta")" = "$(sha256 out/weights/part.safetensors)" ]
	[ ! -e "$HF_HUB_CACHE" ]
	: >"$EMU_LOG"
	run bn-fetch -q --local-dir out bn/nested --include '*'
	assert_success
	[ "$(log_count '"/resolve" in r["path"] or r["server"] == "cdn"')" -eq 0 ]
	run --separate-stderr bn-fetch --offline --local-dir out bn/nested
	assert_failure 2
	[[ "$stderr" == *"--offline and --local-dir cannot be combined"* ]]
	HF_HUB_OFFLINE=1 run --separate-stderr bn-fetch --local-dir out bn/nested
	assert_failure 1
	[[ "$stderr" == *"cannot be combined with --local-dir"* ]]
}

@test "usage errors exit 2" {
	run -2 bn-fetch
	run -2 bn-fetch bn/a bn/b
	run -2 bn-fetch a/b/c
	run -2 bn-fetch --bogus bn/tiny-a
	BN_FETCH_RETRIES=x run -2 bn-fetch bn/tiny-a
	run bn-fetch --help
	assert_success
	assert_line --index 0 "Usage: bn-fetch [OPTIONS] ORG/NAME"
}

@test "what bn-fetch downloads converts to the same model as the source checkpoint" {
	start_hub
	snap=$(bn-fetch -q bn/bitnet-demo)
	run bn-convert -q "$snap" -o m.gguf
	assert_success
	# the converter records the directory name: convert the source under the same name
	mkdir -p src && cp -r "$DEMO_SRC" "src/$(basename "$snap")"
	bn-convert -q "src/$(basename "$snap")" -o ref.gguf
	cmp m.gguf ref.gguf
}
