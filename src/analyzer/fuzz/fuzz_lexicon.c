/*
 * fuzz_lexicon.c - libFuzzer target for user overrides: a byte program of
 * set/remove operations with arbitrary terms runs on a private lexicon,
 * then the rest is scored with it.  Checks that an accepted lower-case
 * ASCII term is found with its valence after set and gone after remove,
 * and that the word count moves accordingly.
 *
 * Program: repeated [op][len][len bytes of term][valence byte]; op & 3:
 * 0 set, 1 remove, 2 lookup, 3 stop (the remaining bytes are the text).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"

static int
plain_lower(const uint8_t *t, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (t[i] >= 0x80 || (t[i] >= 'A' && t[i] <= 'Z'))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sa_workspace *ws;
	sa_lexicon *lex;
	size_t		pos = 0;
	sa_sentiment s;

	if (ws == NULL && sa_workspace_create(&ws) != SA_OK)
		abort();
	if (sa_lexicon_create(&lex) != SA_OK)
		abort();
	while (pos + 2 <= size)
	{
		int			op = data[pos] & 3;
		size_t		len = data[pos + 1] % 24;
		const char *term = (const char *) data + pos + 2;
		double		v,
					got;
		size_t		before = sa_lexicon_size(lex);
		int			had;
		sa_error	err;

		if (op == 3)
		{
			pos += 1;
			break;
		}
		if (pos + 2 + len + 1 > size)
			break;
		v = ((int) data[pos + 2 + len] - 128) / 16.0;
		pos += 2 + len + 1;
		had = sa_lexicon_lookup(lex, term, len, &got);
		switch (op)
		{
			case 0:
				err = sa_lexicon_set(lex, term, len, v);
				if (err == SA_OK && plain_lower((const uint8_t *) term, len))
				{
					if (sa_lexicon_lookup(lex, term, len, &got) != 1 || got != v)
						abort();
					if (sa_lexicon_size(lex) != before + (had ? 0 : 1))
						abort();
				}
				if (err != SA_OK && sa_lexicon_size(lex) != before)
					abort();
				break;
			case 1:
				err = sa_lexicon_remove(lex, term, len);
				if (err == SA_OK && plain_lower((const uint8_t *) term, len))
				{
					if (sa_lexicon_lookup(lex, term, len, &got) != 0)
						abort();
					if (sa_lexicon_size(lex) != before - (had ? 1 : 0))
						abort();
				}
				break;
			default:
				break;
		}
	}
	if (pos > size)
		pos = size;
	if (sa_sentiment_score(lex, ws, (const char *) data + pos, size - pos, &s) != SA_OK ||
		!isfinite(s.compound))
		abort();
	sa_lexicon_destroy(lex);
	return 0;
}
