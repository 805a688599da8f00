#!/usr/bin/env bats
# bn-infer: exact forward pass and generation against transformers' fixtures.
bats_require_minimum_version 1.5.0
load lib

TINY="$FIX/models/tiny-a"

tables() {
	for k in scalar avx2 avx512 neon; do
		BN_KERNELS=$k bn-infer --version | grep -q "kernels: $k)" && echo "$k"
	done
}

@test "demo: the five greedy generations match transformers exactly, every kernel table" {
	for k in $(tables); do
		BN_KERNELS=$k bn-infer -m "$DEMO" --ids --temp 0 -n 40 --jsonl -f "$FIX/demo-greedy.ids" \
			| python3 -c 'import json,sys; [print(" ".join(map(str, json.loads(l)["ids"]))) for l in sys.stdin]' \
			> "got.$k"
		diff -u "$FIX/demo-greedy.expected" "got.$k"
	done
}

@test "demo: perplexity of the first 100 lines of eval.txt is 55.30 (transformers: 55.2999)" {
	run bn-infer -m "$DEMO" --perplexity "$FIX/text/eval100.txt" --jsonl
	assert_success
	last=$(printf '%s\n' "$output" | tail -1)
	python3 - "$last" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert d["tokens"] == 10191, d
assert "%.4g" % d["ppl"] == "55.3", d
PY
}

@test "tiny-a: every logit of every position within 1e-3 of transformers (prefill)" {
	n=0
	while read -r ids; do
		echo "$ids" | bn-infer -m "$TINY" --ids -n 0 --logits --all-logits > f.bin
		python3 "$TOP/t/ckpt.py" cmp-logits f.bin "$TINY/reference-logits.safetensors" $n 1e-3
		n=$((n + 1))
	done < "$FIX/tiny-a.ids"
	[ "$n" -eq 5 ]
}

@test "tiny-a: the same one token at a time through the KV cache (-b 1)" {
	n=0
	while read -r ids; do
		echo "$ids" | bn-infer -m "$TINY" --ids -n 0 -b 1 --logits --all-logits > f.bin
		python3 "$TOP/t/ckpt.py" cmp-logits f.bin "$TINY/reference-logits.safetensors" $n 1e-3
		n=$((n + 1))
	done < "$FIX/tiny-a.ids"
}

@test "the training context is a default, not a limit: -c beyond it works, with a warning" {
	mkdir s && python3 "$TOP/t/ckpt.py" variant "$TINY" s/tiny-a short-context
	bn-convert -q s/tiny-a -o s.gguf
	ids=$(head -1 "$FIX/tiny-a.ids")
	# max_position_embeddings 4: the default context holds 4 tokens
	run -1 --separate-stderr bn-infer -m s.gguf --ids -n 0 <<< "$ids"
	[[ "$stderr" == *"does not fit the context of 4"* ]]
	run --separate-stderr bn-infer -m s.gguf -c 64 --ids -n 0 --logits --all-logits -o f.bin <<< "$ids"
	assert_success
	[ "$stderr" = "bn-infer: warning: context 64 exceeds the model's training context 4" ]
	python3 "$TOP/t/ckpt.py" cmp-logits f.bin "$TINY/reference-logits.safetensors" 0 1e-3
	run bn-infer -q -m s.gguf -c 64 --ids -n 0 <<< "$ids"
	assert_success
	[ -z "$output" ]
}

@test "-t 1 and -t 2 give identical logits" {
	bn-infer -m "$DEMO" -t 1 --ids -n 4 --temp 0 --logits --all-logits -f "$FIX/demo-greedy.ids" > t1.bin
	bn-infer -m "$DEMO" -t 2 --ids -n 4 --temp 0 --logits --all-logits -f "$FIX/demo-greedy.ids" > t2.bin
	cmp t1.bin t2.bin
	[ -s t1.bin ]
}

@test "--cache-type f16: tiny-a logits within 0.1 of transformers; -b 1 gives the same bytes" {
	n=0
	while read -r ids; do
		echo "$ids" | bn-infer -m "$TINY" --ids -n 0 --logits --all-logits --cache-type f16 > f.bin
		python3 "$TOP/t/ckpt.py" cmp-logits f.bin "$TINY/reference-logits.safetensors" $n 0.1
		echo "$ids" | bn-infer -m "$TINY" --ids -n 0 -b 1 --logits --all-logits --cache-type f16 > f1.bin
		cmp f.bin f1.bin
		n=$((n + 1))
	done < "$FIX/tiny-a.ids"
	[ "$n" -eq 5 ]
}

@test "--cache-type f16: half the cache, perplexity within 0.5 % of f32, -t 1 = -t 2 on every table" {
	head -3 "$FIX/text/eval100.txt" > three.txt	# short: the scalar table under ASan is slow
	bn-infer -m "$DEMO" --perplexity three.txt --jsonl --no-timings > ppl.f32
	for k in $(tables); do
		for t in 1 2; do
			BN_KERNELS=$k bn-infer -m "$DEMO" -t $t --cache-type f16 --perplexity three.txt \
				--jsonl --no-timings > "ppl.$k.$t"
		done
		cmp "ppl.$k.1" "ppl.$k.2"
		python3 - ppl.f32 "ppl.$k.1" <<'PY'
import json, sys
a, b = (json.loads(open(f).read().splitlines()[-1]) for f in sys.argv[1:3])
assert a["tokens"] == b["tokens"] and abs(b["ppl"] - a["ppl"]) / a["ppl"] < 0.005, (a, b)
PY
	done
	run bn-bench -m "$DEMO" -p 0 -n 4 -r 1 -t 1 --cache-type f16 -o jsonl
	assert_success
	f16=$(echo "$output" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["kv_bytes"])')
	run bn-bench -m "$DEMO" -p 0 -n 4 -r 1 -t 1 -o jsonl
	f32=$(echo "$output" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["kv_bytes"])')
	[ "$((2 * f16))" -eq "$f32" ]
}

@test "--cache-type: anything but f32 or f16 is a usage error" {
	run bn-infer -m "$DEMO" -p x --cache-type q8_0
	[ "$status" -eq 2 ]
	assert_output --partial "expected f32 or f16"
}

@test "text prompt: greedy generation decodes to the reference text" {
	run bn-infer -m "$DEMO" -p "The" --temp 0 -n 40
	assert_success
	assert_output " only thing that I'm in the middle of the movie is that it's not a good movie."
}

@test "a Hugging Face directory is accepted directly" {
	run bn-infer -m "$TOP/share/bitnet-demo" -p "The" --temp 0 -n 5
	assert_success
	assert_output " only thing that I'm"
}

@test "logits: last position by default, one frame per evaluated position with -n" {
	echo "4096 339" | bn-infer -m "$DEMO" --ids -n 0 --logits > last.bin
	run python3 "$TOP/t/ckpt.py" frames last.bin
	assert_output "0 1 629"
	echo "4096 339" | bn-infer -m "$DEMO" --ids -n 3 --temp 0 --logits > gen.bin
	run python3 "$TOP/t/ckpt.py" frames gen.bin
	assert_output "$(printf '0 1 629\n0 2 1306\n0 3 325')"
}

@test "logits in jsonl" {
	run bash -c 'echo "4096 339" | bn-infer -m "$DEMO" --ids -n 0 --logits --logits-format jsonl'
	assert_success
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["pos"]==1 and d["rec"]==0 and len(d["logits"])==4101' "$output"
}

@test "stdin prompts, one output line each; --jsonl carries ids and stop reasons" {
	run bash -c 'printf "The\nOnce upon a time\n" | bn-infer -m "$DEMO" --temp 0 -n 8 --jsonl'
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	python3 - "${lines[0]}" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert d["n_prompt"] == 2 and d["n_gen"] == 8 and d["stop_reason"] == "length", d
assert d["ids"][:3] == [629, 1306, 325], d
PY
}

@test "seeded sampling is reproducible" {
	a=$(bn-infer -m "$DEMO" -p "The" -n 12 -s 7)
	b=$(bn-infer -m "$DEMO" -p "The" -n 12 -s 7)
	[ "$a" = "$b" ]
}

@test "--predict is llama.cpp's other name for -n" {
	bn-infer -m "$DEMO" -p "The" --ignore-eos --temp 0 -n 5 >a
	run bn-infer -m "$DEMO" -p "The" --ignore-eos --temp 0 --predict 5
	assert_success
	[ "$output" = "$(cat a)" ]
	[ -n "$output" ]
}

@test "-s -1 draws a random seed and says it, so that -s repeats the run" {
	run --separate-stderr bn-infer -m "$DEMO" -p "The" -n 12 --seed -1
	assert_success
	[[ "$stderr" =~ ^"bn-infer: random seed "([0-9]+)$ ]]
	seed=${BASH_REMATCH[1]} out=$output
	run --separate-stderr bn-infer -m "$DEMO" -p "The" -n 12 -s "$seed"
	[ "$output" = "$out" ]
	[ -z "$stderr" ]
	run --separate-stderr bn-infer -m "$DEMO" -p "The" -n 1 -s -1
	[[ "$stderr" == "bn-infer: random seed "* && "$stderr" != *" $seed" ]]
	run --separate-stderr bn-infer -q -m "$DEMO" -p "The" -n 1 -s -1
	assert_success
	[ -z "$stderr" ]
	run -2 bn-infer -m "$DEMO" -p "The" -s -2
}

@test "--repeat-last-n -1 is the context size" {
	pen() { bn-infer -q -m "$DEMO" -p "The" --ignore-eos --temp 0 --repeat-penalty 1.3 \
		--jsonl --no-timings "$@"; }
	pen -n 150 --repeat-last-n -1 >all
	pen -n 150 --repeat-last-n 1000000 >big
	pen -n 150 --repeat-last-n 8 >short
	cmp all big
	run -1 cmp -s all short
	[ "$(python3 -c 'import json, sys; print(json.load(sys.stdin)["n_gen"])' <all)" -eq 150 ]
	pen -n 150 -c 64 --repeat-last-n -1 >a64
	pen -n 150 -c 64 --repeat-last-n 64 >b64
	cmp a64 b64
	run -2 bn-infer -m "$DEMO" -p "The" --repeat-last-n -2
}

@test "errors: missing model, bad ids, bad option values" {
	run -1 --separate-stderr bn-infer -m nosuch.gguf -p x
	[[ "$stderr" == *"cannot open 'nosuch.gguf'"* ]]
	run -1 --separate-stderr bash -c 'echo "4096 99999" | bn-infer -m "$DEMO" --ids -n 1'
	[[ "$stderr" == *"outside the vocabulary"* ]]
	run -1 --separate-stderr bash -c 'echo "4096 -3" | bn-infer -m "$DEMO" --ids -n 1'
	[[ "$stderr" == *"negative token id"* ]]
	run -2 bn-infer -m "$DEMO" -n abc -p x
	run -2 bn-infer -m "$DEMO" -p x -f y
}

@test "a closed pipe ends quietly with status 0" {
	run bash -c 'yes The | head -50 | bn-infer -m "$DEMO" -n 3 --temp 0 | head -1; echo "${PIPESTATUS[2]}"'
	assert_success
	assert_line --index 1 0
}
