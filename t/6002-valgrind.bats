#!/usr/bin/env bats
# valgrind memcheck over a smoke run (t/valgrind.sh): 0 errors, 0 bytes
# definitely lost.  Skipped without valgrind and on sanitizer builds.
load lib

@test "valgrind memcheck: convert, tokenize, sample, load + forward, infer: 0 errors, 0 definitely lost" {
	command -v valgrind >/dev/null || skip "valgrind not installed"
	if grep -q __asan_init "$BN_BUILD/bin/bn-convert"; then
		skip "sanitizer build (valgrind cannot run it)"
	fi
	run sh "$TOP/t/valgrind.sh" "$BN_BUILD"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^ok - valgrind' <<<"$output")" -ge 6 ]
}
