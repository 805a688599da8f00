# t/lib.bash - loaded by every bats file.
# Puts the build under test first in PATH; FIX points at t/fixtures.
T_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$T_DIR/.." && pwd)
BN_BUILD=${BN_BUILD:-$TOP/build}
PATH="$BN_BUILD/bin:$PATH"
FIX="$T_DIR/fixtures"
DEMO="$BN_BUILD/share/bn/demo.gguf"
export PATH FIX DEMO BN_BUILD TOP
for d in /usr/lib/bats /usr/lib/bats-core /usr/local/lib; do
	if [ -f "$d/bats-support/load.bash" ]; then
		load "$d/bats-support/load.bash"
		load "$d/bats-assert/load.bash"
		break
	fi
done
cd "$BATS_TEST_TMPDIR" || exit 1
