#!/usr/bin/env bats
# make install / uninstall into a temporary DESTDIR, then run what was
# installed: the six programs (bn-infer finds the installed demo model),
# pkg-config, a C program built against the installed library and headers,
# and the man pages.
load lib
bats_require_minimum_version 1.5.0

PFX=/usr/local

install_root() {
	root="$BATS_TEST_TMPDIR/root"
	# -o all: install what this build made, never rebuild it here
	make -C "$TOP" -s -o all install O="$BN_BUILD" PREFIX=$PFX DESTDIR="$root" >/dev/null
}

@test "make install puts programs, library, headers, pkg-config, man pages, demo, completion in place" {
	install_root
	for p in fetch convert tokenize infer sample bench; do
		[ -x "$root$PFX/bin/bn-$p" ]
		[ -L "$root$PFX/share/bash-completion/completions/bn-$p" ]
	done
	[ -f "$root$PFX/lib/libbn.a" ]
	[ -f "$root$PFX/include/bn/bn.h" ]
	[ -f "$root$PFX/include/bn/model.h" ]
	[ -f "$root$PFX/include/bn/kernels.h" ]
	[ ! -e "$root$PFX/include/bn/cli.h" ]
	[ ! -e "$root$PFX/include/bn/convert_int.h" ]
	[ -f "$root$PFX/share/man/man1/bn-convert.1" ]
	[ -f "$root$PFX/share/man/man5/bn-model.5" ]
	[ -f "$root$PFX/share/bn/demo.gguf" ]
	grep -q "^prefix=$PFX\$" "$root$PFX/lib/pkgconfig/bn.pc"
}

@test "the installed bn-infer finds the installed demo model without -m" {
	install_root
	want=$(bn-infer -m "$DEMO" -p "The old man" -n 8 --temp 0 -t 1)
	run env -u BN_MODEL "$root$PFX/bin/bn-infer" -p "The old man" -n 8 --temp 0 -t 1
	assert_success
	assert_output "$want"
	run "$root$PFX/bin/bn-convert" --version
	assert_success
}

@test "pkg-config and a C program against the installed library" {
	install_root
	export PKG_CONFIG_PATH="$root$PFX/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
	run pkg-config --cflags --libs bn
	assert_success
	assert_output --partial "-I$root$PFX/include/bn"
	assert_output --partial "-lbn"
	cat > prog.c <<-'C'
	#include <stdio.h>
	#include <bn.h>
	#include <model.h>
	int main(int argc, char **argv)
	{
		struct bn_model m;
		struct bn_errbuf eb;
		if (bn_model_open(&m, argv[1], &eb) < 0) {
			fprintf(stderr, "%s\n", eb.msg);
			return 1;
		}
		printf("%d %d %d\n", m.cfg.n_vocab, m.cfg.dim, m.cfg.n_layers);
		bn_model_close(&m);
		return 0;
	}
	C
	san=	# a sanitizer build's library needs the runtime too
	nm "$root$PFX/lib/libbn.a" 2>/dev/null | grep -q __asan_ && san=-fsanitize=address,undefined
	${CC:-cc} -std=c11 $san -o prog prog.c $(pkg-config --cflags --libs --static bn)
	run ./prog "$root$PFX/share/bn/demo.gguf"
	assert_success
	assert_output "4101 384 6"
}

@test "the installed man pages render without groff warnings" {
	install_root
	for f in "$root$PFX"/share/man/man[15]/*; do
		run --separate-stderr groff -ww -mandoc -Tutf8 "$f"
		assert_success
		[ -z "$stderr" ] || { echo "$f: $stderr"; false; }
	done
}

@test "make uninstall removes every installed file" {
	install_root
	make -C "$TOP" -s -o all uninstall O="$BN_BUILD" PREFIX=$PFX DESTDIR="$root" >/dev/null
	run find "$root" -type f -o -type l
	assert_output ""
}
