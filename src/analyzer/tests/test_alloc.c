/*
 * test_alloc.c - sa_analyze() allocates nothing in steady state.
 *
 * The program interposes malloc/calloc/realloc (glibc's __libc_* do the
 * work) and counts calls.  After the workspace has seen a set of texts
 * once, analysing them again - with a dictionary, hashtags, several
 * clauses, non-ASCII - must not allocate at all.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "check.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static long n_alloc;

void *
malloc(size_t size)
{
	n_alloc++;
	return __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
	n_alloc++;
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	n_alloc++;
	return __libc_realloc(p, size);
}

int
main(void)
{
	static const char *const texts[] = {
		"I love #Postgres!!! :) but the customer support is awful.",
		"Caf\xC3\xA9 \xC3\x9C\x62\x65r STRASSE \xF0\x9F\x98\x82\xF0\x9F\x98\x82 #M\xC3\xBCnchen",
		"no", "", "The meeting is at 3.5pm; ok? fine. but why!",
		"\xFF\xFE broken \xC3 utf8 #tag1 #tag2 #tag3 #tag4 #tag5 #tag6 #tag7 #tag8",
	};
	static sa_analysis a;
	sa_lexicon *lex;
	sa_workspace *ws;
	sa_topics  *t;
	long		before;

	CHECK(sa_lexicon_create(&lex) == SA_OK);
	CHECK(sa_workspace_create(&ws) == SA_OK);
	CHECK(sa_topics_create(&t) == SA_OK);
	CHECK(sa_topics_add(t, "db", 2, "postgres", 8, 2.0) == SA_OK);
	CHECK(sa_topics_add(t, "service", 7, "customer support", 16, 1.0) == SA_OK);
	CHECK(sa_topics_add(t, "city", 4, "m\xC3\xBCnchen", 8, 1.0) == SA_OK);

	/* The counter works at all (otherwise the real test proves nothing). */
	{
		/* through a pointer, so the compiler cannot elide the pair */
		void	   *(*volatile m) (size_t) = malloc;
		void	   *p;

		before = n_alloc;
		p = m(16);
		free(p);
		CHECK(n_alloc == before + 1);
	}

	/* Warm-up: a fresh workspace must allocate (the library is counted too). */
	before = n_alloc;
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
			CHECK(sa_analyze(lex, t, ws, texts[i], strlen(texts[i]), &a) == SA_OK);
	CHECK(n_alloc > before);
	before = n_alloc;
	for (int round = 0; round < 100; round++)
		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
			CHECK(sa_analyze(lex, t, ws, texts[i], strlen(texts[i]), &a) == SA_OK);
	CHECK_MSG(n_alloc == before, "%ld allocations in 600 warm calls", n_alloc - before);

	sa_topics_destroy(t);
	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return check_report("test_alloc");
}
