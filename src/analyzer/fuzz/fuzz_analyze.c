/*
 * fuzz_analyze.c - libFuzzer target: sa_analyze() on arbitrary bytes, with
 * a small topic dictionary, checking the result's invariants (any failure
 * traps, so the fuzzer reports it like a crash).
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

static void
setup(void)
{
	static const char *const entries[][2] = {
		{"db", "postgres"}, {"db", "my sql"}, {"service", "customer support"},
		{"food", "caf\xC3\xA9"}, {"long", "a b c d e f g h i j k l m n o p"},
		{"a", "a"}, {"a", "a a"}, {"emoji", "\xF0\x9F\x98\x82"},
	};

	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK ||
		sa_topics_create(&topics) != SA_OK)
		abort();
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		if (sa_topics_add(topics, entries[i][0], strlen(entries[i][0]),
						  entries[i][1], strlen(entries[i][1]), 1.0 + i) != SA_OK)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sa_analysis a;
	double		n = 0.0;

	if (lex == NULL)
		setup();
	/* First byte chooses with or without the dictionary. */
	REQUIRE(sa_analyze(lex, size > 0 && (data[0] & 1) ? topics : NULL, ws,
					   (const char *) data, size, &a) == SA_OK);

	REQUIRE(isfinite(a.sentiment.compound) && fabs(a.sentiment.compound) <= 1.0);
	REQUIRE(a.emotion < SA_EMOTION_COUNT);
	REQUIRE(isfinite(a.emotion_score) && a.emotion_score > 0.0 && a.emotion_score <= 1.0);
	REQUIRE(a.n_topics <= SA_MAX_TOPICS);
	for (size_t i = 0; i < a.n_topics; i++)
	{
		REQUIRE(a.topics[i].key != NULL && a.topics[i].key_len > 0);
		REQUIRE(isfinite(a.topics[i].weight) && a.topics[i].weight > 0.0);
		REQUIRE(isfinite(a.topics[i].sentiment) && fabs(a.topics[i].sentiment) <= 1.0);
		/* keys must be readable (ASan checks the bytes) */
		n += (unsigned char) a.topics[i].key[a.topics[i].key_len - 1];
	}
	n = 0.0;
	for (int d = 0; d < SA_EMBEDDING_DIMS; d++)
	{
		REQUIRE(isfinite(a.embedding[d]));
		n += (double) a.embedding[d] * a.embedding[d];
	}
	REQUIRE(n == 0.0 || fabs(n - 1.0) < 1e-3);
	return 0;
}
