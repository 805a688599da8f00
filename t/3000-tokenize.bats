#!/usr/bin/env bats
# bn-tokenize: exact ids on the reference corpora, round trips, the record
# modes, zstd, threads, invalid UTF-8 and error handling.
load lib
bats_require_minimum_version 1.5.0

TOK="$FIX/tokenizers"
L3="$TOK/llama3/tokenizer.json"
DM="$TOK/demo/tokenizer.json"

# refs_check NAME TOKENIZER: ids with and without BOS, and decode round trip
refs_check() {
	local ref="$TOK/refs/$1.jsonl"
	bn-tokenize -t "$2" --jsonl "$ref" >bos.jsonl
	python3 "$TOP/t/helpers/tokcmp.py" "$ref" bos.jsonl ids_with_bos
	bn-tokenize -t "$2" --jsonl --no-bos "$ref" >nobos.jsonl
	python3 "$TOP/t/helpers/tokcmp.py" "$ref" nobos.jsonl ids
	bn-tokenize -t "$2" --jsonl -d nobos.jsonl >dec.jsonl
	python3 "$TOP/t/helpers/tokcmp.py" "$ref" dec.jsonl text
}

@test "llama3: every line of llama3-tok.jsonl matches, with and without BOS, and round-trips" {
	refs_check llama3-tok "$L3"
}

@test "llama3: every line of llama3-edge.jsonl matches, with and without BOS, and round-trips" {
	refs_check llama3-edge "$L3"
}

@test "demo: every line of demo-tok.jsonl matches, with and without BOS, and round-trips" {
	refs_check demo-tok "$DM"
}

@test "demo: every line of demo-edge.jsonl matches, with and without BOS, and round-trips" {
	refs_check demo-edge "$DM"
}

@test "line mode: one line of ids per input line (llama.cpp golden vectors)" {
	run bn-tokenize -t "$L3" < <(printf 'Hello world\n Hello world\nHello, world!\n \n\n')
	assert_success
	assert_output "$(printf '9906 1917\n22691 1917\n9906 11 1917 0\n220\n')"
}

@test "line mode: CR LF ends a line like LF, as in bn-infer -f; a CR elsewhere is text" {
	printf 'Hello world\r\nHello\rworld\n' >crlf.txt
	run bn-tokenize -t "$L3" crlf.txt
	assert_success
	assert_output "$(printf 'Hello world\nHello\rworld\n' | bn-tokenize -t "$L3")"
	[ "${lines[0]}" = "9906 1917" ]
	# --whole keeps every byte
	[ "$(bn-tokenize -t "$L3" --whole crlf.txt | bn-tokenize -t "$L3" -d --whole | od -c)" = \
	  "$(od -c crlf.txt)" ]
}

@test "letter and number classes are Unicode 16.0 (the Oniguruma of tokenizers >= 0.21.2)" {
	# CJK Extension I (15.1) and Egyptian Hieroglyphs Extended-A (16.0) are
	# letters, so the contraction after them is a piece of its own; expected
	# ids cross-checked with tokenizers.js (Unicode 17).  U+2EBF0 U+2EBF1 've,
	# x U+13460 U+13461 's, as UTF-8 bytes (any locale).
	run bn-tokenize -t "$L3" < <(printf '\xf0\xae\xaf\xb0\xf0\xae\xaf\xb1'"'"'ve\nx\xf0\x93\x91\xa0\xf0\x93\x91\xa1'"'"'s\n')
	assert_success
	assert_output "$(printf '172 106 107 108 172 106 107 109 3077\n87 172 241 239 254 172 241 239 94 596\n')"
}

@test "BOS follows the post-processor; --bos and --no-bos override it" {
	run bn-tokenize -t "$DM" <<<"a"
	assert_output "4096 64"
	run bn-tokenize -t "$DM" --no-bos <<<"a"
	assert_output "64"
	run bn-tokenize -t "$L3" <<<"a"
	assert_output "64"
	run bn-tokenize -t "$L3" --bos <<<"a"
	assert_output "128000 64"
}

@test "special tokens in text are parsed unless --no-parse-special" {
	run bn-tokenize -t "$L3" <<<"hi<|eot_id|>"
	assert_output "6151 128009"
	run bn-tokenize -t "$L3" --no-parse-special <<<"hi<|eot_id|>"
	assert_success
	refute_output --partial 128009
}

@test "--pieces prints id:piece, --count prints counts" {
	run bn-tokenize -t "$L3" --pieces --bos <<<"Hello world"
	assert_output "128000:<|begin_of_text|> 9906:Hello 1917:Ġworld"
	run bn-tokenize -t "$L3" --count < <(printf 'Hello world\n\nHello, world!\n')
	assert_output "$(printf '2\n0\n4\n')"
	run bn-tokenize -t "$L3" --jsonl --count <<<'{"text": "Hello world", "n": 1}'
	assert_output '{"text": "Hello world", "n": 1, "n_tokens": 2}'
	run bn-tokenize -t "$L3" --jsonl --pieces <<<'{"text": "Hi"}'
	assert_output '{"text": "Hi", "ids": [13347], "tokens": ["Hi"]}'
}

@test "-d decodes ids; --skip-special drops special tokens" {
	run bn-tokenize -t "$L3" -d <<<"128000 9906 1917"
	assert_success
	assert_output "<|begin_of_text|>Hello world"
	run bn-tokenize -t "$L3" -d --skip-special <<<"128000 9906 1917"
	assert_output "Hello world"
}

@test "-0: NUL-terminated texts to lines of ids and back" {
	printf 'a b\0\nc\0' >in
	run bn-tokenize -t "$L3" -0 in
	assert_output "$(printf '64 293\n198 66\n')"
	printf '64 293\n198 66\n' | bn-tokenize -t "$L3" -0 -d >out
	cmp in out
	# the round trip of bn-tokenize(1), and with the BOS skipped
	printf 'a\nb\0c\0\0' >in
	bn-tokenize -t "$DM" -0 --no-bos in | bn-tokenize -t "$DM" -0 -d >out
	cmp in out
	bn-tokenize -t "$DM" -0 in | bn-tokenize -t "$DM" -0 -d --skip-special >out
	cmp in out
}

@test "--whole encodes the whole input as one text and -d --whole gives it back" {
	cp "$FIX/text/eval.txt" in.txt
	bn-tokenize -t "$L3" --whole in.txt >ids
	[ "$(wc -l <ids)" -eq 1 ]
	bn-tokenize -t "$L3" --whole -d ids >back.txt
	cmp in.txt back.txt
}

@test "the round trip example of bn-tokenize(1) gives the file back" {
	[ -f "$DEMO" ] || skip "no demo model built"
	# the example may use a model or a tokenizer.json: give it both
	cp "$DEMO" model.gguf
	cp "$DM" tokenizer.json
	{ cat "$FIX/text/eval.txt"; printf 'a <|begin_of_text|> in the text'; } >in.txt
	sed -n '/^Round trip of a whole file/,/^\.fi/p' "$TOP/docs/bn-tokenize.1" |
		sed -n '/^\$ /,/^\.fi/{/^\.fi/d;s/^\$ //;p}' >example.sh
	cat example.sh
	grep -q -- '-d > out.txt' example.sh
	bash -e -o pipefail example.sh
}

@test ".zst input and output are handled transparently; -o writes a file" {
	head -50 "$FIX/text/eval.txt" >in.txt
	zstd -q in.txt -o in.txt.zst
	bn-tokenize -t "$DM" in.txt >plain
	bn-tokenize -t "$DM" in.txt.zst -o out.zst
	zstd -dc out.zst | cmp - plain
	bn-tokenize -t "$DM" - -o out.txt <in.txt.zst
	cmp out.txt plain
}

@test "-j 3 gives the same output in the same order" {
	bn-tokenize -t "$DM" --jsonl "$TOK/refs/demo-edge.jsonl" >one
	bn-tokenize -t "$DM" --jsonl -j 3 "$TOK/refs/demo-edge.jsonl" >three
	cmp one three
}

@test "piped records are answered as they arrive, not at the end of the input" {
	for j in 1 3; do
		coproc P { bn-tokenize -m "$DEMO" -j $j; }
		local pid=$P_PID to=${P[1]} from=${P[0]} a= b=
		echo 'hi' >&"$to"
		read -r -t 20 a <&"$from" || true
		echo 'hello world' >&"$to"
		read -r -t 20 b <&"$from" || true
		exec {to}>&-
		wait "$pid"
		[ "$a" = "4096 2337" ]
		[ "$b" = "4096 257 299 78 859" ]
	done
}

@test "invalid UTF-8: one warning, U+FFFD, no failure" {
	printf 'ab\xff\xfecd\xe2\x82\nx\xc0\n' >bad
	run --separate-stderr bn-tokenize -t "$L3" --whole bad
	assert_success
	[ "$(printf '%s\n' "$stderr" | grep -c 'invalid UTF-8')" -eq 1 ]
	printf '%s\n' "$output" | bn-tokenize -t "$L3" --whole -d >back
	printf 'ab\xef\xbf\xbd\xef\xbf\xbdcd\xef\xbf\xbd\nx\xef\xbf\xbd\n' | cmp - back
}

@test "the tokenizer stored in a bn model (-m)" {
	[ -f "$DEMO" ] || skip "no demo model built"
	run bn-tokenize -m "$DEMO" <<<"Hello world"
	assert_success
	assert_output "$(bn-tokenize -t "$DM" <<<"Hello world")"
}

@test "pathological input: 1 MB of one letter and of spaces" {
	python3 -c "print('a' * 1000000, end='')" >a
	python3 -c "print(' ' * 1000000, end='')" >s
	run bn-tokenize -t "$L3" --whole --count a s
	assert_success
	assert_output "$(printf '125000\n7813\n')"
}

@test "errors: missing or malformed tokenizer, missing input, bad ids (exit 1, one line)" {
	run --separate-stderr bn-tokenize -t nonexistent.json </dev/null
	assert_failure 1
	[[ "$stderr" == "bn-tokenize: cannot open 'nonexistent.json'"* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	printf '{"model": {"type": "BPE", "vocab": {' >broken.json
	run --separate-stderr bn-tokenize -t broken.json </dev/null
	assert_failure 1
	[[ "$stderr" == "bn-tokenize: broken.json: invalid JSON"* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	printf 'a\n' >ok.txt
	run --separate-stderr bn-tokenize -t "$L3" missing.txt ok.txt
	assert_failure 1
	assert_output "64"
	[[ "$stderr" == *"missing.txt"* ]]
	run --separate-stderr bn-tokenize -t "$L3" -d < <(printf '1 2\n3 x\n')
	assert_failure 1
	[[ "$stderr" == *"-:2: bad token id 'x'"* ]]
	run --separate-stderr bn-tokenize -t "$L3" --jsonl <<<'{"text": 1}'
	assert_failure 1
	[[ "$stderr" == *"-:1:"* ]]
}

@test "-o: a failed run creates no file and leaves an existing one as it was" {
	printf 'a\n' >ok.txt
	run --separate-stderr bn-tokenize -t "$L3" missing.txt ok.txt -o o.txt
	assert_failure 1
	[ -z "$(find . -name 'o.txt*')" ]
	printf '{"text":"hi"}\nbad\n{"text":"yo"}\n' >in.jsonl
	echo old >o.jsonl
	run --separate-stderr bn-tokenize -t "$L3" --jsonl in.jsonl -o o.jsonl
	assert_failure 1
	[[ "$stderr" == *"in.jsonl:2:"* ]]
	[ "$(cat o.jsonl)" = old ]
	[ "$(find . -name 'o.jsonl*')" = ./o.jsonl ]
}

@test "usage errors exit 2" {
	run -2 bn-tokenize
	run -2 bn-tokenize -t "$L3" -m "$DEMO"
	run -2 bn-tokenize -t "$L3" --count -d
	run -2 bn-tokenize -t "$L3" --jsonl --whole
	run -2 bn-tokenize -t "$L3" -j x
}
