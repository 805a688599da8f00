#!/usr/bin/env bats
# Man pages: one per program, SYNOPSIS identical to --help, every option
# documented, rendered by groff without warnings.
bats_require_minimum_version 1.5.0
load lib

PROGS="bn-fetch bn-convert bn-tokenize bn-infer bn-sample bn-bench"

setup() {
	command -v groff >/dev/null || skip "groff is not installed"
}

synopsis_man() {
	MANWIDTH=300 man -l "$TOP/docs/$1.1" 2>/dev/null | col -b |
		awk '/^SYNOPSIS/{f=1;next} /^[A-Z]/{f=0} f' | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'
}

synopsis_help() {
	"$1" --help | awk '/^Usage:/{sub(/^Usage: /,"");print;f=1;next}
		f&&/^ +bn-/{sub(/^ +/,"");print;next} {f=0}' | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'
}

@test "every program has a man page whose SYNOPSIS is its usage line" {
	command -v man >/dev/null || skip "man is not installed"
	for p in $PROGS; do
		[ -f "$TOP/docs/$p.1" ] || { echo "no docs/$p.1"; return 1; }
		diff <(synopsis_help "$p") <(synopsis_man "$p")
	done
}

@test "every long option of --help is in the man page" {
	for p in $PROGS; do
		f="$TOP/docs/$p.1"
		if grep -q '^\.Dd' "$f"; then m=-mdoc; else m=-man; fi
		groff $m -Tutf8 "$f" 2>/dev/null | col -b | sed 's/\xe2\x80\x90/-/g' > page.txt
		for o in $("$p" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
			grep -q -F -e "$o" page.txt || { echo "$p: $o is not in docs/$p.1"; return 1; }
		done
	done
}

@test "man pages render without groff warnings" {
	for f in "$TOP"/docs/*.1 "$TOP"/docs/*.5; do
		if grep -q '^\.Dd' "$f"; then m=-mdoc; else m=-man; fi
		run --separate-stderr groff -ww $m -Tutf8 "$f"
		assert_success
		[ -z "$stderr" ] || { echo "$f: $stderr"; return 1; }
	done
}
