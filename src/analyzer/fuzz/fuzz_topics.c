/*
 * fuzz_topics.c - libFuzzer target for the topic dictionary: the input is
 * read as lines "key TAB phrase TAB weight" (what a user puts in the SQL
 * dictionary table) added with sa_topics_add(), then the last line is
 * analysed against the resulting dictionary.  Every entry must be accepted
 * or refused with SA_ERR_SYNTAX / SA_ERR_ARGUMENT (never crash); accepted
 * keys must come back intact from matching.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static sa_lexicon *lex;
static sa_workspace *ws;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	const char *end = s + size;
	const char *last = s;
	size_t		last_len = size;
	sa_topics  *t;
	static sa_analysis a;

	if (lex == NULL &&
		(sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK))
		abort();
	if (sa_topics_create(&t) != SA_OK)
		abort();

	while (s < end)
	{
		const char *nl = memchr(s, '\n', (size_t) (end - s));
		const char *line_end = nl ? nl : end;
		const char *tab1 = memchr(s, '\t', (size_t) (line_end - s));
		const char *tab2 = tab1 ? memchr(tab1 + 1, '\t', (size_t) (line_end - tab1 - 1)) : NULL;
		double		weight = 1.0;
		sa_error	err;

		last = s;
		last_len = (size_t) (line_end - s);
		if (tab1 != NULL)
		{
			if (tab2 != NULL)
			{
				char		num[32];
				size_t		nlen = (size_t) (line_end - tab2 - 1);

				if (nlen >= sizeof(num))
					nlen = sizeof(num) - 1;
				memcpy(num, tab2 + 1, nlen);
				num[nlen] = '\0';
				weight = strtod(num, NULL);
			}
			err = sa_topics_add(t, s, (size_t) (tab1 - s), tab1 + 1,
								(size_t) ((tab2 ? tab2 : line_end) - tab1 - 1), weight);
			REQUIRE(err == SA_OK || err == SA_ERR_SYNTAX || err == SA_ERR_ARGUMENT);
			if (err == SA_OK)
			{
				/* The phrase itself must now match under its key. */
				int			found = 0;

				REQUIRE(sa_analyze(lex, t, ws, tab1 + 1,
								   (size_t) ((tab2 ? tab2 : line_end) - tab1 - 1), &a) == SA_OK);
				for (size_t i = 0; i < a.n_topics; i++)
					if (a.topics[i].key_len == (size_t) (tab1 - s) &&
						memcmp(a.topics[i].key, s, a.topics[i].key_len) == 0)
						found = 1;
				/* unless 32 other topics (hashtags, other keys) came first */
				REQUIRE(found || a.n_topics == SA_MAX_TOPICS);
			}
		}
		s = nl ? nl + 1 : end;
	}

	REQUIRE(sa_analyze(lex, t, ws, last, last_len, &a) == SA_OK);
	REQUIRE(a.n_topics <= SA_MAX_TOPICS);
	for (size_t i = 0; i < a.n_topics; i++)
		REQUIRE(isfinite(a.topics[i].weight) && a.topics[i].weight > 0.0 &&
				isfinite(a.topics[i].sentiment));
	sa_topics_destroy(t);
	return 0;
}
