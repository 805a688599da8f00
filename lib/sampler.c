/* sampler.c - the llama.cpp sampler chain (see sampler.h for the contract).
 *
 * Candidates live in one scratch array of {key, logit, p, id}.  Every ordering
 * step sorts by key descending, ties by lower id, with a heap selection that
 * costs O(n log k) for the k best (heapsort when k = n), so the default
 * top-k 40 never sorts the whole 128k vocabulary. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

#define N_VOCAB_MAX (1 << 24)

struct cand {
	float key;	/* the sort key: the logit, or -|surprise - entropy| */
	float logit;
	float p;	/* probability among the current candidates, or the draw's weight */
	int32_t id;
};

struct state_hdr {
	uint64_t key, step;
	int32_t len, head;
};

struct bn_sampler {
	struct bn_sampler_params p;
	int n_vocab;
	struct cand *cand;	/* [n_vocab] */
	int32_t *cnt;		/* [n_vocab] occurrence counts; all zero between calls */
	struct state_hdr st;
	int32_t *ring;		/* [repeat_last_n] history, oldest at (head - len) */
};

/* ==== randomness ==== */

uint64_t bn_fmix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t bn_seed_for_record(uint64_t seed, uint64_t rec)
{
	return bn_fmix64(seed ^ (rec * 0xd1342543de82ef95ull + 0x9e3779b97f4a7c15ull));
}

uint64_t bn_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return bn_fmix64(h);
}

double bn_rng_uniform(uint64_t key, uint64_t n)
{
	uint64_t x = bn_fmix64(key + (n + 1) * 0x9e3779b97f4a7c15ull);

	return (double)(x >> 11) * 0x1.0p-53;
}

/* ==== parameters, lifetime, history ==== */

void bn_sampler_params_default(struct bn_sampler_params *p)
{
	*p = (struct bn_sampler_params){
		.temp = 0.8f, .top_p = 0.95f, .min_p = 0.05f, .typical = 1.0f,
		.repeat_penalty = 1.0f, .freq_penalty = 0.0f, .presence_penalty = 0.0f,
		.top_k = 40, .repeat_last_n = 64, .seed = BN_SEED_DEFAULT,
	};
}

int bn_sampler_params_check(const struct bn_sampler_params *p, struct bn_errbuf *eb)
{
	static const struct { const char *name; size_t off; } f[] = {
		{ "temp", offsetof(struct bn_sampler_params, temp) },
		{ "top_p", offsetof(struct bn_sampler_params, top_p) },
		{ "min_p", offsetof(struct bn_sampler_params, min_p) },
		{ "typical", offsetof(struct bn_sampler_params, typical) },
		{ "repeat_penalty", offsetof(struct bn_sampler_params, repeat_penalty) },
		{ "freq_penalty", offsetof(struct bn_sampler_params, freq_penalty) },
		{ "presence_penalty", offsetof(struct bn_sampler_params, presence_penalty) },
	};
	size_t i;

	for (i = 0; i < BN_LEN(f); i++) {
		float v;
		memcpy(&v, (const char *)p + f[i].off, sizeof(v));
		if (!isfinite(v))
			return bn_fail(eb, BN_EINVAL, "sampler: %s is not a finite number", f[i].name);
	}
	if (!(p->repeat_penalty > 0))
		return bn_fail(eb, BN_EINVAL, "sampler: repeat_penalty %g is not positive",
			       (double)p->repeat_penalty);
	if (p->repeat_last_n < 0 || p->repeat_last_n > BN_REPEAT_LAST_N_MAX)
		return bn_fail(eb, BN_EINVAL, "sampler: repeat_last_n %d outside 0..%d",
			       p->repeat_last_n, BN_REPEAT_LAST_N_MAX);
	return BN_OK;
}

int bn_sampler_new(struct bn_sampler **out, const struct bn_sampler_params *p, int n_vocab)
{
	struct bn_sampler *s;

	*out = NULL;
	if (n_vocab < 1 || n_vocab > N_VOCAB_MAX || bn_sampler_params_check(p, NULL) < 0)
		return BN_EINVAL;
	if (!(s = calloc(1, sizeof(*s))))
		return BN_ENOMEM;
	s->p = *p;
	s->n_vocab = n_vocab;
	s->cand = malloc((size_t)n_vocab * sizeof(*s->cand));
	s->cnt = calloc((size_t)n_vocab, sizeof(*s->cnt));
	s->ring = malloc((size_t)(p->repeat_last_n ? p->repeat_last_n : 1) * sizeof(*s->ring));
	if (!s->cand || !s->cnt || !s->ring) {
		bn_sampler_free(s);
		return BN_ENOMEM;
	}
	bn_sampler_reset(s, 0);
	*out = s;
	return BN_OK;
}

void bn_sampler_free(struct bn_sampler *s)
{
	if (!s)
		return;
	free(s->cand);
	free(s->cnt);
	free(s->ring);
	free(s);
}

void bn_sampler_reset(struct bn_sampler *s, uint64_t stream)
{
	s->st.key = bn_seed_for_record(s->p.seed, stream);
	s->st.step = 0;
	s->st.len = s->st.head = 0;
}

void bn_sampler_accept(struct bn_sampler *s, int32_t id)
{
	int32_t cap = s->p.repeat_last_n;

	if (cap == 0 || id < 0 || id >= s->n_vocab)
		return;
	s->ring[s->st.head] = id;
	s->st.head = (s->st.head + 1) % cap;
	if (s->st.len < cap)
		s->st.len++;
}

size_t bn_sampler_state_size(const struct bn_sampler *s)
{
	return sizeof(struct state_hdr) + (size_t)s->p.repeat_last_n * sizeof(int32_t);
}

void bn_sampler_state_save(const struct bn_sampler *s, void *buf)
{
	memcpy(buf, &s->st, sizeof(s->st));
	memcpy((char *)buf + sizeof(s->st), s->ring, (size_t)s->p.repeat_last_n * sizeof(int32_t));
}

void bn_sampler_state_load(struct bn_sampler *s, const void *buf)
{
	memcpy(&s->st, buf, sizeof(s->st));
	memcpy(s->ring, (const char *)buf + sizeof(s->st), (size_t)s->p.repeat_last_n * sizeof(int32_t));
}

/* ==== ordering: heap selection of the k best by (key desc, id asc) ==== */

static inline int better(const struct cand *a, const struct cand *b)
{
	return a->key > b->key || (a->key == b->key && a->id < b->id);
}

/* Min-heap (worst candidate at the root) over h[0..n). */
static void sift_down(struct cand *h, size_t n, size_t i)
{
	struct cand x = h[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && better(&h[c], &h[c + 1]))
			c++;
		if (!better(&x, &h[c]))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

/* Permute c[0..n) so that c[0..k) holds the k best, sorted best first. */
static void select_best(struct cand *c, size_t n, size_t k)
{
	size_t i;

	if (k == 0)
		return;
	for (i = k / 2; i-- > 0;)
		sift_down(c, k, i);
	for (i = k; i < n; i++) {
		if (better(&c[i], &c[0])) {
			struct cand t = c[0];
			c[0] = c[i];
			c[i] = t;
			sift_down(c, k, 0);
		}
	}
	for (i = k; i-- > 1;) {	/* heapsort: the worst goes to the end */
		struct cand t = c[0];
		c[0] = c[i];
		c[i] = t;
		sift_down(c, i, 0);
	}
}

/* ==== the chain ==== */

static inline float sane(float x)
{
	if (isnan(x))
		return -INFINITY;
	return x == INFINITY ? FLT_MAX : x;
}

static void apply_penalties(struct bn_sampler *s, float *logits)
{
	const struct bn_sampler_params *p = &s->p;
	int32_t cap = p->repeat_last_n, i, n = s->st.len, first;

	if (n == 0 || (p->repeat_penalty == 1.0f && p->freq_penalty == 0.0f &&
		       p->presence_penalty == 0.0f))
		return;
	first = (s->st.head - n + cap) % cap;
	for (i = 0; i < n; i++)
		s->cnt[s->ring[(first + i) % cap]]++;
	for (i = 0; i < n; i++) {
		int32_t id = s->ring[(first + i) % cap], c = s->cnt[id];
		float *l = &logits[id];
		if (c == 0)
			continue;	/* already done */
		if (*l <= 0)
			*l *= p->repeat_penalty;
		else
			*l /= p->repeat_penalty;
		*l -= (float)c * p->freq_penalty + p->presence_penalty;
		s->cnt[id] = 0;
	}
}

/* Softmax of cand[0..n).logit at temperature 1 into cand[].p.  All -inf
 * gives a uniform result. */
static void softmax(struct bn_sampler *s, size_t n)
{
	float mx = -INFINITY;
	double sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		mx = s->cand[i].logit > mx ? s->cand[i].logit : mx;
	for (i = 0; i < n; i++) {
		float e = mx == -INFINITY ? 1.0f : expf(s->cand[i].logit - mx);
		s->cand[i].p = e;
		sum += e;
	}
	for (i = 0; i < n; i++)
		s->cand[i].p = (float)(s->cand[i].p / sum);
}

/* The shortest prefix of cand[0..n) in key order whose mass cand[].p
 * reaches mass (closed: >=, else >).  Unless already sorted, it sorts only
 * as long a prefix as it needs: the 64 best, then 8 times more each round;
 * the best m in a total order begin with the best m/8, so the running sum
 * carries over. */
static size_t nucleus(struct bn_sampler *s, size_t n, double mass, int closed, int sorted)
{
	size_t i = 0, m = sorted ? n : BN_MIN(n, 64);
	double cum = 0;

	for (;;) {
		if (!sorted)
			select_best(s->cand, n, m);
		for (; i < m; i++) {
			cum += s->cand[i].p;
			if (closed ? cum >= mass : cum > mass)
				return i + 1;
		}
		if (m == n)
			return n;
		m = BN_MIN(n, m * 8);
	}
}

/* Locally typical sampling (Meister et al.), as llama.cpp: order by
 * |-log p - H| ascending, keep the prefix whose mass first exceeds typical. */
static size_t typical(struct bn_sampler *s, size_t n)
{
	double ent = 0;
	size_t i;

	softmax(s, n);
	for (i = 0; i < n; i++)
		if (s->cand[i].p > 0)
			ent -= s->cand[i].p * log(s->cand[i].p);
	for (i = 0; i < n; i++) {
		double sur = s->cand[i].p > 0 ? -log(s->cand[i].p) : INFINITY;
		s->cand[i].key = -(float)fabs(sur - ent);
	}
	return nucleus(s, n, s->p.typical, 0, 0);
}

/* Top-p: the highest-first prefix whose mass reaches top_p. */
static size_t top_p(struct bn_sampler *s, size_t n, int sorted)
{
	size_t i;

	if (!sorted)
		for (i = 0; i < n; i++)
			s->cand[i].key = s->cand[i].logit;
	softmax(s, n);
	return nucleus(s, n, s->p.top_p, 1, sorted);
}

static size_t min_p(struct bn_sampler *s, size_t n)
{
	float mx = -INFINITY, lim;
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		mx = s->cand[i].logit > mx ? s->cand[i].logit : mx;
	lim = mx + logf(s->p.min_p);
	for (i = 0; i < n; i++)
		if (s->cand[i].logit >= lim)
			s->cand[k++] = s->cand[i];
	if (k == 0) {	/* min_p > 1: as llama.cpp, the best token stays */
		for (i = 0; i < n; i++)
			s->cand[i].key = s->cand[i].logit;
		select_best(s->cand, n, 1);
		k = 1;
	}
	return k;
}

/* The draw's weights exp((l - max) / temp) into cand[0..n).p; returns their sum. */
static double weights(struct bn_sampler *s, size_t n)
{
	float mx = -INFINITY, t = s->p.temp;
	double sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		mx = s->cand[i].logit > mx ? s->cand[i].logit : mx;
	for (i = 0; i < n; i++) {
		float e = mx == -INFINITY ? 1.0f : expf((s->cand[i].logit - mx) / t);
		s->cand[i].p = e;
		sum += e;
	}
	return sum;
}

static int32_t draw(struct bn_sampler *s, size_t n, double u)
{
	double acc = 0;
	size_t i;

	u *= weights(s, n);
	for (i = 0; i < n; i++) {
		acc += s->cand[i].p;
		if (u < acc)
			return s->cand[i].id;
	}
	for (i = n; i-- > 0;)	/* rounding left u at the top: last nonzero */
		if (s->cand[i].p > 0)
			return s->cand[i].id;
	return s->cand[0].id;
}

/* Penalties and truncation: the survivors in cand[0..return). */
static size_t chain(struct bn_sampler *s, float *logits)
{
	const struct bn_sampler_params *p = &s->p;
	size_t n = (size_t)s->n_vocab, i;
	int sorted = 0;

	apply_penalties(s, logits);
	if (p->temp <= 0) {
		int32_t best = 0;
		float bl = sane(logits[0]);
		for (i = 1; i < n; i++) {
			float l = sane(logits[i]);
			if (l > bl) {
				bl = l;
				best = (int32_t)i;
			}
		}
		s->cand[0] = (struct cand){ .key = bl, .logit = bl, .id = best };
		return 1;
	}
	for (i = 0; i < n; i++) {
		float l = sane(logits[i]);
		s->cand[i] = (struct cand){ .key = l, .logit = l, .id = (int32_t)i };
	}
	if (p->top_k > 0 && (size_t)p->top_k < n) {
		select_best(s->cand, n, (size_t)p->top_k);
		n = (size_t)p->top_k;
		sorted = 1;
	}
	if (p->typical < 1.0f && n > 1) {
		n = typical(s, n);
		sorted = 0;
	}
	if (p->top_p < 1.0f && n > 1) {
		n = top_p(s, n, sorted);
		sorted = 1;
	}
	if (p->min_p > 0.0f && n > 1)
		n = min_p(s, n);
	return n;
}

int32_t bn_sampler_sample(struct bn_sampler *s, float *logits)
{
	double u = bn_rng_uniform(s->st.key, s->st.step++);
	size_t n = chain(s, logits);

	return s->p.temp <= 0 ? s->cand[0].id : draw(s, n, u);
}

int bn_sampler_apply(struct bn_sampler *s, float *logits, int32_t *ids, float *probs)
{
	size_t n = chain(s, logits), i;
	double sum = s->p.temp <= 0 ? 1 : weights(s, n);

	if (s->p.temp <= 0)
		s->cand[0].p = 1;
	for (i = 0; i < n; i++) {
		ids[i] = s->cand[i].id;
		probs[i] = (float)(s->cand[i].p / sum);
	}
	return (int)n;
}

/* ==== log-probabilities ==== */

double bn_logsumexp(const float *x, int n)
{
	float mx = -INFINITY;
	double sum = 0;
	int i;

	for (i = 0; i < n; i++)
		mx = sane(x[i]) > mx ? sane(x[i]) : mx;
	if (mx == -INFINITY)
		return -INFINITY;
	for (i = 0; i < n; i++)
		sum += exp((double)sane(x[i]) - mx);
	return mx + log(sum);
}

/* Min-heap of ids (worst at the root) ordered by (logit desc, id asc). */
static inline int id_better(const float *x, int32_t a, int32_t b)
{
	float la = sane(x[a]), lb = sane(x[b]);

	return la > lb || (la == lb && a < b);
}

static void id_sift_down(const float *x, int32_t *h, int n, int i)
{
	int32_t v = h[i];

	for (;;) {
		int c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && id_better(x, h[c], h[c + 1]))
			c++;
		if (!id_better(x, v, h[c]))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = v;
}

int bn_sampler_topk_logprobs(const float *logits, int n_vocab, int k, int32_t *ids, float *lp)
{
	double lse;
	int i;

	if (n_vocab < 1 || k < 0 || !logits || (k && (!ids || !lp)))
		return BN_EINVAL;
	k = BN_MIN(k, n_vocab);
	if (k == 0)
		return 0;
	for (i = 0; i < k; i++)
		ids[i] = i;
	for (i = k / 2; i-- > 0;)
		id_sift_down(logits, ids, k, i);
	for (i = k; i < n_vocab; i++) {
		if (id_better(logits, i, ids[0])) {
			ids[0] = i;
			id_sift_down(logits, ids, k, 0);
		}
	}
	for (i = k; i-- > 1;) {
		int32_t t = ids[0];
		ids[0] = ids[i];
		ids[i] = t;
		id_sift_down(logits, ids, i, 0);
	}
	lse = bn_logsumexp(logits, n_vocab);
	for (i = 0; i < k; i++)
		lp[i] = lse == -INFINITY ? (float)-log((double)n_vocab)
					 : (float)(sane(logits[ids[i]]) - lse);
	return k;
}
