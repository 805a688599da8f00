/* fuzz_chat.c - the chat template renderer (a Jinja subset): the input is
 * a template, a line "@@", then messages separated by 0x1e, each "role\x1f
 * content".  A template that parses renders them (with and without the
 * generation prompt); the output is NUL-terminated at its length. */
#include "chat.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bn_errbuf eb = { "" };
	struct bn_chat_tmpl *t;
	struct bn_chat_msg msgs[8];
	const uint8_t *sep = memmem(data, size, "\n@@\n", 4);
	size_t tlen = sep ? (size_t)(sep - data) : size, len;
	char *rest, *p, *out;
	int n = 0, gen, rc;

	rc = bn_chat_tmpl_parse(&t, (const char *)data, tlen, &eb);
	fuzz_check_msg(rc, &eb);
	if (rc < 0)
		return 0;
	rest = sep ? strndup((const char *)sep + 4, size - tlen - 4) : strdup("user\x1fhello");
	for (p = rest; p && n < (int)BN_LEN(msgs); n++) {
		char *next = strchr(p, 0x1e), *c;
		if (next)
			*next++ = 0;
		c = strchr(p, 0x1f);
		if (c)
			*c++ = 0;
		msgs[n].role = p;
		msgs[n].content = c ? c : "";
		p = next;
	}
	for (gen = 0; gen < 2; gen++) {
		rc = bn_chat_render(t, msgs, n, "<s>", "</s>", gen, &out, &len, &eb);
		fuzz_check_msg(rc, &eb);
		if (rc >= 0 && (!out || out[len]))
			abort();
		if (rc >= 0)
			free(out);
	}
	free(rest);
	bn_chat_tmpl_free(t);
	return 0;
}
