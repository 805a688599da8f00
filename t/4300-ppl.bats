#!/usr/bin/env bats
# bn-infer --perplexity: line mode (TSV and JSON), llama-perplexity's chunks
# (checked against logits frames), .zst input, progress only on a terminal.
bats_require_minimum_version 1.5.0
load lib

setup() {
	head -c 20000 "$FIX/text/eval.txt" >text.txt
}

@test "line mode: LINE TAB PPL TAB TOKENS per non-empty line, then the total" {
	printf 'The cat sat.\n\nIt was a dark night.\n' >two.txt
	run bn-infer -m "$DEMO" --perplexity two.txt
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" =~ ^1$'\t'[0-9]+\.[0-9]{4}$'\t'4$ ]]
	[[ "${lines[1]}" =~ ^3$'\t'[0-9.]+$'\t'6$ ]]
	[[ "${lines[2]}" =~ ^total$'\t'[0-9.]+$'\t'10$ ]]
	run bn-infer -m "$DEMO" --perplexity two.txt --jsonl
	python3 - "$output" <<'PY'
import json, math, sys
l = [json.loads(x) for x in sys.argv[1].splitlines()]
assert [x["line"] for x in l[:2]] == [1, 3]
tot = l[2]
assert tot["tokens"] == 10 and abs(tot["nll"] - l[0]["nll"] - l[1]["nll"]) < 1e-4
assert abs(tot["ppl"] - math.exp(tot["nll"] / 10)) < 1e-3 * tot["ppl"]
PY
}

@test "chunks: the first chunk's score is the mean NLL of the second half of its window" {
	run bn-infer -m "$DEMO" --perplexity text.txt --ppl-mode chunks -c 64 --chunks 1 --jsonl
	assert_success
	ppl=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["chunks"]==1 and d["n_ctx"]==64 and d["tokens"]==31, d; print(d["ppl"])' "$output")
	bn-tokenize -m "$DEMO" --whole text.txt | tr ' ' '\n' | head -64 | sed '1s/.*/4096/' | tr '\n' ' ' >chunk.ids
	[ "$(wc -w <chunk.ids)" -eq 64 ]
	bn-infer -m "$DEMO" --ids -n 0 --logits --all-logits -f chunk.ids >f.bin
	python3 - "$ppl" <<'PY'
import math, struct, sys
ids = list(map(int, open("chunk.ids").read().split()))
data, o, nll, n = open("f.bin", "rb").read(), 0, 0.0, 0
while o < len(data):
    _, v, pos, _ = struct.unpack_from("<4I", data, o)
    l = struct.unpack_from("<%df" % v, data, o + 16)
    o += 16 + 4 * v
    if 32 <= pos <= 62:
        m = max(l)
        nll += m + math.log(sum(math.exp(x - m) for x in l)) - l[ids[pos + 1]]
        n += 1
assert n == 31
want, got = math.exp(nll / n), float(sys.argv[1])
assert abs(want - got) < 1e-4 * want, (want, got)
PY
}

@test "chunks: the Final estimate line, --chunks, too short an input" {
	run --separate-stderr bn-infer -m "$DEMO" --perplexity text.txt --ppl-mode chunks -c 64 --chunks 3
	assert_success
	[[ "$output" =~ ^Final\ estimate:\ PPL\ =\ [0-9]+\.[0-9]{4}\ \+/-\ [0-9]+\.[0-9]{5}$ ]]
	[ "$stderr" = "" ]
	run bn-infer -m "$DEMO" --perplexity text.txt --ppl-mode chunks -c 64 --chunks 3 --jsonl
	[[ "$output" == '{"chunks":3,"n_ctx":64,"tokens":93,'* ]]
	head -c 200 text.txt >short.txt
	run -1 --separate-stderr bn-infer -m "$DEMO" --perplexity short.txt --ppl-mode chunks -c 64
	[[ "$stderr" == "bn-infer: short.txt: "*" tokens; chunked perplexity with a context of 64 needs at least 128" ]]
	run -2 bn-infer -m "$DEMO" --perplexity text.txt --ppl-mode windows
}

@test "nothing to score is an error in both modes, never a nan or a total of 0" {
	for c in 1 2; do
		run -1 --separate-stderr bn-infer -m "$DEMO" --perplexity text.txt --ppl-mode chunks -c $c --jsonl
		[ "$output" = "" ]
		[ "$stderr" = "bn-infer: text.txt: chunked perplexity with a context of $c scores no tokens (it needs 3 or more)" ]
	done
	run bn-infer -m "$DEMO" --perplexity text.txt --ppl-mode chunks -c 3 --chunks 1 --jsonl
	[[ "$output" == '{"chunks":1,"n_ctx":3,"tokens":1,'* ]]
	printf '\n\r\n' >blank.txt
	for args in "/dev/null" "blank.txt" "text.txt -c 1" "text.txt -c 1 --jsonl"; do
		set -- $args
		run -1 --separate-stderr bn-infer -m "$DEMO" --perplexity "$@" -o out.txt
		[ "$stderr" = "bn-infer: $1: no tokens to score (it needs a non-empty line and a context of 2 tokens or more)" ]
		[ ! -e out.txt ]
	done
}

@test ".zst input gives the same numbers; -o writes them to a file" {
	zstd -q text.txt -o text.txt.zst
	a=$(bn-infer -m "$DEMO" --perplexity text.txt --ppl-mode chunks -c 64 --chunks 2)
	bn-infer -m "$DEMO" --perplexity text.txt.zst --ppl-mode chunks -c 64 --chunks 2 -o out.txt
	[ "$a" = "$(cat out.txt)" ]
	head -5 text.txt | zstd -q >five.zst
	[ "$(bn-infer -m "$DEMO" --perplexity five.zst | tail -1)" = "$(head -5 text.txt | bn-infer -m "$DEMO" --perplexity - | tail -1)" ]
}

@test "progress on a terminal only: [1]x,[2]y for chunks" {
	python3 - <<'EOF'
import os, pty, subprocess
m, s = pty.openpty()
p = subprocess.run(["bn-infer", "-m", os.environ["DEMO"], "--perplexity", "text.txt", "--ppl-mode",
                    "chunks", "-c", "64", "--chunks", "2"], stdout=subprocess.PIPE, stderr=s, timeout=120)
os.close(s)
err = os.read(m, 4096).decode()
assert p.returncode == 0 and err.startswith("[1]") and ",[2]" in err, err
assert p.stdout.decode().startswith("Final estimate: PPL = ")
EOF
}

@test "progress only when the data does not go to that same terminal" {
	head -3 text.txt >three.txt
	# one terminal for both: data lines only
	run script -qec "bn-infer -m '$DEMO' --perplexity three.txt" /dev/null </dev/null
	assert_success
	[ "${#lines[@]}" -eq 4 ]
	[[ "$output" != *"tokens, ppl"* && "$output" != *$'\e'* ]]
	# the data on another terminal: progress on the first
	python3 - <<'EOF'
import os, pty, subprocess
m1, s1 = pty.openpty()
m2, s2 = pty.openpty()
p = subprocess.run(["bn-infer", "-m", os.environ["DEMO"], "--perplexity", "three.txt"],
                   stdout=s2, stderr=s1, timeout=120)
os.close(s1), os.close(s2)
err, out = os.read(m1, 4096).decode(), os.read(m2, 4096).decode()
assert p.returncode == 0 and "3 lines, " in err and "tokens, ppl" not in out, (err, out)
EOF
}
