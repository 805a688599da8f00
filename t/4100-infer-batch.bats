#!/usr/bin/env bats
# bn-infer batches: JSONL records in and out, per-record errors, seeds per
# record, --shard (and Slurm), --resume, .zst and -o, GNU parallel, text
# mode details (stop strings, escapes), quiet stderr, closed pipes.
bats_require_minimum_version 1.5.0
load lib

setup() {
	cat >in.jsonl <<'EOF'
{"id":"a","prompt":"The"}
{"id":"b","prompt":"Once upon a time"}

{"prompt":"It was"}
{"id":7,"messages":[{"role":"user","content":"Hi"}]}
{"id":"e","prompt":"A dog"}
EOF
}

ids_of() { python3 -c 'import json,sys; [print(json.loads(l).get("id", json.loads(l).get("index")), *json.loads(l).get("ids", ["ERR"])) for l in sys.stdin]'; }

@test "jsonl: one line per record in input order, id or index echoed, every field" {
	run --separate-stderr bn-infer -m "$DEMO" --jsonl -n 5 -f in.jsonl
	assert_success
	[ "${#lines[@]}" -eq 5 ]
	[ "$stderr" = "" ]
	python3 - "$output" <<'PY'
import json, sys
recs = [json.loads(l) for l in sys.argv[1].splitlines()]
assert [r.get("id", r.get("index")) for r in recs] == ["a", "b", 2, 7, "e"], recs
for r in recs:
    assert set(r) >= {"text", "ids", "n_prompt", "n_gen", "stop_reason", "ms_prompt", "ms_gen"}, r
    assert r["n_gen"] == len(r["ids"]) and r["ms_prompt"] >= 0 and r["ms_gen"] >= 0, r
assert recs[0]["n_prompt"] == 2 and recs[0]["stop_reason"] == "length"
assert recs[3]["n_prompt"] == 14, recs[3]   # BOS "User: Hi<|eot_id|>Assistant: "
PY
	run bn-infer -m "$DEMO" --jsonl -n 5 --no-timings -f in.jsonl
	[[ "$output" != *ms_* ]]
}

@test "jsonl: a bad record becomes an error record; the others run; exit 1, never 255" {
	printf '%s\n' '{"id":"ok","prompt":"The"}' '{"id":"x","messages":[{"role":"user"}]}' \
		'{"id":"y"' '{"id":"z","prompt":"x"}' '{"id":"long","prompt":"'"$(printf 'a %.0s' $(seq 1200))"'"}' >bad.jsonl
	run --separate-stderr bn-infer -m "$DEMO" --jsonl -n 2 --no-timings -f bad.jsonl
	assert_failure 1
	[ "${#lines[@]}" -eq 5 ]
	[[ "${lines[1]}" == '{"id":"x","error":"message 0 has no \"role\" and \"content\" strings"}' ]]
	[[ "${lines[2]}" == '{"index":2,"error":"not a JSON object"}' ]]
	[[ "${lines[3]}" == '{"id":"z","text":'* ]]
	[[ "${lines[4]}" == '{"id":"long","error":"prompt of '*' tokens does not fit the context of 1024"}' ]]
	[[ "$stderr" == *"bn-infer: bad.jsonl:2: message 0 has no"* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 3 ]
	# xargs goes on after a failing record
	run bash -c 'printf "%s\n" bad.jsonl in.jsonl | xargs -n1 bn-infer -m "$DEMO" --jsonl -n 1 -f 2>/dev/null | wc -l'
	assert_output 10
}

@test "seeds follow the record (its id, else its index), not its position or the thread count" {
	bn-infer -m "$DEMO" --jsonl -n 8 --no-timings -f in.jsonl | ids_of >all
	grep -v '"b"' in.jsonl | bn-infer -m "$DEMO" --jsonl -n 8 --no-timings -t 1 | ids_of >some
	grep '^a \|^e \|^7 ' all >want
	grep '^a \|^e \|^7 ' some >got
	diff -u want got
	[ "$(wc -l <got)" -eq 3 ]
	# same prompt, another id: another stream
	printf '%s\n' '{"id":"p","prompt":"The"}' '{"id":"q","prompt":"The"}' |
		bn-infer -m "$DEMO" --jsonl -n 12 --no-timings | ids_of >pq
	[ "$(cut -d' ' -f2- pq | sort -u | wc -l)" -eq 2 ]
}

@test "--shard K/N: the shards together are the whole run, record by record" {
	bn-infer -m "$DEMO" --jsonl -n 4 --no-timings -f in.jsonl >all
	for k in 1 2 3; do bn-infer -m "$DEMO" --jsonl -n 4 --no-timings --shard $k/3 -f in.jsonl >s$k; done
	[ "$(wc -l <s1) $(wc -l <s2) $(wc -l <s3)" = "2 2 1" ]
	sort all >a
	sort s1 s2 s3 >b
	cmp a b
	grep -q '"id":"a"' s1 && grep -q '"index":2' s3 && grep -q '"id":7' s1
	run -2 bn-infer -m "$DEMO" --shard 0/3 -f in.jsonl
	run -2 bn-infer -m "$DEMO" --shard 4/3 -f in.jsonl
	run -2 bn-infer -m "$DEMO" --shard 1 -f in.jsonl
}

@test "Slurm job arrays: task id minus SLURM_ARRAY_TASK_MIN picks the shard; --shard wins" {
	bn-infer -m "$DEMO" --jsonl -n 3 --no-timings --shard 2/3 -f in.jsonl >want
	SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_COUNT=3 \
		bn-infer -m "$DEMO" --jsonl -n 3 --no-timings -f in.jsonl >got
	cmp want got
	SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 \
		bn-infer -m "$DEMO" --jsonl -n 3 --no-timings -f in.jsonl >got0
	cmp want got0
	SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 \
		bn-infer -m "$DEMO" --jsonl -n 3 --no-timings --shard 1/1 -f in.jsonl >all
	[ "$(wc -l <all)" -eq 5 ]
	SLURM_ARRAY_TASK_ID=9 SLURM_ARRAY_TASK_COUNT=3 run -2 bn-infer -m "$DEMO" -f in.jsonl
}

@test "--resume skips records done, reruns failed ones, and can append to its own file" {
	bn-infer -m "$DEMO" --jsonl -n 3 --no-timings -f in.jsonl >want
	head -2 want >out.jsonl
	echo '{"id":7,"error":"killed"}' >>out.jsonl
	head -c 30 want | tail -c +1 | head -c 25 >>out.jsonl	# a run killed mid-line
	bn-infer -m "$DEMO" --jsonl -n 3 --no-timings -f in.jsonl --resume out.jsonl >>out.jsonl
	[ "$(grep -c '^{"id":"a".*}$' out.jsonl)" -eq 1 ]
	grep '^{' out.jsonl | python3 -c '
import json, sys
ok = {}
for l in sys.stdin:
    try: d = json.loads(l)
    except ValueError: continue
    if "error" not in d: ok[str(d.get("id", d.get("index")))] = l
assert sorted(ok) == ["2", "7", "a", "b", "e"], sorted(ok)
' 
	sort want >w
	grep -v error out.jsonl | python3 -c 'import json,sys
for l in sys.stdin:
    try: json.loads(l); print(l, end="")
    except ValueError: pass' | sort >g
	cmp w g
	# nothing left to do: no output at all
	run bn-infer -m "$DEMO" --jsonl -n 3 --no-timings -f in.jsonl --resume out.jsonl
	assert_success
	assert_output ""
}

@test "numeric ids are copied digit for digit, so --resume tells 64-bit ids apart" {
	cat >big.jsonl <<'EOF'
{"id":1234567890123456789,"prompt":"a"}
{"id":1234567890123456790,"prompt":"b"}
{"\u0069d" : 1e400 ,"prompt":"c"}
{"meta":{"id":5},"id":-0.5E-3,"prompt":"d"}
{"id":01,"prompt":"e"}
EOF
	bn-infer -m "$DEMO" --jsonl -n 2 --no-timings -f big.jsonl >all
	cut -d, -f1 all >ids
	printf '%s\n' '{"id":1234567890123456789' '{"id":1234567890123456790' '{"id":1e400' \
		'{"id":-0.5E-3' '{"id":1' | diff - ids
	bn-infer -m "$DEMO" --jsonl -n 2 --no-timings -f big.jsonl --shard 1/2 >part
	bn-infer -m "$DEMO" --jsonl -n 2 --no-timings -f big.jsonl --resume part >>part
	sort all >a && sort part >p && cmp a p
}

@test "a line over 64 MiB fails as one record; the batch goes on" {
	python3 -c '
import sys
w = sys.stdout.write
w("{\"id\":1,\"prompt\":\"a\"}\n{\"id\":2,\"prompt\":\"" + "x" * (64 << 20) + "\"}\n")
w("{\"id\":3,\"prompt\":\"b\"}\n")' >long.jsonl
	run -1 --separate-stderr bn-infer -m "$DEMO" --jsonl -n 2 --no-timings -f long.jsonl
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[1]}" = '{"index":1,"error":"line longer than 67108864 bytes"}' ]
	[[ "${lines[2]}" == '{"id":3,"text":'* ]]
	[ "$stderr" = "bn-infer: long.jsonl:2: line longer than 67108864 bytes" ]
}

@test ".zst input and output; -o writes atomically and leaves nothing on failure" {
	zstd -q in.jsonl -o in.jsonl.zst
	bn-infer -m "$DEMO" --jsonl -n 3 --no-timings -f in.jsonl >want
	bn-infer -m "$DEMO" --jsonl -n 3 --no-timings -f in.jsonl.zst -o out.jsonl.zst
	zstd -dcq out.jsonl.zst | cmp want -
	bn-infer -m "$DEMO" --jsonl -n 3 --no-timings -f in.jsonl.zst --resume out.jsonl.zst -o o2.jsonl
	[ ! -s o2.jsonl ] && [ -e o2.jsonl ]
	run -1 bn-infer -m "$DEMO" --chat-template '{% macro %}' -p x -o fail.txt
	[ ! -e fail.txt ]
	[ -z "$(ls -A | grep -v '^\(in\|out\|want\|o2\)')" ]
}

@test "GNU parallel --pipe-part: the sharded run equals the single-process run" {
	command -v parallel >/dev/null || skip "GNU parallel is not installed (scripts/deps.sh)"
	for i in $(seq 1 24); do echo "{\"id\":\"r$i\",\"prompt\":\"Story $i:\"}"; done >big.jsonl
	bn-infer -m "$DEMO" --jsonl -n 4 --no-timings -t 1 -f big.jsonl >single
	parallel --will-cite --pipe-part -a big.jsonl --block -3 -j 2 --keep-order \
		--joblog jobs.log bn-infer -m "$DEMO" --jsonl -n 4 --no-timings -t 1 >sharded
	cmp single sharded
	[ "$(tail -n +2 jobs.log | wc -l)" -ge 3 ]
	# --shard through parallel's arguments, merged by id; --joblog --resume
	# then reruns nothing
	parallel --will-cite -j 3 --joblog shards.log bn-infer -m "$DEMO" --jsonl -n 4 \
		--no-timings -t 1 --shard {}/3 -f big.jsonl ::: 1 2 3 | sort >merged
	sort single | cmp - merged
	parallel --will-cite -j 3 --joblog shards.log --resume bn-infer -m "$DEMO" --jsonl -n 4 \
		--no-timings -t 1 --shard {}/3 -f big.jsonl ::: 1 2 3 >again
	[ ! -s again ]
	[ "$(tail -n +2 shards.log | wc -l)" -eq 3 ]
}

@test "text mode: stop strings are cut from the output, escapes in -p, --stream" {
	run bn-infer -m "$DEMO" -p "The" --temp 0 -n 40 --stop " movie" --stop "zzz"
	assert_output " only thing that I'm in the middle of the"
	run bn-infer -m "$DEMO" -p "The" --temp 0 -n 40 --stop "movie" --jsonl --no-timings
	assert_output --partial '"text":" only thing that I'"'"'m in the middle of the ","ids":[629,1306,325,319,758,285,260,2955,279,260,899]'
	assert_output --partial '"stop_reason":"stop"'
	run bn-infer -m "$DEMO" -p 'The' --temp 0 -n 40 --stop '\x27s'
	assert_output " only thing that I'm in the middle of the movie is that it"
	a=$(bn-infer -m "$DEMO" -p 'A\tB' --temp 0 -n 3 --jsonl --no-timings)
	b=$(bn-infer -m "$DEMO" -p "$(printf 'A\tB')" --temp 0 -n 3 --jsonl --no-timings)
	c=$(bn-infer -m "$DEMO" -p 'A\tB' --no-escape --temp 0 -n 3 --jsonl --no-timings)
	[ "$a" = "$b" ] && [ "$a" != "$c" ]
	[[ "$c" == *'"n_prompt":5,'* ]]
	run bn-infer -m "$DEMO" -p "The" --temp 0 -n 40 --stream
	assert_output " only thing that I'm in the middle of the movie is that it's not a good movie."
}

@test "text mode: a record's newlines and backslashes are escaped, so it stays one line" {
	# record 185 (seed 6) generates a newline; record 3 of ids.txt (seed 5) "\no"
	seq 186 | sed 's/^/Line /' >lines.txt
	printf 'Line 1\nLine 2\nLine 3\nLine 4\nLine 5\n' | bn-tokenize -m "$DEMO" --whole >id1
	cat id1 id1 id1 id1 >ids.txt
	check() {	# the text lines, unescaped, are the texts of --jsonl
		bn-infer -m "$DEMO" "$@" >plain
		bn-infer -m "$DEMO" "$@" --stream >streamed
		bn-infer -m "$DEMO" "$@" --jsonl >json
		cmp plain streamed
		python3 - <<'PY'
import json
plain = open("plain", newline="").read().split("\n")
json_ = [json.loads(l)["text"] for l in open("json")]
assert plain[-1] == "" and len(plain) - 1 == len(json_), (len(plain), len(json_))
unesc = [p.replace("\\\\", "\0").replace("\\n", "\n").replace("\\r", "\r").replace("\0", "\\")
         for p in plain[:-1]]
assert unesc == json_, (unesc, json_)
assert any("\n" in t or "\\" in t for t in json_), json_
PY
	}
	check -f lines.txt -n 60 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 -s 6 --shard 1/37
	grep -q '\\n' plain
	check --ids -f ids.txt -n 30 --temp 1.2 -s 5
	grep -q '\\\\no' plain
	# not with -p: its one text is printed as it is
	run bn-infer -m "$DEMO" --ids -p "$(cat id1)" -n 30 --temp 1.2 -s 78
	assert_output --regexp '^\\rinks'
	run bn-infer -m "$DEMO" --ids -f id1 -n 30 --temp 1.2 -s 78
	assert_output --regexp '^\\\\rinks'
}

@test "piped records are answered as they arrive, not at the end of the input" {
	# a coprocess: each answer must come before the next line is written
	coproc P { bn-infer -m "$DEMO" -f - --jsonl --no-timings -n 3 --temp 0; }
	local pid=$P_PID to=${P[1]} from=${P[0]} a= b= c=
	echo '{"id":1,"prompt":"The"}' >&"$to"
	read -r -t 20 a <&"$from" || true
	echo 'It' >&"$to"	# shorter than zstd's magic number
	read -r -t 20 b <&"$from" || true
	exec {to}>&-
	wait "$pid"
	[[ "$a" == '{"id":1,"text":" only thing that",'* ]]
	[[ "$b" == '{"index":1,"text":"'* ]]
	# plain text from a fifo
	mkfifo fifo
	coproc Q { bn-infer -m "$DEMO" -f fifo -n 3 --temp 0; }
	pid=$Q_PID from=${Q[0]}
	exec {to}>fifo
	echo 'The' >&"$to"
	IFS= read -r -t 20 c <&"$from" || true
	exec {to}>&-
	wait "$pid"
	[ "$c" = " only thing that" ]
}

@test "stop tokens end generation unless --ignore-eos" {
	run bn-infer -m "$DEMO" -p "It was" --temp 0 -n 30 --jsonl --no-timings
	assert_output --partial '"stop_reason":"eos"'
	assert_output --partial '4097],'
	run bn-infer -m "$DEMO" -p "It was" --temp 0 -n 30 --jsonl --no-timings --ignore-eos
	assert_output --partial '"n_gen":30,"stop_reason":"length"'
}

@test "nothing on stderr when it is not a terminal; a progress line when it is" {
	run --separate-stderr bn-infer -m "$DEMO" --jsonl -n 2 -f in.jsonl
	[ "$stderr" = "" ]
	python3 - <<'EOF'
import os, pty, subprocess
m, s = pty.openpty()
p = subprocess.run(["bn-infer", "-m", os.environ["DEMO"], "--jsonl", "-n", "2", "-f", "in.jsonl",
                    "-o", "o.jsonl"], stderr=s, timeout=120)
os.close(s)
err = os.read(m, 4096).decode()
assert p.returncode == 0 and "5 records" in err and "tokens/s" in err, err
p = subprocess.run(["bn-infer", "-m", os.environ["DEMO"], "-q", "--jsonl", "-n", "2", "-f", "in.jsonl",
                    "-o", "q.jsonl"], stderr=s if False else subprocess.PIPE, timeout=120)
assert p.stderr == b""
EOF
}

@test "a closed pipe ends a JSONL batch quietly with status 0" {
	for i in $(seq 1 40); do echo "{\"id\":$i,\"prompt\":\"x\"}"; done >many.jsonl
	run bash -c 'bn-infer -m "$DEMO" --jsonl -n 2 -f many.jsonl | head -1; echo "${PIPESTATUS[0]}"'
	assert_success
	assert_line --index 1 0
	[ "${#lines[@]}" -eq 2 ]
}
