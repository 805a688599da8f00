#!/bin/sh
# valgrind.sh [BUILD] - valgrind memcheck over a smoke run of the programs
# on tiny inputs (default build: the optimised one).  One TAP line per run:
# "ok - valgrind NAME: 0 errors, 0 bytes definitely lost".  Exit 1 on any
# error or definite leak; 77 (skip) without valgrind.
top=$(cd "$(dirname "$0")/.." && pwd)
case ${1:-build} in /*) b=$1 ;; *) b=$top/${1:-build} ;; esac
command -v valgrind >/dev/null 2>&1 || { echo "# valgrind not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

vg() {	# vg NAME CMD...: run CMD under memcheck (stdout to $tmp/NAME.out)
	name=$1
	shift
	valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite \
		--log-file="$tmp/$name.vg" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$tmp/$name.vg" | tail -1)
	lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$tmp/$name.vg" | tail -1)
	if [ "$rc" -ne 99 ] && [ "${errs:-x}" = 0 ] && [ "${lost:-0}" = 0 ]; then
		echo "ok - valgrind $name: 0 errors, 0 bytes definitely lost"
	else
		echo "not ok - valgrind $name: exit $rc, ${errs:-?} errors, ${lost:-?} bytes definitely lost"
		grep -m20 '==[0-9]*== ' "$tmp/$name.vg" | sed 's/^/# /'
		status=1
	fi
}

python3 "$top/t/malformed/make.py" micro "$tmp/micro"
vg bn-convert "$b/bin/bn-convert" -q "$top/t/fixtures/models/tiny-a" -o "$tmp/tiny.gguf"
vg bn-convert-micro "$b/bin/bn-convert" -q "$tmp/micro" -o "$tmp/micro.gguf"
vg bn-convert-error "$b/bin/bn-convert" -q "$top/t/fixtures/models" -o "$tmp/x.gguf"
python3 - "$tmp/frames" <<'PY'
import struct, sys
with open(sys.argv[1], 'wb') as f:
    for i in range(40):
        f.write(struct.pack('<4I', 0x474c4e42, 64, i, i % 3) + struct.pack('<64f', *[((i * 7 + j * 13) % 17) / 4.0 for j in range(64)]))
PY
vg bn-sample "$b/bin/bn-sample" --seed 1 --repeat-penalty 1.1 --logprobs 3 --jsonl "$tmp/frames"
printf '{"rec":0,"pos":0,"logits":[1,2,null,4]}\n{"rec":0,"pos":1,"logits":[1,' >"$tmp/bad.jsonl"
vg bn-sample-error "$b/bin/bn-sample" "$tmp/bad.jsonl"
printf 'Hello, world!\ncaf\303\251 \360\237\230\200 12345\n' >"$tmp/text"
vg bn-tokenize "$b/bin/bn-tokenize" -t "$top/t/fixtures/tokenizers/demo/tokenizer.json" "$tmp/text"
if [ -x "$b/t/modelcheck" ]; then
	vg model-forward "$b/t/modelcheck" "$tmp/micro.gguf" "$tmp/tiny.gguf"
fi
if [ -x "$b/bin/bn-infer" ] && "$b/bin/bn-infer" --help 2>/dev/null | grep -q -- '--ids'; then
	vg bn-infer-text "$b/bin/bn-infer" -m "$tmp/tiny.gguf" -p "Hello world" -n 4 -t 2
	vg bn-infer-ids "$b/bin/bn-infer" -m "$tmp/tiny.gguf" --ids -p "1 2 3" -n 3 -t 1 --jsonl
	printf '1 2\n-1\n3 99999\n' >"$tmp/ids.txt"
	vg bn-infer-bad-ids "$b/bin/bn-infer" -m "$tmp/tiny.gguf" --ids -f "$tmp/ids.txt" -n 2 -t 1
	vg bn-infer-logits "$b/bin/bn-infer" -m "$tmp/tiny.gguf" -p "a b" -n 2 -t 1 --logits --all-logits
fi
exit $status
