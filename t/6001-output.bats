#!/usr/bin/env bats
# Output safety: a full disk (a 256 KiB tmpfs when mount is permitted, else
# skipped; RLIMIT_FSIZE always) leaves no partial file and exits 1 with one
# line; an existing output survives a failed run; devices are written in
# place, never replaced; a closed pipe exits 0 quietly; a program killed by
# SIGTERM, SIGINT or SIGHUP removes its temp file and dies of the signal.
load lib
bats_require_minimum_version 1.5.0

teardown() {
	if [ -n "${MNT:-}" ]; then umount "$MNT" 2>/dev/null || true; fi
}

one_line() {	# $1: regex for the one line of $stderr
	echo "exit $status, stderr: $stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" =~ $1 ]]
}

@test "full disk (tmpfs): bn-convert exits 1, one line, nothing left behind" {
	mkdir full
	mount -t tmpfs -o size=256k tmpfs full 2>/dev/null || skip "mount -t tmpfs not permitted"
	MNT=$PWD/full
	run --separate-stderr bn-convert -q "$FIX/models/tiny-a" -o full/m.gguf
	[ "$status" -eq 1 ]
	one_line "^bn-convert: cannot write 'full/m.gguf': No space left on device$"
	[ -z "$(ls -A full)" ]
	# past the first 2 MB block the write fails before the commit: same line
	run --separate-stderr bn-convert -q --synthetic 125m -o full/m.gguf
	[ "$status" -eq 1 ]
	one_line "^bn-convert: cannot write 'full/m.gguf': No space left on device$"
	[ -z "$(ls -A full)" ]
}

@test "file size limit (RLIMIT_FSIZE): bn-convert exits 1, one line, nothing left behind" {
	run --separate-stderr bash -c 'trap "" XFSZ; ulimit -f 64; exec bn-convert -q "$FIX/models/tiny-a" -o m.gguf'
	[ "$status" -eq 1 ]
	one_line "^bn-convert: cannot write 'm.gguf': File too large$"
	[ -z "$(find . -name 'm.gguf*')" ]
}

@test "a failed conversion leaves the existing output untouched" {
	echo old >m.gguf
	mkdir bad
	cp "$FIX/models/tiny-a/"*.json bad/
	head -c 1000 "$FIX/models/tiny-a/model.safetensors" >bad/model.safetensors
	run --separate-stderr bn-convert -q bad -o m.gguf
	[ "$status" -eq 1 ]
	one_line "^bn-convert: bad/model.safetensors: "
	[ "$(cat m.gguf)" = old ]
	[ "$(find . -name 'm.gguf*')" = ./m.gguf ]
	run --separate-stderr bash -c 'trap "" XFSZ; ulimit -f 64; exec bn-convert -q "$FIX/models/tiny-a" -o m.gguf'
	[ "$status" -eq 1 ]
	[ "$(cat m.gguf)" = old ]
	[ "$(find . -name 'm.gguf*')" = ./m.gguf ]
}

@test "a FIFO or a device is written in place, never replaced by a file" {
	# never /dev/null itself: a build without the fix would replace it (as root)
	mkfifo p
	cat p >got &
	bn-convert -q --synthetic tiny -o p
	wait
	[ -p p ]
	[ -s got ]
	run --separate-stderr bn-convert -q --synthetic tiny -o .
	[ "$status" -eq 1 ]
	one_line "^bn-convert: cannot create '\\.': Is a directory$"
	mknod full c 1 7 2>/dev/null || skip "mknod not permitted"
	run --separate-stderr bn-convert -q --synthetic tiny -o full
	[ "$status" -eq 1 ]
	one_line "^bn-convert: cannot write 'full': No space left on device$"
	[ -c full ]
}

@test "stdout on a full device: exit 1 with one line" {
	run --separate-stderr bash -c 'bn-convert -q --synthetic tiny -o - >/dev/full'
	[ "$status" -eq 1 ]
	one_line "^bn-convert: .*No space left on device$"
	python3 -c "
import struct, sys
sys.stdout.buffer.write(b''.join(struct.pack('<4I', 0x474c4e42, 4, i, 0) + struct.pack('<4f', 1, 2, 3, 4) for i in range(50000)))" >fr.bin
	run --separate-stderr bash -c 'bn-sample --temp 0 fr.bin >/dev/full'
	[ "$status" -eq 1 ]
	one_line "^bn-sample: .*No space left on device$"
}

@test "a closed pipe exits 0 quietly (bn-convert, bn-sample)" {
	run --separate-stderr bash -c 'bn-convert -q --synthetic tiny -o - | head -c1 >/dev/null; exit ${PIPESTATUS[0]}'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	run --separate-stderr bash -c 'bn-convert -q "$FIX/models/tiny-a" -o - | head -c1 >/dev/null; exit ${PIPESTATUS[0]}'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	python3 -c "
import struct, sys
sys.stdout.buffer.write(b''.join(struct.pack('<4I', 0x474c4e42, 4, i, 0) + struct.pack('<4f', 1, 2, 3, 4) for i in range(200000)))" >fr.bin
	run --separate-stderr bash -c 'bn-sample --temp 0 fr.bin | head -c1 >/dev/null; exit ${PIPESTATUS[0]}'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

# Run "$@" (writing $1.tmp.*) in the background with every signal at its
# default (a background job of a script ignores SIGINT), wait for its temp
# file, send it signal $SIG and set $status to its exit status.
kill_midway() {
	local out=$1 pid i
	shift
	env --default-signal "$@" <&0 &
	pid=$!
	for i in $(seq 200); do
		compgen -G "$out.tmp.*" >/dev/null && break
		sleep .05
	done
	ls -A
	compgen -G "$out.tmp.*" >/dev/null
	kill -s "$SIG" "$pid"
	status=0
	wait "$pid" || status=$?
}

@test "killed by TERM, INT or HUP: the temp file is removed, the status is 128+signal" {
	for SIG in TERM INT HUP; do
		kill_midway big.gguf bn-convert -q --synthetic 7b -o big.gguf
		echo "$SIG: exit $status"
		[ "$status" -eq $((128 + $(kill -l "$SIG"))) ]
		[ -z "$(ls -A)" ]
	done
	# a text output: bn-tokenize -o, blocked on an open pipe
	mkfifo in
	exec 8<>in
	SIG=TERM kill_midway o.txt bn-tokenize -m "$DEMO" -o o.txt <in
	exec 8>&-
	[ "$status" -eq 143 ]
	[ "$(ls -A)" = in ]
}

@test "a signal ignored on entry (nohup) stays ignored" {
	bash -c 'trap "" HUP; exec bn-convert -q --synthetic 7b -o big.gguf' &
	pid=$!
	for i in $(seq 200); do
		compgen -G "big.gguf.tmp.*" >/dev/null && break
		sleep .05
	done
	kill -HUP "$pid"
	sleep .2
	kill -0 "$pid"
	compgen -G "big.gguf.tmp.*" >/dev/null
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 143 ]
	[ -z "$(ls -A)" ]
}
