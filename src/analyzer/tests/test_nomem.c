/*
 * test_nomem.c - allocation failures anywhere in the lexicon and the
 * sentiment scorer give SA_ERR_NOMEM (never a crash or a wrong score), and
 * the objects stay usable: once memory is back, results are the normal ones.
 *
 * malloc/calloc/realloc are interposed (glibc's __libc_* do the work); the
 * k-th allocation from now fails, for every k until a run needs no more.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "check.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static long fail_in = -1;		/* allocations until one fails; -1 never */
static int	failed_one;

static int
should_fail(void)
{
	if (fail_in < 0)
		return 0;
	if (fail_in-- == 0)
	{
		failed_one = 1;
		return 1;
	}
	return 0;
}

void *
malloc(size_t size)
{
	return should_fail() ? NULL : __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	return should_fail() ? NULL : __libc_realloc(p, size);
}

static const char *texts[] = {
	"The service was not very good, but the staff were GREAT!!",
	"lol but okay \xf0\x9f\x98\x82\xf0\x9f\x91\x8d caf\xc3\xa9 \xc4\xb0stanbul \xce\x9f\xce\x94\xce\x9f\xce\xa3",
	"good \xff bad",
	"",
};

int
main(void)
{
	sa_lexicon *ref_lex;
	sa_workspace *ref_ws;
	sa_sentiment want[4];
	char	   *longtext;
	size_t		longlen = 200000;
	int			bad = 0;
	int			nomem_lex = 0,
				nomem_score = 0;

	CHECK(sa_lexicon_create(&ref_lex) == SA_OK && sa_workspace_create(&ref_ws) == SA_OK);
	for (int t = 0; t < 4; t++)
		CHECK(sa_sentiment_score(ref_lex, ref_ws, texts[t], strlen(texts[t]), &want[t]) == SA_OK);

	/* lexicon creation and overrides */
	for (long k = 0;; k++)
	{
		sa_lexicon *lex = NULL;
		sa_error	err;

		failed_one = 0;
		fail_in = k;
		err = sa_lexicon_create(&lex);
		if (err == SA_OK)
		{
			err = sa_lexicon_set(lex, "Sick", 4, 2.0);
			if (err == SA_OK)
				err = sa_lexicon_set(lex, "newword", 7, 1.0);
		}
		fail_in = -1;
		nomem_lex += err == SA_ERR_NOMEM;
		if (err != SA_OK && err != SA_ERR_NOMEM)
			bad++;
		if (err == SA_ERR_NOMEM && lex == NULL && !failed_one)
			bad++;
		if (lex != NULL)
		{
			double		v;

			/* after a failed set the lexicon still works and can be retried */
			if (sa_lexicon_set(lex, "sick", 4, 2.0) != SA_OK ||
				sa_lexicon_lookup(lex, "sick", 4, &v) != 1 || v != 2.0 ||
				sa_lexicon_lookup(lex, "good", 4, &v) != 1 || v != 1.9)
				bad++;
			sa_lexicon_destroy(lex);
		}
		if (!failed_one)
			break;
	}
	CHECK_MSG(bad == 0, "%d lexicon runs misbehaved", bad);

	/* scoring: a fresh workspace each time, so every buffer must grow */
	longtext = malloc(longlen + 1);
	CHECK(longtext != NULL);
	for (size_t i = 0; i < longlen; i++)
		longtext[i] = "good but bad \xf0\x9f\x98\x80 no "[i % 20];
	bad = 0;
	for (int t = 0; t < 5; t++)
	{
		const char *text = t < 4 ? texts[t] : longtext;
		size_t		len = t < 4 ? strlen(texts[t]) : longlen;
		sa_sentiment full;

		CHECK(sa_sentiment_score(ref_lex, ref_ws, text, len, &full) == SA_OK);
		for (long k = 0;; k++)
		{
			sa_workspace *ws = NULL;
			sa_sentiment s;
			sa_error	err;

			failed_one = 0;
			fail_in = k;
			err = sa_workspace_create(&ws);
			if (err == SA_OK)
				err = sa_sentiment_score(ref_lex, ws, text, len, &s);
			fail_in = -1;
			nomem_score += err == SA_ERR_NOMEM;
			if (err != SA_OK && err != SA_ERR_NOMEM)
				bad++;
			if (err == SA_OK && (s.compound != full.compound || s.pos != full.pos ||
								 s.neu != full.neu || s.neg != full.neg))
				bad++;
			/* the same workspace scores correctly once memory is back */
			if (ws != NULL)
			{
				if (sa_sentiment_score(ref_lex, ws, text, len, &s) != SA_OK ||
					s.compound != full.compound || s.pos != full.pos)
					bad++;
				sa_workspace_destroy(ws);
			}
			if (!failed_one)
				break;
		}
	}
	CHECK_MSG(bad == 0, "%d scoring runs misbehaved", bad);
	/* the injection did reach the code under test */
	CHECK_MSG(nomem_lex >= 3 && nomem_score >= 15, "NOMEM seen %d / %d times", nomem_lex, nomem_score);
	printf("nomem: %d lexicon and %d scoring runs ended in SA_ERR_NOMEM\n", nomem_lex, nomem_score);
	for (int t = 0; t < 4; t++)
	{
		sa_sentiment s;

		CHECK(sa_sentiment_score(ref_lex, ref_ws, texts[t], strlen(texts[t]), &s) == SA_OK &&
			  s.compound == want[t].compound);
	}
	free(longtext);
	sa_workspace_destroy(ref_ws);
	sa_lexicon_destroy(ref_lex);
	return check_report("nomem");
}
