/*
 * language_internal.h - language identification (language.c) and the
 * multilingual sentiment model (multilingual.c).  Not part of the public API.
 *
 * Languages the analyser knows have an index (sa_lang): the model's seven
 * Latin-script classes first, in the order of models/language.samodel, then
 * the languages decided by their script alone.  SA_LANG_UND is "und".
 */
#ifndef SA_LANGUAGE_INTERNAL_H
#define SA_LANGUAGE_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "model_internal.h"

typedef enum sa_lang
{
	/* the language model's classes (Latin script), in its file's order */
	SA_LANG_DE = 0,
	SA_LANG_EN,
	SA_LANG_ES,
	SA_LANG_FR,
	SA_LANG_HI,					/* romanised Hindi (Hinglish) */
	SA_LANG_IT,
	SA_LANG_PT,
	SA_LANG_MODEL_COUNT,
	/* decided by script */
	SA_LANG_AR = SA_LANG_MODEL_COUNT,
	SA_LANG_HI_DEVA,			/* Hindi in Devanagari: code "hi" too */
	SA_LANG_EL,
	SA_LANG_HE,
	SA_LANG_TH,
	SA_LANG_KO,
	SA_LANG_JA,
	SA_LANG_ZH,
	SA_LANG_KA,
	SA_LANG_HY,
	SA_LANG_BN,
	SA_LANG_PA,
	SA_LANG_GU,
	SA_LANG_TA,
	SA_LANG_TE,
	SA_LANG_KN,
	SA_LANG_ML,
	SA_LANG_SI,
	SA_LANG_LO,
	SA_LANG_MY,
	SA_LANG_AM,
	SA_LANG_KM,
	SA_LANG_UND,
	SA_LANG_COUNT
} sa_lang;

/* The scan's verdict when the model must decide (language_scan.c). */
#define SA_LANG_BY_MODEL SA_LANG_COUNT

/* The ISO 639-1 code of a language index ("und" for SA_LANG_UND). */
const char *sa_lang_code(sa_lang lang);

/* Fewest letters (after the noise is stripped) a text needs for a verdict. */
#define SA_LANG_MIN_LETTERS 3

/* What the scan needs of the language model. */
typedef struct sa_lang_layout
{
	const int8_t *table;		/* 2^bits rows of 8 lanes; NULL when dumping */
	uint32_t	bits;
	uint32_t	nmin,			/* byte n-grams nmin..nmax (at most 4) */
				nmax;
} sa_lang_layout;

/*
 * The scan of language_scan.c.  Returns the language when the script or
 * the length decides (SA_LANG_UND included), else SA_LANG_BY_MODEL: then
 * *nrows is the number of model features and, when rows is NULL, z[0..8)
 * their integer sums from the table; when rows is not NULL (room for
 * sa_lang_max_rows(len)) the rows themselves are written there instead.
 */
sa_lang		sa_lang_scan(const char *text, size_t len, const sa_lang_layout *layout,
						 uint32_t *rows, size_t *nrows, int32_t *z);
size_t		sa_lang_max_rows(size_t len);

/* Language of a text (language.c, with the compiled-in model). */
sa_lang		sa_lang_identify(const char *text, size_t len);


/*
 * The multilingual model's features: the features.c rows of its layout,
 * each moved to a row of the text's language (one slice of the shared table
 * per language), with SA_FEAT_SHARED also kept where they were (evidence
 * all languages share: emoji, names, words in common), and one bias row per
 * language.  VADER's scores are a feature of Hindi only.  Origins follow the rows (explain); the bias is SA_FO_LANG.
 */
#define SA_FEAT_LANG	0x0200	/* language identification n-grams (language.samodel) */
#define SA_FEAT_SHARED	0x0400	/* multilingual: a language-independent copy too */
#define SA_FO_LANG		5u
#define SA_FEAT_MLLEX	0x0800	/* multilingual: listed sentiment words (ml_lexicon.c) */

/* +1, -1 for a word of the language's list (ml_lexicon.c), else 0. */
int			sa_ml_polarity(sa_lang lang, const char *w, size_t len);
/* The lists are in the order the lookup needs (for the tests). */
bool		sa_ml_lexicon_sorted(void);

static inline uint32_t
sa_ml_row(uint32_t row, uint32_t lang, uint32_t bits)
{
	return sa_fmix32(row * 0x9E3779B1u + (lang + 1) * 0x85EBCA6Bu) >> (32 - bits);
}

static inline sa_error
sa_ml_features(sa_scratch *sc, const sa_feat_layout *layout, sa_lang lang,
			   const char *text, size_t len, const sa_sentiment *vader, bool want_origin)
{
	sa_feat_layout own = *layout;
	/* in locals: stores to sc->feats may not be taken to change them */
	const uint32_t flags = layout->flags,
				bits = layout->bits;
	sa_error	err;
	size_t		n,
				total,
				need;

	/*
	 * VADER's scores only for romanised Hindi, which mixes in English: in
	 * the other languages VADER reads words as English ("war" in German).
	 */
	if (lang != SA_LANG_HI)
		own.flags &= ~SA_FEAT_VADER;
	err = sa_features(sc, &own, text, len, vader, want_origin);
	if (err != SA_OK)
		return err;
	n = sc->nfeats;
	total = (flags & SA_FEAT_SHARED) ? 2 * n + 1 : n + 1;
	if (flags & SA_FEAT_MLLEX)
		need = total + 2 * sc->ntoks;
	else
		need = total;
	if (sa_grow_array((void **) &sc->feats, &sc->feats_cap, need, sizeof(uint32_t)) != 0 ||
		(want_origin &&
		 sa_grow_array((void **) &sc->forigin, &sc->forigin_cap, need, sizeof(uint32_t)) != 0))
		return SA_ERR_NOMEM;
	if (flags & SA_FEAT_SHARED)
	{
		memcpy(sc->feats + n, sc->feats, n * sizeof(uint32_t));
		if (want_origin)
			memcpy(sc->forigin + n, sc->forigin, n * sizeof(uint32_t));
	}
	for (size_t i = 0; i < n; i++)
		sc->feats[i] = sa_ml_row(sc->feats[i], (uint32_t) lang, bits);
	sc->feats[total - 1] = sa_ml_row(0xFFFFFFFFu, (uint32_t) lang, bits);
	if (want_origin)
		sc->forigin[total - 1] = SA_FO_LANG << SA_FO_SHIFT;
	/* listed sentiment words: one feature of the language, one shared */
	if (flags & SA_FEAT_MLLEX)
		for (size_t i = 0; i < sc->ntoks; i++)
		{
			int			p = sa_ml_polarity(lang, sc->lower.data + sc->toks[i].off, sc->toks[i].len);
			uint32_t	key = p > 0 ? 0xFFFFFF01u : 0xFFFFFF02u;

			if (p == 0)
				continue;
			sc->feats[total] = sa_ml_row(key, (uint32_t) lang, bits);
			if (want_origin)
				sc->forigin[total] = (SA_FO_WORD << SA_FO_SHIFT) | (uint32_t) i;
			total++;
			if (flags & SA_FEAT_SHARED)
			{
				sc->feats[total] = sa_ml_row(key, 99, bits);
				if (want_origin)
					sc->forigin[total] = (SA_FO_WORD << SA_FO_SHIFT) | (uint32_t) i;
				total++;
			}
		}
	sc->nfeats = total;
	return SA_OK;
}

extern const sa_model_data sa_model_language_data;
extern const sa_model_data sa_model_multilingual_data;

/* The language of a code sa_lang_code() returned (SA_LANG_UND if none). */
sa_lang		sa_lang_from_code(const char *code);

/* Does the multilingual model have its own slice for lang? */
bool		sa_multilingual_covers(sa_lang lang);

#endif							/* SA_LANGUAGE_INTERNAL_H */
