# bn: one non-recursive Makefile.  Outputs go under $(O) (default build/),
# so an optimised and a sanitizer build can live side by side:
#   make                 optimised build in build/
#   make O=build-san SAN=1   AddressSanitizer + UBSan build
#   make check           unit + bats tests, optimised then sanitized
include config.mk

O ?= build
ifeq ($(SAN),1)
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(V),1)
Q =
else
Q = @
endif

ARCH := $(shell uname -m)

LIB_SRC := $(sort $(wildcard lib/*.c))
KERN_SRC := kernels/dispatch.c kernels/scalar.c
ifeq ($(ARCH),x86_64)
KERN_SRC += kernels/avx2.c kernels/avx512.c
endif
ifeq ($(ARCH),aarch64)
KERN_SRC += kernels/neon.c
endif
KERN_SRC := $(filter $(wildcard kernels/*.c),$(KERN_SRC))
ifneq ($(filter kernels/avx2.c,$(KERN_SRC)),)
CPPFLAGS += -DBN_HAVE_AVX2
endif
ifneq ($(filter kernels/avx512.c,$(KERN_SRC)),)
CPPFLAGS += -DBN_HAVE_AVX512
endif
ifneq ($(filter kernels/neon.c,$(KERN_SRC)),)
CPPFLAGS += -DBN_HAVE_NEON
endif

PROGS := fetch convert tokenize infer sample bench
BINS := $(PROGS:%=$(O)/bin/bn-%)
UNIT_SRC := $(sort $(wildcard t/unit/*.c))
UNITS := $(UNIT_SRC:t/unit/%.c=$(O)/t/%)
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o) $(KERN_SRC:%.c=$(O)/%.o)
DEMO := $(O)/share/bn/demo.gguf

all: $(BINS) $(DEMO)

# Per-ISA flags: only these objects may use the wider instructions.
KFLAGS_AVX2 = -mavx2 -mfma -mf16c
KFLAGS_AVX512 = -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavx512dq -mfma -mf16c
KFLAGS_NEON = -march=armv8.2-a+dotprod+fp16
$(O)/kernels/avx2.o: KFLAGS = $(KFLAGS_AVX2)
$(O)/kernels/avx512.o: KFLAGS = $(KFLAGS_AVX512)
$(O)/kernels/neon.o: KFLAGS = $(KFLAGS_NEON)
# The forward pass's elementwise loops (scaling, attention) vectorise only
# with epilogues, which -O2's very-cheap cost model refuses; vectorising
# elementwise float loops does not change results (no reassociation).
$(O)/lib/forward.o: KFLAGS = -fvect-cost-model=dynamic

$(O)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(KFLAGS) -MMD -MP -c -o $@ $<

$(O)/libbn.a: $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/bin/bn-fetch: LDLIBS += -lcurl -lcrypto
$(O)/bin/bn-%: $(O)/cmd/bn-%.o $(O)/libbn.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/t/%: $(O)/t/unit/%.o $(O)/libbn.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcurl -lcrypto

# The bundled demo model: the bitnet-demo checkpoint, converted at build time.
$(DEMO): $(O)/bin/bn-convert $(wildcard share/bitnet-demo/*)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CONVERT $@")
	$(Q)$(O)/bin/bn-convert -q share/bitnet-demo -o $@

units: $(UNITS)

# The NEON kernels on an x86 host: cross-build the kernel unit test for
# aarch64 (static) and run it under qemu-user.  Needs gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross and qemu-user (scripts/deps.sh, optional list).
CROSS ?= aarch64-linux-gnu-
QEMU_AARCH64 ?= qemu-aarch64
NEON_UNIT := $(O)/aarch64/t/kernels
NEON_CFLAGS = -O2 -std=c11 -ffp-contract=off -Wall -Wextra -Wno-unused-parameter -pthread -D_GNU_SOURCE -Ilib -Ikernels

$(NEON_UNIT): t/unit/kernels.c t/unit/unit.h $(wildcard kernels/*.h) kernels/dispatch.c kernels/scalar.c \
		kernels/neon.c lib/half.c lib/bn.h
	@mkdir -p $(@D)
	$(Q)$(CROSS)gcc $(NEON_CFLAGS) $(KFLAGS_NEON) -c -o $@-neon.o kernels/neon.c
	$(Q)$(CROSS)gcc $(NEON_CFLAGS) -DBN_HAVE_NEON -static -o $@ t/unit/kernels.c \
		kernels/dispatch.c kernels/scalar.c lib/half.c $@-neon.o -lm

check-neon: $(NEON_UNIT)
	$(Q)$(QEMU_AARCH64) $(NEON_UNIT)

# libFuzzer harnesses, one per parser (t/fuzz/fuzz_*.c; docs/hardening.md).
# clang only; the library is compiled again into $(O)/fuzz/obj with the
# fuzzer's coverage instrumentation and ASan + UBSan.  make fuzz builds them,
# make fuzz-smoke runs each for FUZZ_SECONDS on its seed corpus.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 10
FUZZ_CFLAGS = -O1 -g -fno-omit-frame-pointer -std=c11 -Wall -Wextra -Wno-unused-parameter -ffp-contract=off \
	-pthread -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC := $(sort $(wildcard t/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRC:t/fuzz/%.c=$(O)/fuzz/%)
FUZZ_OBJ := $(LIB_SRC:%.c=$(O)/fuzz/obj/%.o) $(KERN_SRC:%.c=$(O)/fuzz/obj/%.o)

$(O)/fuzz/obj/kernels/avx2.o: KFLAGS = $(KFLAGS_AVX2)
$(O)/fuzz/obj/kernels/avx512.o: KFLAGS = $(KFLAGS_AVX512)
$(O)/fuzz/obj/kernels/neon.o: KFLAGS = $(KFLAGS_NEON)

$(O)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(KFLAGS) -MMD -MP -c -o $@ $<

# a harness that includes a lib/*.c for its static parsers links without it
FUZZ_OWN_fuzz_hub = $(O)/fuzz/obj/lib/hub.o

$(FUZZ_BINS): $(O)/fuzz/%: t/fuzz/%.c t/fuzz/fuzz.h $(FUZZ_OBJ)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(filter-out $(FUZZ_OWN_$*),$(FUZZ_OBJ)) $(LDLIBS) -lcurl -lcrypto

fuzz: $(FUZZ_BINS)

fuzz-smoke: fuzz
	$(Q)sh t/fuzz/run.sh -o $(O) -t $(FUZZ_SECONDS)

deps:
	sh scripts/deps.sh

# Quick start, part 1: packages (as root), build, convert, generate.
PROMPT ?= The history of the city
demo:
	$(Q)sh scripts/demo.sh "$(PROMPT)"

# Regenerate docs/performance.md and docs/roofline.svg (synthetic 2B4T
# models are converted into $(BN_BENCH_DIR), default /tmp, at every run).
bench: $(O)/bin/bn-bench $(O)/bin/bn-convert
	sh scripts/bench.sh $(O)

# Quick start, part 2: every test, optimised and under ASan + UBSan.
check:
	$(Q)sh scripts/deps.sh
	$(Q)$(MAKE) -s all
	$(Q)sh t/check.sh

test: all units
	$(Q)sh t/run.sh $(O)

# Public headers: everything in lib/ except the programs' cli.h and the
# internals (*_int.h, *_impl.h); plus the kernel table.
PUB_H := $(filter-out lib/cli.h %_int.h %_impl.h,$(wildcard lib/*.h)) kernels/kernels.h
MAN1 := $(wildcard docs/*.1)
MAN5 := $(wildcard docs/*.5)
COMPDIR = $(PREFIX)/share/bash-completion/completions

# bn-infer's compiled-in default model directory.
$(O)/cmd/bn-infer.o: CPPFLAGS += -DBN_SHAREDIR=\"$(SHAREDIR)\"

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR)/bn \
		$(DESTDIR)$(MANPREFIX)/man1 $(DESTDIR)$(MANPREFIX)/man5 \
		$(DESTDIR)$(SHAREDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(COMPDIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 644 $(O)/libbn.a $(DESTDIR)$(LIBDIR)
	install -m 644 $(PUB_H) $(DESTDIR)$(INCDIR)/bn
	$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(MANPREFIX)/man1)
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(MANPREFIX)/man5)
	install -m 644 $(DEMO) $(DESTDIR)$(SHAREDIR)
	install -m 644 share/bash-completion/bn $(DESTDIR)$(COMPDIR)/bn
	for p in $(PROGS); do ln -sf bn $(DESTDIR)$(COMPDIR)/bn-$$p; done
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' bn.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/bn.pc

uninstall:
	rm -f $(PROGS:%=$(DESTDIR)$(BINDIR)/bn-%) $(DESTDIR)$(LIBDIR)/libbn.a
	rm -rf $(DESTDIR)$(INCDIR)/bn
	rm -f $(DESTDIR)$(SHAREDIR)/demo.gguf
	-rmdir $(DESTDIR)$(SHAREDIR) 2>/dev/null
	rm -f $(MAN1:docs/%=$(DESTDIR)$(MANPREFIX)/man1/%) $(MAN5:docs/%=$(DESTDIR)$(MANPREFIX)/man5/%)
	rm -f $(DESTDIR)$(COMPDIR)/bn $(PROGS:%=$(DESTDIR)$(COMPDIR)/bn-%)
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/bn.pc

clean:
	rm -rf build build-san

.PHONY: all check check-neon demo bench test units deps install uninstall clean fuzz fuzz-smoke
.SECONDARY:
-include $(shell find $(O) -name '*.d' 2>/dev/null)
