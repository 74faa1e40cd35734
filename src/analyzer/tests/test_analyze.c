/*
 * test_analyze.c - sa_analyze() as a whole: argument and size errors (with
 * a cleared result), agreement with sa_sentiment_score(), determinism,
 * independence of workspaces, and hostile input (control characters, NUL
 * bytes, invalid UTF-8, the maximum size).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "check.h"

static sa_lexicon *lex;
static sa_workspace *ws;

/* Invariants every successful result must satisfy. */
static void
check_sane(const sa_analysis *a, const char *what)
{
	double		n = 0.0;
	bool		finite = true;

	for (int d = 0; d < SA_EMBEDDING_DIMS; d++)
	{
		finite = finite && isfinite(a->embedding[d]);
		n += (double) a->embedding[d] * a->embedding[d];
	}
	CHECK_MSG(finite && (n == 0.0 || fabs(n - 1.0) < 1e-4), "%s: |v|^2 = %f", what, n);
	CHECK_MSG(isfinite(a->sentiment.compound) && fabs(a->sentiment.compound) <= 1.0,
			  "%s: compound %f", what, a->sentiment.compound);
	CHECK_MSG(a->emotion >= SA_EMOTION_NEUTRAL && a->emotion < SA_EMOTION_COUNT &&
			  isfinite(a->emotion_score) && a->emotion_score > 0.0 && a->emotion_score <= 1.0,
			  "%s: emotion %d score %f", what, (int) a->emotion, a->emotion_score);
	CHECK_MSG(a->n_topics <= SA_MAX_TOPICS, "%s: %zu topics", what, a->n_topics);
	for (size_t i = 0; i < a->n_topics && i < SA_MAX_TOPICS; i++)
		CHECK_MSG(a->topics[i].key != NULL && a->topics[i].key_len > 0 &&
				  isfinite(a->topics[i].weight) && a->topics[i].weight > 0 &&
				  isfinite(a->topics[i].sentiment) && fabs(a->topics[i].sentiment) <= 1.0,
				  "%s: topic %zu", what, i);
}

/* Field by field: the struct has padding that memcmp would read. */
static bool
same_sentiment(const sa_sentiment *x, const sa_sentiment *y)
{
	return x->compound == y->compound && x->pos == y->pos && x->neu == y->neu &&
		x->neg == y->neg && x->label == y->label;
}

static bool
is_cleared(const sa_analysis *a)
{
	for (int d = 0; d < SA_EMBEDDING_DIMS; d++)
		if (a->embedding[d] != 0.0f)
			return false;
	return a->n_topics == 0 && a->emotion == SA_EMOTION_NEUTRAL &&
		a->sentiment.compound == 0.0 && a->sentiment.label == SA_LABEL_NEUTRAL;
}

/* Control characters, random bytes, the largest text and token; then txt as before. */
static void
test_hostile(const sa_topics *t, sa_workspace *ws2, const char *txt)
{
	static sa_analysis a,
				b;

	/* ---- hostile input ---- */
	{
		const char	ctrl[] = "bad\x01\x02\x1b[31m text\0with NUL\x7f\xC2\x85 #tag\0#x";

		CHECK(sa_analyze(lex, t, ws, ctrl, sizeof(ctrl) - 1, &a) == SA_OK);
		check_sane(&a, "control characters");
		CHECK(a.n_topics == 2);	/* #tag, and #x after the NUL */
	}
	{
		unsigned char junk[4096];
		uint32_t	x = 2463534242u;

		for (int round = 0; round < 50; round++)
		{
			for (size_t i = 0; i < sizeof(junk); i++)
			{
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				junk[i] = (unsigned char) x;
			}
			CHECK(sa_analyze(lex, t, ws, (const char *) junk, sizeof(junk), &a) == SA_OK);
			check_sane(&a, "random bytes");
		}
	}
	{
		/* Exactly the maximum size is accepted; one 4 MB token too. */
		static const char pat[] = "Great #deal, awful docs! but wow \xF0\x9F\x98\x82. ";
		char	   *big = malloc(SA_MAX_INPUT_BYTES);

		for (size_t i = 0; i < SA_MAX_INPUT_BYTES; i++)
			big[i] = pat[i % (sizeof(pat) - 1)];
		CHECK(sa_analyze(lex, t, ws, big, SA_MAX_INPUT_BYTES, &a) == SA_OK);
		check_sane(&a, "4 MB text");
		/* "deal" and "docs", each merged ~100k times (the cut may leave "#de") */
		CHECK(a.n_topics >= 2 && a.topics[0].key_len == 4 && memcmp(a.topics[0].key, "deal", 4) == 0 &&
			  a.topics[0].weight > 100000);
		CHECK(a.n_topics >= 2 && a.topics[1].key_len == 4 && memcmp(a.topics[1].key, "docs", 4) == 0);
		memset(big, 'z', SA_MAX_INPUT_BYTES);
		CHECK(sa_analyze(lex, t, ws, big, SA_MAX_INPUT_BYTES, &a) == SA_OK);
		check_sane(&a, "4 MB token");
		free(big);
		/* ... and the next small text is analysed as before */
		CHECK(sa_analyze(lex, t, ws, txt, strlen(txt), &a) == SA_OK);
		CHECK(sa_analyze(lex, t, ws2, txt, strlen(txt), &b) == SA_OK);
		CHECK(memcmp(a.embedding, b.embedding, sizeof(a.embedding)) == 0 && a.n_topics == b.n_topics);
	}
}

int
main(void)
{
	static sa_analysis a,
				b;
	sa_workspace *ws2;
	sa_topics  *t;
	const char *txt = "I love #Postgres!!! :) but the docs are awful";
	const char *samples[] = {
		"", " ", "I love it!!! :)", "The food was NOT good, but the staff were great.",
		"\xF0\x9F\x98\x82\xF0\x9F\x98\x82 so funny", "#one #two #three",
		"Caf\xC3\xA9 \xC3\x9C\x62\x65r STRASSE \xCE\xA3\xCE\xA3", "no", "kind of ok?",
	};

	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK ||
		sa_workspace_create(&ws2) != SA_OK || sa_topics_create(&t) != SA_OK)
		return 1;
	CHECK(sa_topics_add(t, "docs", 4, "docs", 4, 1.0) == SA_OK);

	/* ---- errors: a code, and a cleared result ---- */
	CHECK(sa_analyze(lex, t, ws, txt, strlen(txt), NULL) == SA_ERR_ARGUMENT);
	memset(&a, 0x7F, sizeof(a));
	CHECK(sa_analyze(NULL, t, ws, txt, strlen(txt), &a) == SA_ERR_ARGUMENT);
	CHECK(is_cleared(&a));
	memset(&a, 0x7F, sizeof(a));
	CHECK(sa_analyze(lex, t, NULL, txt, strlen(txt), &a) == SA_ERR_ARGUMENT);
	CHECK(is_cleared(&a));
	memset(&a, 0x7F, sizeof(a));
	CHECK(sa_analyze(lex, t, ws, NULL, 5, &a) == SA_ERR_ARGUMENT);
	CHECK(is_cleared(&a));
	memset(&a, 0x7F, sizeof(a));
	/* checked before anything is read, so a short buffer is safe here */
	CHECK(sa_analyze(lex, t, ws, txt, SA_MAX_INPUT_BYTES + 1, &a) == SA_ERR_TOO_LONG);
	CHECK(is_cleared(&a));
	/* NULL with length 0 is the empty text */
	CHECK(sa_analyze(lex, t, ws, NULL, 0, &a) == SA_OK);
	CHECK(is_cleared(&a) && a.emotion_score == 1.0);

	/* ---- one call fills everything ---- */
	CHECK(sa_analyze(lex, t, ws, txt, strlen(txt), &a) == SA_OK);
	check_sane(&a, txt);
	{
		sa_sentiment s;

		CHECK(sa_sentiment_score(lex, ws2, txt, strlen(txt), &s) == SA_OK);
		CHECK(same_sentiment(&s, &a.sentiment));
	}
	CHECK(a.n_topics == 2);
	CHECK(a.n_topics == 2 && a.topics[0].key_len == 8 && memcmp(a.topics[0].key, "postgres", 8) == 0);
	CHECK(a.n_topics == 2 && a.topics[0].sentiment > 0 && a.topics[1].sentiment < 0);
	CHECK(a.emotion != SA_EMOTION_NEUTRAL);

	/* Sentiment inside sa_analyze is exactly sa_sentiment_score's. */
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
	{
		sa_sentiment s;

		CHECK(sa_analyze(lex, t, ws, samples[i], strlen(samples[i]), &a) == SA_OK);
		check_sane(&a, samples[i]);
		CHECK(sa_sentiment_score(lex, ws2, samples[i], strlen(samples[i]), &s) == SA_OK);
		CHECK_MSG(same_sentiment(&s, &a.sentiment), "sentiment differs for \"%s\"", samples[i]);
	}

	/* Deterministic, and workspaces are independent of each other. */
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
	{
		CHECK(sa_analyze(lex, t, ws, samples[i], strlen(samples[i]), &a) == SA_OK);
		CHECK(sa_analyze(lex, t, ws2, samples[i], strlen(samples[i]), &b) == SA_OK);
		CHECK(same_sentiment(&a.sentiment, &b.sentiment) &&
			  a.emotion == b.emotion && a.emotion_score == b.emotion_score &&
			  a.n_topics == b.n_topics &&
			  memcmp(a.embedding, b.embedding, sizeof(a.embedding)) == 0);
		for (size_t k = 0; k < a.n_topics && k < b.n_topics; k++)
			CHECK(a.topics[k].key_len == b.topics[k].key_len &&
				  memcmp(a.topics[k].key, b.topics[k].key, a.topics[k].key_len) == 0 &&
				  a.topics[k].weight == b.topics[k].weight &&
				  a.topics[k].sentiment == b.topics[k].sentiment);
	}

	test_hostile(t, ws2, txt);

	sa_topics_destroy(t);
	sa_workspace_destroy(ws2);
	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return check_report("test_analyze");
}
