/* fuzz_model.c - bn_model_open_mem on arbitrary bytes (a GGUF image); a
 * model that loads is run: embedding rows, a state, two tokens through the
 * forward pass (when small enough to keep the fuzzer fast). */
#include "forward.h"
#include "fuzz.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bn_errbuf eb = { "" };
	struct bn_model m;
	struct bn_state *s;
	uint8_t *buf = malloc(size ? size : 1);
	int rc;

	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	rc = bn_model_open_mem(&m, buf, size, "fuzz.gguf", &eb);	/* owns buf */
	fuzz_check_msg(rc, &eb);
	if (rc < 0)
		return 0;
	if ((size_t)m.cfg.dim * (size_t)(m.cfg.ffn_dim + m.cfg.n_heads * m.cfg.head_dim) *
	    (size_t)m.cfg.n_layers <= (1u << 22)) {
		float *row = malloc((size_t)m.cfg.dim * sizeof(float));
		int32_t tok[2] = { 0, m.cfg.n_vocab - 1 };
		bn_dense_row(&m.embd, m.cfg.dim, m.cfg.n_vocab - 1, row);
		bn_dense_row(&m.head, m.cfg.dim, 0, row);
		free(row);
		rc = bn_state_new(&s, &m, BN_MIN(m.cfg.ctx_max, 4), 2, NULL, &eb);
		fuzz_check_msg(rc, &eb);
		if (rc == BN_OK) {
			rc = bn_eval(s, tok, 2, BN_LOGITS_ALL, NULL, NULL, &eb);
			fuzz_check_msg(rc, &eb);
			bn_state_free(s);
		}
	}
	bn_model_close(&m);
	return 0;
}
