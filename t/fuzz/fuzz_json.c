/* fuzz_json.c - bn_json_parse (strict JSON: UTF-8, no trailing bytes, no
 * duplicate keys, nesting limited by cJSON), bn_json_raw_member on what it
 * accepts, and the message sanitizer on arbitrary bytes. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bn_errbuf eb = { "" };
	cJSON *j = bn_json_parse((const char *)data, size, 0, "fuzz.json", &eb);

	if (!j)
		fuzz_check_msg(BN_EFORMAT, &eb);
	if (cJSON_IsObject(j)) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
		size_t off, len;
		int found = bn_json_raw_member((const char *)data, size, "id", &off, &len);
		if (found != !!id || (found && (off + len > size || !len)))
			abort();
		if (found)	/* bounded on any span */
			(void)bn_json_number_ok((const char *)data + off, len);
	}
	cJSON_Delete(j);
	/* anything quoted into a message stays one line of valid UTF-8 */
	bn_fail(&eb, BN_EFORMAT, "fuzz: '%.*s'", (int)BN_MIN(size, (size_t)600), (const char *)data);
	fuzz_check_msg(BN_EFORMAT, &eb);
	return 0;
}
