#!/usr/bin/env bats
# Every program: --help, --version, usage errors, exit codes.
bats_require_minimum_version 1.5.0
load lib

PROGS="bn-fetch bn-convert bn-tokenize bn-infer bn-sample bn-bench"

@test "every program prints --help to stdout and exits 0" {
	for p in $PROGS; do
		run "$p" --help
		assert_success
		assert_output --partial "Usage: $p"
	done
}

@test "every program prints --version with the kernel table" {
	for p in $PROGS; do
		run "$p" --version
		assert_success
		assert_output --regexp "^$p [0-9]+\.[0-9]+\.[0-9]+ \(kernels: [a-z0-9]+\)$"
	done
}

@test "an unknown option is a usage error (exit 2) with a hint on stderr" {
	for p in $PROGS; do
		run -2 --separate-stderr "$p" --no-such-option
		assert_output ""
		[[ "$stderr" == *"Try '$p --help'"* ]]
	done
}
