#!/usr/bin/env python3
"""Test helper (stdlib only): make checkpoint variants, read GGUF tensors and
logits frames, compare logits with the reference.

  ckpt.py variant SRC DST KIND       KIND: sharded, pow2-auto, pow2-bitlinear,
                                     master-bf16, zero-mlp, rope-params, untied,
                                     dense-offline, dense-offline-scaled, rope-both,
                                     rope-legacy-default, keep-lm-head, no-kv-heads,
                                     null-kv-heads, embed-f16-exact, embed-f32,
                                     embed-f32-bf16, big-special-ids, short-context
  ckpt.py tensor MODEL.gguf NAME     print sha256 of a tensor's bytes
  ckpt.py scale MODEL.gguf NAME      print a f32 [1] tensor as %.9g
  ckpt.py type MODEL.gguf NAME       print a tensor's ggml type number
  ckpt.py cmp-logits FRAMES REF CASE TOL   FRAMES: f32 frames of every position
  ckpt.py frames FRAMES              print rec pos argmax per frame
"""
import hashlib, json, math, os, shutil, struct, sys

ITEM = {"BF16": 2, "F16": 2, "F32": 4, "U8": 1, "I8": 1}


def st_read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    meta = hdr.pop("__metadata__", None)
    return hdr, data, meta


def st_write(path, tensors, meta=None):
    """tensors: {name: (dtype, shape, bytes)}"""
    hdr, off, blobs = {}, 0, []
    if meta:
        hdr["__metadata__"] = meta
    for name in sorted(tensors):
        dt, shape, b = tensors[name]
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load(path):
    hdr, data, meta = st_read(path)
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in hdr.items()}, meta


def bf16(x):
    u = struct.unpack("<I", struct.pack("<f", x))[0]
    u += 0x7FFF + ((u >> 16) & 1)
    return struct.pack("<H", (u >> 16) & 0xFFFF)


def bf16_to_f(b):
    return struct.unpack("<f", struct.pack("<I", struct.unpack("<H", b)[0] << 16))[0]


def f16_exact(x):
    try:
        return struct.unpack("<e", struct.pack("<e", x))[0] == x
    except OverflowError:
        return False


def embed_variant(t, kind):
    dt, shape, b = t["model.embed_tokens.weight"]
    vals = [bf16_to_f(b[i:i + 2]) for i in range(0, len(b), 2)]
    if kind == "embed-f16-exact":       # BF16, every value also exact in f16
        t["model.embed_tokens.weight"] = (dt, shape, b"".join(
            bf16(x if f16_exact(x) else 0.0) for x in vals))
        return
    if kind == "embed-f32":             # F32 values that no 16-bit type holds
        vals = [x * (1 + 2.0 ** -20) for x in vals]
    t["model.embed_tokens.weight"] = ("F32", shape, struct.pack("<%df" % len(vals), *vals))


def unpack(b, rows4, cols):
    out = [[0] * cols for _ in range(rows4 * 4)]
    for r in range(rows4):
        for c in range(cols):
            v = b[r * cols + c]
            for i in range(4):
                out[i * rows4 + r][c] = ((v >> (2 * i)) & 3) - 1
    return out


def variant(src, dst, kind):
    shutil.copytree(src, dst)
    for f in ("reference.json", "reference-logits.safetensors", "training-report.json"):
        if os.path.exists(os.path.join(dst, f)):
            os.remove(os.path.join(dst, f))
    cfgp = os.path.join(dst, "config.json")
    cfg = json.load(open(cfgp))
    t, meta = load(os.path.join(src, "model.safetensors"))
    if kind == "sharded":
        names = sorted(t)
        half = len(names) // 2
        os.remove(os.path.join(dst, "model.safetensors"))
        wm = {}
        for i, part in enumerate((names[:half], names[half:])):
            fn = "model-%05d-of-00002.safetensors" % (i + 1)
            st_write(os.path.join(dst, fn), {k: t[k] for k in part}, meta)
            wm.update({k: fn for k in part})
        json.dump({"metadata": {}, "weight_map": wm}, open(os.path.join(dst, "model.safetensors.index.json"), "w"))
        return
    if kind in ("pow2-auto", "pow2-bitlinear"):
        for k in list(t):
            if k.endswith("weight_scale"):
                e = (sum(k.encode()) % 5) - 2
                v = 2.0 ** (e if kind == "pow2-auto" else -e)
                t[k] = ("BF16", t[k][1], bf16(v))
        if kind == "pow2-bitlinear":
            cfg["quantization_config"]["linear_class"] = "bitlinear"
    elif kind == "master-bf16":
        for k in list(t):
            if k.endswith(".weight") and t[k][0] == "U8":
                dt, (r4, cols), b = t[k]
                ws = bf16_to_f(t[k[:-len("weight")] + "weight_scale"][2])
                w = unpack(b, r4, cols)
                # a master matrix whose absmean quantization is exactly w
                vals = [[x * ws * (1.25 if (i + j) % 3 else 0.8) for j, x in enumerate(row)]
                        for i, row in enumerate(w)]
                t[k] = ("BF16", [r4 * 4, cols], b"".join(bf16(x) for row in vals for x in row))
                del t[k[:-len("weight")] + "weight_scale"]
        cfg["quantization_config"]["quantization_mode"] = "online"
    elif kind in ("dense-offline", "dense-offline-scaled"):
        # unpacked ternary floats, as save_pretrained writes a loaded model:
        # offline mode uses them as stored, times weight_scale
        for k in list(t):
            if k.endswith(".weight") and t[k][0] == "U8":
                dt, (r4, cols), b = t[k]
                sk = k[:-len("weight")] + "weight_scale"
                ws = bf16_to_f(t[sk][2]) if kind == "dense-offline-scaled" else 1.0
                w = unpack(b, r4, cols)
                t[k] = ("BF16", [r4 * 4, cols], b"".join(bf16(x * ws) for row in w for x in row))
                if kind == "dense-offline-scaled":
                    t[sk] = ("BF16", [1], bf16(1.0))
    elif kind == "rope-both":
        cfg["rope_parameters"] = {"rope_theta": cfg["rope_theta"], "rope_type": "default"}
        cfg["rope_theta"] = 10000.0
    elif kind == "rope-legacy-default":
        cfg["rope_scaling"] = {"type": "default"}
    elif kind == "keep-lm-head":
        cfg["quantization_config"]["modules_to_not_convert"] = ["lm_head"]
    elif kind == "no-kv-heads":
        del cfg["num_key_value_heads"]
    elif kind == "null-kv-heads":
        cfg["num_key_value_heads"] = None
    elif kind == "zero-mlp":
        k = "model.layers.0.mlp.up_proj.weight"
        dt, shape, b = t[k]
        t[k] = (dt, shape, bytes([0x55]) * len(b))
    elif kind == "rope-params":
        cfg["rope_parameters"] = {"rope_theta": cfg.pop("rope_theta"), "rope_type": "default"}
    elif kind in ("embed-f16-exact", "embed-f32", "embed-f32-bf16"):
        embed_variant(t, kind)
    elif kind == "big-special-ids":
        # BitNetConfig's defaults left in a small vocabulary's files
        cfg["bos_token_id"], cfg["eos_token_id"] = 128000, 128001
        json.dump({"bos_token_id": 128000, "eos_token_id": [128001, 4097, 128009]},
                  open(os.path.join(dst, "generation_config.json"), "w"))
    elif kind == "short-context":
        cfg["max_position_embeddings"] = 4
    elif kind == "untied":
        cfg["tie_word_embeddings"] = False
        t["lm_head.weight"] = t["model.embed_tokens.weight"]
    else:
        sys.exit("unknown kind " + kind)
    json.dump(cfg, open(cfgp, "w"), indent=1)
    st_write(os.path.join(dst, "model.safetensors"), t, meta)


def gguf_tensors(path):
    b = open(path, "rb").read()
    assert b[:4] == b"GGUF"
    _, nt, nkv = struct.unpack_from("<IQQ", b, 4)
    p = 24
    align = 32

    def rstr(p):
        n = struct.unpack_from("<Q", b, p)[0]
        return b[p + 8:p + 8 + n], p + 8 + n
    sizes = {0: 4, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def skip(p, t):
        if t == 8:
            return rstr(p)[1]
        if t == 9:
            at, n = struct.unpack_from("<IQ", b, p)
            p += 12
            for _ in range(n):
                p = skip(p, at)
            return p
        return p + sizes[t]
    for _ in range(nkv):
        k, p = rstr(p)
        t = struct.unpack_from("<I", b, p)[0]
        p += 4
        if k == b"general.alignment":
            align = struct.unpack_from("<I", b, p)[0]
        p = skip(p, t)
    infos = []
    for _ in range(nt):
        name, p = rstr(p)
        nd = struct.unpack_from("<I", b, p)[0]
        dims = struct.unpack_from("<%dQ" % nd, b, p + 4)
        p += 4 + 8 * nd
        typ, off = struct.unpack_from("<IQ", b, p)
        p += 12
        infos.append((name.decode(), dims, typ, off))
    base = (p + align - 1) // align * align
    offs = sorted(i[3] for i in infos) + [len(b) - base]
    out = {}
    for name, dims, typ, off in infos:
        nxt = min(o for o in offs if o > off) if any(o > off for o in offs) else len(b) - base
        out[name] = (dims, typ, b[base + off:base + nxt])
    return out


def frames(path):
    b = open(path, "rb").read()
    p, out = 0, []
    while p < len(b):
        magic, nv, pos, rec = struct.unpack_from("<4I", b, p)
        assert magic == 0x474C4E42, "bad magic"
        out.append((rec, pos, struct.unpack_from("<%df" % nv, b, p + 16)))
        p += 16 + 4 * nv
    return out


def main():
    a = sys.argv[1:]
    if a[0] == "variant":
        variant(a[1], a[2], a[3])
    elif a[0] == "tensor":
        t = gguf_tensors(a[1])[a[2]]
        print(hashlib.sha256(t[2]).hexdigest())
    elif a[0] == "type":
        print(gguf_tensors(a[1])[a[2]][1])
    elif a[0] == "scale":
        print("%.9g" % struct.unpack_from("<f", gguf_tensors(a[1])[a[2]][2])[0])
    elif a[0] == "cmp-logits":
        fr = frames(a[1])
        t, _ = load(a[2])
        dt, (n, v), raw = t["logits.%s" % a[3]]
        ref = struct.unpack("<%df" % (n * v), raw)
        assert len(fr) == n, "expected %d frames, got %d" % (n, len(fr))
        worst = 0.0
        for i, (rec, pos, lg) in enumerate(fr):
            assert pos == i, "frame %d has pos %d" % (i, pos)
            worst = max(worst, max(abs(lg[j] - ref[i * v + j]) for j in range(v)))
        print("max |diff| %.3g" % worst)
        sys.exit(0 if worst < float(a[4]) else 1)
    elif a[0] == "frames":
        for rec, pos, lg in frames(a[1]):
            print(rec, pos, max(range(len(lg)), key=lambda j: (lg[j], -j)))


main()
