/* fuzz_hub.c - what bn-fetch parses from a server: HTTP response header
 * lines (as curl hands them over, one line each, ending in a newline) and
 * the JSON tree listing of the Hub API.  Input: header lines, a blank
 * line, then the body.  Includes lib/hub.c for its static parsers (the
 * Makefile leaves hub.o out of this harness). */
#include "../../lib/hub.c"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bn_errbuf eb = { "" };
	struct bn_hub_list l = { 0 };
	struct resp r;
	const char *p = (const char *)data, *end = p + size, *body;
	char *line, *s;
	size_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (n == 1 || (n == 2 && p[0] == '\r')) {	/* blank: end of headers */
			p += n;
			break;
		}
		if (!(line = malloc(n + 1)))
			return 0;
		memcpy(line, p, n);
		line[n] = 0;
		if (!nl)
			line[n - 1] = '\n';	/* curl's lines always end in a newline */
		if (on_header(line, 1, n, &r) != n)
			abort();
		free(line);
		p += n;
	}
	resp_release(&r);
	body = p;
	rc = parse_tree("fuzz/repo", body, (size_t)(end - body), &l, &eb);
	fuzz_check_msg(rc, &eb);
	for (i = 0; rc >= 0 && i < l.n; i++)
		if (bn_hf_check_path(l.v[i].path, &eb) < 0)
			abort();	/* parse_tree admits only safe paths */
	bn_hub_list_release(&l);
	if ((s = strndup(body, (size_t)(end - body)))) {
		bn_hf_check_repo(s, &eb);
		bn_hf_check_rev(s, &eb);
		bn_hf_check_path(s, &eb);
		free(s);
	}
	return 0;
}
