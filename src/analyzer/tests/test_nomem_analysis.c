/*
 * test_nomem_analysis.c - allocation failures inside sa_analyze(), the
 * social model (sa_analyze_model(), sa_explain()) and the topic dictionary
 * give SA_ERR_NOMEM (never a crash or a half-filled
 * result), and the objects stay usable: once memory is back, results are
 * exactly the normal ones.
 *
 * malloc/calloc/realloc are interposed (glibc's __libc_* do the work); the
 * k-th allocation from now fails, for every k until a run needs no more.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "check.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static long fail_in = -1;		/* allocations until one fails; -1 never */
static bool failed_one;

static bool
should_fail(void)
{
	if (fail_in < 0)
		return false;
	if (fail_in-- == 0)
	{
		failed_one = true;
		return true;
	}
	return false;
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

static const char *const texts[] = {
	"I love #Postgres!!! but the customer support is awful. #db #DB",
	"Caf\xC3\xA9 \xC3\x9C\x62\x65r \xF0\x9F\x98\x82 postgres; ok? fine.",
	"",
	"\xFF plain words without anything special in them at all, really",
};
#define NTEXTS (sizeof(texts) / sizeof(texts[0]))

static const char *const dict[][2] = {
	{"db", "postgres"}, {"service", "customer support"}, {"cafe", "caf\xC3\xA9"},
	{"db", "my sql"}, {"long", "a b c d e f g h"},
};
#define NDICT (sizeof(dict) / sizeof(dict[0]))

static bool
same(const sa_analysis *a, const sa_analysis *b)
{
	if (a->sentiment.compound != b->sentiment.compound || a->emotion != b->emotion ||
		a->emotion_score != b->emotion_score || a->n_topics != b->n_topics ||
		memcmp(a->embedding, b->embedding, sizeof(a->embedding)) != 0)
		return false;
	for (size_t i = 0; i < a->n_topics; i++)
		if (a->topics[i].key_len != b->topics[i].key_len ||
			memcmp(a->topics[i].key, b->topics[i].key, a->topics[i].key_len) != 0 ||
			a->topics[i].weight != b->topics[i].weight ||
			a->topics[i].sentiment != b->topics[i].sentiment)
			return false;
	return true;
}

static bool
is_cleared(const sa_analysis *a)
{
	for (int d = 0; d < SA_EMBEDDING_DIMS; d++)
		if (a->embedding[d] != 0.0f)
			return false;
	return a->n_topics == 0 && a->emotion == SA_EMOTION_NEUTRAL && a->sentiment.compound == 0.0;
}

static sa_error
fill(sa_topics *t)
{
	for (size_t i = 0; i < NDICT; i++)
	{
		sa_error	err = sa_topics_add(t, dict[i][0], strlen(dict[i][0]),
										dict[i][1], strlen(dict[i][1]), 1.0 + i);

		if (err != SA_OK)
			return err;
	}
	return SA_OK;
}

/* sa_analyze on a fresh workspace, the k-th allocation failing. */
static void
nomem_analyze(const sa_lexicon *lex, const sa_topics *topics, const sa_analysis *ref)
{
	static sa_analysis a;
	int			nomem_seen = 0;
	long		k;

	/* ---- sa_analyze on a fresh workspace, k-th allocation failing ---- */
	for (k = 0; k < 10000; k++)
	{
		sa_workspace *w;
		bool		all_ok = true;

		CHECK(sa_workspace_create(&w) == SA_OK);
		failed_one = false;
		fail_in = k;
		for (size_t i = 0; i < NTEXTS; i++)
		{
			sa_error	err = sa_analyze(lex, topics, w, texts[i], strlen(texts[i]), &a);

			CHECK_MSG(err == SA_OK || err == SA_ERR_NOMEM, "k=%ld text %zu: %d", k, i, (int) err);
			if (err == SA_ERR_NOMEM)
			{
				nomem_seen++;
				all_ok = false;
				CHECK_MSG(is_cleared(&a), "k=%ld text %zu: result not cleared", k, i);
			}
		}
		fail_in = -1;
		/* memory is back: the same workspace gives the normal results */
		for (size_t i = 0; i < NTEXTS; i++)
		{
			CHECK(sa_analyze(lex, topics, w, texts[i], strlen(texts[i]), &a) == SA_OK);
			CHECK_MSG(same(&a, &ref[i]), "k=%ld text %zu differs after recovery", k, i);
		}
		sa_workspace_destroy(w);
		if (!failed_one && all_ok)
			break;
	}
	CHECK(k < 10000 && k > 0);
	CHECK(nomem_seen > 0);
}

/* The social model and explain, the k-th allocation failing. */
static void
nomem_social(const sa_lexicon *lex, const sa_topics *topics, sa_workspace **ref_ws,
			 sa_analysis *social_ref)
{
	static sa_analysis a;
	int			nomem_seen = 0;
	long		k;

	/* ---- the social model and explain, k-th allocation failing ---- */
	for (size_t i = 0; i < NTEXTS; i++)
		CHECK(sa_analyze_model(lex, topics, ref_ws[i], SA_MODEL_SOCIAL, texts[i], strlen(texts[i]),
							   &social_ref[i]) == SA_OK);
	for (k = 0; k < 10000; k++)
	{
		sa_workspace *w;
		sa_explain_item it[8];
		size_t		n;

		CHECK(sa_workspace_create(&w) == SA_OK);
		failed_one = false;
		fail_in = k;
		for (size_t i = 0; i < NTEXTS; i++)
		{
			sa_error	err = sa_analyze_model(lex, topics, w, SA_MODEL_SOCIAL, texts[i],
											   strlen(texts[i]), &a);

			CHECK_MSG(err == SA_OK || err == SA_ERR_NOMEM, "k=%ld text %zu: %d", k, i, (int) err);
			if (err == SA_ERR_NOMEM)
			{
				nomem_seen++;
				CHECK_MSG(is_cleared(&a), "k=%ld text %zu: result not cleared", k, i);
			}
			err = sa_explain(lex, w, SA_MODEL_SOCIAL, texts[i], strlen(texts[i]), it, 8, &n);
			CHECK_MSG(err == SA_OK || (err == SA_ERR_NOMEM && n == 0), "k=%ld explain %zu: %d", k, i, (int) err);
		}
		fail_in = -1;
		for (size_t i = 0; i < NTEXTS; i++)
		{
			CHECK(sa_analyze_model(lex, topics, w, SA_MODEL_SOCIAL, texts[i], strlen(texts[i]), &a) == SA_OK);
			CHECK_MSG(same(&a, &social_ref[i]), "k=%ld text %zu differs after recovery (social)", k, i);
		}
		sa_workspace_destroy(w);
		if (!failed_one)
			break;
	}
	CHECK(k < 10000 && k > 0);
	CHECK(nomem_seen > 0);
}

/* The dictionary: create and add under failure; ws analyses with it. */
static void
nomem_dictionary(const sa_lexicon *lex, sa_workspace *ws, const sa_analysis *ref)
{
	static sa_analysis a;
	long		k;

	/* ---- the dictionary: create and add under failure ---- */
	for (k = 0; k < 10000; k++)
	{
		sa_topics  *t = NULL;
		sa_error	err;

		failed_one = false;
		fail_in = k;
		err = sa_topics_create(&t);
		if (err == SA_OK)
			err = fill(t);
		fail_in = -1;
		CHECK_MSG(err == SA_OK || err == SA_ERR_NOMEM, "k=%ld: %d", k, (int) err);
		if (t == NULL)
			CHECK(err == SA_ERR_NOMEM);
		else
		{
			/* re-adding everything completes the dictionary; results match */
			CHECK(fill(t) == SA_OK);
			for (size_t i = 0; i < NTEXTS; i++)
			{
				CHECK(sa_analyze(lex, t, ws, texts[i], strlen(texts[i]), &a) == SA_OK);
				CHECK_MSG(same(&a, &ref[i]), "k=%ld text %zu differs", k, i);
			}
			sa_topics_destroy(t);
		}
		if (!failed_one)
			break;
	}
	CHECK(k < 10000 && k > 0);
}

int
main(void)
{
	static sa_analysis ref[NTEXTS],
				social_ref[NTEXTS];
	sa_lexicon *lex;
	sa_topics  *topics;
	sa_workspace *ws;
	sa_workspace *ref_ws[NTEXTS];

	CHECK(sa_lexicon_create(&lex) == SA_OK);
	CHECK(sa_topics_create(&topics) == SA_OK);
	CHECK(fill(topics) == SA_OK);
	/* one workspace per reference: hashtag keys live in the workspace */
	for (size_t i = 0; i < NTEXTS; i++)
	{
		CHECK(sa_workspace_create(&ref_ws[i]) == SA_OK);
		CHECK(sa_analyze(lex, topics, ref_ws[i], texts[i], strlen(texts[i]), &ref[i]) == SA_OK);
	}
	CHECK(sa_workspace_create(&ws) == SA_OK);

	nomem_analyze(lex, topics, ref);
	nomem_social(lex, topics, ref_ws, social_ref);
	nomem_dictionary(lex, ws, ref);

	sa_workspace_destroy(ws);
	for (size_t i = 0; i < NTEXTS; i++)
		sa_workspace_destroy(ref_ws[i]);
	sa_topics_destroy(topics);
	sa_lexicon_destroy(lex);
	return check_report("test_nomem_analysis");
}
