#!/usr/bin/env bats
# Sampling outside bn-infer: --logits | bn-sample, and the external sampler
# loop (--sampler CMD, --sampler-fd IN,OUT) through bn-sample --serve give
# exactly the ids of bn-infer's own sampler with the same seed and options.
bats_require_minimum_version 1.5.0
load lib

SOPT="--temp 1.3 --top-k 0 --top-p 0.9 --min-p 0.02"

setup() {
	printf '%s\n' '{"id":"a","prompt":"The"}' '{"prompt":"Once upon a time"}' \
		'{"id":42,"prompt":"It was"}' >in.jsonl
}

# "rec id id id ..." per record, from --jsonl output or from bn-sample --jsonl
ids_by_record() {
	python3 -c '
import json, sys
recs = {}
for l in sys.stdin:
    d = json.loads(l)
    if "rec" in d: recs.setdefault(d["rec"], []).append(d["id"])
    else: recs[len(recs)] = d["ids"]
for v in recs.values(): print(*v)'
}

@test "--logits | bn-sample --seed S gives the ids of bn-infer --seed S" {
	bn-infer -m "$DEMO" --jsonl -f in.jsonl -n 10 -s 9 $SOPT | ids_by_record >want
	bn-infer -m "$DEMO" --jsonl -f in.jsonl -n 10 -s 9 $SOPT --logits |
		bn-sample -s 9 $SOPT --jsonl | ids_by_record >got
	diff -u want got
	[ "$(wc -l <got)" -eq 3 ]
	# jsonl frames too, and plain prompt lines
	printf 'The\nA cat\n' | bn-infer -m "$DEMO" --jsonl -n 6 -s 3 | ids_by_record >want
	printf 'The\nA cat\n' | bn-infer -m "$DEMO" -n 6 -s 3 --logits --logits-format jsonl |
		bn-sample -s 3 --jsonl | ids_by_record >got
	diff -u want got
}

@test "--sampler 'bn-sample --serve': the same ids, one frame and answer per step" {
	bn-infer -m "$DEMO" --jsonl -f in.jsonl -n 10 -s 9 $SOPT --no-timings >want
	bn-infer -m "$DEMO" --jsonl -f in.jsonl -n 10 -s 9 $SOPT --no-timings \
		--sampler "bn-sample --serve -s 9 $SOPT" >got
	cmp want got
	# another seed on the sampler side: other ids
	bn-infer -m "$DEMO" --jsonl -f in.jsonl -n 10 -s 9 $SOPT --no-timings \
		--sampler "bn-sample --serve -s 10 $SOPT" >other
	! cmp -s want other
}

@test "--sampler-fd IN,OUT over named pipes" {
	mkfifo frames answers
	bn-sample --serve -s 4 <frames >answers &
	bn-infer -m "$DEMO" --jsonl -f in.jsonl -n 8 -s 4 --no-timings --sampler-fd 3,4 \
		4>frames 3<answers >got
	wait $!
	bn-infer -m "$DEMO" --jsonl -f in.jsonl -n 8 -s 4 --no-timings >want
	cmp want got
}

@test "a script can be the sampler: always token 13 until the stop" {
	run bn-infer -m "$DEMO" -p The -n 5 --jsonl --no-timings \
		--sampler 'python3 -c "
import sys
while sys.stdin.buffer.read(16 + 4 * 4101): print(13, flush=True)"'
	assert_success
	assert_output --partial '"ids":[13,13,13,13,13],'
}

@test "sampler failures: bad answers, early exit, a failed exit status" {
	run -1 --separate-stderr bn-infer -m "$DEMO" -p The -n 5 --sampler 'echo x; cat >/dev/null'
	[ "$stderr" = "bn-infer: prompt:1: the external sampler answered with no valid token id" ]
	run -1 --separate-stderr bn-infer -m "$DEMO" -p The -n 5 --sampler 'echo 99999; cat >/dev/null'
	[ "$stderr" = "bn-infer: prompt:1: the external sampler answered with no valid token id" ]
	run -1 --separate-stderr bn-infer -m "$DEMO" -p The -n 5 --sampler 'exit 0'
	[ "$stderr" = "bn-infer: prompt:1: cannot write a frame to the external sampler" ]
	run -1 --separate-stderr bn-infer -m "$DEMO" -p The -n 5 \
		--sampler 'python3 -c "import sys; sys.stdin.buffer.read(16 + 4 * 4101)"'
	[ "$stderr" = "bn-infer: prompt:1: the external sampler closed its output" ]
	run -1 --separate-stderr bn-infer -m "$DEMO" -p The -n 2 --sampler 'bn-sample --serve; exit 3'
	[ "$stderr" = "bn-infer: the external sampler 'bn-sample --serve; exit 3' failed" ]
	run -2 bn-infer -m "$DEMO" -p The --sampler-fd 3
	run -2 bn-infer -m "$DEMO" -p The --sampler x --sampler-fd 3,4
}
