#!/bin/sh
# Run the C unit tests and the bats tests against the build in $1 (default
# build).  Prints TAP, then "N passed, N failed"; exit 1 if anything failed.
O=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export BN_BUILD="$top/$O"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for u in "$top/$O"/t/*; do
	[ -f "$u" ] && [ -x "$u" ] || continue	# not build/t/unit/ (objects)
	echo "# unit: ${u##*/}"
	"$u" >"$log" 2>&1
	rc=$?
	cat "$log"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$log"; then
		echo "not ok - ${u##*/} exited with status $rc"
	fi
done >"$log.all"
bats --tap "$top"/t/*.bats >>"$log.all" 2>&1
cat "$log.all"
pass=$(grep -c '^ok ' "$log.all")
fail=$(grep -c '^not ok' "$log.all")
rm -f "$log.all"
echo "$O: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
