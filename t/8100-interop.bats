#!/usr/bin/env bats
# GGUF interop: bn -> llama.cpp (TQ2_0) / bitnet.cpp (I2_S) -> bn round trips
# with identical logits, foreign files used directly by bn-infer and
# bn-tokenize, and hand-damaged files failing with one-line errors.
load lib
bats_require_minimum_version 1.5.0

POKE="$T_DIR/helpers/gguf-poke.py"

setup() {
	bn-convert -q "$FIX/models/tiny-a" -o tiny.gguf
	bn-convert -q "$TOP/share/bitnet-demo" -o demo.gguf
}

logits() {	# MODEL PROMPT -> sha1 of every position's logits
	bn-infer -m "$1" -p "$2" -n 0 --logits --all-logits -t 2 | sha1sum
}

@test "tiny-a: bn -> llama.cpp GGUF -> bn gives identical logits" {
	run --separate-stderr bn-convert --to llama.cpp tiny.gguf -o tiny-l.gguf
	assert_success
	[[ "$stderr" == *"SiLU"* ]]
	bn-convert -q tiny-l.gguf -o tiny-back.gguf
	want=$(logits tiny.gguf "Hello world, the quick")
	[ "$(logits tiny-back.gguf "Hello world, the quick")" = "$want" ]
	[ "$(logits tiny-l.gguf "Hello world, the quick")" = "$want" ]
}

@test "demo: llama.cpp and i2_s exports round-trip with identical logits and text" {
	bn-convert -q --to llama.cpp demo.gguf -o demo-l.gguf
	bn-convert -q --to i2_s "$TOP/share/bitnet-demo" -o demo-i.gguf
	want=$(logits demo.gguf "Once upon a time there was")
	for f in demo-l.gguf demo-i.gguf; do
		bn-convert -q $f -o back.gguf
		[ "$(logits back.gguf "Once upon a time there was")" = "$want" ]
		[ "$(logits $f "Once upon a time there was")" = "$want" ]
	done
	a=$(bn-infer -m demo.gguf -p "The" -n 12 --temp 0 -t 2)
	[ "$(bn-infer -m demo-i.gguf -p "The" -n 12 --temp 0 -t 2 2>/dev/null)" = "$a" ]
}

@test "the exported files carry llama.cpp's keys and tensor types" {
	bn-convert -q --to llama.cpp demo.gguf -o demo-l.gguf
	grep -q 'tokenizer.ggml.merges' demo-l.gguf
	grep -q 'llama-bpe' demo-l.gguf
	grep -q 'bitnet.attention.layer_norm_rms_epsilon' demo-l.gguf
	run python3 "$POKE" demo-l.gguf blk.0.ffn_down.weight 0 -
	assert_output --regexp '^35 '	# TQ2_0 (rows of 1024)
	run python3 "$POKE" demo-l.gguf blk.0.attn_q.weight 0 -
	assert_output --regexp '^1 '	# f16 ternary (rows of 384)
	bn-convert -q --to i2_s demo.gguf -o demo-i.gguf
	run python3 "$POKE" demo-i.gguf blk.0.attn_q.weight 0 -
	assert_output --regexp '^36 '
}

@test "bn-tokenize -m reads the vocabulary of a foreign GGUF" {
	bn-convert -q --to llama.cpp demo.gguf -o demo-l.gguf
	head -c 4000 "$FIX/text/eval.txt" > in.txt
	bn-tokenize -m demo.gguf in.txt > a.ids
	bn-tokenize -m demo-l.gguf in.txt > b.ids
	[ -s a.ids ]
	cmp a.ids b.ids
}

@test "TQ2_0 blocks with different scales: one-line error, exit 1, no output" {
	bn-convert -q --to llama.cpp demo.gguf -o demo-l.gguf
	python3 "$POKE" demo-l.gguf blk.0.ffn_down.weight 130 0040	# block 1: d = 2
	run -1 --separate-stderr bn-convert demo-l.gguf -o out.gguf
	assert_output ""
	[[ "$stderr" == "bn-convert: demo-l.gguf: tensor 'blk.0.ffn_down.weight' has blocks with different scales"* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	[ ! -e out.gguf ]
	! ls out.gguf.tmp.* 2>/dev/null	# no temp file left
	run -1 bn-infer -m demo-l.gguf -p hi -n 1
	assert_output --partial "different scales"
}

@test "TQ2_0 code 3 is refused" {
	bn-convert -q --to llama.cpp demo.gguf -o demo-l.gguf
	python3 "$POKE" demo-l.gguf blk.1.ffn_down.weight 0 ff
	run -1 bn-convert demo-l.gguf -o out.gguf
	assert_output --partial "invalid ternary code 3"
	[ ! -e out.gguf ]
}

@test "I2_S with a NaN scale in its tail: exit 1, no output" {
	bn-convert -q --to i2_s demo.gguf -o demo-i.gguf
	python3 "$POKE" demo-i.gguf blk.2.attn_k.weight -32 0000c07f
	run -1 --separate-stderr bn-convert demo-i.gguf -o out.gguf
	[ "$stderr" = "bn-convert: demo-i.gguf: tensor 'blk.2.attn_k.weight' has a non-finite scale in its I2_S tail" ]
	[ ! -e out.gguf ]
}

@test "a truncated foreign file is refused" {
	bn-convert -q --to llama.cpp demo.gguf -o demo-l.gguf
	head -c 1000000 demo-l.gguf > cut.gguf
	run -1 --separate-stderr bn-convert cut.gguf -o out.gguf
	[[ "$stderr" == "bn-convert: cut.gguf: tensor '"*"' ends past end of file" ]]
	[ ! -e out.gguf ]
}

@test "exports that cannot be written fail cleanly" {
	run -1 --separate-stderr bn-convert --to i2_s tiny.gguf -o out.gguf
	[[ "$stderr" == *"I2_S needs rows that are multiples of 128 weights (hidden 64, feed-forward 172)" ]]
	[[ "$stderr" != *SiLU* ]]
	[ ! -e out.gguf ]
	run -1 bn-convert demo.gguf -o out.gguf
	assert_output --partial "already a bn model"
	[ ! -e out.gguf ]
}

@test "usage errors: bad --to, --to with --synthetic" {
	run -2 bn-convert --to onnx tiny.gguf -o out.gguf
	assert_output --partial "unknown output format 'onnx'"
	run -2 bn-convert --to llama.cpp --synthetic tiny -o out.gguf
	assert_output --partial "--synthetic writes bn models only"
}

@test "-q silences the SiLU warning" {
	run --separate-stderr bn-convert -q --to llama.cpp demo.gguf -o demo-l.gguf
	assert_success
	[ -z "$stderr" ]
}
