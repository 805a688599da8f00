/* bn-sample - sample token ids from logits frames (not built yet). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: bn-sample [OPTIONS] [FILE]\n"
		"sample token ids from logits frames.\n\n"
		"  -h, --help     show this help and exit\n"
		"  -V, --version  show the version and exit\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	cli_init(argv[0]);
	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return close_stdout();
		case 'V': print_version();
		default: fprintf(stderr, "Try '%s --help' for more information.\n", argv0); return 2;
		}
	}
	die("not implemented yet");
}
