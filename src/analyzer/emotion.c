/*
 * emotion.c - Ekman emotion (plus neutral) of a text from the trained
 * linear model in emotion_model.c.
 *
 * The features are the trainer's (tools/train_emotion.py, which documents
 * them): tokens, 5-code-point stems of longer words, both marked when a
 * negation word precedes them within 3 tokens of the same clause, adjacent
 * token pairs, and "contains ! / ?".  Each feature that the model knows
 * adds its int8 weight row to 7 integer logits; the label is the arg max
 * (lowest class on ties, as the trainer), the score its softmax probability.
 * Integer logits make the C result bit-identical to the trainer's.
 */
#include <math.h>
#include <string.h>

#include "analysis_internal.h"

#define NEG_SCOPE		3
#define STEM_CHARS		5

#define K_BIGRAM		1
#define K_NEGATED		2
#define K_EXCLAIM		3
#define K_QUESTION		4
#define K_STEM			5
#define K_NEG_STEM		6

/* the weight rows have one spare lane */
_Static_assert(SA_EMOTION_COUNT == 7, "sa_emo_entry.w has 8 lanes");

static const char *const emotion_names[SA_EMOTION_COUNT] = {
	[SA_EMOTION_NEUTRAL] = "neutral",
	[SA_EMOTION_ANGER] = "anger",
	[SA_EMOTION_DISGUST] = "disgust",
	[SA_EMOTION_FEAR] = "fear",
	[SA_EMOTION_JOY] = "joy",
	[SA_EMOTION_SADNESS] = "sadness",
	[SA_EMOTION_SURPRISE] = "surprise",
};

const char *
sa_emotion_name(sa_emotion emotion)
{
	if ((int) emotion < 0 || emotion >= SA_EMOTION_COUNT)
		return "unknown";
	return emotion_names[emotion];
}

static inline uint32_t
combine(uint32_t a, uint32_t b, uint32_t kind)
{
	return sa_fmix32(a * 0x9E3779B1u + b + kind * 0x7F4A7C15u);
}

/* Add the weight row of feature key (if the model has it) to z. */
static inline void
add_feature(int64_t *restrict z, uint32_t key)
{
	uint32_t	mask = (1u << sa_emo_bits) - 1;
	uint32_t	slot;

	if (key == 0)
		key = 1;				/* 0 marks an empty slot */
	slot = (key * 0x9E3779B1u) >> (32 - sa_emo_bits);
	for (;;)
	{
		const sa_emo_entry *e = &sa_emo_table[slot];

		if (e->key == key)
		{
			for (int c = 0; c < 8; c++)
				z[c] += e->w[c];
			return;
		}
		if (e->key == 0)
			return;
		slot = (slot + 1) & mask;
	}
}

/*
 * VADER's negation words plus "no" (tools/train_emotion.py NEGATIONS), and
 * any word containing "n't".  Called for every token, so the list is
 * grouped by length and most words are rejected by that alone.
 */
static bool
is_negation(const char *w, size_t len)
{
	static const char *const by_len[10] = {
		[2] = "no",
		[3] = "nornot",
		[4] = "aintcantdontisntnonenopeuhuhwont",
		[5] = "arentdidnthadnthasntnevershantwasnt",
		[6] = "cannotdarentdoesnthaventmustntneedntrarelyseldomwerent",
		[7] = "couldntdespitemightntneithernothingnowhereoughtntwithoutwouldnt",
		[8] = "shouldnt",
	};
	const char *list;

	for (size_t i = 0; i + 2 < len; i++)
		if (w[i] == 'n' && w[i + 1] == '\'' && w[i + 2] == 't')
			return true;
	if (len < 2 || len > 8 || (list = by_len[len]) == NULL)
		return false;
	/* the first letter rules out nearly every word before memcmp */
	for (; *list != '\0'; list += len)
		if (list[0] == w[0] && memcmp(list + 1, w + 1, len - 1) == 0)
			return true;
	return false;
}

/* Byte length of the first n code points of a (valid UTF-8) token. */
static size_t
prefix_bytes(const char *s, size_t len, int n, bool *longer)
{
	size_t		pos = 0;

	for (int i = 0; i < n && pos < len; i++)
		(void) sa_utf8_next((const unsigned char *) s, len, &pos);
	*longer = pos < len;
	return pos;
}

void
sa_emotion_classify(const sa_scratch *sc, const char *text, size_t len,
					sa_emotion *label, double *score)
{
	int64_t		z[8];			/* 7 logits and the unused 8th lane */
	int			neg = 0;
	uint32_t	prev_h = 0;
	int			best;
	double		sum;

	if (sc->ntoks == 0)
	{
		/* Nothing to judge; certain there is no emotion to report. */
		*label = SA_EMOTION_NEUTRAL;
		*score = 1.0;
		return;
	}

	for (int c = 0; c < SA_EMOTION_COUNT; c++)
		z[c] = sa_emo_bias[c];
	z[7] = 0;

	for (size_t i = 0; i < sc->ntoks; i++)
	{
		const sa_token *t = &sc->toks[i];
		const char *w = sc->lower.data + t->off;
		uint32_t	h = t->hash;

		if (t->flags & SA_TOK_BREAK)
			neg = 0;
		add_feature(z, neg > 0 ? combine(h, 0, K_NEGATED) : h);
		if (!(t->flags & SA_TOK_SYMBOL) && t->len > STEM_CHARS)
		{
			bool		longer = true;
			size_t		pb = STEM_CHARS;	/* ASCII: code points are bytes */

			if (!(t->flags & SA_TOK_ASCII))
				pb = prefix_bytes(w, t->len, STEM_CHARS, &longer);
			if (longer)
				add_feature(z, combine(sa_fnv1a(w, pb), 0,
									   neg > 0 ? K_NEG_STEM : K_STEM));
		}
		if (i > 0 && !(t->flags & SA_TOK_BREAK))
			add_feature(z, combine(prev_h, h, K_BIGRAM));
		prev_h = h;
		if (neg > 0)
			neg--;
		if (is_negation(w, t->len))
			neg = NEG_SCOPE;
	}
	if (memchr(text, '!', len) != NULL)
		add_feature(z, combine(0, 0, K_EXCLAIM));
	if (memchr(text, '?', len) != NULL)
		add_feature(z, combine(0, 0, K_QUESTION));

	best = 0;
	for (int c = 1; c < SA_EMOTION_COUNT; c++)
		if (z[c] > z[best])
			best = c;

	/*
	 * Softmax probability of the winner.  Every exponent is <= 0, so the sum
	 * is in [1, 7] and the score in [1/7, 1]: never NaN, never above 1.
	 */
	sum = 0.0;
	for (int c = 0; c < SA_EMOTION_COUNT; c++)
		sum += exp((double) (z[c] - z[best]) / sa_emo_scale);
	*label = (sa_emotion) best;
	*score = 1.0 / sum;
}
