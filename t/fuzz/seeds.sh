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
mkdir -p "$c/safetensors" "$c/gguf" "$c/model" "$c/convert" "$c/logits" "$c/json" "$c/tokenizer" \
	"$c/ids" "$c/hub" "$c/import" "$c/chat"
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
"$b/bin/bn-convert" -q --to llama.cpp "$tmp/micro.gguf" -o "$c/import/micro-llama.cpp"
cp "$tmp/micro.gguf" "$c/import/micro-bn"
python3 - "$tmp" "$c" "$top/t/fixtures/tokenizers/demo/tokenizer.json" <<'PY'
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
# tokenizer: the micro one (byte level, no merges) and the demo one cut to
# its first 400 ids (the Llama 3 split regex, merges, a BOS template)
text = '\n@@\nHello, world!  <|begin_of_text|>caf\u00e9 \U0001f600 12345\n\ttabs'.encode()
T = os.path.join(c, 'tokenizer')
open(os.path.join(T, 'micro'), 'wb').write(rd(m, 'tokenizer.json') + text)
import json
d = json.load(open(sys.argv[3], encoding='utf-8'))
keep = {k: v for k, v in d['model']['vocab'].items() if v < 400}
d['model']['vocab'] = keep
d['model']['merges'] = [mg for mg in d['model']['merges'] if mg[0] in keep and mg[1] in keep and mg[0] + mg[1] in keep]
for a in d['added_tokens']:
    a['id'] = a['id'] - 4096 + 400
d['post_processor']['special_tokens']['<|begin_of_text|>']['ids'] = [400]
open(os.path.join(T, 'demo400'), 'wb').write(json.dumps(d, ensure_ascii=False).encode() + text)
I = os.path.join(c, 'ids')
open(os.path.join(I, 'ids'), 'wb').write(b'\x05' + b'1 2 3,4\r\t4999 0 17')
open(os.path.join(I, 'bad'), 'wb').write(b'\x01' + b'12 -3 x 99999999999999999999')
H = os.path.join(c, 'hub')
h40, h64 = 'a' * 40, '0123456789abcdef' * 4
hdr = ('HTTP/1.1 302 Found\r\nLocation: https://cdn.example/x?y=1\r\nX-Linked-Size: 5\r\n'
       'X-Linked-Etag: "%s"\r\nHTTP/1.1 200 OK\r\nX-Repo-Commit: %s\r\nETag: W/"abc"\r\n'
       'Content-Length: 123\r\nRetry-After: 7\r\nX-Error-Code: RepoNotFound\r\n'
       'X-Error-Message: nope\r\nLink: <https://hub.example/api/models/a/b/tree/%s?cursor=x>; rel="next"\r\n\r\n'
       % (h64, h40, h40))
tree = [{'type': 'file', 'path': 'config.json', 'size': 10, 'oid': h40},
        {'type': 'file', 'path': 'sub/model.safetensors', 'size': 5, 'oid': h40,
         'lfs': {'oid': h64, 'size': 5, 'pointerSize': 130}},
        {'type': 'directory', 'path': 'sub', 'size': 0}]
open(os.path.join(H, 'tree'), 'wb').write(hdr.encode() + json.dumps(tree).encode())
open(os.path.join(H, 'bad'), 'wb').write(b'HTTP/2 200\r\n\r\n[{"type":"file","path":"../etc/passwd","size":1}]')
C = os.path.join(c, 'chat')
llama = json.load(open(os.path.join(os.path.dirname(sys.argv[3]), '..', 'llama3',
                                    'tokenizer_config.json'), encoding='utf-8'))['chat_template']
msgs = b'system\x1fBe brief.\x1euser\x1fHi \xc3\xa9!\x1eassistant\x1fHello.\x1euser\x1fAnd?'
open(os.path.join(C, 'llama3'), 'wb').write(llama.encode() + b'\n@@\n' + msgs)
own = ("{%- set sep = ' | ' -%}{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}"
       "{{ m['content'] | trim }}{% elif loop.first %}[{{ loop.index0 }}]{% else %}{{ sep }}{% endif %}"
       "{{ m.role | upper }}: {{ m.content }}{% if not loop.last %}\n{% endif %}{% endfor %}"
       "{%- if add_generation_prompt %}{{ eos_token ~ 'Assistant:' }}{% endif %}")
open(os.path.join(C, 'own'), 'wb').write(own.encode() + b'\n@@\n' + msgs)
open(os.path.join(J, 'nested'), 'wb').write(b'{"a":[{"b":{"c":[1,2,{"d":"\\u00e9\\ud83d\\ude00"}]}}],"e":null}')
PY
du -sh "$c"
