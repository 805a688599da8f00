#!/bin/sh
# seeds.sh [BUILD] - rewrite the seed corpora t/fuzz/corpus/<harness>/ from
# the micro checkpoint of t/malformed/make.py (bn-convert from BUILD, default
# build).  The result is committed; rerun after changing the formats.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
b=$top/${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$top/t/malformed/make.py" micro "$tmp/micro"
"$b/bin/bn-convert" -q "$tmp/micro" -o "$tmp/micro.gguf"
python3 "$top/t/malformed/make.py" cases "$tmp" "$tmp/cases"
c=$top/t/fuzz/corpus
rm -rf "$c"
mkdir -p "$c/safetensors" "$c/gguf" "$c/model" "$c/convert" "$c/logits" "$c/json"
cp "$tmp/micro/model.safetensors" "$c/safetensors/micro"
for k in overlap overlap-hidden duplicate-tensor shape-overflow offsets-size metadata-not-object; do
	cp "$tmp/cases/st-$k/model.safetensors" "$c/safetensors/$k"
done
cp "$tmp/micro.gguf" "$c/gguf/micro"
cp "$tmp/micro.gguf" "$c/model/micro"
for k in duplicate-key array-huge stop-negative scale-inf; do
	cp "$tmp/cases/gguf-$k.gguf" "$c/gguf/$k"
done
cp "$tmp/cases/gguf-norm-f16.gguf" "$c/model/norm-f16"
"$b/bin/bn-convert" -q "$tmp/micro" -e f32 -o "$c/model/micro-f32"
python3 - "$tmp" "$c" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(sys.argv[2]), '..', 'malformed'))
import make
tmp, c = sys.argv[1], sys.argv[2]
sep = b'\n@@\n'
def rd(*p):
    return open(os.path.join(*p), 'rb').read()
m = os.path.join(tmp, 'micro')
tokcfg = b'{"chat_template":"{% for m in messages %}{{ m.content }}{% endfor %}"}'
open(os.path.join(c, 'convert', 'micro'), 'wb').write(
    sep.join([rd(m, 'config.json'), rd(m, 'generation_config.json'), tokcfg, rd(m, 'model.safetensors')]))
bl = make.jdump(make.config(quantization_config={'quant_method': 'bitnet', 'linear_class': 'bitlinear'}))
open(os.path.join(c, 'convert', 'bitlinear'), 'wb').write(
    sep.join([bl.encode(), b'{}', b'{}', rd(m, 'model.safetensors')]))
L = os.path.join(c, 'logits')
open(os.path.join(L, 'f32'), 'wb').write(make.logits_frame(5) + make.logits_frame(5, pos=1, rec=1))
open(os.path.join(L, 'jsonl'), 'wb').write(b'{"rec":0,"pos":0,"logits":[1.5,-2,null,3e38]}\n\n'
                                           b'{"rec":1,"pos":0,"logits":[0,0,0,1]}\n')
J = os.path.join(c, 'json')
for n in ('config.json', 'generation_config.json'):
    open(os.path.join(J, n), 'wb').write(rd(m, n))
open(os.path.join(J, 'tokenizer_config.json'), 'wb').write(tokcfg)
open(os.path.join(J, 'nested'), 'wb').write(b'{"a":[{"b":{"c":[1,2,{"d":"\\u00e9\\ud83d\\ude00"}]}}],"e":null}')
PY
du -sh "$c"
