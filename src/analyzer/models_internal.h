/*
 * models_internal.h - the table of models (model.c): everything the
 * analyser does differently per sentiment model, in one row per model.
 * Not part of the public API.
 *
 * A sentiment model is VADER (no file) or a trained three-class linear
 * model (negative, neutral, positive) over the features of features.c,
 * VADER's scores among them.  A row says which file scores a text, which
 * other files it reads (checked with it), and, for a model that reads the
 * text's language first (multilingual), which file and language slice
 * score a text of each language.  Scoring, analysis, explain, topic clauses,
 * the model names, the hint listing them and sentiment_models() all go
 * through the table, so adding a model is: its file models/NAME.samodel and
 * the recipe that trains it (tools/), its line in model.mk, its data's
 * extern (model_internal.h), an sa_model constant (analyzer.h) and its row
 * in model.c (docs/development.md, "Adding a model").
 */
#ifndef SA_MODELS_INTERNAL_H
#define SA_MODELS_INTERNAL_H

#include "language_internal.h"

/*
 * What scores one text: VADER's scores as they are (data NULL), or the
 * linear model data over sa_features() (slice < 0) or over the multilingual
 * features of language slice (sa_ml_features()).
 */
typedef struct sa_scorer
{
	const sa_model_data *data;
	int			slice;
} sa_scorer;

typedef struct sa_model_def
{
	const char *name;			/* the SQL name, sa_model_name() */
	const char *kind;			/* "sentiment" or "emotion" */
	bool		is_default;		/* the default of attach and the analysis */
	const sa_model_data *data;	/* its file; NULL for VADER */
	const char *version_string; /* without a file: the version it records */
	uint32_t	version;
	const sa_model_data *reads[2];	/* other files it reads, NULL ended */

	/*
	 * Reads the text's language first: route() picks the scorer of each
	 * language, and the emotion (an English model) is only judged for
	 * English and "und" texts.  NULL: data scores every text.
	 */
	sa_scorer	(*route) (sa_lang lang);
} sa_model_def;

/*
 * The row of a sentiment model (NULL out of range).  The rows are in
 * sa_model order; after them come the rows only sentiment_models() lists
 * (the emotion model), see sa_model_list().
 */
const sa_model_def *sa_model_def_of(sa_model model);

/* The scorer of a text of language lang (ignored unless the model routes). */
static inline sa_scorer
sa_model_scorer(const sa_model_def *d, sa_lang lang)
{
	if (d->route != NULL)
		return d->route(lang);
	return (sa_scorer) {d->data, -1};
}

/* The multilingual model's route (multilingual.c). */
sa_scorer	sa_multilingual_route(sa_lang lang);

/*
 * Sentiment of the text tokenised in sc by a linear scorer (data not
 * NULL), VADER scores given: P(negative), P(neutral), P(positive) as neg,
 * neu, pos, compound = pos - neg, label the arg max.  want_origin keeps
 * each feature's origin (explain).
 */
sa_error	sa_linear_classify(sa_scratch *sc, sa_scorer s, const char *text, size_t len,
							   const sa_sentiment *vader, bool want_origin, sa_sentiment *out);

/* The same from the rows feats[0..n) of the linear model m. */
void		sa_linear_of_rows(const sa_model_data *m, const uint32_t *feats, size_t n,
							  sa_sentiment *out);

/*
 * Sentiment of a text with the model (VADER, tokens and all), in the
 * language of code language when the model reads it (NULL: identified
 * here).
 */
sa_error	sa_model_score(const sa_lexicon *lex, sa_workspace *ws, sa_model model,
						   const char *language, const char *text, size_t len,
						   sa_sentiment *out);

#endif							/* SA_MODELS_INTERNAL_H */
