/*
 * lexicon.c - the VADER lexicon object: the generated word table loaded
 * into a hash table together with the fixed rule words, plus user
 * overrides.  Built once per process; read-only while texts are scored, so
 * one lexicon may serve many threads as long as nobody overrides terms
 * concurrently.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lexicon_internal.h"
#include "text_internal.h"

/* Terms longer than this cannot be meant as words; refuse them early. */
#define SA_MAX_TERM_BYTES 1024

typedef struct rule_word
{
	const char *word;
	uint8_t		flags;
	uint8_t		wid;
} rule_word;

/* VADER.md, "Word lists", plus the words its rules name. */
static const rule_word rule_words[] = {
	/* negations */
	{"aint", SA_W_NEG, SA_WID_NONE}, {"arent", SA_W_NEG, SA_WID_NONE}, {"cannot", SA_W_NEG, SA_WID_NONE}, {"cant", SA_W_NEG, SA_WID_NONE},
	{"couldnt", SA_W_NEG, SA_WID_NONE}, {"darent", SA_W_NEG, SA_WID_NONE}, {"didnt", SA_W_NEG, SA_WID_NONE}, {"doesnt", SA_W_NEG, SA_WID_NONE},
	{"ain't", SA_W_NEG, SA_WID_NONE}, {"aren't", SA_W_NEG, SA_WID_NONE}, {"can't", SA_W_NEG, SA_WID_NONE}, {"couldn't", SA_W_NEG, SA_WID_NONE},
	{"daren't", SA_W_NEG, SA_WID_NONE}, {"didn't", SA_W_NEG, SA_WID_NONE}, {"doesn't", SA_W_NEG, SA_WID_NONE}, {"dont", SA_W_NEG, SA_WID_NONE},
	{"hadnt", SA_W_NEG, SA_WID_NONE}, {"hasnt", SA_W_NEG, SA_WID_NONE}, {"havent", SA_W_NEG, SA_WID_NONE}, {"isnt", SA_W_NEG, SA_WID_NONE},
	{"mightnt", SA_W_NEG, SA_WID_NONE}, {"mustnt", SA_W_NEG, SA_WID_NONE}, {"neither", SA_W_NEG, SA_WID_NONE}, {"don't", SA_W_NEG, SA_WID_NONE},
	{"hadn't", SA_W_NEG, SA_WID_NONE}, {"hasn't", SA_W_NEG, SA_WID_NONE}, {"haven't", SA_W_NEG, SA_WID_NONE}, {"isn't", SA_W_NEG, SA_WID_NONE},
	{"mightn't", SA_W_NEG, SA_WID_NONE}, {"mustn't", SA_W_NEG, SA_WID_NONE}, {"neednt", SA_W_NEG, SA_WID_NONE}, {"needn't", SA_W_NEG, SA_WID_NONE},
	{"never", SA_W_NEG, SA_WID_NEVER}, {"none", SA_W_NEG, SA_WID_NONE}, {"nope", SA_W_NEG, SA_WID_NONE},
	{"nor", SA_W_NEG, SA_WID_NOR}, {"not", SA_W_NEG, SA_WID_NONE}, {"nothing", SA_W_NEG, SA_WID_NONE},
	{"nowhere", SA_W_NEG, SA_WID_NONE}, {"oughtnt", SA_W_NEG, SA_WID_NONE}, {"shant", SA_W_NEG, SA_WID_NONE}, {"shouldnt", SA_W_NEG, SA_WID_NONE},
	{"uhuh", SA_W_NEG, SA_WID_NONE}, {"wasnt", SA_W_NEG, SA_WID_NONE}, {"werent", SA_W_NEG, SA_WID_NONE}, {"oughtn't", SA_W_NEG, SA_WID_NONE},
	{"shan't", SA_W_NEG, SA_WID_NONE}, {"shouldn't", SA_W_NEG, SA_WID_NONE}, {"uh-uh", SA_W_NEG, SA_WID_NONE}, {"wasn't", SA_W_NEG, SA_WID_NONE},
	{"weren't", SA_W_NEG, SA_WID_NONE}, {"without", SA_W_NEG, SA_WID_WITHOUT}, {"wont", SA_W_NEG, SA_WID_NONE},
	{"wouldnt", SA_W_NEG, SA_WID_NONE}, {"won't", SA_W_NEG, SA_WID_NONE}, {"wouldn't", SA_W_NEG, SA_WID_NONE}, {"rarely", SA_W_NEG, SA_WID_NONE},
	{"seldom", SA_W_NEG, SA_WID_NONE}, {"despite", SA_W_NEG, SA_WID_NONE},
	/* boosters */
	{"absolutely", SA_W_BOOST, SA_WID_NONE}, {"amazingly", SA_W_BOOST, SA_WID_NONE}, {"awfully", SA_W_BOOST, SA_WID_NONE},
	{"completely", SA_W_BOOST, SA_WID_NONE}, {"considerable", SA_W_BOOST, SA_WID_NONE}, {"considerably", SA_W_BOOST, SA_WID_NONE},
	{"decidedly", SA_W_BOOST, SA_WID_NONE}, {"deeply", SA_W_BOOST, SA_WID_NONE}, {"effing", SA_W_BOOST, SA_WID_NONE},
	{"enormous", SA_W_BOOST, SA_WID_NONE}, {"enormously", SA_W_BOOST, SA_WID_NONE}, {"entirely", SA_W_BOOST, SA_WID_NONE},
	{"especially", SA_W_BOOST, SA_WID_NONE}, {"exceptional", SA_W_BOOST, SA_WID_NONE}, {"exceptionally", SA_W_BOOST, SA_WID_NONE},
	{"extreme", SA_W_BOOST, SA_WID_NONE}, {"extremely", SA_W_BOOST, SA_WID_NONE}, {"fabulously", SA_W_BOOST, SA_WID_NONE},
	{"flipping", SA_W_BOOST, SA_WID_NONE}, {"flippin", SA_W_BOOST, SA_WID_NONE}, {"frackin", SA_W_BOOST, SA_WID_NONE},
	{"fracking", SA_W_BOOST, SA_WID_NONE}, {"fricking", SA_W_BOOST, SA_WID_NONE}, {"frickin", SA_W_BOOST, SA_WID_NONE},
	{"frigging", SA_W_BOOST, SA_WID_NONE}, {"friggin", SA_W_BOOST, SA_WID_NONE}, {"fully", SA_W_BOOST, SA_WID_NONE},
	{"fuckin", SA_W_BOOST, SA_WID_NONE}, {"fucking", SA_W_BOOST, SA_WID_NONE}, {"fuggin", SA_W_BOOST, SA_WID_NONE},
	{"fugging", SA_W_BOOST, SA_WID_NONE}, {"greatly", SA_W_BOOST, SA_WID_NONE}, {"hella", SA_W_BOOST, SA_WID_NONE},
	{"highly", SA_W_BOOST, SA_WID_NONE}, {"hugely", SA_W_BOOST, SA_WID_NONE}, {"incredible", SA_W_BOOST, SA_WID_NONE},
	{"incredibly", SA_W_BOOST, SA_WID_NONE}, {"intensely", SA_W_BOOST, SA_WID_NONE}, {"major", SA_W_BOOST, SA_WID_NONE},
	{"majorly", SA_W_BOOST, SA_WID_NONE}, {"more", SA_W_BOOST, SA_WID_NONE}, {"most", SA_W_BOOST, SA_WID_NONE},
	{"particularly", SA_W_BOOST, SA_WID_NONE}, {"purely", SA_W_BOOST, SA_WID_NONE}, {"quite", SA_W_BOOST, SA_WID_NONE},
	{"really", SA_W_BOOST, SA_WID_NONE}, {"remarkably", SA_W_BOOST, SA_WID_NONE}, {"so", SA_W_BOOST, SA_WID_SO},
	{"substantially", SA_W_BOOST, SA_WID_NONE}, {"thoroughly", SA_W_BOOST, SA_WID_NONE}, {"total", SA_W_BOOST, SA_WID_NONE},
	{"totally", SA_W_BOOST, SA_WID_NONE}, {"tremendous", SA_W_BOOST, SA_WID_NONE}, {"tremendously", SA_W_BOOST, SA_WID_NONE},
	{"uber", SA_W_BOOST, SA_WID_NONE}, {"unbelievably", SA_W_BOOST, SA_WID_NONE}, {"unusually", SA_W_BOOST, SA_WID_NONE},
	{"utter", SA_W_BOOST, SA_WID_NONE}, {"utterly", SA_W_BOOST, SA_WID_NONE}, {"very", SA_W_BOOST, SA_WID_VERY},
	/* single-word dampeners ("just enough", "kind of", "sort of" are pairs) */
	{"almost", SA_W_DAMP, SA_WID_NONE}, {"barely", SA_W_DAMP, SA_WID_NONE}, {"hardly", SA_W_DAMP, SA_WID_NONE},
	{"kinda", SA_W_DAMP, SA_WID_NONE}, {"kindof", SA_W_DAMP, SA_WID_NONE}, {"kind-of", SA_W_DAMP, SA_WID_NONE},
	{"less", SA_W_DAMP, SA_WID_NONE}, {"little", SA_W_DAMP, SA_WID_NONE}, {"marginal", SA_W_DAMP, SA_WID_NONE},
	{"marginally", SA_W_DAMP, SA_WID_NONE}, {"occasional", SA_W_DAMP, SA_WID_NONE}, {"occasionally", SA_W_DAMP, SA_WID_NONE},
	{"partly", SA_W_DAMP, SA_WID_NONE}, {"scarce", SA_W_DAMP, SA_WID_NONE}, {"scarcely", SA_W_DAMP, SA_WID_NONE},
	{"slight", SA_W_DAMP, SA_WID_NONE}, {"slightly", SA_W_DAMP, SA_WID_NONE}, {"somewhat", SA_W_DAMP, SA_WID_NONE},
	{"sorta", SA_W_DAMP, SA_WID_NONE}, {"sortof", SA_W_DAMP, SA_WID_NONE}, {"sort-of", SA_W_DAMP, SA_WID_NONE},
	/* words tested by name */
	{"no", 0, SA_WID_NO}, {"or", 0, SA_WID_OR}, {"but", 0, SA_WID_BUT},
	{"kind", 0, SA_WID_KIND}, {"of", 0, SA_WID_OF}, {"least", 0, SA_WID_LEAST},
	{"at", 0, SA_WID_AT}, {"this", 0, SA_WID_THIS}, {"doubt", 0, SA_WID_DOUBT},
	{"the", 0, SA_WID_THE}, {"shit", 0, SA_WID_SHIT}, {"bomb", 0, SA_WID_BOMB},
	{"bad", 0, SA_WID_BAD}, {"ass", 0, SA_WID_ASS}, {"bus", 0, SA_WID_BUS},
	{"stop", 0, SA_WID_STOP}, {"yeah", 0, SA_WID_YEAH}, {"right", 0, SA_WID_RIGHT},
	{"kiss", 0, SA_WID_KISS}, {"death", 0, SA_WID_DEATH}, {"to", 0, SA_WID_TO},
	{"die", 0, SA_WID_DIE}, {"for", 0, SA_WID_FOR}, {"beating", 0, SA_WID_BEATING},
	{"heart", 0, SA_WID_HEART}, {"broken", 0, SA_WID_BROKEN}, {"just", 0, SA_WID_JUST},
	{"enough", 0, SA_WID_ENOUGH}, {"sort", 0, SA_WID_SORT},
};

/* Slot for key: the existing entry or the empty slot it would go in. */
static sa_lexentry *
find_slot(sa_lexicon *lex, const char *key, size_t len, uint32_t hash)
{
	size_t		i = hash & lex->mask;

	for (;;)
	{
		sa_lexentry *e = &lex->slots[i];

		if (!e->used ||
			(e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0))
			return e;
		i = (i + 1) & lex->mask;
	}
}

/* Keep the load factor at or below 1/2 so probe runs stay short. */
static sa_error
ensure_room(sa_lexicon *lex, size_t more)
{
	size_t		cap = lex->mask + 1;
	size_t		newcap = cap;
	sa_lexentry *old = lex->slots;
	sa_lexentry *slots;
	uint32_t   *tags;

	while ((lex->nused + more) * 2 > newcap)
		newcap *= 2;
	if (newcap == cap && old != NULL)
		return SA_OK;
	slots = calloc(newcap, sizeof(sa_lexentry));
	tags = calloc(newcap, sizeof(uint32_t));
	if (slots == NULL || tags == NULL)
	{
		free(slots);
		free(tags);
		return SA_ERR_NOMEM;
	}
	free(lex->tags);
	lex->tags = tags;
	lex->slots = slots;
	lex->mask = newcap - 1;
	if (old != NULL)
	{
		for (size_t i = 0; i < cap; i++)
			if (old[i].used)
			{
				sa_lexentry *e = find_slot(lex, old[i].key, old[i].len, old[i].hash);

				*e = old[i];
				lex->tags[e - lex->slots] = SA_LEX_TAG(e->hash);
			}
		free(old);
	}
	return SA_OK;
}

/* Insert or merge a static (never freed) key; room must exist. */
static void
put_static(sa_lexicon *lex, const char *key, uint8_t flags, uint8_t wid, double valence)
{
	size_t		len = strlen(key);
	uint32_t	hash = sa_lex_hash(key, len);
	sa_lexentry *e = find_slot(lex, key, len, hash);

	if (!e->used)
	{
		e->used = 1;
		e->key = key;
		e->len = (uint32_t) len;
		e->hash = hash;
		lex->tags[e - lex->slots] = SA_LEX_TAG(hash);
		lex->nused++;
	}
	if (flags & SA_W_LEX)
	{
		if (!(e->flags & SA_W_LEX))
			lex->nwords++;
		e->valence = valence;
	}
	e->flags |= flags;
	if (wid != SA_WID_NONE)
		e->wid = wid;
}

sa_error
sa_lexicon_create(sa_lexicon **out)
{
	sa_lexicon *lex;
	sa_error	err;
	size_t		nrule = sizeof(rule_words) / sizeof(rule_words[0]);

	if (out == NULL)
		return SA_ERR_ARGUMENT;
	*out = NULL;
	lex = calloc(1, sizeof(sa_lexicon));
	if (lex == NULL)
		return SA_ERR_NOMEM;
	lex->mask = 0;
	err = ensure_room(lex, sa_lexdata_nwords + nrule);
	if (err != SA_OK)
	{
		free(lex);
		return err;
	}
	for (size_t i = 0; i < sa_lexdata_nwords; i++)
		put_static(lex, sa_lexdata_words + sa_lexdata_word_off[i], SA_W_LEX, SA_WID_NONE,
				   sa_lexdata_valence[i]);
	for (size_t i = 0; i < nrule; i++)
		put_static(lex, rule_words[i].word, rule_words[i].flags, rule_words[i].wid, 0.0);
	*out = lex;
	return SA_OK;
}

void
sa_lexicon_destroy(sa_lexicon *lex)
{
	if (lex == NULL)
		return;
	for (size_t i = 0; i <= lex->mask; i++)
		if (lex->slots[i].used && lex->slots[i].owned)
			free((void *) lex->slots[i].key);
	free(lex->slots);
	free(lex->tags);
	free(lex);
}

/*
 * Lower-case a user term the way tokens are lower-cased, refusing what could
 * never match a token: empty terms, invalid UTF-8 and white space (tokens are
 * split on it).  On success *key is malloc'ed.
 */
static sa_error
normalise_term(const char *term, size_t len, char **key, size_t *keylen)
{
	const unsigned char *p = (const unsigned char *) term;
	size_t		pos = 0;
	sa_buf		out = {0};
	sa_buf		scratch = {0};
	int			rc;

	if (term == NULL || len == 0 || len > SA_MAX_TERM_BYTES)
		return SA_ERR_ARGUMENT;
	while (pos < len)
	{
		size_t		start = pos;
		uint32_t	cp = sa_utf8_next(p, len, &pos);

		if (sa_is_space(cp))
			return SA_ERR_SYNTAX;
		/* A real U+FFFD is three bytes; anything else was ill-formed. */
		if (cp == SA_REPLACEMENT_CHAR && pos - start != 3)
			return SA_ERR_SYNTAX;
	}
	rc = sa_text_lower(&out, term, len, &scratch);
	sa_buf_free(&scratch);
	if (rc != 0)
	{
		sa_buf_free(&out);
		return SA_ERR_NOMEM;
	}
	*key = out.data;
	*keylen = out.len;
	return SA_OK;
}

/*
 * Can a token ever look like key?  Tokens lose leading and trailing ASCII
 * punctuation unless that leaves 2 code points or fewer, so "sick!" never
 * reaches the lexicon (the token is "sick") while ":-)" and "ok!" do.
 */
static bool
reachable(const char *key, size_t len)
{
	size_t		a = 0,
				b = len;

	while (a < b && sa_is_ascii_punct((unsigned char) key[a]))
		a++;
	while (b > a && sa_is_ascii_punct((unsigned char) key[b - 1]))
		b--;
	return (a == 0 && b == len) || sa_text_cplen(key + a, b - a) <= 2;
}

sa_error
sa_lexicon_set(sa_lexicon *lex, const char *term, size_t len, double valence)
{
	char	   *key;
	size_t		keylen;
	uint32_t	hash;
	sa_lexentry *e;
	sa_error	err;

	if (lex == NULL)
		return SA_ERR_ARGUMENT;
	/* Finite and bounded, so sums over 4 MB of text stay finite. */
	if (!isfinite(valence) || fabs(valence) > SA_MAX_USER_VALENCE)
		return SA_ERR_ARGUMENT;
	err = normalise_term(term, len, &key, &keylen);
	if (err != SA_OK)
		return err;
	if (!reachable(key, keylen))
	{
		free(key);
		return SA_ERR_SYNTAX;
	}
	err = ensure_room(lex, 1);
	if (err != SA_OK)
	{
		free(key);
		return err;
	}
	hash = sa_lex_hash(key, keylen);
	e = find_slot(lex, key, keylen, hash);
	if (e->used)
		free(key);				/* keep the existing key storage */
	else
	{
		e->used = 1;
		e->key = key;
		e->len = (uint32_t) keylen;
		e->hash = hash;
		e->owned = 1;
		lex->tags[e - lex->slots] = SA_LEX_TAG(hash);
		lex->nused++;
	}
	if (!(e->flags & SA_W_LEX))
		lex->nwords++;
	e->flags |= SA_W_LEX;
	e->valence = valence;
	return SA_OK;
}

sa_error
sa_lexicon_remove(sa_lexicon *lex, const char *term, size_t len)
{
	char	   *key;
	size_t		keylen;
	uint32_t	hash;
	sa_lexentry *e;
	sa_error	err;
	size_t		i,
				j;

	if (lex == NULL)
		return SA_ERR_ARGUMENT;
	err = normalise_term(term, len, &key, &keylen);
	if (err != SA_OK)
		return err;
	hash = sa_lex_hash(key, keylen);
	e = find_slot(lex, key, keylen, hash);
	free(key);
	/* Removing an absent term is not an error: the end state is the same. */
	if (!e->used || !(e->flags & SA_W_LEX))
		return SA_OK;
	e->flags &= ~SA_W_LEX;
	e->valence = 0.0;
	lex->nwords--;
	if (e->flags != 0 || e->wid != SA_WID_NONE)
		return SA_OK;			/* still a rule word */

	/* Delete the slot, shifting later members of its probe run back. */
	if (e->owned)
		free((void *) e->key);
	i = (size_t) (e - lex->slots);
	memset(e, 0, sizeof(*e));
	lex->tags[i] = 0;
	lex->nused--;
	j = i;
	for (;;)
	{
		size_t		home;

		j = (j + 1) & lex->mask;
		if (!lex->slots[j].used)
			break;
		home = lex->slots[j].hash & lex->mask;
		/* Move j into the hole at i unless its home lies in (i, j]. */
		if (((j - home) & lex->mask) >= ((j - i) & lex->mask))
		{
			lex->slots[i] = lex->slots[j];
			lex->tags[i] = lex->tags[j];
			memset(&lex->slots[j], 0, sizeof(sa_lexentry));
			lex->tags[j] = 0;
			i = j;
		}
	}
	return SA_OK;
}

int
sa_lexicon_lookup(const sa_lexicon *lex, const char *term, size_t len, double *valence)
{
	const sa_lexentry *e;

	if (lex == NULL || (term == NULL && len > 0))
		return 0;
	e = sa_lexicon_find(lex, term, len, sa_lex_hash(term, len));
	if (e == NULL || !(e->flags & SA_W_LEX))
		return 0;
	if (valence != NULL)
		*valence = e->valence;
	return 1;
}

size_t
sa_lexicon_size(const sa_lexicon *lex)
{
	return lex == NULL ? 0 : lex->nwords;
}

const char *
sa_emoji_description(uint32_t cp, size_t *len)
{
	size_t		w = cp >> 6;
	uint64_t	bits,
				bit;
	size_t		idx;
	const char *d;

	if (w >= sa_lexdata_emoji_nbits)
		return NULL;
	bits = sa_lexdata_emoji_bits[w];
	bit = (uint64_t) 1 << (cp & 63);
	if (!(bits & bit))
		return NULL;
	idx = sa_lexdata_emoji_base[w] + (size_t) __builtin_popcountll(bits & (bit - 1));
	d = sa_lexdata_emoji_text + sa_lexdata_emoji_off[idx];
	*len = strlen(d);
	return d;
}
