#!/bin/sh
# Quick start: install missing Debian packages (when root), build, convert the
# bundled demo model and generate text from a prompt.
#   sh scripts/demo.sh ["prompt"]
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
make -s all
exec build/bin/bn-infer -m build/share/bn/demo.gguf -p "${1:-The history of the city}" -n 48
