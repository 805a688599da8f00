#!/bin/sh
# run.sh [-o BUILD] [-t SECONDS] [-j JOBS] [NAME...] - run each libFuzzer
# harness (BUILD/fuzz/fuzz_NAME, from `make fuzz`) for SECONDS (default 10)
# on a scratch copy of its seed corpus t/fuzz/corpus/NAME.  Prints one TAP
# line per harness, "ok - fuzz NAME: X execs, no crash", or "not ok" with
# the crashing input kept under BUILD/fuzz/crashes/NAME/.  Exit 1 on any
# crash, leak, sanitizer report, timeout (-timeout=10 s per input) or
# allocation over 2 GiB (-malloc_limit_mb).
top=$(cd "$(dirname "$0")/../.." && pwd)
O=build secs=10 jobs=1
while getopts o:t:j: c; do
	case $c in
	o) O=$OPTARG ;;
	t) secs=$OPTARG ;;
	j) jobs=$OPTARG ;;
	*) echo "usage: $0 [-o BUILD] [-t SECONDS] [-j JOBS] [NAME...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
dir=$top/$O/fuzz
if [ $# -eq 0 ]; then
	set --
	for f in "$dir"/fuzz_*; do
		[ -x "$f" ] && set -- "$@" "${f##*/fuzz_}"
	done
fi
[ $# -gt 0 ] || { echo "not ok - fuzz: no harnesses in $dir (make fuzz)"; exit 1; }
status=0
for name in "$@"; do
	bin=$dir/fuzz_$name
	work=$(mktemp -d)
	crashes=$dir/crashes/$name
	mkdir -p "$work/corpus" "$crashes"
	[ -d "$top/t/fuzz/corpus/$name" ] && cp "$top/t/fuzz/corpus/$name"/* "$work/corpus/" 2>/dev/null
	par=
	[ "$jobs" -gt 1 ] && par="-jobs=$jobs -workers=$jobs"	# logs in $work/fuzz-N.log
	# shellcheck disable=SC2086
	(cd "$work" && ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=3072 -malloc_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 $par -artifact_prefix="$crashes/" corpus \
		>log 2>&1)
	rc=$?
	cat "$work"/fuzz-*.log >>"$work/log" 2>/dev/null
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | awk '{s += $1} END {print s + 0}')
	if [ $rc -eq 0 ] && ! grep -q 'ERROR: \(AddressSanitizer\|LeakSanitizer\|libFuzzer\)\|runtime error' "$work/log"; then
		echo "ok - fuzz $name: $execs execs, no crash"
	else
		echo "not ok - fuzz $name: exit $rc after $execs execs; input kept in $crashes"
		grep -m5 'ERROR\|runtime error\|SUMMARY' "$work/log" | sed 's/^/# /'
		status=1
	fi
	rm -rf "$work"
done
exit $status
