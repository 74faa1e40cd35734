/*
 * test_topics.c - topic dictionary validation and topic matching
 * (hashtags, keywords, phrases, merging, clause sentiment, limits).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "check.h"

static sa_lexicon *lex;
static sa_workspace *ws;

static sa_error
add(sa_topics *t, const char *key, const char *phrase, double w)
{
	return sa_topics_add(t, key, key ? strlen(key) : 0, phrase, phrase ? strlen(phrase) : 0, w);
}

static sa_analysis *
run(const sa_topics *t, const char *text)
{
	static sa_analysis a;
	sa_error	err = sa_analyze(lex, t, ws, text, strlen(text), &a);

	CHECK_MSG(err == SA_OK, "sa_analyze(\"%s\") = %d", text, (int) err);
	return &a;
}

static const sa_topic_match *
find(const sa_analysis *a, const char *key)
{
	for (size_t i = 0; i < a->n_topics; i++)
		if (a->topics[i].key_len == strlen(key) &&
			memcmp(a->topics[i].key, key, a->topics[i].key_len) == 0)
			return &a->topics[i];
	return NULL;
}

static double
compound_of(const char *s, size_t len)
{
	sa_sentiment r;

	CHECK(sa_sentiment_score(lex, ws, s, len, &r) == SA_OK);
	return r.compound;
}

/* Creation, argument and syntax errors of the dictionary. */
static void
test_dictionary_errors(void)
{
	sa_topics  *t;
	char		buf[2048];

	/* ---- creation and argument errors ---- */
	CHECK(sa_topics_create(NULL) == SA_ERR_ARGUMENT);
	CHECK(sa_topics_create(&t) == SA_OK && t != NULL);
	sa_topics_destroy(NULL);	/* harmless */
	CHECK(sa_topics_add(NULL, "k", 1, "p", 1, 1.0) == SA_ERR_ARGUMENT);
	CHECK(sa_topics_add(t, NULL, 1, "p", 1, 1.0) == SA_ERR_ARGUMENT);
	CHECK(sa_topics_add(t, "k", 1, NULL, 1, 1.0) == SA_ERR_ARGUMENT);
	CHECK(add(t, "k", "p", NAN) == SA_ERR_ARGUMENT);
	CHECK(add(t, "k", "p", INFINITY) == SA_ERR_ARGUMENT);
	CHECK(add(t, "k", "p", 0.0) == SA_ERR_ARGUMENT);
	CHECK(add(t, "k", "p", -1.0) == SA_ERR_ARGUMENT);
	CHECK(add(t, "k", "p", 1000.5) == SA_ERR_ARGUMENT);
	CHECK(add(t, "k", "p", 1000.0) == SA_OK);	/* the maximum is allowed */

	/* ---- syntax errors: empty, too long, invalid, nothing matchable ---- */
	CHECK(add(t, "", "phrase", 1.0) == SA_ERR_SYNTAX);
	CHECK(sa_topics_add(t, NULL, 0, "phrase", 6, 1.0) == SA_ERR_SYNTAX);
	CHECK(add(t, "key", "", 1.0) == SA_ERR_SYNTAX);
	CHECK(add(t, "key", "!!! ... ???", 1.0) == SA_ERR_SYNTAX);
	memset(buf, 'k', 129);
	buf[129] = '\0';
	CHECK(add(t, buf, "phrase", 1.0) == SA_ERR_SYNTAX);
	buf[128] = '\0';
	CHECK(add(t, buf, "phrase", 1.0) == SA_OK);	/* 128 bytes is fine */
	CHECK(add(t, "bad\nkey", "phrase", 1.0) == SA_ERR_SYNTAX);
	CHECK(add(t, "bad\x7fkey", "phrase", 1.0) == SA_ERR_SYNTAX);
	CHECK(add(t, "bad\xC2\x85key", "phrase", 1.0) == SA_ERR_SYNTAX);	/* C1 NEL */
	CHECK(add(t, "bad\xFFkey", "phrase", 1.0) == SA_ERR_SYNTAX);
	CHECK(add(t, "bad\xC3key", "phrase", 1.0) == SA_ERR_SYNTAX);	/* truncated */
	CHECK(add(t, "ok\xEF\xBF\xBDkey", "phrase", 1.0) == SA_OK);	/* real U+FFFD */
	CHECK(add(t, "key", "ph\xFFrase", 1.0) == SA_ERR_SYNTAX);
	/* punctuation between words could never match; at the ends it is harmless */
	CHECK(add(t, "key", "e.g. this", 1.0) == SA_ERR_SYNTAX);
	CHECK(add(t, "key", "one, two", 1.0) == SA_ERR_SYNTAX);
	CHECK(add(t, "key", "...Postgres 15!", 1.0) == SA_OK);
	/* 16 tokens is the longest phrase, 17 is refused */
	CHECK(add(t, "long", "a b c d e f g h i j k l m n o p", 1.0) == SA_OK);
	CHECK(add(t, "long", "a b c d e f g h i j k l m n o p q", 1.0) == SA_ERR_SYNTAX);
	memset(buf, 'w', 513);
	buf[513] = '\0';
	CHECK(add(t, "key", buf, 1.0) == SA_ERR_SYNTAX);
	sa_topics_destroy(t);
}

/* Keywords and phrases of the dictionary t (empty when called). */
static void
test_keywords(sa_topics *t)
{
	sa_analysis *a;
	const sa_topic_match *m;

	/* Refused entries leave no trace. */
	CHECK(add(t, "", "postgres", 1.0) == SA_ERR_SYNTAX);
	CHECK(add(t, "db", "postgres", NAN) == SA_ERR_ARGUMENT);
	a = run(t, "postgres is great");
	CHECK(a->n_topics == 0);

	/* ---- keywords and phrases ---- */
	CHECK(add(t, "databases", "postgres", 2.0) == SA_OK);
	CHECK(add(t, "databases", "MySQL", 1.5) == SA_OK);
	CHECK(add(t, "service", "customer support", 1.0) == SA_OK);
	CHECK(add(t, "city", "new york", 1.0) == SA_OK);
	CHECK(add(t, "media", "New York Times", 3.0) == SA_OK);
	CHECK(add(t, "cafe", "caf\xC3\xA9", 1.0) == SA_OK);

	/* A keyword: weight from the dictionary, sentiment of the one clause. */
	a = run(t, "I love Postgres");
	CHECK(a->n_topics == 1);
	m = find(a, "databases");
	CHECK(m != NULL && m->weight == 2.0);
	CHECK(m != NULL && m->sentiment == a->sentiment.compound && m->sentiment > 0.5);

	/* Case, spacing and separators inside a phrase do not matter. */
	a = run(t, "CUSTOMER    Support was slow");
	CHECK(find(a, "service") != NULL);
	a = run(t, "the customer-support line");
	CHECK(find(a, "service") != NULL);
	/* Part of a phrase, or a phrase cut by punctuation, is no match. */
	a = run(t, "the customer is always right");
	CHECK(find(a, "service") == NULL);
	a = run(t, "ask the customer. Support them.");
	CHECK(find(a, "service") == NULL);
	/* A keyword inside a longer word is no match. */
	a = run(t, "postgresql and mysqldump");
	CHECK(a->n_topics == 0);

	/* Overlapping phrases both match. */
	a = run(t, "I read the New York Times");
	CHECK(find(a, "city") != NULL && find(a, "media") != NULL);
	CHECK(find(a, "media") != NULL && find(a, "media")->weight == 3.0);
	/* ... and a phrase whose prefix failed still starts later. */
	a = run(t, "new new york");
	CHECK(find(a, "city") != NULL && find(a, "city")->weight == 1.0);

	/* Several matches of one key merge: weights add up. */
	a = run(t, "postgres or mysql? postgres!");
	CHECK(a->n_topics == 1);
	m = find(a, "databases");
	CHECK(m != NULL && m->weight == 2.0 + 1.5 + 2.0);

	/* Unicode lower-casing of the text and the phrase. */
	a = run(t, "Le CAF\xC3\x89 est ouvert");
	CHECK(find(a, "cafe") != NULL);

	/* The same phrase for the same key again: the new weight replaces. */
	CHECK(add(t, "databases", "postgres", 4.0) == SA_OK);
	a = run(t, "postgres");
	CHECK(find(a, "databases") != NULL && find(a, "databases")->weight == 4.0);
	/* The same phrase for another key: both topics. */
	CHECK(add(t, "oss", "postgres", 1.0) == SA_OK);
	a = run(t, "postgres");
	CHECK(a->n_topics == 2 && find(a, "oss") != NULL && find(a, "databases") != NULL);
}

/* Hashtags, and the clause sentiment of a match, with the dictionary t. */
static void
test_hashtags_and_clauses(sa_topics *t)
{
	sa_analysis *a;
	const sa_topic_match *m;

	/* ---- hashtags ---- */
	a = run(NULL, "#Love #love #LOVE and #Caf\xC3\xA9");
	CHECK(a->n_topics == 2);
	m = find(a, "love");
	CHECK(m != NULL && m->weight == 3.0);
	CHECK(find(a, "caf\xC3\xA9") != NULL);
	/* '#' not directly before the word, or a lone '#': no hashtag. */
	a = run(NULL, "# love, a#b, ##, x#");
	CHECK(a->n_topics == 0);
	/* A hashtag also matches the dictionary. */
	a = run(t, "#Postgres rocks");
	CHECK(find(a, "postgres") != NULL && find(a, "databases") != NULL);
	/* ... and merges with a dictionary key of the same name. */
	CHECK(add(t, "mysql", "mysql", 0.5) == SA_OK);
	a = run(t, "#mysql");
	m = find(a, "mysql");
	CHECK(m != NULL && m->weight == 1.0 + 0.5);

	/* ---- clause sentiment ---- */
	{
		const char *txt = "I love #pg but the service is awful.";

		CHECK(add(t, "service", "service", 1.0) == SA_OK);
		a = run(t, txt);
		m = find(a, "pg");
		/* clause "I love #pg " (up to "but") */
		CHECK(m != NULL && m->sentiment == compound_of(txt, 11) && m->sentiment > 0.5);
		m = find(a, "service");
		/* clause " the service is awful." (after "but") */
		CHECK(m != NULL && m->sentiment == compound_of(txt + 14, strlen(txt) - 14) &&
			  m->sentiment < -0.3);
		/* the whole text mixes both */
		CHECK(a->sentiment.compound != find(a, "pg")->sentiment);
	}
	{
		const char *txt = "Great #phone! Terrible #battery; ok #case";

		a = run(NULL, txt);
		CHECK(a->n_topics == 3);
		CHECK(find(a, "phone") != NULL && find(a, "phone")->sentiment == compound_of(txt, 13));
		CHECK(find(a, "battery") != NULL &&
			  find(a, "battery")->sentiment == compound_of(txt + 13, 19));
		CHECK(find(a, "case") != NULL &&
			  find(a, "case")->sentiment == compound_of(txt + 32, strlen(txt) - 32));
		CHECK(find(a, "phone")->sentiment > 0 && find(a, "battery")->sentiment < 0);
	}
	/* A '.' inside a number or a host name does not split the clause. */
	a = run(NULL, "Version 3.5 of example.com is terrible #release");
	CHECK(find(a, "release") != NULL && find(a, "release")->sentiment == a->sentiment.compound);
	/* Merged matches average their clause sentiments by weight. */
	{
		const char *txt = "Love #x. Hate #x.";
		double		s1 = compound_of(txt, 8),
					s2 = compound_of(txt + 8, strlen(txt) - 8);

		a = run(NULL, txt);
		m = find(a, "x");
		CHECK(m != NULL && m->weight == 2.0);
		CHECK(m != NULL && fabs(m->sentiment - (s1 + s2) / 2) < 1e-12);
	}
}

/* The limits: topics per text, a long hashtag, a large dictionary. */
static void
test_limits(sa_topics *t)
{
	sa_analysis *a;
	char		buf[2048];

	/* ---- limits ---- */
	{
		size_t		len = 0;

		for (int i = 0; i < 40; i++)
			len += (size_t) snprintf(buf + len, sizeof(buf) - len, "#tag%d ", i);
		a = run(t, buf);
		CHECK(a->n_topics == SA_MAX_TOPICS);
		CHECK(find(a, "tag0") != NULL && find(a, "tag31") != NULL && find(a, "tag32") == NULL);
	}
	/* A hashtag longer than a key may be is ignored, the text still analysed. */
	{
		char	   *big = malloc(300);

		big[0] = '#';
		memset(big + 1, 'h', 298);
		big[299] = '\0';
		a = run(NULL, big);
		CHECK(a->n_topics == 0);
		free(big);
	}

	/* A large dictionary: every entry stays findable. */
	{
		sa_topics  *t2;
		bool		ok = true;

		CHECK(sa_topics_create(&t2) == SA_OK);
		for (int i = 0; i < 5000 && ok; i++)
		{
			char		key[32],
						phrase[64];

			snprintf(key, sizeof(key), "k%d", i % 700);
			snprintf(phrase, sizeof(phrase), "word%d next%d", i, i % 13);
			ok = add(t2, key, phrase, 1.0) == SA_OK;
		}
		CHECK(ok);
		a = run(t2, "so word4321 next5 and word17 next4, word17 next5");
		CHECK(a->n_topics == 2 && find(a, "k121") != NULL && find(a, "k17") != NULL);
		sa_topics_destroy(t2);
	}
}

int
main(void)
{
	sa_topics  *t;

	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK)
		return 1;
	test_dictionary_errors();
	CHECK(sa_topics_create(&t) == SA_OK);
	test_keywords(t);
	test_hashtags_and_clauses(t);
	test_limits(t);

	sa_topics_destroy(t);
	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return check_report("test_topics");
}
