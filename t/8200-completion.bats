#!/usr/bin/env bats
# share/bash-completion/bn: options from --help, argument words, model files.
load lib

setup() {
	source "$TOP/share/bash-completion/bn"
	mkdir ckpt && touch a.gguf b.txt
}

complete_words() {	# complete_words WORD... (the last one is completed)
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_bn
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

@test "every program has the completion function" {
	for p in bn-fetch bn-convert bn-tokenize bn-infer bn-sample bn-bench; do
		run complete -p "$p"
		assert_output --partial "-F _bn"
	done
}

@test "long options come from --help" {
	run complete_words bn-convert --em
	assert_output "--embed-type"
	run complete_words bn-infer --log
	assert_output "$(printf -- '--logits\n--logits-format')"
	run complete_words bn-sample --no-such
	assert_output ""
}

@test "option arguments: --to formats, -e types, --synthetic shapes" {
	run complete_words bn-convert --to ""
	assert_output "$(printf 'bn\ni2_s\nllama.cpp')"
	run complete_words bn-convert -e b
	assert_output "bf16"
	run complete_words bn-convert --synthetic 7
	assert_output "700m
7b"
}

@test "models complete to *.gguf files and directories" {
	run complete_words bn-infer -m ""
	assert_output "$(printf 'a.gguf\nckpt')"
	run complete_words bn-convert ""
	assert_output "$(printf 'a.gguf\nckpt')"
	run complete_words bn-tokenize ""
	assert_output "$(printf 'a.gguf\nb.txt\nckpt')"
}
