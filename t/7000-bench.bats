#!/usr/bin/env bats
# bn-bench: functional checks on the tiny synthetic model (no timing
# assertions: the numbers depend on the machine and its load).
bats_require_minimum_version 1.5.0
load lib

setup() {
	bn-convert -q --synthetic tiny -o tiny.gguf
}

@test "md: one row per test and thread count, llama-bench columns" {
	run bn-bench -m tiny.gguf -p 16 -n 4 -t 1,2 -r 2
	assert_success
	assert_line --index 0 --regexp '^\| model \| size \| params \| kernels \| threads \| test \| t/s \|'
	[ "$(grep -c '| pp16 |' <<< "$output")" -eq 2 ]
	[ "$(grep -c '| tg4 |' <<< "$output")" -eq 2 ]
	assert_output --regexp '\| [0-9]+\.[0-9]+ ± [0-9]+\.[0-9]+ \|'
}

@test "a repeated list option adds its values, as in llama-bench" {
	run bn-bench -m tiny.gguf -p 16 -p 8,4 -n 0 -t 1 -r 1 -o jsonl
	assert_success
	python3 -c '
import json, sys
assert [json.loads(l)["n_prompt"] for l in sys.argv[1].splitlines()] == [16, 8, 4]
' "$output"
}

@test "csv: header and one line per test, scalar fields only" {
	run bn-bench -m tiny.gguf -p 8,16 -n 0 -t 1 -r 2 -o csv
	assert_success
	assert_line --index 0 --partial "n_threads,n_prompt,n_gen,n_depth,test_time,avg_ns,stddev_ns,avg_ts,stddev_ts,peak_rss"
	[ "${#lines[@]}" -eq 3 ]
	refute_output --partial samples_ns
}

@test "json: one array with every field and per-repetition samples" {
	run bn-bench -m tiny.gguf -p 8 -n 4 -t 1 -r 3 -o json
	assert_success
	python3 - "$output" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
assert len(d) == 2, d
for r in d:
    for k in ("build_commit", "cpu_info", "model_filename", "model_type", "model_size",
              "model_n_params", "kernels", "n_batch", "n_threads", "n_prompt", "n_gen",
              "test_time", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "peak_rss",
              "load_ns", "samples_ns", "samples_ts"):
        assert k in r, k
    assert len(r["samples_ns"]) == 3 and len(r["samples_ts"]) == 3
    assert r["avg_ts"] > 0 and r["peak_rss"] > 0
assert d[0]["n_prompt"] == 8 and d[0]["n_gen"] == 0
assert d[1]["n_prompt"] == 0 and d[1]["n_gen"] == 4
EOF
}

@test "-d: tests after a filled cache, named and counted like llama-bench's" {
	run bn-bench -m tiny.gguf -p 8 -n 4 -d 0,16 -t 1 -r 1 --kernels scalar -o jsonl
	assert_success
	python3 - "$output" <<'EOF'
import json, sys
recs = [json.loads(l) for l in sys.argv[1].splitlines()]
tests = [r for r in recs if "samples_ts" in r]
assert [r["n_depth"] for r in tests] == [0, 16, 0, 16], tests
assert [r["n_prompt"] for r in tests] == [8, 8, 0, 0]
roof = {r["roof_test"]: r["bytes_per_token"] for r in recs if "roof_test" in r}
# the cache read at depth 16 adds to the bytes of every decode step
assert set(roof) == {"tg4", "tg4 @ d16"} and float(roof["tg4 @ d16"]) > float(roof["tg4"]), roof
EOF
	run bn-bench -m tiny.gguf -p 8 -n 0 -d 16 -t 1 -r 1
	assert_output --partial '| pp8 @ d16 |'
}

@test "jsonl: one object per line" {
	run bn-bench -m tiny.gguf -p 8 -n 4 -t 1,2 -r 1 -o jsonl
	assert_success
	[ "${#lines[@]}" -eq 4 ]
	for l in "${lines[@]}"; do
		python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["samples_ts"]' "$l"
	done
}

@test "kernel mode: every table, read bandwidth, decode against the roofline" {
	run bn-bench -m tiny.gguf -p 8 -n 4 -t 1 -r 1 --kernels all -o jsonl
	assert_success
	python3 - "$output" <<'EOF'
import json, sys, subprocess
recs = [json.loads(l) for l in sys.argv[1].splitlines()]
kern = [r for r in recs if "kernel" in r]
names = {r["kernels"] for r in kern}
assert "scalar" in names, names
for k in ("gemv_t2", "gemm_t2", "gemv_f16", "dot_q8_0", "attn", "attn_f16"):
    assert any(r["kernel"] == k for r in kern), k
assert all(r["gbps"] > 0 and r["gops"] > 0 for r in kern)
# attention: 4 ops per group member, position and d over 2 x 4 (f32) or
# 2 x 2 (f16) bytes of key and value per position and d
for r in kern:
    if r["kernel"].startswith("attn"):
        g = int(r["shape"].split("x")[0])
        want = g / 2 if r["kernel"] == "attn" else g
        assert abs(r["gops"] / r["gbps"] - want) < 0.01 * want, r
assert any("read_bw_threads" in r and r["read_gbps"] > 0 for r in recs)
roof = [r for r in recs if "roofline_fraction" in r]
assert len(roof) == 1 and roof[0]["roofline_fraction"] > 0, roof
# Linux has /proc/self/smaps: the share of the model mapped in huge pages
assert 0 <= roof[0]["model_huge_fraction"] <= 1, roof
EOF
}

@test "--kernels NAME without a model uses the 2B4T shapes" {
	k=$(bn-bench --version | sed 's/.*kernels: \(.*\))/\1/')
	run bn-bench --kernels "$k" -t 1 -r 1 -p 4 -o csv
	assert_success
	assert_output --partial "$k,gemv_t2,2560x2560,1,"
	assert_output --partial "$k,gemv_t2,640x2560,1,"
	assert_output --partial "$k,gemm_t2,4x6912x2560,1,"
	assert_output --partial "$k,gemv_f16,128256x2560,1,"
	assert_output --partial "$k,dot_q8_0,128256x2560,1,"
	assert_output --partial "$k,attn,4x4096x128,1,"
	assert_output --partial "$k,attn_f16,4x4096x128,1,"
}

@test "--plot writes a valid SVG roofline" {
	run bn-bench -m tiny.gguf -p 8 -n 4 -t 1 -r 1 --plot roof.svg
	assert_success
	[ -s roof.svg ]
	if command -v xmllint >/dev/null; then
		xmllint --noout roof.svg
	else
		python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' roof.svg
	fi
	grep -q '<svg xmlns="http://www.w3.org/2000/svg"' roof.svg
	grep -q 'end to end tg4' roof.svg
	grep -q 'read, 1 thread' roof.svg
}

@test "usage errors exit 2, failures exit 1" {
	run -2 bn-bench
	run -2 bn-bench -m tiny.gguf -o xml
	run -2 bn-bench -m tiny.gguf -t 0
	run -2 bn-bench -m tiny.gguf -p 1,x
	run -2 --separate-stderr bn-bench -m tiny.gguf -p 1,
	[ "${stderr_lines[0]}" = "bn-bench: option -p: empty item in '1,'" ]
	run -2 bn-bench -m tiny.gguf -t ,1
	run -2 bn-bench -m tiny.gguf -n 1,,2
	run -2 bn-bench -m tiny.gguf -d ''
	run -2 bn-bench -m tiny.gguf --kernels nosuch
	run -2 bn-bench -m tiny.gguf extra
	run -1 bn-bench -m missing.gguf
	run -1 bn-bench -m tiny.gguf -p 100000 -n 0
	run -2 bn-bench -m tiny.gguf -d -1
	run -1 --separate-stderr bn-bench -m tiny.gguf -p 0 -n 4 -d 1000000
	[[ "$stderr" == *"test of 4 tokens after 1000000 exceeds the model context"* ]]
	echo junk > bad.gguf
	run -1 bn-bench -m bad.gguf
}

@test "a closed pipe ends quietly with status 0" {
	run bash -c 'bn-bench -m tiny.gguf -p 8 -n 2 -t 1,2 -r 1 -o jsonl | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 0
}
