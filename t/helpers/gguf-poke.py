#!/usr/bin/env python3
"""gguf-poke.py FILE TENSOR OFFSET HEX - overwrite bytes of a tensor's data.

Writes the bytes HEX (e.g. 0000c07f) at byte OFFSET of tensor TENSOR's data
in the GGUF file FILE (in place); OFFSET may be negative (from the end of
the tensor's data, as GGUF sizes go: I2_S has a 32-byte tail).  With HEX
'-' it prints the tensor's type, data offset and size instead.  For tests
that need hand-damaged files."""
import struct
import sys

SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
ROW = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 34: (256, 54), 35: (256, 66), 1000: (128, 32)}


def main():
    path, name, off, hexs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    buf = bytearray(open(path, 'rb').read())
    p = 4

    def rd(fmt):
        nonlocal p
        v = struct.unpack_from('<' + fmt, buf, p)
        p += struct.calcsize(fmt)
        return v[0]

    def rstr():
        nonlocal p
        n = rd('Q')
        s = bytes(buf[p:p + n])
        p += n
        return s

    def skip(t):
        nonlocal p
        if t == 8:
            rstr()
        elif t == 9:
            at, n = rd('I'), rd('Q')
            for _ in range(n):
                skip(at)
        else:
            p += SIZES[t]

    rd('I')
    nt, nkv = rd('Q'), rd('Q')
    align = 32
    for _ in range(nkv):
        k = rstr()
        t = rd('I')
        if k == b'general.alignment':
            align = struct.unpack_from('<I', buf, p)[0]
        skip(t)
    found = None
    for _ in range(nt):
        n = rstr()
        dims = [rd('Q') for _ in range(rd('I'))]
        t, o = rd('I'), rd('Q')
        if n == name.encode():
            found = (t, o, dims)
    data = (p + align - 1) // align * align
    if not found:
        sys.exit('no tensor ' + name)
    t, o, dims = found
    n = 1
    for d in dims[1:]:
        n *= d
    if t == 36:
        size = n * dims[0] // 4 + 32
    else:
        blk, bb = ROW[t]
        size = n * ((dims[0] + blk - 1) // blk) * bb
    if hexs == '-':
        print(t, data + o, size)
        return
    at = data + o + (off if off >= 0 else size + off)
    b = bytes.fromhex(hexs)
    buf[at:at + len(b)] = b
    open(path, 'wb').write(buf)


main()
