#!/usr/bin/env bats
# bn-sample over logits frames made by a small python3 script: greedy is the
# argmax, seeds reproduce, --logprobs and --jsonl output, jsonl input,
# the --serve loop, malformed frames.
load lib
bats_require_minimum_version 1.5.0

setup() {
	cat >frames.py <<'EOF'
import json, math, random, struct, sys
MAGIC = 0x474c4e42
def f32(x): return struct.unpack('<f', struct.pack('<f', x))[0]
def frame(fmt, rec, pos, l):
    if fmt == 'f32':
        return struct.pack('<4I', MAGIC, len(l), pos, rec) + struct.pack('<%df' % len(l), *l)
    vals = ','.join('null' if math.isnan(x) or math.isinf(x) else '%.9g' % x for x in l)
    return ('{"rec":%d,"pos":%d,"logits":[%s]}\n' % (rec, pos, vals)).encode()
cmd, fmt = sys.argv[1], sys.argv[2]
out = sys.stdout.buffer
if cmd == 'rand':       # rand FMT NREC NSTEP V SEED [inter]: random logits, ties likely
    nrec, nstep, v, seed = map(int, sys.argv[3:7])
    inter = len(sys.argv) > 7
    rng = random.Random(seed)
    fr = {(r, s): [f32(rng.randrange(40) / 8.0) for _ in range(v)] for r in range(nrec) for s in range(nstep)}
    order = [(r, s) for s in range(nstep) for r in range(nrec)] if inter else sorted(fr)
    for r, s in order:
        out.write(frame(fmt, r, s, fr[(r, s)]))
elif cmd == 'lines':    # lines FMT < "rec pos l0 l1 ...": one frame per line
    for line in sys.stdin:
        w = line.split()
        out.write(frame(fmt, int(w[0]), int(w[1]), [f32(float(x)) for x in w[2:]]))
elif cmd == 'argmax':   # argmax f32 < frames: reference greedy ids
    data = sys.stdin.buffer.read()
    o = 0
    while o < len(data):
        _, v, _, _ = struct.unpack_from('<4I', data, o)
        l = struct.unpack_from('<%df' % v, data, o + 16)
        print(max(range(v), key=lambda i: (l[i], -i)))
        o += 16 + 4 * v
EOF
}

frames() { python3 frames.py "$@"; }

@test "greedy (--temp 0) prints the argmax of every frame, ties to the lowest id" {
	frames rand f32 3 20 50 1 >in.bin
	frames argmax f32 <in.bin >want
	[ "$(wc -l <want)" -eq 60 ]
	run bn-sample --temp 0 in.bin
	assert_success
	[ "$output" = "$(cat want)" ]
	run bn-sample --top-k 1 --seed 9 - <in.bin
	[ "$output" = "$(cat want)" ]
}

@test "the same seed gives the same ids, another seed others; default seed is 42" {
	frames rand f32 4 50 100 2 >in.bin
	bn-sample --seed 7 in.bin >a
	bn-sample -s 7 <in.bin >b
	bn-sample --seed 8 in.bin >c
	bn-sample in.bin >d
	bn-sample --seed 42 in.bin >e
	cmp a b
	! cmp -s a c
	cmp d e
	[ "$(wc -l <a)" -eq 200 ]
	run --separate-stderr bn-sample --seed -1 in.bin
	[[ "$stderr" =~ ^"bn-sample: random seed "([0-9]+)$ ]]
	[ "$output" = "$(bn-sample --seed "${BASH_REMATCH[1]}" in.bin)" ]
}

@test "records keep their own streams: interleaved frames give the same ids" {
	frames rand f32 3 30 64 3 >seq.bin
	frames rand f32 3 30 64 3 inter >int.bin
	bn-sample --seed 5 --temp 1.2 --top-k 0 --jsonl seq.bin >a.jsonl
	bn-sample --seed 5 --temp 1.2 --top-k 0 --jsonl int.bin >b.jsonl
	python3 -c '
import json, sys
k = lambda f: sorted((d["rec"], d["pos"], d["id"]) for d in map(json.loads, open(f)))
assert k(sys.argv[1]) == k(sys.argv[2]) and len(k(sys.argv[1])) == 90
' a.jsonl b.jsonl
}

@test "sampled ids stay inside the truncated set" {
	printf '0 0 5 1 4 0 3 2 4.5\n' >one
	for i in $(seq 199); do cat one; done >lines
	frames lines f32 <lines >in.bin
	run bn-sample --temp 5 --top-k 3 --min-p 0 --top-p 1 in.bin
	assert_success
	[ "$(printf '%s\n' "$output" | sort -u | tr '\n' ' ')" = "0 2 6 " ]
	run bn-sample --temp 5 --top-k 0 --top-p 1 --min-p 0.5 in.bin
	[ "$(printf '%s\n' "$output" | sort -u | tr '\n' ' ')" = "0 6 " ]
}

@test "repetition penalty looks at each record's own history" {
	printf '%s\n' '0 0 1 1 1' '0 1 1 1 1' '0 2 1 1 1' '0 3 1 1 1' '1 0 1 1 1' '1 1 1 1 1' >lines
	frames lines f32 <lines >in.bin
	run bn-sample --temp 0 --repeat-penalty 2 in.bin
	assert_success
	[ "$(echo $output)" = "0 1 2 0 0 1" ]
	run bn-sample --temp 0 --repeat-penalty 2 --repeat-last-n 0 in.bin
	[ "$(echo $output)" = "0 0 0 0 0 0" ]
}

@test "--logprobs K prints the id then K id:log-probability pairs" {
	printf '3 9 %s\n' "$(python3 -c 'import math; print(*[math.log(p) for p in (0.5, 0.25, 0.125, 0.125)])')" >lines
	frames lines f32 <lines >in.bin
	run bn-sample --temp 0 --logprobs 3 in.bin
	assert_success
	assert_output "0 0:-0.693147 1:-1.386294 2:-2.079442"
	run bn-sample --temp 0 --logprobs 9 in.bin
	assert_output "0 0:-0.693147 1:-1.386294 2:-2.079442 3:-2.079442"
}

@test "--jsonl prints rec, pos, id and with --logprobs the candidates" {
	printf '3 9 %s\n' "$(python3 -c 'import math; print(*[math.log(p) for p in (0.125, 0.5, 0.25, 0.125)])')" >lines
	frames lines f32 <lines >in.bin
	run bn-sample --temp 0 --jsonl in.bin
	assert_output '{"rec":3,"pos":9,"id":1}'
	run bn-sample --temp 0 --jsonl --logprobs 2 in.bin
	assert_output '{"rec":3,"pos":9,"id":1,"logprob":-0.693147,"top":[{"id":1,"logprob":-0.693147},{"id":2,"logprob":-1.386294}]}'
	bn-sample --jsonl --logprobs 5 in.bin | python3 -c 'import json, sys; d = json.load(sys.stdin); assert len(d["top"]) == 4'
}

@test "jsonl frames give the same ids as binary frames" {
	frames rand f32 2 40 30 4 >in.bin
	frames rand jsonl 2 40 30 4 >in.jsonl
	head -c1 in.jsonl | grep -q '{'
	bn-sample --seed 3 in.bin >a
	bn-sample --seed 3 in.jsonl >b
	cmp a b
	bn-sample --seed 3 <in.jsonl >c
	cmp a c
}

@test "NaN logits count as -inf, with one warning" {
	printf '%s\n' '0 0 nan 1 2' '0 1 nan nan 0' >lines
	frames lines f32 <lines >in.bin
	run --separate-stderr bn-sample --temp 0 in.bin
	assert_success
	[ "$(echo $output)" = "2 2" ]
	[ "$stderr" = "bn-sample: in.bin: 3 NaN or null logits read as -inf" ]
}

@test "--serve answers each frame at once with the id that file mode gives" {
	frames rand f32 2 10 40 5 inter >in.bin
	bn-sample --seed 11 in.bin >want
	python3 - <<'EOF'
import signal, struct, subprocess
signal.alarm(30)   # a missing flush would hang here: fail instead
data = open('in.bin', 'rb').read()
p = subprocess.Popen(['bn-sample', '--serve', '--seed', '11'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
got, o = [], 0
while o < len(data):
    v = struct.unpack_from('<I', data, o + 4)[0]
    p.stdin.write(data[o:o + 16 + 4 * v]); p.stdin.flush()   # one frame, then wait for its answer
    got.append(p.stdout.readline().decode())
    o += 16 + 4 * v
p.stdin.close()
assert p.wait() == 0 and p.stdout.read() == b''
open('got', 'w').write(''.join(got))
EOF
	cmp want got
}

@test "--serve works from a shell coprocess" {
	printf '%s\n' '0 0 1 3 2' '0 1 5 0 0' >lines
	frames lines f32 <lines >in.bin
	head -c 28 in.bin >f1
	tail -c 28 in.bin >f2
	coproc S { bn-sample --serve --temp 0; }
	# bash unsets S_PID once it reaps the coprocess, which may happen
	# before wait runs: keep the pid and the fds while they are set.
	local pid=$S_PID to=${S[1]} from=${S[0]}
	cat f1 >&"$to"
	read -r -t 20 a <&"$from"
	cat f2 >&"$to"
	read -r -t 20 b <&"$from"
	exec {to}>&-
	wait "$pid"
	[ "$a $b" = "1 0" ]
}

@test "malformed frames: the ids before, then one line on stderr and exit 1" {
	frames rand f32 1 2 8 6 >good.bin
	{ cat good.bin; head -c 20 good.bin; } >trunc.bin
	run --separate-stderr bn-sample trunc.bin
	assert_failure 1
	[ "${#lines[@]}" -eq 2 ]
	[ "$stderr" = "bn-sample: trunc.bin: frame 3: truncated logits (1 of 8 values)" ]
	{ cat good.bin; printf 'BNLX'; tail -c +5 good.bin; } >magic.bin
	run --separate-stderr bn-sample magic.bin
	assert_failure 1
	[[ "$stderr" == "bn-sample: magic.bin: frame 3: bad magic 0x584c4e42"* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	{ cat good.bin; frames rand f32 1 1 9 6; } >vocab.bin
	run --separate-stderr bn-sample vocab.bin
	assert_failure 1
	[ "$stderr" = "bn-sample: vocab.bin: frame 3: n_vocab 9 differs from 8 in the first frame" ]
	printf 'hello\n' >text
	run --separate-stderr bn-sample text
	assert_failure 1
	[ "$stderr" = "bn-sample: text: not a logits stream (first byte 0x68)" ]
	printf '{"rec":0,"pos":0,"logits":[1,2]}\n{"rec":0,"pos":1,"logits":[1,"x"]}\n' >bad.jsonl
	run --separate-stderr bn-sample bad.jsonl
	assert_failure 1
	assert_output "1"
	[ "$stderr" = "bn-sample: bad.jsonl:2: logit 1 is not a number" ]
}

@test "empty input is no frames and success" {
	run bn-sample </dev/null
	assert_success
	assert_output ""
}

@test "usage errors exit 2, a missing file exits 1" {
	run -2 bn-sample --serve --jsonl
	run -2 bn-sample --serve --logprobs 2
	run -2 bn-sample --top-p 2
	run -2 bn-sample --seed -2
	run -2 --separate-stderr bn-sample --repeat-last-n -1
	[[ "$stderr" == *"--repeat-last-n -1 means the context size"* ]]
	run -2 bn-sample a b
	run --separate-stderr bn-sample no-such-file
	assert_failure 1
	[ "$stderr" = "bn-sample: cannot open 'no-such-file': No such file or directory" ]
}

@test "a closed stdout (| head -1) is not an error" {
	frames rand f32 1 3000 16 7 >in.bin
	run bash -c 'bn-sample in.bin | head -1; echo "${PIPESTATUS[0]}"'
	assert_success
	[ "${lines[1]}" = 0 ]
}
