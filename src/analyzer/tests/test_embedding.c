/*
 * test_embedding.c - the 256-dim hashed embedding through sa_analyze():
 * unit length, zero for token-free input, determinism, no NaN, and that it
 * ranks similar texts above unrelated ones.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "check.h"

static sa_lexicon *lex;
static sa_workspace *ws;

static void
embed(const char *text, size_t len, float *out)
{
	static sa_analysis a;

	CHECK(sa_analyze(lex, NULL, ws, text, len, &a) == SA_OK);
	memcpy(out, a.embedding, sizeof(a.embedding));
}

static double
dot(const float *a, const float *b)
{
	double		s = 0;

	for (int d = 0; d < SA_EMBEDDING_DIMS; d++)
		s += (double) a[d] * b[d];
	return s;
}

static bool
all_finite(const float *v)
{
	for (int d = 0; d < SA_EMBEDDING_DIMS; d++)
		if (!isfinite(v[d]))
			return false;
	return true;
}

static bool
all_zero(const float *v)
{
	for (int d = 0; d < SA_EMBEDDING_DIMS; d++)
		if (v[d] != 0.0f)
			return false;
	return true;
}

static double
cosine_of(const char *x, const char *y)
{
	float		a[SA_EMBEDDING_DIMS],
				b[SA_EMBEDDING_DIMS];

	embed(x, strlen(x), a);
	embed(y, strlen(y), b);
	return dot(a, b);
}

int
main(void)
{
	float		a[SA_EMBEDDING_DIMS],
				b[SA_EMBEDDING_DIMS];
	const char *texts[] = {
		"A woman is slicing an onion.", "x", "\xF0\x9F\x98\x82", "#PostgreSQL rocks",
		"\xC3\x89t\xC3\xA9 \xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0 \xE6\x95\xB0\xE6\x8D\xAE",
		"\xFF\xFE invalid \xC0\x80 bytes", "a\xCC\x81\xCC\x81\xCC\x81",
	};

	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK)
		return 1;

	CHECK(SA_EMBEDDING_DIMS == 256);

	/* Texts with tokens: unit length, finite. */
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		embed(texts[i], strlen(texts[i]), a);
		CHECK_MSG(all_finite(a), "NaN/inf for text %zu", i);
		CHECK_MSG(fabs(dot(a, a) - 1.0) < 1e-5, "text %zu: |v|^2 = %f", i, dot(a, a));
	}

	/* No tokens at all: the zero vector (never NaN from 0/0). */
	embed("", 0, a);
	CHECK(all_zero(a));
	embed(NULL, 0, a);
	CHECK(all_zero(a));
	embed("  ... !!! ,,, ???  ", 19, a);
	CHECK(all_zero(a));

	/* Deterministic, also across other calls in between. */
	embed("The cat sat on the mat", 22, a);
	embed("Something else entirely", 23, b);
	embed("The cat sat on the mat", 22, b);
	CHECK(memcmp(a, b, sizeof(a)) == 0);

	/* Case and punctuation do not matter: the words are the same. */
	CHECK_NEAR(cosine_of("The cat sat on the mat", "the CAT sat, on the mat!"), 1.0, 1e-5);
	/* Word order does not matter either (a bag of features). */
	CHECK_NEAR(cosine_of("dog bites man", "man bites dog"), 1.0, 1e-5);

	/* Similar beats unrelated; an inflection shares n-grams. */
	CHECK(cosine_of("A man is playing a guitar.", "A man plays the guitar.") >
		  cosine_of("A man is playing a guitar.", "The stock market fell sharply today."));
	CHECK(cosine_of("measuring", "measures") > cosine_of("measuring", "onion"));
	CHECK(cosine_of("A woman is slicing an onion.", "A woman slices an onion.") > 0.5);
	/* idf: sharing only function words counts little. */
	CHECK(cosine_of("the dog is in the house", "the car is in the street") <
		  cosine_of("the dog is in the house", "dogs in a house"));

	/* A 100,000-character token and a long text stay finite and unit. */
	{
		size_t		n = 100000;
		char	   *big = malloc(n + 1);

		memset(big, 'q', n);
		big[n] = '\0';
		embed(big, n, a);
		CHECK(all_finite(a) && fabs(dot(a, a) - 1.0) < 1e-4);
		for (size_t i = 0; i < n; i++)
			big[i] = "word \xC3\xA9l\xC3\xA8ve \xF0\x9F\x98\x82 "[i % 17];
		embed(big, n, a);
		CHECK(all_finite(a) && fabs(dot(a, a) - 1.0) < 1e-4);
		free(big);
	}

	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return check_report("test_embedding");
}
