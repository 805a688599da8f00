/* t/unit/chat.c - the chat template renderer against outputs of jinja2
 * (Environment(trim_blocks=True, lstrip_blocks=True), as transformers uses),
 * and its refusals. */
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "unit.h"

static const struct bn_chat_msg M[] = {
	{ "system", "Be brief." }, { "user", "  Hi there \n" }, { "assistant", "Hello!" },
	{ "user", "Bye" },
};

static const struct { const char *name, *tmpl; int gen; const char *want; } cases[] = {
	{ "bitnet", NULL, 0,
	  "<|begin_of_text|>System: Be brief.<|eot_id|>User:   Hi there \n<|eot_id|>Assistant: Hello!<|eot_id|>User: Bye<|eot_id|>" },
	{ "bitnet", NULL, 1,
	  "<|begin_of_text|>System: Be brief.<|eot_id|>User:   Hi there \n<|eot_id|>Assistant: Hello!<|eot_id|>User: Bye<|eot_id|>Assistant: " },
	{ "llama3", "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}", 0,
	  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>" },
	{ "llama3", "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}", 1,
	  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" },
	{ "ws", "{% for m in messages %}\n  {{- m.role }}: {{ m.content }}\n  {% if not loop.last %}---\n{% endif %}\n{% endfor %}\n{# comment #}\n{%- if add_generation_prompt -%}\n  >> \n{%- endif %}", 0,
	  "system: Be brief.\n---\nuser:   Hi there \n\n---\nassistant: Hello!\n---\nuser: Bye\n" },
	{ "ws", "{% for m in messages %}\n  {{- m.role }}: {{ m.content }}\n  {% if not loop.last %}---\n{% endif %}\n{% endfor %}\n{# comment #}\n{%- if add_generation_prompt -%}\n  >> \n{%- endif %}", 1,
	  "system: Be brief.\n---\nuser:   Hi there \n\n---\nassistant: Hello!\n---\nuser: Bye\n>>" },
	{ "misc", "{% if messages[0]['role'] == 'system' %}{% set sys = messages[0]['content'] %}{% set msgs = messages[1:] %}{% else %}{% set sys = \"none\" %}{% set msgs = messages %}{% endif %}[{{ sys }}]{% for m in msgs %}{% if m.role not in 'user assistant' %}{{ raise_exception('bad role ' + m.role) }}{% endif %}{{ loop.index }}/{{ loop.length }} {{ m.content|upper }} {{ m['content'] | length }} {{ m.content.strip() ~ '|' ~ (loop.index0 + 10) }}{% endfor %}{{ messages[-1].role }}{{ eos_token }}{{ undefined_thing }}{{ 'x' is defined }}{{ nothing is not defined and not false }}", 0,
	  "[Be brief.]1/3   HI THERE \n 12 Hi there|102/3 HELLO! 6 Hello!|113/3 BYE 3 Bye|12user<|end_of_text|>TrueTrue" },
	{ "misc", "{% if messages[0]['role'] == 'system' %}{% set sys = messages[0]['content'] %}{% set msgs = messages[1:] %}{% else %}{% set sys = \"none\" %}{% set msgs = messages %}{% endif %}[{{ sys }}]{% for m in msgs %}{% if m.role not in 'user assistant' %}{{ raise_exception('bad role ' + m.role) }}{% endif %}{{ loop.index }}/{{ loop.length }} {{ m.content|upper }} {{ m['content'] | length }} {{ m.content.strip() ~ '|' ~ (loop.index0 + 10) }}{% endfor %}{{ messages[-1].role }}{{ eos_token }}{{ undefined_thing }}{{ 'x' is defined }}{{ nothing is not defined and not false }}", 1,
	  "[Be brief.]1/3   HI THERE \n 12 Hi there|102/3 HELLO! 6 Hello!|113/3 BYE 3 Bye|12user<|end_of_text|>TrueTrue" },
	{ "scope", "{% set x = 0 %}{% for m in messages %}{% if loop.first %}{% set x = 5 %}{% endif %}{% set x = x + 1 %}{{ x }}{% endfor %}|{{ x }}", 0,
	  "6111|0" },
	{ "arith", "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 1 + 2 * 3 - 4 }} {{ 2 * 3 ~ 4 }} {{ 10 - 2 - 3 }} {{ -2 * -3 }}{% for m in messages %} {{ loop.index is odd }}{{ loop.index0 % 2 }}{% endfor %} {{ 1 + nothing is defined }} {{ 3 is even }}", 0,
	  "3 -4 2 -2 3 64 5 6 True0 False1 True0 False1 1 False" },
	{ "trim", "{{ '\xc2\xa0\x1c Hi\xe3\x80\x80\xc2\x85' | trim }}|{{ ' \xe2\x80\x8b x'.strip() }}|", 0,
	  "Hi|\xe2\x80\x8b x|" },
};

#define MISTRAL "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
#define GEMMA "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"

static int render(const char *tmpl, const struct bn_chat_msg *m, int n, int gen, char **out,
		  struct bn_errbuf *eb)
{
	struct bn_chat_tmpl *t;
	size_t len;
	int rc = bn_chat_tmpl_parse(&t, tmpl, strlen(tmpl), eb);

	*out = NULL;
	if (rc < 0)
		return rc;
	rc = bn_chat_render(t, m, n, "<|begin_of_text|>", "<|end_of_text|>", gen, out, &len, eb);
	bn_chat_tmpl_free(t);
	return rc;
}

static void refuse(const char *tmpl, int code, const char *msg)
{
	struct bn_errbuf eb = { "" };
	char *out;
	int rc = render(tmpl, M, 4, 1, &out, &eb);

	CHECK(rc == code && strstr(eb.msg, msg), "refuses %s: %s", tmpl, eb.msg);
	free(out);
}

int main(void)
{
	struct bn_errbuf eb = { "" };
	char *out, deep[400];
	size_t i;
	int rc;

	for (i = 0; i < BN_LEN(cases); i++) {
		const char *t = cases[i].tmpl ? cases[i].tmpl : bn_chat_template_bitnet;
		rc = render(t, M, 4, cases[i].gen, &out, &eb);
		CHECK(rc == 0 && !strcmp(out, cases[i].want), "%s (generation prompt %d) as jinja2%s%s",
		      cases[i].name, cases[i].gen, rc ? ": " : "", rc ? eb.msg : "");
		free(out);
	}
	rc = render(bn_chat_template_bitnet, M + 1, 1, 1, &out, &eb);
	CHECK(rc == 0 && !strcmp(out, "<|begin_of_text|>User:   Hi there \n<|eot_id|>Assistant: "),
	      "bitnet: one user turn");
	free(out);
	rc = render(MISTRAL, M + 1, 3, 0, &out, &eb);
	CHECK(rc == 0 && !strcmp(out, "<|begin_of_text|>[INST]   Hi there \n [/INST]Hello!<|end_of_text|> [INST] Bye [/INST]"),
	      "mistral (%%, != of comparisons) as jinja2%s%s", rc ? ": " : "", rc ? eb.msg : "");
	free(out);
	rc = render(GEMMA, M + 1, 3, 1, &out, &eb);
	CHECK(rc == 0 && !strcmp(out, "<|begin_of_text|><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"),
	      "gemma as jinja2%s%s", rc ? ": " : "", rc ? eb.msg : "");
	free(out);
	refuse(MISTRAL, BN_EINVAL, "chat template: Conversation roles must alternate");
	rc = render(bn_chat_template_bitnet, M, 0, 1, &out, &eb);
	CHECK(rc == 0 && !strcmp(out, "Assistant: "), "no messages");
	free(out);

	refuse("{% macro x() %}{% endmacro %}", BN_EUNSUP, "unsupported chat template construct 'macro'");
	refuse("{{ range(3) }}", BN_EUNSUP, "unsupported chat template construct");
	refuse("{{ 'a' if x else 'b' }}", BN_EUNSUP, "'inline if'");
	refuse("{{ x | tojson }}", BN_EUNSUP, "'tojson'");
	refuse("{% for m in messages %}", BN_EFORMAT, "missing 'endfor'");
	refuse("{% if 1 %}a{% else %}b", BN_EFORMAT, "missing 'endif'");
	refuse("{% endif %}", BN_EFORMAT, "unexpected 'endif'");
	refuse("a\nb {{ 'x }}", BN_EFORMAT, "line 2: unterminated");
	refuse("{{ raise_exception('no ' + messages[0].role) }}", BN_EINVAL, "chat template: no system");
	refuse("{{ messages[9] }}", BN_EINVAL, "out of range");
	refuse("{{ 1 + 'a' }}", BN_EINVAL, "cannot apply '+'");
	refuse("{{ messages }}", BN_EUNSUP, "cannot print a list");
	refuse("{{ 1 % 0 }}", BN_EINVAL, "division or modulo by zero");
	refuse("{{ 1125899906842623 * 1125899906842623 * 16 }}", BN_ERANGE, "integer overflow in '*'");
	refuse("{{ 3 / 2 }}", BN_EUNSUP, "construct '/'");
	refuse("{{ 3 ** 2 }}", BN_EUNSUP, "construct '**'");
	refuse("{{ 'a' is odd }}", BN_EINVAL, "'odd' of a string");
	memcpy(deep, "{{", 2);
	memset(deep + 2, '(', 300);
	strcpy(deep + 302, "1 }}");
	refuse(deep, BN_ERANGE, "nested too deeply");
	for (i = 0; i < 39; i++)
		memcpy(deep + i * 10, "{% if 1 %}", 10);
	deep[390] = 0;
	refuse(deep, BN_ERANGE, "blocks nested too deeply");
	memset(deep, '-', 390);
	memcpy(deep, "{{", 2);
	strcpy(deep + 390, "1}}");
	refuse(deep, BN_ERANGE, "nested too deeply");
	return unit_done();
}
