#!/usr/bin/env bats
# bn-infer --chat: the template's tokens, stopping at <|eot_id|>, custom and
# unsupported templates, --system, and the interactive mode with its KV
# cache kept across turns.
bats_require_minimum_version 1.5.0
load lib

toks() { bn-tokenize -m "$DEMO" --no-bos | tr ' ' '\n' | wc -l; }
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }

# An external sampler: greedy, but <|eot_id|> (4098) at the third frame.
eot_sampler() {
	cat >eot.py <<'EOF'
import struct, sys
i, inp, out = 0, sys.stdin.buffer, sys.stdout
while (h := inp.read(16)):
    v = struct.unpack('<4I', h)[1]
    l = struct.unpack('<%df' % v, inp.read(4 * v))
    i += 1
    out.write('%d\n' % (4098 if i == 3 else max(range(v), key=lambda k: (l[k], -k))))
    out.flush()
EOF
}

@test "--chat: one BOS from the template, the rendered text as the prompt" {
	want=$(printf '<|begin_of_text|>User: Hi<|eot_id|>Assistant: ' | toks)
	run bn-infer -m "$DEMO" --chat -p Hi -n 2 --jsonl
	assert_success
	[ "$(echo "$output" | field n_prompt)" -eq "$want" ]
	want=$(printf '<|begin_of_text|>System: Be nice.\n<|eot_id|>User: Hi<|eot_id|>Assistant: ' | toks)
	run bn-infer -m "$DEMO" --chat --system 'Be nice.\n' -p Hi -n 2 --jsonl
	[ "$(echo "$output" | field n_prompt)" -eq "$want" ]
	# the same through a messages record; --system does not add a second one
	run bn-infer -m "$DEMO" --chat --system 'Other' -n 2 --jsonl --no-timings <<'EOF'
{"id":1,"messages":[{"role":"system","content":"Be nice.\n"},{"role":"user","content":"Hi"}]}
EOF
	[ "$(echo "$output" | field n_prompt)" -eq "$want" ]
}

@test "--chat stops at <|eot_id|>; without it generation goes on" {
	eot_sampler
	run bn-infer -m "$DEMO" --chat -p Hi -n 8 --jsonl --no-timings --sampler "python3 eot.py"
	assert_success
	assert_output --partial '"n_gen":3,"stop_reason":"eos"'
	assert_output --partial ',4098],'
	run bn-infer -m "$DEMO" -p Hi -n 8 --jsonl --no-timings --sampler "python3 eot.py"
	assert_output --partial '"n_gen":8,"stop_reason":"length"'
	run bn-infer -m "$DEMO" --chat --ignore-eos -p Hi -n 8 --jsonl --no-timings --sampler "python3 eot.py"
	assert_output --partial '"n_gen":8,"stop_reason":"length"'
}

@test "--chat-template: Jinja text, the built-in 'bitnet', refusals" {
	t="{% for m in messages %}{{ '<|start_header_id|>' + m.role + '<|end_header_id|>' + m.content | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>' }}{% endif %}"
	want=$(printf '<|start_header_id|>user<|end_header_id|>Hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>' | toks)
	run bn-infer -m "$DEMO" --chat-template "$t" -p ' Hi ' -n 2 --jsonl
	assert_success
	[ "$(echo "$output" | field n_prompt)" -eq "$want" ]
	a=$(bn-infer -m "$DEMO" --chat -p Hi --temp 0 -n 6)
	b=$(bn-infer -m "$DEMO" --chat-template bitnet -p Hi --temp 0 -n 6)
	[ "$a" = "$b" ]
	run -1 --separate-stderr bn-infer -m "$DEMO" --chat-template '{% macro f() %}{% endmacro %}' -p Hi
	[ "$stderr" = "bn-infer: --chat-template: chat template line 1: unsupported chat template construct 'macro'" ]
	run -1 --separate-stderr bn-infer -m "$DEMO" --chat-template '{{ raise_exception("no") }}' -p Hi
	[ "$stderr" = "bn-infer: prompt:1: chat template: no" ]
}

@test "interactive: one reply per line, prompts on stderr, the same replies as whole conversations" {
	run --separate-stderr bash -c 'printf "Hi\n\nTell me more\n" | bn-infer -m "$DEMO" --chat -i --temp 0 -n 8'
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[ "$(printf '%s' "$stderr" | tr -d ' ')" = ">>>>" ]
	python3 - "${lines[0]}" >conv.jsonl <<'EOF'
import json, sys
print(json.dumps({"id": 1, "messages": [{"role": "user", "content": "Hi"},
      {"role": "assistant", "content": sys.argv[1]}, {"role": "user", "content": "Tell me more"}]}))
EOF
	second=${lines[1]}
	run bn-infer -m "$DEMO" --jsonl --temp 0 -n 8 -f conv.jsonl
	[ "$(echo "$output" | field text)" = "$second" ]
	run -2 bn-infer -m "$DEMO" -i
	run bash -c 'printf "Hi\nMore\n" | bn-infer -m "$DEMO" --chat -i --temp 0 -n 3 --jsonl 2>/dev/null'
	[[ "${lines[1]}" == '{"turn":1,"text":'* ]]
}

@test "interactive: the second turn evaluates only its new tokens (KV cache kept)" {
	printf 'Hi\nTell me more\n' | bn-infer -m "$DEMO" --chat -i --temp 0 -n 4 --logits --all-logits >f.bin
	python3 "$TOP/t/ckpt.py" frames f.bin >frames
	# rec 0: positions from 0; rec 1 (the second turn): from well past 0
	[ "$(awk '$1 == 0' frames | head -1 | cut -d' ' -f2)" -eq 0 ]
	first=$(awk '$1 == 1' frames | head -1 | cut -d' ' -f2)
	[ "$first" -gt 12 ]
	want=$(bn-infer -m "$DEMO" --jsonl --temp 0 -n 4 -f - <<'EOF' | field n_prompt
{"id":1,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"x"},{"role":"user","content":"Tell me more"}]}
EOF
)
	[ "$(awk '$1 == 1' frames | wc -l)" -lt "$want" ]
}
