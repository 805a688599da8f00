/* fuzz.h - shared bits of the libFuzzer harnesses (t/fuzz/fuzz_*.c).
 *
 * Every harness feeds one input to one parser and checks what bn promises
 * for any input: no crash, leak or undefined behaviour (the sanitizers), and
 * on failure a non-empty one-line message of valid UTF-8 (FUZZ_CHECK_MSG). */
#ifndef BN_FUZZ_H
#define BN_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bn.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failure must come with one printable line. */
static inline void fuzz_check_msg(int rc, const struct bn_errbuf *eb)
{
	size_t i, n = strlen(eb->msg);

	if (rc >= 0)
		return;
	if (!n || bn_utf8_check(eb->msg, n) != n)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)eb->msg[i] < 0x20 || eb->msg[i] == 0x7f)
			abort();
}

/* An in-memory file with a path (/proc/self/fd/N) holding the input, for
 * parsers that open paths. */
static inline const char *fuzz_memfile(const char *tag, const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		if ((fd = memfd_create(tag, 0)) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	return path;
}

#endif
