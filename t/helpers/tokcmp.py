#!/usr/bin/env python3
"""tokcmp.py REF OUT KEY: compare the JSON Lines OUT with the reference REF
line by line.  KEY "ids" / "ids_with_bos": OUT's "ids" must equal REF's KEY;
KEY "text": OUT's "text" must equal REF's "text" wherever REF says
decode_roundtrip.  Prints the first mismatches and a summary; exit 1 on any."""
import json
import sys

ref_path, out_path, key = sys.argv[1:4]
ref = [json.loads(l) for l in open(ref_path, encoding="utf-8")]
out = [json.loads(l) for l in open(out_path, encoding="utf-8")]
if len(ref) != len(out):
    print("line count: %d in %s, %d in %s" % (len(ref), ref_path, len(out), out_path))
    sys.exit(1)
bad = checked = 0
for i, (r, o) in enumerate(zip(ref, out)):
    if key == "text":
        if not r["decode_roundtrip"]:
            continue
        ok = o["text"] == r["text"]
    else:
        ok = o["ids"] == r[key]
    checked += 1
    if not ok:
        bad += 1
        if bad <= 5:
            print("line %d: text %r\n  want %r\n  got  %r" % (i + 1, r["text"],
                  r["text"] if key == "text" else r[key], o.get(key if key == "text" else "ids")))
print("%s %s: %d/%d lines differ" % (ref_path.split("/")[-1], key, bad, checked))
sys.exit(1 if bad or not checked else 0)
