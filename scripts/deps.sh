#!/bin/sh
# Install the Debian packages bn needs to build and test, when missing.
# Run as root it installs them with apt-get; otherwise it lists what is missing.
set -eu
pkgs="build-essential pkg-config libcurl4-openssl-dev libcjson-dev libzstd-dev
libpcre2-dev libssl-dev bats bats-support bats-assert python3 zstd parallel"
# Optional: the aarch64 cross compiler and qemu-user, so that 'make check'
# also tests the NEON kernels on an x86 host (installed only when root).
optional="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
[ "$(uname -m)" = aarch64 ] && optional=""
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ "$(id -u)" -eq 0 ]; then
	for p in $optional; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "bn: missing Debian packages:$missing" >&2
	echo "bn: run 'sudo make deps' or install them with apt-get" >&2
	exit 1
fi
echo "bn: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
