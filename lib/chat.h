/* chat.h - chat templates: the Jinja subset that model chat templates use.
 *
 * A template is parsed once into a tree (bn_chat_tmpl_parse) and rendered
 * for a conversation (bn_chat_render), as transformers' apply_chat_template
 * does with jinja2 (trim_blocks and lstrip_blocks on).  Supported:
 *
 *   text, {{ expr }}, {# comments #}, whitespace control {%- -%} {{- -}}
 *   {% for x in expr %}...{% endfor %}     (loop.first, .last, .index,
 *                                          .index0, .length)
 *   {% if expr %}...{% elif expr %}...{% else %}...{% endif %}
 *   {% set name = expr %}
 *   expressions: 'strings' "strings" (\n \t \' \" \\ escapes), integers,
 *   true/false/none (any case), names, x.attr, x['key'], x[i], x[a:b],
 *   + (strings: concatenation; integers: sum), - (integers), ~, ==, !=,
 *   < <= > >= (integers), and, or, not, in (substring / list member),
 *   ( ), x | trim / length / lower / upper, x is [not] defined / none /
 *   string, raise_exception('message')
 *
 * Variables: messages (a list of {role, content}), bos_token, eos_token,
 * add_generation_prompt.  Anything else is BN_EUNSUP "unsupported chat
 * template construct ...".  Limits: 64 KiB of template, nesting depth 32,
 * 16 MiB of output. */
#ifndef BN_CHAT_H
#define BN_CHAT_H

#include <stddef.h>

#include "bn.h"

/* The BitNet b1.58 2B4T template (tokenizer_config.json of
 * microsoft/bitnet-b1.58-2B-4T): "User: ...<|eot_id|>Assistant: ". */
extern const char bn_chat_template_bitnet[];

struct bn_chat_msg {
	const char *role;	/* borrowed, NUL-terminated */
	const char *content;
};

struct bn_chat_tmpl;

/* Parse src[0..len).  Allocates; free with bn_chat_tmpl_free().  Errors:
 * BN_EFORMAT (syntax, with the line), BN_EUNSUP, BN_ERANGE (limits). */
int bn_chat_tmpl_parse(struct bn_chat_tmpl **out, const char *src, size_t len,
		       struct bn_errbuf *eb);
void bn_chat_tmpl_free(struct bn_chat_tmpl *t);	/* NULL-safe */

/* Render for msgs[0..n).  Allocates *out (NUL-terminated); caller frees.
 * raise_exception() gives BN_EINVAL with its message. */
int bn_chat_render(const struct bn_chat_tmpl *t, const struct bn_chat_msg *msgs, int n,
		   const char *bos_token, const char *eos_token, int add_generation_prompt,
		   char **out, size_t *outlen, struct bn_errbuf *eb);

#endif
