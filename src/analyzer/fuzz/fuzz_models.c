/*
 * fuzz_models.c - libFuzzer target for the trained models' paths: social
 * sentiment, the full analysis with it, language identification and the
 * multilingual model, and sa_explain() for every model (the emotion of the
 * social analysis, read in one pass with social's features, the same as
 * VADER's),
 * on arbitrary bytes.  The first byte picks k for explain; invariants that
 * fail trap, so the fuzzer reports them like a crash.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"

static sa_lexicon *lex;
static sa_workspace *ws;
static sa_topics *topics;

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sa_analysis a;
	static sa_explain_item items[SA_EXPLAIN_MAX_ITEMS];
	const char *text = (const char *) data;
	sa_sentiment s;
	size_t		k = size > 0 ? data[0] % (SA_EXPLAIN_MAX_ITEMS + 1) : 3;
	size_t		n = 0;
	volatile unsigned sink = 0;

	if (lex == NULL)
	{
		if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK ||
			sa_topics_create(&topics) != SA_OK ||
			sa_topics_add(topics, "db", 2, "postgres", 8, 1.0) != SA_OK ||
			sa_topics_add(topics, "x", 1, "a b", 3, 2.0) != SA_OK)
			abort();
	}

	REQUIRE(sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, text, size, &s) == SA_OK);
	REQUIRE(s.neg >= 0 && s.neu >= 0 && s.pos >= 0 && fabs(s.neg + s.neu + s.pos - 1) < 1e-9);
	REQUIRE(s.compound == s.pos - s.neg && s.label >= SA_LABEL_NEGATIVE && s.label <= SA_LABEL_POSITIVE);

	REQUIRE(sa_analyze_model(lex, size & 1 ? topics : NULL, ws, SA_MODEL_SOCIAL, text, size, &a) == SA_OK);
	REQUIRE(a.sentiment.compound == s.compound);
	REQUIRE(a.emotion < SA_EMOTION_COUNT && a.emotion_score > 0 && a.emotion_score <= 1);
	for (size_t i = 0; i < a.n_topics; i++)
		REQUIRE(isfinite(a.topics[i].sentiment) && fabs(a.topics[i].sentiment) <= 1.0);
	/* social's analysis reads the emotion in the same pass as its own features */
	{
		static sa_analysis v;

		REQUIRE(sa_analyze_model(lex, NULL, ws, SA_MODEL_VADER, text, size, &v) == SA_OK);
		REQUIRE(v.emotion == a.emotion && v.emotion_score == a.emotion_score);
	}

	/* language identification and the multilingual model */
	{
		const char *code = NULL;

		REQUIRE(sa_language_identify(text, size, &code) == SA_OK && code != NULL &&
				(strlen(code) == 2 || strcmp(code, "und") == 0));
		REQUIRE(sa_analyze_model(lex, size & 2 ? topics : NULL, ws, SA_MODEL_MULTILINGUAL, text, size,
								 &a) == SA_OK);
		REQUIRE(strcmp(a.language, code) == 0);
		REQUIRE(a.emotion == SA_EMOTION_NONE ? a.emotion_score == 0 :
				(a.emotion < SA_EMOTION_COUNT && a.emotion_score > 0 && a.emotion_score <= 1));
		REQUIRE(a.sentiment.neg >= 0 && a.sentiment.pos >= 0 &&
				fabs(a.sentiment.neg + a.sentiment.neu + a.sentiment.pos - 1) < 1e-9);
	}

	for (int m = 0; m < SA_MODEL_COUNT; m++)
	{
		REQUIRE(sa_explain(lex, ws, (sa_model) m, text, size, items, k, &n) == SA_OK);
		REQUIRE(n <= k);
		for (size_t i = 0; i < n; i++)
		{
			REQUIRE(items[i].term != NULL && items[i].term_len > 0);
			REQUIRE(isfinite(items[i].contribution) && items[i].contribution != 0);
			REQUIRE(i == 0 || fabs(items[i - 1].contribution) >= fabs(items[i].contribution));
			/* terms must be readable (ASan checks the bytes) */
			sink += (unsigned char) items[i].term[0] + (unsigned char) items[i].term[items[i].term_len - 1];
		}
	}
	(void) sink;
	return 0;
}
