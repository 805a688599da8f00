#!/usr/bin/env bats
# The malformed-input corpus (t/malformed/cases.tsv, inputs written by
# t/malformed/make.py): every case fails with exactly its exit status and one
# line on stderr naming the file and the problem, leaves no output file and
# no sanitizer report.  After editing cases.tsv, regenerate the @test lines
# at the end with: python3 t/malformed/make.py bats
load lib
bats_require_minimum_version 1.5.0

setup_file() {
	local c=$BATS_FILE_TMPDIR/corpus
	mkdir -p "$c"
	python3 "$TOP/t/malformed/make.py" micro "$c/micro"
	"$BN_BUILD/bin/bn-convert" -q "$c/micro" -o "$c/micro.gguf"
	python3 "$TOP/t/malformed/make.py" cases "$c" "$c/cases"
}

check_case() {
	local name=$1 line prog args want rx
	line=$(awk -F'\t' -v n="$name" '$1 == n' "$TOP/t/malformed/cases.tsv")
	[ -n "$line" ] || fail "no case '$name' in cases.tsv"
	IFS=$'\t' read -r _ prog args want rx <<<"$line"
	[ "$prog" = modelcheck ] && prog=$BN_BUILD/t/modelcheck
	args=${args//@/$name}
	args=${args//out.gguf/$BATS_TEST_TMPDIR/out.gguf}
	cd "$BATS_FILE_TMPDIR/corpus/cases"
	# shellcheck disable=SC2086 # ARGS are words
	run --separate-stderr "$prog" $args
	echo "exit $status, stderr: $stderr"
	[ "$status" -eq "$want" ]
	if [ "$rx" = - ]; then
		[ -z "$stderr" ]
	else
		[ "${#stderr_lines[@]}" -eq 1 ]
		printf '%s\n' "$stderr" | grep -Eq -- "$rx"
	fi
	! printf '%s\n' "$stderr" | grep -q 'Sanitizer\|runtime error'
	[ -z "$(find "$BATS_TEST_TMPDIR" -name 'out.gguf*')" ]
}

@test "malformed: cases.tsv and this file list the same cases, at least 60" {
	python3 "$TOP/t/malformed/make.py" bats >want
	grep '^@test "malformed [^:]*:' "$BATS_TEST_FILENAME" >have
	diff want have
	[ "$(wc -l <want)" -ge 60 ]
}

@test "malformed: the micro checkpoint itself converts and loads" {
	bn-convert -q "$BATS_FILE_TMPDIR/corpus/micro" -o m.gguf
	"$BN_BUILD/t/modelcheck" m.gguf
}

@test "malformed cfg-act: bn-convert" { check_case cfg-act; }
@test "malformed cfg-alloc-before-check: bn-convert" { check_case cfg-alloc-before-check; }
@test "malformed cfg-array: bn-convert" { check_case cfg-array; }
@test "malformed cfg-bitlinear-zero-scale: bn-convert" { check_case cfg-bitlinear-zero-scale; }
@test "malformed cfg-bos-fraction: bn-convert" { check_case cfg-bos-fraction; }
@test "malformed cfg-deep-nesting: bn-convert" { check_case cfg-deep-nesting; }
@test "malformed cfg-dims-huge: bn-convert" { check_case cfg-dims-huge; }
@test "malformed cfg-duplicate-key: bn-convert" { check_case cfg-duplicate-key; }
@test "malformed cfg-empty: bn-convert" { check_case cfg-empty; }
@test "malformed cfg-eos-fraction: bn-convert" { check_case cfg-eos-fraction; }
@test "malformed cfg-eos-huge: bn-convert" { check_case cfg-eos-huge; }
@test "malformed cfg-eos-string: bn-convert" { check_case cfg-eos-string; }
@test "malformed cfg-eps-negative: bn-convert" { check_case cfg-eps-negative; }
@test "malformed cfg-head-dim-odd: bn-convert" { check_case cfg-head-dim-odd; }
@test "malformed cfg-heads-group: bn-convert" { check_case cfg-heads-group; }
@test "malformed cfg-hidden-fraction: bn-convert" { check_case cfg-hidden-fraction; }
@test "malformed cfg-huge-file: bn-convert" { check_case cfg-huge-file; }
@test "malformed cfg-invalid-utf8: bn-convert" { check_case cfg-invalid-utf8; }
@test "malformed cfg-layers-huge: bn-convert" { check_case cfg-layers-huge; }
@test "malformed cfg-long-string: bn-convert" { check_case cfg-long-string; }
@test "malformed cfg-master-bitlinear: bn-convert" { check_case cfg-master-bitlinear; }
@test "malformed cfg-master-no-quant: bn-convert" { check_case cfg-master-no-quant; }
@test "malformed cfg-missing: bn-convert" { check_case cfg-missing; }
@test "malformed cfg-model-type: bn-convert" { check_case cfg-model-type; }
@test "malformed cfg-newline-in-string: bn-convert" { check_case cfg-newline-in-string; }
@test "malformed cfg-not-convert: bn-convert" { check_case cfg-not-convert; }
@test "malformed cfg-not-convert-long: bn-convert" { check_case cfg-not-convert-long; }
@test "malformed cfg-nul-byte: bn-convert" { check_case cfg-nul-byte; }
@test "malformed cfg-quant-method: bn-convert" { check_case cfg-quant-method; }
@test "malformed cfg-rope-legacy-type: bn-convert" { check_case cfg-rope-legacy-type; }
@test "malformed cfg-rope-scaling: bn-convert" { check_case cfg-rope-scaling; }
@test "malformed cfg-theta-string: bn-convert" { check_case cfg-theta-string; }
@test "malformed cfg-theta-zero: bn-convert" { check_case cfg-theta-zero; }
@test "malformed cfg-truncated: bn-convert" { check_case cfg-truncated; }
@test "malformed cfg-vocab-huge: bn-convert" { check_case cfg-vocab-huge; }
@test "malformed cfg-vocab-negative: bn-convert" { check_case cfg-vocab-negative; }
@test "malformed cfg-vocab-string: bn-convert" { check_case cfg-vocab-string; }
@test "malformed cfg-vocab-zero: bn-convert" { check_case cfg-vocab-zero; }
@test "malformed gen-eos-fraction: bn-convert" { check_case gen-eos-fraction; }
@test "malformed gen-not-json: bn-convert" { check_case gen-not-json; }
@test "malformed gguf-align-npot: modelcheck" { check_case gguf-align-npot; }
@test "malformed gguf-align-type: modelcheck" { check_case gguf-align-type; }
@test "malformed gguf-align-zero: modelcheck" { check_case gguf-align-zero; }
@test "malformed gguf-arch: modelcheck" { check_case gguf-arch; }
@test "malformed gguf-array-huge: modelcheck" { check_case gguf-array-huge; }
@test "malformed gguf-array-type: modelcheck" { check_case gguf-array-type; }
@test "malformed gguf-bad-magic: modelcheck" { check_case gguf-bad-magic; }
@test "malformed gguf-bos-vocab: modelcheck" { check_case gguf-bos-vocab; }
@test "malformed gguf-counts-huge: modelcheck" { check_case gguf-counts-huge; }
@test "malformed gguf-counts-past-end: modelcheck" { check_case gguf-counts-past-end; }
@test "malformed gguf-ctx-huge: modelcheck" { check_case gguf-ctx-huge; }
@test "malformed gguf-dim-huge: modelcheck" { check_case gguf-dim-huge; }
@test "malformed gguf-dims-overflow: modelcheck" { check_case gguf-dims-overflow; }
@test "malformed gguf-duplicate-key: modelcheck" { check_case gguf-duplicate-key; }
@test "malformed gguf-duplicate-tensor: modelcheck" { check_case gguf-duplicate-tensor; }
@test "malformed gguf-empty: modelcheck" { check_case gguf-empty; }
@test "malformed gguf-heads-group: modelcheck" { check_case gguf-heads-group; }
@test "malformed gguf-key-huge: modelcheck" { check_case gguf-key-huge; }
@test "malformed gguf-kv-type: modelcheck" { check_case gguf-kv-type; }
@test "malformed gguf-layers-huge: modelcheck" { check_case gguf-layers-huge; }
@test "malformed gguf-missing-key: modelcheck" { check_case gguf-missing-key; }
@test "malformed gguf-missing-tensor: modelcheck" { check_case gguf-missing-tensor; }
@test "malformed gguf-name-invalid-utf8: modelcheck" { check_case gguf-name-invalid-utf8; }
@test "malformed gguf-ndims-five: modelcheck" { check_case gguf-ndims-five; }
@test "malformed gguf-ndims-zero: modelcheck" { check_case gguf-ndims-zero; }
@test "malformed gguf-norm-f16: modelcheck" { check_case gguf-norm-f16; }
@test "malformed gguf-offset-misaligned: modelcheck" { check_case gguf-offset-misaligned; }
@test "malformed gguf-offset-past-end: modelcheck" { check_case gguf-offset-past-end; }
@test "malformed gguf-offset-wrap: modelcheck" { check_case gguf-offset-wrap; }
@test "malformed gguf-proj-f32: modelcheck" { check_case gguf-proj-f32; }
@test "malformed gguf-rope-nan: modelcheck" { check_case gguf-rope-nan; }
@test "malformed gguf-scale-inf: modelcheck" { check_case gguf-scale-inf; }
@test "malformed gguf-stop-negative: modelcheck" { check_case gguf-stop-negative; }
@test "malformed gguf-string-huge: modelcheck" { check_case gguf-string-huge; }
@test "malformed gguf-tensor-shape: modelcheck" { check_case gguf-tensor-shape; }
@test "malformed gguf-tensor-type: modelcheck" { check_case gguf-tensor-type; }
@test "malformed gguf-tokenizer-bad: bn-infer" { check_case gguf-tokenizer-bad; }
@test "malformed gguf-tokenizer-vocab: bn-infer" { check_case gguf-tokenizer-vocab; }
@test "malformed gguf-truncated-data: modelcheck" { check_case gguf-truncated-data; }
@test "malformed gguf-truncated-header: modelcheck" { check_case gguf-truncated-header; }
@test "malformed gguf-truncated-kv: modelcheck" { check_case gguf-truncated-kv; }
@test "malformed gguf-version: modelcheck" { check_case gguf-version; }
@test "malformed gguf-vocab-mismatch: modelcheck" { check_case gguf-vocab-mismatch; }
@test "malformed gguf-vocab-zero: modelcheck" { check_case gguf-vocab-zero; }
@test "malformed ids-float: bn-infer" { check_case ids-float; }
@test "malformed ids-garbage: bn-infer" { check_case ids-garbage; }
@test "malformed ids-huge: bn-infer" { check_case ids-huge; }
@test "malformed ids-long-line: bn-infer" { check_case ids-long-line; }
@test "malformed ids-negative: bn-infer" { check_case ids-negative; }
@test "malformed ids-too-many: bn-infer" { check_case ids-too-many; }
@test "malformed ids-vocab: bn-infer" { check_case ids-vocab; }
@test "malformed lg-bad-magic: bn-sample" { check_case lg-bad-magic; }
@test "malformed lg-empty: bn-sample" { check_case lg-empty; }
@test "malformed lg-first-byte: bn-sample" { check_case lg-first-byte; }
@test "malformed lg-jsonl-bad: bn-sample" { check_case lg-jsonl-bad; }
@test "malformed lg-jsonl-deep: bn-sample" { check_case lg-jsonl-deep; }
@test "malformed lg-jsonl-duplicate-key: bn-sample" { check_case lg-jsonl-duplicate-key; }
@test "malformed lg-jsonl-empty-logits: bn-sample" { check_case lg-jsonl-empty-logits; }
@test "malformed lg-jsonl-invalid-utf8: bn-sample" { check_case lg-jsonl-invalid-utf8; }
@test "malformed lg-jsonl-logit-string: bn-sample" { check_case lg-jsonl-logit-string; }
@test "malformed lg-jsonl-no-logits: bn-sample" { check_case lg-jsonl-no-logits; }
@test "malformed lg-jsonl-rec-negative: bn-sample" { check_case lg-jsonl-rec-negative; }
@test "malformed lg-jsonl-trailing: bn-sample" { check_case lg-jsonl-trailing; }
@test "malformed lg-truncated-header: bn-sample" { check_case lg-truncated-header; }
@test "malformed lg-truncated-logits: bn-sample" { check_case lg-truncated-logits; }
@test "malformed lg-vocab-changes: bn-sample" { check_case lg-vocab-changes; }
@test "malformed lg-vocab-huge: bn-sample" { check_case lg-vocab-huge; }
@test "malformed lg-vocab-zero: bn-sample" { check_case lg-vocab-zero; }
@test "malformed rec-deep: bn-infer" { check_case rec-deep; }
@test "malformed rec-duplicate-key: bn-infer" { check_case rec-duplicate-key; }
@test "malformed rec-invalid-utf8: bn-infer" { check_case rec-invalid-utf8; }
@test "malformed rec-prompt-number: bn-infer" { check_case rec-prompt-number; }
@test "malformed rec-trailing: bn-infer" { check_case rec-trailing; }
@test "malformed st-bad-json: bn-convert" { check_case st-bad-json; }
@test "malformed st-deep-nesting: bn-convert" { check_case st-deep-nesting; }
@test "malformed st-duplicate-field: bn-convert" { check_case st-duplicate-field; }
@test "malformed st-duplicate-tensor: bn-convert" { check_case st-duplicate-tensor; }
@test "malformed st-embed-f16-overflow: bn-convert" { check_case st-embed-f16-overflow; }
@test "malformed st-embed-int: bn-convert" { check_case st-embed-int; }
@test "malformed st-embed-nan: bn-convert" { check_case st-embed-nan; }
@test "malformed st-embed-shape: bn-convert" { check_case st-embed-shape; }
@test "malformed st-empty: bn-convert" { check_case st-empty; }
@test "malformed st-entry-not-object: bn-convert" { check_case st-entry-not-object; }
@test "malformed st-hlen-past-eof: bn-convert" { check_case st-hlen-past-eof; }
@test "malformed st-hlen-tiny: bn-convert" { check_case st-hlen-tiny; }
@test "malformed st-hole: bn-convert" { check_case st-hole; }
@test "malformed st-huge-header: bn-convert" { check_case st-huge-header; }
@test "malformed st-index-bad-shard: bn-convert" { check_case st-index-bad-shard; }
@test "malformed st-index-no-map: bn-convert" { check_case st-index-no-map; }
@test "malformed st-master-inf: bn-convert" { check_case st-master-inf; }
@test "malformed st-master-shape: bn-convert" { check_case st-master-shape; }
@test "malformed st-metadata-not-object: bn-convert" { check_case st-metadata-not-object; }
@test "malformed st-missing: bn-convert" { check_case st-missing; }
@test "malformed st-missing-dtype: bn-convert" { check_case st-missing-dtype; }
@test "malformed st-name-invalid-utf8: bn-convert" { check_case st-name-invalid-utf8; }
@test "malformed st-norm-missing: bn-convert" { check_case st-norm-missing; }
@test "malformed st-not-json-object: bn-convert" { check_case st-not-json-object; }
@test "malformed st-offline-not-ternary: bn-convert" { check_case st-offline-not-ternary; }
@test "malformed st-offsets-float: bn-convert" { check_case st-offsets-float; }
@test "malformed st-offsets-huge: bn-convert" { check_case st-offsets-huge; }
@test "malformed st-offsets-past-end: bn-convert" { check_case st-offsets-past-end; }
@test "malformed st-offsets-reversed: bn-convert" { check_case st-offsets-reversed; }
@test "malformed st-offsets-size: bn-convert" { check_case st-offsets-size; }
@test "malformed st-overlap: bn-convert" { check_case st-overlap; }
@test "malformed st-overlap-hidden: bn-convert" { check_case st-overlap-hidden; }
@test "malformed st-packed-code3: bn-convert" { check_case st-packed-code3; }
@test "malformed st-packed-wrong-dtype: bn-convert" { check_case st-packed-wrong-dtype; }
@test "malformed st-packed-wrong-shape: bn-convert" { check_case st-packed-wrong-shape; }
@test "malformed st-scale-inf: bn-convert" { check_case st-scale-inf; }
@test "malformed st-scale-missing: bn-convert" { check_case st-scale-missing; }
@test "malformed st-scale-nan: bn-convert" { check_case st-scale-nan; }
@test "malformed st-scale-two: bn-convert" { check_case st-scale-two; }
@test "malformed st-shape-fraction: bn-convert" { check_case st-shape-fraction; }
@test "malformed st-shape-negative: bn-convert" { check_case st-shape-negative; }
@test "malformed st-shape-overflow: bn-convert" { check_case st-shape-overflow; }
@test "malformed st-short: bn-convert" { check_case st-short; }
@test "malformed st-too-many-dims: bn-convert" { check_case st-too-many-dims; }
@test "malformed st-trailing: bn-convert" { check_case st-trailing; }
@test "malformed st-truncated: bn-convert" { check_case st-truncated; }
@test "malformed st-unknown-dtype: bn-convert" { check_case st-unknown-dtype; }
@test "malformed st-untied-no-head: bn-convert" { check_case st-untied-no-head; }
@test "malformed tkj-added-content: bn-tokenize" { check_case tkj-added-content; }
@test "malformed tkj-added-id: bn-tokenize" { check_case tkj-added-id; }
@test "malformed tkj-deep: bn-tokenize" { check_case tkj-deep; }
@test "malformed tkj-empty: bn-tokenize" { check_case tkj-empty; }
@test "malformed tkj-huge-file: bn-tokenize" { check_case tkj-huge-file; }
@test "malformed tkj-invalid-utf8: bn-tokenize" { check_case tkj-invalid-utf8; }
@test "malformed tkj-merge-bad: bn-tokenize" { check_case tkj-merge-bad; }
@test "malformed tkj-merge-unknown: bn-tokenize" { check_case tkj-merge-unknown; }
@test "malformed tkj-model-type: bn-tokenize" { check_case tkj-model-type; }
@test "malformed tkj-pretok-type: bn-tokenize" { check_case tkj-pretok-type; }
@test "malformed tkj-regex-bad: bn-tokenize" { check_case tkj-regex-bad; }
@test "malformed tkj-template-id: bn-tokenize" { check_case tkj-template-id; }
@test "malformed tkj-truncated: bn-tokenize" { check_case tkj-truncated; }
@test "malformed tkj-vocab-dup-id: bn-tokenize" { check_case tkj-vocab-dup-id; }
@test "malformed tkj-vocab-empty: bn-tokenize" { check_case tkj-vocab-empty; }
@test "malformed tkj-vocab-huge-id: bn-tokenize" { check_case tkj-vocab-huge-id; }
@test "malformed tkj-vocab-negative: bn-tokenize" { check_case tkj-vocab-negative; }
@test "malformed tok-huge-file: bn-convert" { check_case tok-huge-file; }
@test "malformed tok-missing: bn-convert" { check_case tok-missing; }
@test "malformed tok-not-object: bn-convert" { check_case tok-not-object; }
@test "malformed tokcfg-not-json: bn-convert" { check_case tokcfg-not-json; }
