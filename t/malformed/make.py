#!/usr/bin/env python3
"""make.py - the malformed-input corpus of t/6000-malformed.bats (python3 stdlib only).

  make.py micro DIR          write the micro checkpoint (a valid, tiny BitNet HF dir)
  make.py cases SRC OUT      write every malformed input named in cases.tsv into OUT;
                             SRC holds micro/ and micro.gguf (bn-convert of micro/)
  make.py bats               print the @test lines of t/6000-malformed.bats
  make.py expect BUILD DIR   rewrite cases.tsv from what BUILD's programs print for the
                             inputs in DIR/cases (made by `cases`): review the diff!

The micro checkpoint: vocab 260 (the 256 byte-level symbols + 4 specials), hidden
8, 1 layer, 2 heads, 1 kv head (head_dim 4), intermediate 12, packed U8 ternary
projections with BF16 weight_scale, exactly the layout of the real checkpoints.
Every case is the micro checkpoint (or its GGUF, or a logits stream) with one
defect, so the expected error is exactly one known problem.
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

VOCAB, DIM, FFN, LAYERS, HEADS, KV, HD = 260, 8, 12, 1, 2, 1, 4


def bf16(x):
    return struct.pack('<f', x)[2:]


def byte_symbols():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(0xa1, 0xad)) + list(range(0xae, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def tokenizer():
    specials = ['<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>', '<|start_header_id|>']
    vocab = {s: i for i, s in enumerate(byte_symbols())}
    added = [{'id': 256 + i, 'content': s, 'single_word': False, 'lstrip': False,
              'rstrip': False, 'normalized': False, 'special': True}
             for i, s in enumerate(specials)]
    bos = specials[0]
    return {
        'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added,
        'normalizer': None,
        'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False,
                          'trim_offsets': True, 'use_regex': True},
        'post_processor': {
            'type': 'TemplateProcessing',
            'single': [{'SpecialToken': {'id': bos, 'type_id': 0}},
                       {'Sequence': {'id': 'A', 'type_id': 0}}],
            'pair': [{'SpecialToken': {'id': bos, 'type_id': 0}},
                     {'Sequence': {'id': 'A', 'type_id': 0}},
                     {'SpecialToken': {'id': bos, 'type_id': 0}},
                     {'Sequence': {'id': 'B', 'type_id': 1}}],
            'special_tokens': {bos: {'id': bos, 'ids': [256], 'tokens': [bos]}}},
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True,
                    'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None,
                  'continuing_subword_prefix': None, 'end_of_word_suffix': None,
                  'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': True,
                  'vocab': vocab, 'merges': []},
    }


def config(**kw):
    c = {'architectures': ['BitNetForCausalLM'], 'model_type': 'bitnet', 'vocab_size': VOCAB,
         'hidden_size': DIM, 'intermediate_size': FFN, 'num_hidden_layers': LAYERS,
         'num_attention_heads': HEADS, 'num_key_value_heads': KV, 'head_dim': HD,
         'hidden_act': 'relu2', 'max_position_embeddings': 64, 'rms_norm_eps': 1e-5,
         'rope_theta': 10000.0, 'tie_word_embeddings': True, 'bos_token_id': 256,
         'eos_token_id': 257, 'attention_bias': False, 'torch_dtype': 'bfloat16',
         'quantization_config': {'quant_method': 'bitnet', 'linear_class': 'autobitlinear',
                                 'quantization_mode': 'offline'}}
    c.update(kw)
    return c


class Rng:
    """xorshift64: the same bytes on every python."""
    def __init__(self, seed):
        self.s = seed or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xffffffffffffffff
        s ^= s >> 7
        s ^= (s << 17) & 0xffffffffffffffff
        self.s = s
        return s

    def unit(self):
        return (self.next() >> 11) / float(1 << 53) * 2 - 1


PROJ = [('self_attn.q_proj', DIM, HEADS * HD), ('self_attn.k_proj', DIM, KV * HD),
        ('self_attn.v_proj', DIM, KV * HD), ('self_attn.o_proj', HEADS * HD, DIM),
        ('mlp.gate_proj', DIM, FFN), ('mlp.up_proj', DIM, FFN), ('mlp.down_proj', FFN, DIM)]


def tensors(rng=None):
    """name -> [dtype, shape, bytes] of the micro model."""
    rng = rng or Rng(42)
    t = {}

    def fl(name, shape, base=0.0, amp=1.0):
        n = 1
        for d in shape:
            n *= d
        t[name] = ['BF16', list(shape), b''.join(bf16(base + amp * rng.unit()) for _ in range(n))]
    fl('model.embed_tokens.weight', (VOCAB, DIM))
    fl('model.norm.weight', (DIM,), 1.0, 0.2)
    for l in range(LAYERS):
        p = 'model.layers.%d.' % l
        fl(p + 'input_layernorm.weight', (DIM,), 1.0, 0.2)
        fl(p + 'post_attention_layernorm.weight', (DIM,), 1.0, 0.2)
        fl(p + 'self_attn.attn_sub_norm.weight', (HEADS * HD,), 1.0, 0.2)
        fl(p + 'mlp.ffn_sub_norm.weight', (FFN,), 1.0, 0.2)
        for name, n_in, n_out in PROJ:
            data = bytes(sum((rng.next() % 3) << (2 * i) for i in range(4))
                         for _ in range(n_out // 4 * n_in))
            t[p + name + '.weight'] = ['U8', [n_out // 4, n_in], data]
            t[p + name + '.weight_scale'] = ['BF16', [1], bf16(0.5 + 0.25 * rng.unit())]
    return t


def safetensors(t, meta=True, header=None):
    """Serialize name -> [dtype, shape, bytes] (or a raw header dict) like safetensors."""
    h = {'__metadata__': {'format': 'pt'}} if meta else {}
    data = b''
    for name in sorted(t):
        dt, shape, raw = t[name]
        h[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [len(data), len(data) + len(raw)]}
        data += raw
    js = (header if header is not None else json.dumps(h, separators=(',', ':'))).encode()
    js += b' ' * (-len(js) % 8)
    return struct.pack('<Q', len(js)) + js + data


def write(path, data):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def jdump(o):
    return json.dumps(o, indent=1, ensure_ascii=False)


def micro(d, cfg=None, gen=True, tok=True, st=None, tokcfg=None):
    write(os.path.join(d, 'config.json'), jdump(cfg if cfg is not None else config()))
    if gen:
        write(os.path.join(d, 'generation_config.json'),
              jdump({'bos_token_id': 256, 'eos_token_id': [257, 258]}))
    if tok:
        write(os.path.join(d, 'tokenizer.json'), json.dumps(tokenizer(), ensure_ascii=False))
    if tokcfg is not None:
        write(os.path.join(d, 'tokenizer_config.json'), tokcfg)
    if st is not False:
        write(os.path.join(d, 'model.safetensors'), st if st is not None else safetensors(tensors()))


# ---- GGUF (enough to take the converter's output apart and put it back) ----

VSIZE = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


class Gguf:
    def __init__(self, b):
        self.version = struct.unpack_from('<I', b, 4)[0]
        nt, nkv = struct.unpack_from('<QQ', b, 8)
        o = 24
        self.kv = []          # [key, type, raw value bytes]

        def s(o):
            n = struct.unpack_from('<Q', b, o)[0]
            return b[o + 8:o + 8 + n], o + 8 + n

        def val(o, ty):
            if ty == 8:
                _, e = s(o)
                return e
            if ty == 9:
                at, n = struct.unpack_from('<IQ', b, o)
                o += 12
                for _ in range(n):
                    o = val(o, at)
                return o
            return o + VSIZE[ty]
        for _ in range(nkv):
            k, o = s(o)
            ty = struct.unpack_from('<I', b, o)[0]
            e = val(o + 4, ty)
            self.kv.append([k.decode(), ty, b[o + 4:e]])
            o = e
        self.t = []           # [name, dims, type, offset]
        for _ in range(nt):
            name, o = s(o)
            nd = struct.unpack_from('<I', b, o)[0]
            dims = list(struct.unpack_from('<%dQ' % nd, b, o + 4))
            o += 4 + 8 * nd
            ty, off = struct.unpack_from('<IQ', b, o)
            o += 12
            self.t.append([name.decode(), dims, ty, off])
        self.align = 32
        for k, ty, v in self.kv:
            if k == 'general.alignment':
                self.align = struct.unpack('<I', v)[0]
        self.data = b[(o + self.align - 1) // self.align * self.align:]

    def get(self, key):
        return [x for x in self.kv if x[0] == key][0]

    def tensor(self, name):
        return [x for x in self.t if x[0] == name][0]

    def pack(self, counts=None, align=None):
        def s(x):
            x = x.encode('utf-8', 'surrogateescape') if isinstance(x, str) else x
            return struct.pack('<Q', len(x)) + x
        nt, nkv = counts or (len(self.t), len(self.kv))
        out = b'GGUF' + struct.pack('<IQQ', self.version, nt, nkv)
        for k, ty, v in self.kv:
            out += s(k) + struct.pack('<I', ty) + v
        for name, dims, ty, off in self.t:
            out += s(name) + struct.pack('<I', len(dims)) + struct.pack('<%dQ' % len(dims), *dims)
            out += struct.pack('<IQ', ty, off)
        a = align or self.align
        out += b'\0' * (-len(out) % a)
        return out + self.data

    def set_u32(self, key, v):
        self.get(key)[2] = struct.pack('<I', v)

    def tdata(self, name, n, new=None):
        """Read (or overwrite) n bytes of a tensor's data."""
        off = self.tensor(name)[3]
        if new is not None:
            self.data = self.data[:off] + new + self.data[off + len(new):]
        return self.data[off:off + n]


def logits_frame(v, pos=0, rec=0, vals=None, magic=0x474c4e42):
    vals = vals if vals is not None else [float(i % 7) for i in range(v)]
    return struct.pack('<4I', magic, v, pos, rec) + struct.pack('<%df' % len(vals), *vals)


# ---- the cases ----

def cases(src, out):
    base = os.path.join(src, 'micro')
    T = tensors()
    q0 = 'model.layers.0.self_attn.q_proj.weight'

    def ck(name, **kw):
        micro(os.path.join(out, name), **kw)

    def st_with(name, edit, **kw):
        t = {k: list(v) for k, v in T.items()}
        edit(t)
        ck(name, st=safetensors(t), **kw)

    def st_header(name, header, data=b''):
        js = header.encode() if isinstance(header, str) else header
        ck(name, st=struct.pack('<Q', len(js)) + js + data)

    good = safetensors(T)
    # safetensors container
    ck('st-empty', st=b'')
    ck('st-short', st=b'\x10\0\0')
    ck('st-hlen-past-eof', st=struct.pack('<Q', 1 << 40) + good[8:])
    ck('st-hlen-tiny', st=struct.pack('<Q', 1) + b'{' + good[9:])
    ck('st-not-json-object', st=struct.pack('<Q', 8) + b'[1,2,3] ' + good[16:])
    st_header('st-bad-json', '{"a":{"dtype":"F32",')
    ck('st-truncated', st=good[:-7])
    st_header('st-deep-nesting', '{"x":' + '[' * 5000 + ']' * 5000 + '}')
    st_header('st-offsets-past-end', '{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}', b'ab')
    st_header('st-offsets-reversed', '{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}', b'abcd')
    st_header('st-offsets-size', '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', b'abcd')
    st_header('st-offsets-float', '{"w":{"dtype":"U8","shape":[2],"data_offsets":[0.5,2.5]}}', b'abcd')
    st_header('st-offsets-huge', '{"w":{"dtype":"U8","shape":[2],"data_offsets":[1e300,1e300]}}', b'ab')
    st_header('st-overlap', '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
              '"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}', b'abcdef')
    st_header('st-overlap-hidden', '{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},'
              '"b":{"dtype":"U8","shape":[0],"data_offsets":[2,2]},'
              '"c":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}', b'abcdefgh')
    st_header('st-hole', '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
              '"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}', b'abcdef')
    ck('st-trailing', st=good + b'GARBAGE!')
    st_header('st-duplicate-tensor', '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
              '"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}', b'abcd')
    st_header('st-duplicate-field', '{"a":{"dtype":"U8","dtype":"F32","shape":[4],'
              '"data_offsets":[0,4]}}', b'abcd')
    st_header('st-unknown-dtype', '{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}}', b'ab')
    st_header('st-shape-overflow', '{"a":{"dtype":"U8","shape":[4294967296,4294967296,'
              '4294967296],"data_offsets":[0,2]}}', b'ab')
    st_header('st-shape-negative', '{"a":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}}', b'ab')
    st_header('st-shape-fraction', '{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,2]}}', b'ab')
    st_header('st-too-many-dims', '{"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,2],'
              '"data_offsets":[0,2]}}', b'ab')
    st_header('st-missing-dtype', '{"a":{"shape":[2],"data_offsets":[0,2]}}', b'ab')
    st_header('st-metadata-not-object', '{"__metadata__":7}')
    st_header('st-entry-not-object', '{"a":[1,2]}')
    # tensors of the checkpoint
    st_with('st-packed-wrong-dtype', lambda t: t[q0].__setitem__(0, 'I32'))
    st_with('st-packed-wrong-shape', lambda t: t[q0].__setitem__(1, [4, 4]))

    def code3(t):
        t[q0][2] = b'\xff' + t[q0][2][1:]
    st_with('st-packed-code3', code3)
    for nm, v in (('nan', float('nan')), ('inf', float('inf'))):
        st_with('st-scale-' + nm, lambda t, v=v: t[q0 + '_scale'].__setitem__(2, bf16(v)))
    st_with('st-scale-two', lambda t: t[q0 + '_scale'].__setitem__(1, [2]) or
            t[q0 + '_scale'].__setitem__(2, bf16(1) * 2))
    st_with('st-scale-missing', lambda t: t.pop(q0 + '_scale'))
    st_with('st-embed-nan', lambda t: t['model.embed_tokens.weight'].__setitem__(
        2, bf16(float('nan')) + t['model.embed_tokens.weight'][2][2:]))
    st_with('st-embed-shape', lambda t: t['model.embed_tokens.weight'].__setitem__(
        1, [VOCAB // 2, DIM * 2]))
    st_with('st-embed-int', lambda t: t['model.embed_tokens.weight'].__setitem__(0, 'I16'))
    st_with('st-norm-missing', lambda t: t.pop('model.norm.weight'))

    raw = good.replace(b'"model.norm.weight"', b'"model.norm.w\xff\xfeght"')
    ck('st-name-invalid-utf8', st=raw)

    def master(t, bad):
        n_in, n_out = DIM, HEADS * HD
        vals = [0.5 - (i % 3) * 0.5 for i in range(n_in * n_out)]
        if bad == 'inf':
            vals[5] = float('inf')
        if bad == 'not-ternary':
            vals[7] = 0.25
        t[q0] = ['F32', [n_out, n_in] if bad != 'shape' else [n_in, n_out + 1],
                 struct.pack('<%df' % len(vals) if bad != 'shape' else '<%df' % (n_in * (n_out + 1)),
                             *(vals if bad != 'shape' else vals + [0.0] * n_in))]
        if bad != 'not-ternary':
            t.pop(q0 + '_scale')
    online = config(quantization_config={'quant_method': 'bitnet', 'linear_class': 'autobitlinear',
                                         'quantization_mode': 'online'})
    st_with('st-master-inf', lambda t: master(t, 'inf'), cfg=online)
    st_with('st-master-shape', lambda t: master(t, 'shape'), cfg=online)
    st_with('st-offline-not-ternary', lambda t: master(t, 'not-ternary'))
    st_with('cfg-master-no-quant', lambda t: master(t, ''), cfg=config(quantization_config=None))
    st_with('cfg-master-bitlinear', lambda t: master(t, ''), cfg=config(quantization_config={
        'quant_method': 'bitnet', 'linear_class': 'bitlinear', 'quantization_mode': 'online'}))
    st_with('st-embed-f16-overflow', lambda t: t['model.embed_tokens.weight'].__setitem__(
        2, bf16(70000.0) + t['model.embed_tokens.weight'][2][2:]))
    ck('st-untied-no-head', cfg=config(tie_word_embeddings=False))
    ck('st-missing', st=False)
    ck('st-index-bad-shard', st=False)
    write(os.path.join(out, 'st-index-bad-shard', 'model.safetensors.index.json'),
          '{"weight_map":{"model.norm.weight":"../../etc/passwd"}}')
    ck('st-index-no-map', st=False)
    write(os.path.join(out, 'st-index-no-map', 'model.safetensors.index.json'), '{"metadata":{}}')
    # config.json
    ck('cfg-missing', cfg=None)
    os.unlink(os.path.join(out, 'cfg-missing', 'config.json'))
    for name, text in (('cfg-empty', ''), ('cfg-array', '[1,2]'), ('cfg-truncated', '{"vocab_size": 2'),
                       ('cfg-deep-nesting', '{"a":' + '[' * 100000 + ']' * 100000 + '}'),
                       ('cfg-nul-byte', '{"model_type":"bitnet"}\0{}'),
                       ('cfg-invalid-utf8', '{"model_type":"bit\xffnet"}'),
                       ('cfg-duplicate-key', json.dumps(config())[:-1] + ',"vocab_size":100}')):
        ck(name)
        write(os.path.join(out, name, 'config.json'),
              text.encode('latin-1') if name == 'cfg-invalid-utf8' else text)
    micro(os.path.join(out, 'cfg-long-string'), cfg=None)
    write(os.path.join(out, 'cfg-long-string', 'config.json'), '{"model_type":"' + 'x' * 3000000 + '"}')
    for name, kw in (('cfg-vocab-zero', {'vocab_size': 0}), ('cfg-vocab-huge', {'vocab_size': 1e12}),
                     ('cfg-vocab-negative', {'vocab_size': -260}),
                     ('cfg-vocab-string', {'vocab_size': '260'}),
                     ('cfg-hidden-fraction', {'hidden_size': 8.5}),
                     ('cfg-layers-huge', {'num_hidden_layers': 100000}),
                     ('cfg-dims-huge', {'hidden_size': 1 << 20, 'intermediate_size': 1 << 20,
                                        'num_attention_heads': 4096, 'head_dim': 4096}),
                     ('cfg-heads-group', {'num_attention_heads': 3, 'num_key_value_heads': 2}),
                     ('cfg-head-dim-odd', {'head_dim': 3}),
                     ('cfg-eps-negative', {'rms_norm_eps': -1}),
                     ('cfg-theta-string', {'rope_theta': 'fast'}),
                     ('cfg-theta-zero', {'rope_theta': 0}),
                     ('cfg-model-type', {'model_type': 'llama'}),
                     ('cfg-newline-in-string', {'model_type': 'bit\nnet\x1b[31m'}),
                     ('cfg-act', {'hidden_act': 'silu'}),
                     ('cfg-eos-fraction', {'eos_token_id': [257, 1.5]}),
                     ('cfg-eos-huge', {'eos_token_id': 1e300}),
                     ('cfg-eos-string', {'eos_token_id': 'eos'}),
                     ('cfg-bos-fraction', {'bos_token_id': 0.5}),
                     ('cfg-quant-method', {'quantization_config': {'quant_method': 'gptq'}}),
                     ('cfg-rope-scaling', {'rope_scaling': {'rope_type': 'yarn', 'factor': 4}}),
                     ('cfg-rope-legacy-type', {'rope_parameters': {'type': 'linear', 'factor': 4.0,
                                                                   'rope_theta': 10000.0}}),
                     ('cfg-not-convert-long', {'quantization_config': {
                         'quant_method': 'bitnet', 'linear_class': 'autobitlinear',
                         'modules_to_not_convert': ['x%d' % i for i in range(100000)]}}),
                     ('cfg-not-convert', {'quantization_config': {
                         'quant_method': 'bitnet', 'linear_class': 'autobitlinear',
                         'modules_to_not_convert': ['lm_head', 'mlp.down_proj']}}),
                     ('cfg-bitlinear-zero-scale', {'quantization_config': {
                         'quant_method': 'bitnet', 'linear_class': 'bitlinear'}})):
        if name == 'cfg-bitlinear-zero-scale':
            t = {k: list(v) for k, v in T.items()}
            t[q0 + '_scale'][2] = bf16(0.0)
            ck(name, cfg=config(**kw), st=safetensors(t))
        else:
            ck(name, cfg=config(**kw))
    # config dims that would need a 64 GiB projection: the tensors in the file
    # decide before anything that large is allocated
    big = {'model.embed_tokens.weight': ['BF16', [1, 1 << 16], bytes(2 << 16)],
           'model.norm.weight': ['BF16', [1 << 16], bytes(2 << 16)]}
    p = 'model.layers.0.'
    for nm, n in (('input_layernorm', 1 << 16), ('post_attention_layernorm', 1 << 16),
                  ('self_attn.attn_sub_norm', 1 << 20), ('mlp.ffn_sub_norm', 4)):
        big[p + nm + '.weight'] = ['BF16', [n], bf16(1.0) * n]
    big[q0] = T[q0]
    big[q0 + '_scale'] = T[q0 + '_scale']
    ck('cfg-alloc-before-check', gen=False, st=safetensors(big),
       cfg=config(vocab_size=1, hidden_size=1 << 16, intermediate_size=4, num_attention_heads=256,
                  num_key_value_heads=1, head_dim=4096, bos_token_id=None, eos_token_id=None))
    # files past the size limits (sparse: no disk used)
    def sparse(path, head, size):
        write(path, head)
        with open(path, 'r+b') as f:
            f.truncate(size)
    ck('cfg-huge-file')
    sparse(os.path.join(out, 'cfg-huge-file', 'config.json'), '{"model_type":"', (64 << 20) + 1)
    ck('tok-huge-file')
    sparse(os.path.join(out, 'tok-huge-file', 'tokenizer.json'), '{"model":"', (128 << 20) + 1)
    sparse(os.path.join(out, 'tkj-huge-file.json'), '{"model":"', (128 << 20) + 1)
    ck('st-huge-header')
    sparse(os.path.join(out, 'st-huge-header', 'model.safetensors'),
           struct.pack('<Q', 100000001) + b'{"a":', 100000001 + 8)
    # generation_config.json, tokenizer files
    ck('gen-eos-fraction')
    write(os.path.join(out, 'gen-eos-fraction', 'generation_config.json'), '{"eos_token_id":[257,2.5]}')
    ck('gen-not-json')
    write(os.path.join(out, 'gen-not-json', 'generation_config.json'), '{"eos_token_id":')
    ck('tok-missing', tok=False)
    ck('tok-not-object')
    write(os.path.join(out, 'tok-not-object', 'tokenizer.json'), '"just a string"')
    ck('tokcfg-not-json', tokcfg='{"chat_template": "{{ x }}",')
    # GGUF model files (bn-convert output of micro/, then one defect each)
    g0 = open(os.path.join(src, 'micro.gguf'), 'rb').read()

    def gg(name, data):
        write(os.path.join(out, name + '.gguf'), data)

    def gedit(name, fn, **kw):
        g = Gguf(g0)
        fn(g)
        gg(name, g.pack(**kw))
    gg('gguf-empty', b'')
    gg('gguf-bad-magic', b'GGML' + g0[4:])
    gg('gguf-version', g0[:4] + struct.pack('<I', 4) + g0[8:])
    gg('gguf-truncated-header', g0[:20])
    gg('gguf-truncated-kv', g0[:200])
    gg('gguf-truncated-data', g0[:-100])
    gg('gguf-counts-huge', g0[:8] + struct.pack('<QQ', 1 << 40, 1 << 40) + g0[24:])
    gg('gguf-counts-past-end', g0[:8] + struct.pack('<QQ', 3, 1000) + g0[24:])
    gedit('gguf-kv-type', lambda g: g.kv[1].__setitem__(1, 13))
    gedit('gguf-array-type', lambda g: g.kv.append(['x.arr', 9, struct.pack('<IQ', 9, 1)]))
    gedit('gguf-array-huge', lambda g: g.kv.append(['x.arr', 9, struct.pack('<IQ', 6, 1 << 62)]))
    gedit('gguf-string-huge', lambda g: g.kv.append(['x.s', 8, struct.pack('<Q', 1 << 62)]))
    gg('gguf-key-huge', g0[:24] + struct.pack('<Q', (1 << 64) - 1) + g0[32:])
    gedit('gguf-align-npot', lambda g: g.set_u32('general.alignment', 48))
    gedit('gguf-align-zero', lambda g: g.set_u32('general.alignment', 0))
    gedit('gguf-align-type', lambda g: g.get('general.alignment').__setitem__(1, 5) or None)
    gedit('gguf-duplicate-key', lambda g: g.kv.append(list(g.get('bitnet-b1.58.vocab_size'))))
    gedit('gguf-duplicate-tensor', lambda g: g.t.append(list(g.tensor('output_norm.weight'))))
    gedit('gguf-ndims-zero', lambda g: g.tensor('output_norm.weight').__setitem__(1, []))
    gedit('gguf-ndims-five', lambda g: g.tensor('output_norm.weight').__setitem__(1, [1] * 5))
    gedit('gguf-dim-huge', lambda g: g.tensor('output_norm.weight').__setitem__(1, [1 << 50]))
    gedit('gguf-dims-overflow', lambda g: g.tensor('token_embd.weight').__setitem__(
        1, [1 << 40, 1 << 40, 1 << 40]))
    gedit('gguf-tensor-type', lambda g: g.tensor('output_norm.weight').__setitem__(2, 77))
    gedit('gguf-offset-misaligned', lambda g: g.tensor('output_norm.weight').__setitem__(3, 3))
    gedit('gguf-offset-past-end', lambda g: g.tensor('output_norm.weight').__setitem__(3, 1 << 40))
    gedit('gguf-offset-wrap', lambda g: g.tensor('output_norm.weight').__setitem__(
        3, (1 << 64) - 64))
    gedit('gguf-name-invalid-utf8', lambda g: g.tensor('output_norm.weight').__setitem__(
        0, 'output_norm.\udcff\n\x1b[2J') or g.tensor('output_norm.\udcff\n\x1b[2J').__setitem__(2, 77))
    gedit('gguf-arch', lambda g: g.get('general.architecture').__setitem__(
        2, struct.pack('<Q', 5) + b'llama'))
    gedit('gguf-missing-key', lambda g: g.kv.remove(g.get('bitnet-b1.58.block_count')))
    gedit('gguf-vocab-zero', lambda g: g.set_u32('bitnet-b1.58.vocab_size', 0))
    gedit('gguf-vocab-mismatch', lambda g: g.set_u32('bitnet-b1.58.vocab_size', 300))
    gedit('gguf-layers-huge', lambda g: g.set_u32('bitnet-b1.58.block_count', 4000))
    gedit('gguf-heads-group', lambda g: g.set_u32('bitnet-b1.58.attention.head_count', 3))
    gedit('gguf-ctx-huge', lambda g: g.set_u32('bitnet-b1.58.context_length', 1 << 30))
    gedit('gguf-bos-vocab', lambda g: g.set_u32('tokenizer.ggml.bos_token_id', VOCAB))
    gedit('gguf-stop-negative', lambda g: g.get('bn.stop_token_ids').__setitem__(
        2, struct.pack('<IQii', 5, 2, 257, -1)))
    gedit('gguf-rope-nan', lambda g: g.get('bitnet-b1.58.rope.freq_base').__setitem__(
        2, struct.pack('<f', float('nan'))))
    gedit('gguf-missing-tensor', lambda g: g.t.remove(g.tensor('blk.0.ffn_down.weight')))
    gedit('gguf-tensor-shape', lambda g: g.tensor('blk.0.attn_q.weight').__setitem__(1, [8, 4]))
    gedit('gguf-proj-f32', lambda g: g.tensor('blk.0.attn_k.weight').__setitem__(2, 0))
    gedit('gguf-norm-f16', lambda g: g.tensor('output_norm.weight').__setitem__(2, 1))
    gedit('gguf-scale-inf', lambda g: g.tdata('blk.0.attn_v.scale', 4, struct.pack('<f', float('inf'))))
    gedit('gguf-tokenizer-bad', lambda g: g.get('tokenizer.huggingface.json').__setitem__(
        2, struct.pack('<Q', 12) + b'{"model": {}'))
    tj = open(os.path.join(HERE, '..', 'fixtures', 'tokenizers', 'demo', 'tokenizer.json'), 'rb').read()
    gedit('gguf-tokenizer-vocab', lambda g: g.get('tokenizer.huggingface.json').__setitem__(
        2, struct.pack('<Q', len(tj)) + tj))
    # token ids and records for bn-infer (one bad line each, among good ones)
    tx = lambda name, data: write(os.path.join(out, name + '.txt'), data)
    tx('ids-negative', '1 2 3\n4 -5 6\n')
    tx('ids-vocab', '1 2\n3 %d\n' % VOCAB)
    tx('ids-huge', '1 99999999999999999999999999\n')
    tx('ids-garbage', '12 x3\n1\n')
    tx('ids-float', '1.5\n')
    tx('ids-too-many', '1\n' + '7 ' * ((1 << 24) + 1) + '\n2\n')
    sparse(os.path.join(out, 'ids-long-line.txt'), '1\n', (64 << 20) + 8)	# 64 MiB of NULs
    tx('rec-prompt-number', '{"prompt":"ok"}\n{"prompt":5}\n')
    tx('rec-duplicate-key', '{"prompt":"a","prompt":"b"}\n')
    tx('rec-trailing', '{"prompt":"a"} {"prompt":"b"}\n')
    write(os.path.join(out, 'rec-invalid-utf8.txt'), b'{"prompt":"caf\xe9"}\n')
    tx('rec-deep', '{"prompt":"a","x":' + '[' * 2000 + ']' * 2000 + '}\n')
    # tokenizer.json for bn-tokenize
    tk = tokenizer()

    def tkj(name, edit=None, text=None):
        t = json.loads(json.dumps(tk))
        if edit:
            edit(t)
        write(os.path.join(out, name + '.json'), text if text is not None else
              json.dumps(t, ensure_ascii=False))
    tkj('tkj-empty', text='')
    tkj('tkj-truncated', text=json.dumps(tk)[:-40])
    tkj('tkj-deep', text='{"model":' + '[' * 3000 + ']' * 3000 + '}')
    tkj('tkj-vocab-dup-id', lambda t: t['model']['vocab'].__setitem__('zz', 5))
    tkj('tkj-vocab-negative', lambda t: t['model']['vocab'].__setitem__('zz', -1))
    tkj('tkj-vocab-huge-id', lambda t: t['model']['vocab'].__setitem__('zz', 1 << 31))
    tkj('tkj-vocab-empty', lambda t: t['model'].__setitem__('vocab', {}))
    tkj('tkj-merge-unknown', lambda t: t['model'].__setitem__('merges', [['a', 'b']]))
    tkj('tkj-merge-bad', lambda t: t['model'].__setitem__('merges', [['a', 5]]))
    tkj('tkj-model-type', lambda t: t['model'].__setitem__('type', 'WordPiece'))
    tkj('tkj-added-id', lambda t: t['added_tokens'][0].__setitem__('id', -3))
    tkj('tkj-added-content', lambda t: t['added_tokens'][0].__setitem__('content', 7))
    tkj('tkj-pretok-type', lambda t: t['pre_tokenizer'].__setitem__('type', 'Whatever'))
    tkj('tkj-regex-bad', lambda t: t.__setitem__('pre_tokenizer', {
        'type': 'Split', 'pattern': {'Regex': '(unclosed'}, 'behavior': 'Isolated', 'invert': False}))
    tkj('tkj-template-id', lambda t: t['post_processor']['special_tokens']['<|begin_of_text|>']
        .__setitem__('ids', [99999]))
    write(os.path.join(out, 'tkj-invalid-utf8.json'),
          json.dumps(tk, ensure_ascii=False).encode().replace(b'"<|eot_id|>"', b'"<|eot\xc0\xafid|>"'))
    # logits frames (bn-sample)
    lg = lambda name, data: write(os.path.join(out, name), data)
    lg('lg-bad-magic', logits_frame(4, magic=0x12345678))
    lg('lg-first-byte', b'\x00\x01garbage')
    lg('lg-truncated-header', logits_frame(4)[:10])
    lg('lg-truncated-logits', logits_frame(4) + logits_frame(4)[:-3])
    lg('lg-vocab-zero', logits_frame(0))
    lg('lg-vocab-huge', logits_frame(0x7fffffff, vals=[]))
    lg('lg-vocab-changes', logits_frame(4) + logits_frame(5))
    lg('lg-jsonl-bad', '{"rec":0,"pos":0,"logits":[1,2,3]}\n{"rec":0,"pos":1,"logits":[1,2,\n')
    lg('lg-jsonl-rec-negative', '{"rec":-1,"pos":0,"logits":[1,2,3]}\n')
    lg('lg-jsonl-logit-string', '{"rec":0,"pos":0,"logits":[1,"2",3]}\n')
    lg('lg-jsonl-no-logits', '{"rec":0,"pos":0}\n')
    lg('lg-jsonl-deep', '{"rec":0,"pos":0,"logits":' + '[' * 3000 + ']' * 3000 + '}\n')
    lg('lg-empty', b'')
    lg('lg-jsonl-duplicate-key', '{"rec":0,"pos":0,"logits":[1,2],"rec":5}\n')
    lg('lg-jsonl-trailing', '{"rec":0,"pos":0,"logits":[1,2]} {"x":1}\n')
    lg('lg-jsonl-invalid-utf8', b'{"rec":0,"pos":0,"logits":[1,2],"\xff\xfe":1}\n{"rec":0,"pos":1,"logits":[1,"\xc3\x28"]}\n')
    lg('lg-jsonl-empty-logits', '{"rec":0,"pos":0,"logits":[]}\n')


def read_cases():
    rows = []
    with open(os.path.join(HERE, 'cases.tsv'), encoding='utf-8') as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            rows.append(line.rstrip('\n').split('\t'))
    return rows


HEADER = """\
# The malformed-input corpus: one case per line, tab-separated:
#   NAME  PROGRAM  ARGS  EXIT  STDERR
# t/malformed/make.py writes the inputs; '@' in ARGS is the case NAME, run in the
# directory of the inputs (the micro model is ../micro.gguf).  STDERR is an
# extended regex for the one line the program must print ('-': nothing).
# modelcheck is build/t/modelcheck (opens a model and runs two tokens).
# Regenerate with `make.py expect` after a change, and review the diff.
"""


def program(f):
    """(name, program, args) of the input file f."""
    name, ext = os.path.splitext(f)
    if ext == '.gguf' and name.startswith('gguf-tokenizer'):
        return name, 'bn-infer', '-m @.gguf -n 1 -p hi'
    if ext == '.gguf':
        return name, 'modelcheck', '@.gguf'
    if name.startswith('ids-'):
        return name, 'bn-infer', '-m ../micro.gguf --ids -n 1 -f @.txt'
    if name.startswith('rec-'):
        return name, 'bn-infer', '-m ../micro.gguf --jsonl -n 1 -f @.txt'
    if name.startswith('tkj-'):
        return name, 'bn-tokenize', '-t @.json /dev/null'
    if name.startswith('lg-'):
        return f, 'bn-sample', '@'
    return f, 'bn-convert', '-q @ -o out.gguf'


def expect(build, d):
    import re
    import subprocess
    rows = []
    cdir = os.path.join(d, 'cases')
    for f in sorted(os.listdir(cdir)):
        name, prog, args = program(f)
        exe = os.path.join(build, 't', prog) if prog == 'modelcheck' else \
            os.path.join(build, 'bin', prog)
        argv = [exe] + args.replace('@', name).replace('out.gguf', os.path.join(d, 'out.gguf')).split()
        p = subprocess.run(argv, cwd=cdir, capture_output=True)
        err = p.stderr.decode('utf-8', 'replace').rstrip('\n')
        if '\n' in err:
            sys.exit('%s: more than one line on stderr:\n%s' % (name, err))
        rx = '-'
        if err:
            rx = '^' + re.escape(err) + '$'
            if name == 'cfg-long-string':
                rx = "^bn-convert: cfg-long-string/config\\.json: model_type 'x+$"
            for c in ' \'-:/_>;"=,<|':
                rx = rx.replace('\\' + c, c)
        rows.append((name, prog, args, str(p.returncode), rx))
    with open(os.path.join(HERE, 'cases.tsv'), 'w', encoding='utf-8') as o:
        o.write(HEADER)
        for r in rows:
            o.write('\t'.join(r) + '\n')


def main():
    if len(sys.argv) == 3 and sys.argv[1] == 'micro':
        micro(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == 'cases':
        cases(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == 'expect':
        expect(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2 and sys.argv[1] == 'bats':
        for r in read_cases():
            print('@test "malformed %s: %s" { check_case %s; }' % (r[0], r[1], r[0]))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
