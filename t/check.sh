#!/bin/sh
# make check: unit + bats tests on the optimised build, then the same suite
# on an AddressSanitizer + UBSan build.  Ends with the total "N passed, N failed".
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
for cfg in "build" "build-san SAN=1"; do
	set -- $cfg
	o=$1; shift
	echo "== $o"
	if ! make -s -j"$jobs" O="$o" "$@" all units; then
		echo "not ok - build $o failed" | tee -a "$out"
		status=1
		continue
	fi
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		sh t/run.sh "$o" | tee -a "$out" || status=1
done
# The NEON kernels under qemu-user, on hosts other than aarch64, when the
# cross compiler and qemu are installed (scripts/deps.sh, optional list).
if [ "$(uname -m)" != aarch64 ] && command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 &&
	command -v qemu-aarch64 >/dev/null 2>&1; then
	echo "== neon (qemu-aarch64)"
	if ! make -s check-neon >"$out.neon" 2>&1; then
		grep -q '^not ok' "$out.neon" || echo "not ok - make check-neon failed" >>"$out.neon"
		status=1
	fi
	tee -a "$out" <"$out.neon"
	rm -f "$out.neon"
fi
# libFuzzer smoke run when clang can link -fsanitize=fuzzer: every harness
# for an equal share of about 100 s (t/fuzz/run.sh; one TAP line each).
if command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1 &&
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' |
	"${FUZZ_CC:-clang}" -fsanitize=fuzzer -x c - -o "$out.fz" >/dev/null 2>&1; then
	rm -f "$out.fz"
	echo "== fuzz (libFuzzer smoke)"
	n=$(ls t/fuzz/fuzz_*.c | wc -l)
	secs=$((100 / (n > 0 ? n : 1)))
	[ "$secs" -ge 3 ] || secs=3
	if ! make -s -j"$jobs" fuzz; then
		echo "not ok - fuzz harnesses failed to build" | tee -a "$out"
		status=1
	else
		sh t/fuzz/run.sh -t "${FUZZ_SECONDS:-$secs}" | tee -a "$out" || status=1
	fi
fi
pass=$(grep -c '^ok ' "$out")
fail=$(grep -c '^not ok' "$out")
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ $status -eq 0 ]
