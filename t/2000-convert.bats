#!/usr/bin/env bats
# bn-convert: HF checkpoints (packed, sharded, bitlinear, master weights) to bn models.
bats_require_minimum_version 1.5.0
load lib

TINY="$FIX/models/tiny-a"
CK="python3 $TOP/t/ckpt.py"

@test "converts the tiny-a and demo checkpoints to GGUF" {
	bn-convert "$TINY" -o tiny.gguf
	bn-convert "$TOP/share/bitnet-demo" -o demo.gguf
	[ "$(head -c4 tiny.gguf)" = GGUF ]
	cmp demo.gguf "$DEMO"
}

@test "-o - writes the model to standard output" {
	bn-convert -q "$TINY" -o - > a.gguf
	bn-convert -q "$TINY" -o b.gguf
	cmp a.gguf b.gguf
}

@test "sharded checkpoint converts to the same model" {
	mkdir s && $CK variant "$TINY" s/tiny-a sharded
	[ -f s/tiny-a/model.safetensors.index.json ]
	bn-convert s/tiny-a -o sharded.gguf
	bn-convert "$TINY" -o plain.gguf
	cmp sharded.gguf plain.gguf
}

@test "bitlinear divides by weight_scale, autobitlinear multiplies" {
	mkdir a b
	$CK variant "$TINY" a/m pow2-auto
	$CK variant "$TINY" b/m pow2-bitlinear
	bn-convert a/m -o a.gguf
	bn-convert b/m -o b.gguf
	cmp a.gguf b.gguf
	bn-convert "$TINY" -o plain.gguf
	! cmp -s a.gguf plain.gguf
}

@test "rope_theta is read from rope_parameters too" {
	mkdir r && $CK variant "$TINY" r/tiny-a rope-params
	bn-convert r/tiny-a -o r.gguf
	bn-convert "$TINY" -o p.gguf
	cmp r.gguf p.gguf
}

@test "rope_parameters.rope_theta wins over the top-level key, legacy type default is fine" {
	bn-convert "$TINY" -o p.gguf
	for v in rope-both rope-legacy-default keep-lm-head; do
		mkdir $v && $CK variant "$TINY" $v/tiny-a $v
		bn-convert -q $v/tiny-a -o $v.gguf
		cmp $v.gguf p.gguf
	done
}

@test "num_key_value_heads: absent is BitNetConfig's 5, null is num_attention_heads" {
	mkdir a b
	$CK variant "$TINY" a/m no-kv-heads
	$CK variant "$TINY" b/m null-kv-heads
	run -1 --separate-stderr bn-convert a/m -o a.gguf
	[[ "$stderr" == *"num_attention_heads 4 is not a multiple of num_key_value_heads 5"* ]]
	run -1 --separate-stderr bn-convert b/m -o b.gguf
	[[ "$stderr" == *"k_proj.weight' has shape [8, 64], expected packed [16, 64]"* ]]
}

@test "offline float weights are used as stored: same model as packed" {
	bn-convert "$TINY" -o p.gguf
	for v in dense-offline dense-offline-scaled; do
		mkdir $v && $CK variant "$TINY" $v/tiny-a $v
		bn-convert -q $v/tiny-a -o $v.gguf
		cmp $v.gguf p.gguf
	done
}

@test "bf16 master weights are quantized with absmean" {
	mkdir m && $CK variant "$TINY" m/tiny-a master-bf16
	bn-convert m/tiny-a -o m.gguf
	bn-convert "$TINY" -o p.gguf
	for t in blk.0.attn_q.weight blk.1.ffn_down.weight; do
		[ "$($CK tensor m.gguf $t)" = "$($CK tensor p.gguf $t)" ]
	done
	# scale = mean|W| of the master matrix, not the packed weight_scale
	[ "$($CK scale m.gguf blk.0.attn_q.scale)" != "$($CK scale p.gguf blk.0.attn_q.scale)" ]
}

@test "untied checkpoints keep lm_head as output.weight" {
	mkdir u && $CK variant "$TINY" u/tiny-a untied
	bn-convert u/tiny-a -o u.gguf
	[ -n "$($CK tensor u.gguf output.weight)" ]
	echo "4096 770 299" | bn-infer -m u.gguf --ids -n 0 --logits > u.bin
	echo "4096 770 299" | bn-infer -m "$TINY" --ids -n 0 --logits > t.bin
	cmp u.bin t.bin
}

@test "embedding types f16, bf16, f32 and q8_0 all load and agree" {
	for e in f16 bf16 f32 q8_0; do
		bn-convert -e $e "$TINY" -o $e.gguf
		echo "4096 770 299 78 859" | bn-infer -m $e.gguf --ids -n 0 --logits --all-logits > $e.bin
	done
	$CK cmp-logits bf16.bin "$TINY/reference-logits.safetensors" 0 1e-3
	$CK cmp-logits f32.bin "$TINY/reference-logits.safetensors" 0 1e-3
	$CK cmp-logits f16.bin "$TINY/reference-logits.safetensors" 0 1e-3
	$CK cmp-logits q8_0.bin "$TINY/reference-logits.safetensors" 0 2
	[ $(stat -c %s q8_0.gguf) -lt $(stat -c %s f16.gguf) ]
}

@test "the default embedding type holds every value exactly: f16, else bf16, else f32" {
	for v in embed-f16-exact embed-f32-bf16 embed-f32; do
		mkdir $v && $CK variant "$TINY" $v/tiny-a $v
		bn-convert -q $v/tiny-a -o $v.gguf
	done
	bn-convert -q "$TINY" -o a.gguf
	[ "$($CK type embed-f16-exact.gguf token_embd.weight)" = 1 ]
	[ "$($CK type embed-f32-bf16.gguf token_embd.weight)" = 30 ]
	[ "$($CK type embed-f32.gguf token_embd.weight)" = 0 ]
	# tiny-a's bf16 embedding holds a value f16 would round
	[ "$($CK type a.gguf token_embd.weight)" = 30 ]
	bn-convert -q -e bf16 "$TINY" -o b.gguf
	cmp a.gguf b.gguf
	bn-convert -q -e f32 embed-f32/tiny-a -o f32.gguf
	cmp embed-f32.gguf f32.gguf
	# f16 is still there on request, and loses what f32 held
	bn-convert -q -e f16 embed-f32/tiny-a -o f16.gguf
	echo "4096 770 299 78 859" | bn-infer -m f32.gguf --ids -n 0 --logits > f32.bin
	echo "4096 770 299 78 859" | bn-infer -m f16.gguf --ids -n 0 --logits > f16.bin
	! cmp -s f32.bin f16.bin
}

@test "special-token ids outside the vocabulary are ignored with a warning, as transformers does" {
	mkdir s && $CK variant "$TINY" s/tiny-a big-special-ids
	run --separate-stderr bn-convert s/tiny-a -o s.gguf
	assert_success
	[[ "$stderr" == *"config.json: warning: bos_token_id 128000 is outside the vocabulary of 4101; ignored"* ]]
	[[ "$stderr" == *"generation_config.json: warning: eos_token_id 128009 is outside the vocabulary of 4101; ignored"* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 5 ]
	# the in-range stop id stays; no BOS; the logits are tiny-a's
	python3 - s.gguf <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
p = b.index(b"bn.stop_token_ids") + len(b"bn.stop_token_ids")
assert struct.unpack_from("<IIQi", b, p) == (9, 5, 1, 4097)
assert b"tokenizer.ggml.bos_token_id" not in b
PY
	echo "4096 770 299" | bn-infer -m s.gguf --ids -n 0 --logits > s.bin
	echo "4096 770 299" | bn-infer -m "$TINY" --ids -n 0 --logits > t.bin
	cmp s.bin t.bin
	run bn-convert -q s/tiny-a -o q.gguf
	assert_success
	[ -z "$output" ]
}

@test "an all-zero ternary tensor is converted with a warning" {
	mkdir z && $CK variant "$TINY" z/tiny-a zero-mlp
	run --separate-stderr bn-convert z/tiny-a -o z.gguf
	assert_success
	[[ "$stderr" == *"model.layers.0.mlp.up_proj.weight' is all zeros"* ]]
}

@test "synthetic models of the real shapes" {
	bn-convert --synthetic tiny -o t.gguf
	run bn-infer -m t.gguf -p "hello" -n 4 --temp 0 --jsonl
	assert_success
	run -2 --separate-stderr bn-convert --synthetic 13x -o x.gguf
	[ "${stderr_lines[0]}" = "bn-convert: unknown synthetic shape '13x' (2b4t, 125m, 350m, 700m, 1b, 3b8, 7b, tiny)" ]
	[ ! -e x.gguf ]
}

@test "bad input: one line naming the file, exit 1, no output left behind" {
	run -1 --separate-stderr bn-convert nosuchdir -o out.gguf
	[[ "$stderr" == *"nosuchdir/config.json"* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	cp -r "$TINY" bad && chmod -R u+w bad
	head -c 1000 "$TINY/model.safetensors" > bad/model.safetensors
	run -1 --separate-stderr bn-convert bad -o out.gguf
	[[ "$stderr" == *"bad/model.safetensors: header length"* ]]
	[ ! -e out.gguf ]
	[ -z "$(ls | grep tmp)" ]
}

@test "usage errors exit 2" {
	run -2 bn-convert "$TINY"
	run -2 bn-convert -o x.gguf
	run -2 bn-convert -e q4 "$TINY" -o x.gguf
}
