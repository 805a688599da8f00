/* fuzz_json.c - bn_json_parse (strict JSON: UTF-8, no trailing bytes, no
 * duplicate keys, nesting limited by cJSON) and the message sanitizer on
 * arbitrary bytes. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bn_errbuf eb = { "" };
	cJSON *j = bn_json_parse((const char *)data, size, 0, "fuzz.json", &eb);

	if (!j)
		fuzz_check_msg(BN_EFORMAT, &eb);
	cJSON_Delete(j);
	/* anything quoted into a message stays one line of valid UTF-8 */
	bn_fail(&eb, BN_EFORMAT, "fuzz: '%.*s'", (int)BN_MIN(size, (size_t)600), (const char *)data);
	fuzz_check_msg(BN_EFORMAT, &eb);
	return 0;
}
