# bn build configuration (sbase style): override on the command line,
# e.g. make PREFIX=/usr CC=clang
VERSION   = 0.1.0
PREFIX    = /usr/local
BINDIR    = $(PREFIX)/bin
LIBDIR    = $(PREFIX)/lib
INCDIR    = $(PREFIX)/include
MANPREFIX = $(PREFIX)/share/man
SHAREDIR  = $(PREFIX)/share/bn

CC       = cc
OPT      = -O2 -g
CFLAGS   = $(OPT) -std=c11 -Wall -Wextra -Wno-unused-parameter -ffp-contract=off -pthread
CPPFLAGS = -D_GNU_SOURCE -DBN_VERSION=\"$(VERSION)\" -Ilib -Ikernels
LDFLAGS  = -pthread
LDLIBS   = -lcjson -lzstd -lpcre2-8 -lm
