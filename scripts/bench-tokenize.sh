#!/bin/sh
# bench-tokenize.sh - encode throughput of bn-tokenize on one core.
#
# Usage: scripts/bench-tokenize.sh [BUILD_DIR] [TOKENIZER.json]
# Builds an English corpus of ~8 MB from the texts of the reference file
# t/fixtures/tokenizers/refs/llama3-tok.jsonl (repeated), then times
# bn-tokenize pinned to one CPU: once on empty input (start-up: loading the
# tokenizer) and on the corpus as one text (--whole) and line by line.
# Encode MB/s = corpus bytes / (CPU time - start-up CPU time); best of 3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
tok=${2:-$top/t/fixtures/tokenizers/llama3/tokenizer.json}
bin=$build/bin/bn-tokenize
[ -x "$bin" ] || { echo "bench-tokenize: no $bin (run make first)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pin=""
command -v taskset >/dev/null 2>&1 && pin="taskset -c 0"

python3 - "$top/t/fixtures/tokenizers/refs/llama3-tok.jsonl" "$tmp/corpus.txt" <<'PY'
import json, sys
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
block = ("\n".join(texts) + "\n").encode()
with open(sys.argv[2], "wb") as f:
    f.write(block * max(1, round(8_000_000 / len(block))))
PY
: >"$tmp/empty"

python3 - "$bin" "$tok" "$tmp" "$pin" <<'PY'
import os, subprocess, sys
bin_, tok, tmp, pin = sys.argv[1:5]
pre = pin.split() if pin else []
corpus = os.path.join(tmp, "corpus.txt")
size = os.path.getsize(corpus)

def best(args, inp):
    """CPU seconds (user + system) of the child, best of 3: unlike wall
    time, not inflated by other processes on a shared machine."""
    t = []
    for _ in range(3):
        with open(inp, "rb") as f:
            p = subprocess.Popen(pre + [bin_, "-t", tok] + args, stdin=f,
                                 stdout=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            if status:
                sys.exit("bench-tokenize: bn-tokenize failed")
            t.append(ru.ru_utime + ru.ru_stime)
    return min(t)

load = best(["--whole", "--count"], os.path.join(tmp, "empty"))
whole = best(["--whole", "--count"], corpus)
lines = best(["--count"], corpus)
print("tokenizer: %s" % tok)
print("corpus: %.1f MB of English (%s lines)" % (size / 1e6,
      sum(1 for _ in open(corpus, "rb"))))
print("start-up (load tokenizer.json): %.3f s" % load)
print("encode, one text (--whole): %.1f MB/s" % (size / 1e6 / max(whole - load, 1e-9)))
print("encode, line by line:       %.1f MB/s" % (size / 1e6 / max(lines - load, 1e-9)))
PY
