/*
 * fuzz_pipeline.c - libFuzzer target: the state a worker holds, built from
 * untrusted rows, then used on untrusted text.  The input is three sections
 * separated by NUL bytes:
 *
 *   overrides   lines "term TAB valence" (the user's lexicon table)
 *   dictionary  lines "key TAB phrase TAB weight" (the topic dictionary)
 *   text        analysed with both, twice on the reused workspace
 *
 * Every override and entry is accepted or refused with SA_ERR_SYNTAX or
 * SA_ERR_ARGUMENT; the analysis always succeeds, stays within the documented
 * ranges, and gives bit-identical results both times (no state leaks from
 * one call into the next).  fuzz_lexicon and fuzz_topics check each parser
 * alone; this one checks them combined, with scoring and topic sentiment
 * seeing the overridden valences.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static sa_workspace *ws;

/* strtod on a bounded, NUL-terminated copy; unparsable is 1.0 */
static double
number(const char *s, size_t len)
{
	char		buf[40];
	char	   *end;
	double		v;

	if (len == 0 || len >= sizeof(buf))
		return 1.0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, &end);
	return end == buf ? 1.0 : v;
}

/* Next line of [*s, end): sets line and its length, advances *s. */
static int
next_line(const char **s, const char *end, const char **line, size_t *len)
{
	const char *nl;

	if (*s >= end)
		return 0;
	nl = memchr(*s, '\n', (size_t) (end - *s));
	*line = *s;
	*len = (size_t) ((nl ? nl : end) - *s);
	*s = nl ? nl + 1 : end;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	const char *end = s + size;
	const char *sec1 = memchr(s, '\0', size);
	const char *sec2 = sec1 ? memchr(sec1 + 1, '\0', (size_t) (end - sec1 - 1)) : NULL;
	const char *line;
	size_t		len;
	sa_lexicon *lex;
	sa_topics  *topics;
	static sa_analysis a,
				b;
	/* topic keys are at most 128 bytes (hashtags and dictionary keys) */
	static char keys[SA_MAX_TOPICS][128];

	if (sec1 == NULL || sec2 == NULL)
		return 0;
	if (ws == NULL && sa_workspace_create(&ws) != SA_OK)
		abort();
	if (sa_lexicon_create(&lex) != SA_OK || sa_topics_create(&topics) != SA_OK)
		abort();

	/* overrides */
	while (next_line(&s, sec1, &line, &len))
	{
		const char *tab = memchr(line, '\t', len);
		sa_error	err;

		if (tab == NULL)
			err = sa_lexicon_remove(lex, line, len);
		else
			err = sa_lexicon_set(lex, line, (size_t) (tab - line),
								 number(tab + 1, len - (size_t) (tab - line) - 1));
		REQUIRE(err == SA_OK || err == SA_ERR_SYNTAX || err == SA_ERR_ARGUMENT);
	}

	/* dictionary */
	s = sec1 + 1;
	while (next_line(&s, sec2, &line, &len))
	{
		const char *tab1 = memchr(line, '\t', len);
		const char *tab2;
		const char *line_end = line + len;
		double		weight = 1.0;
		sa_error	err;

		if (tab1 == NULL)
			continue;
		tab2 = memchr(tab1 + 1, '\t', (size_t) (line_end - tab1 - 1));
		if (tab2 != NULL)
			weight = number(tab2 + 1, (size_t) (line_end - tab2 - 1));
		err = sa_topics_add(topics, line, (size_t) (tab1 - line), tab1 + 1,
							(size_t) ((tab2 ? tab2 : line_end) - tab1 - 1), weight);
		REQUIRE(err == SA_OK || err == SA_ERR_SYNTAX || err == SA_ERR_ARGUMENT);
	}

	/* text, twice; a's keys are copied first (they live until the next call) */
	s = sec2 + 1;
	REQUIRE(sa_analyze(lex, topics, ws, s, (size_t) (end - s), &a) == SA_OK);

	REQUIRE(isfinite(a.sentiment.compound) && fabs(a.sentiment.compound) <= 1.0);
	REQUIRE(a.sentiment.pos >= 0.0 && a.sentiment.neu >= 0.0 && a.sentiment.neg >= 0.0);
	REQUIRE(a.emotion < SA_EMOTION_COUNT);
	REQUIRE(isfinite(a.emotion_score) && a.emotion_score > 0.0 && a.emotion_score <= 1.0);
	REQUIRE(a.n_topics <= SA_MAX_TOPICS);
	for (size_t i = 0; i < a.n_topics; i++)
	{
		REQUIRE(a.topics[i].key != NULL && a.topics[i].key_len > 0 &&
				a.topics[i].key_len <= sizeof(keys[i]));
		REQUIRE(isfinite(a.topics[i].weight) && a.topics[i].weight > 0.0);
		REQUIRE(isfinite(a.topics[i].sentiment) && fabs(a.topics[i].sentiment) <= 1.0);
		memcpy(keys[i], a.topics[i].key, a.topics[i].key_len);
	}

	REQUIRE(sa_analyze(lex, topics, ws, s, (size_t) (end - s), &b) == SA_OK);
	REQUIRE(memcmp(&a.sentiment, &b.sentiment, sizeof(a.sentiment)) == 0);
	REQUIRE(a.emotion == b.emotion && a.emotion_score == b.emotion_score);
	REQUIRE(a.n_topics == b.n_topics);
	for (size_t i = 0; i < a.n_topics; i++)
		REQUIRE(a.topics[i].key_len == b.topics[i].key_len &&
				memcmp(keys[i], b.topics[i].key, b.topics[i].key_len) == 0 &&
				a.topics[i].weight == b.topics[i].weight &&
				a.topics[i].sentiment == b.topics[i].sentiment);
	REQUIRE(memcmp(a.embedding, b.embedding, sizeof(a.embedding)) == 0);

	sa_topics_destroy(topics);
	sa_lexicon_destroy(lex);
	return 0;
}
