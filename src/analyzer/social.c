/*
 * social.c - the trained three-class sentiment models (social, and the
 * multilingual model's slices) and sa_sentiment_score_model(), which scores
 * a text with any row of the table of models (models_internal.h).
 *
 * A trained sentiment model is a three-class (negative, neutral, positive)
 * softmax regression over the features of features.c, VADER's own scores
 * among them, so VADER always runs first.  Classes are in that order in
 * the model file (checked at build time, model.mk).
 */
#include <math.h>
#include <string.h>

#include "models_internal.h"

void
sa_linear_of_rows(const sa_model_data *m, const uint32_t *feats, size_t n, sa_sentiment *out)
{
	double		z[SA_MODEL_MAX_CLASSES];
	double		p[3],
				sum = 0.0,
				top;
	int			best = 0;

	sa_model_logits(m, feats, n, z);
	for (int c = 1; c < 3; c++)
		if (z[c] > z[best])
			best = c;
	/* exponents <= 0: no overflow, the sum is in [1, 3] */
	top = z[best];
	for (int c = 0; c < 3; c++)
	{
		p[c] = exp(z[c] - top);
		sum += p[c];
	}
	out->neg = p[0] / sum;
	out->neu = p[1] / sum;
	out->pos = p[2] / sum;
	out->compound = out->pos - out->neg;
	out->label = (sa_label) (best - 1);
}

sa_error
sa_linear_classify(sa_scratch *sc, sa_scorer s, const char *text, size_t len,
				   const sa_sentiment *vader, bool want_origin, sa_sentiment *out)
{
	sa_feat_layout layout = sa_model_layout(s.data);
	sa_error	err;

	err = s.slice < 0 ? sa_features(sc, &layout, text, len, vader, want_origin)
		: sa_ml_features(sc, &layout, (sa_lang) s.slice, text, len, vader, want_origin);
	if (err == SA_OK)
		sa_linear_of_rows(s.data, sc->feats, sc->nfeats, out);
	return err;
}

sa_error
sa_model_score(const sa_lexicon *lex, sa_workspace *ws, sa_model model,
			   const char *language, const char *text, size_t len, sa_sentiment *out)
{
	const sa_model_def *d = sa_model_def_of(model);
	sa_sentiment vader;
	sa_scorer	s;
	sa_scratch *sc;
	sa_error	err;

	if (d == NULL)
		return SA_ERR_ARGUMENT;
	if (d->data == NULL)
		return sa_sentiment_score(lex, ws, text, len, out);
	err = sa_sentiment_score(lex, ws, text, len, &vader);
	if (err != SA_OK)
		return err;
	if (text == NULL)
		text = "";
	if (d->route == NULL)
		s = sa_model_scorer(d, SA_LANG_UND);
	else
		s = sa_model_scorer(d, language != NULL ? sa_lang_from_code(language)
							: sa_lang_identify(text, len));
	err = sa_model_scratch(ws, &sc);
	if (err == SA_OK)
		err = sa_tokenize(sc, text, len);
	if (err == SA_OK)
		err = sa_linear_classify(sc, s, text, len, &vader, false, out);
	if (err != SA_OK)
	{
		memset(out, 0, sizeof(*out));
		out->label = SA_LABEL_NEUTRAL;
	}
	return err;
}

sa_error
sa_sentiment_score_model(const sa_lexicon *lex, sa_workspace *ws, sa_model model,
						 const char *text, size_t len, sa_sentiment *out)
{
	if (out == NULL)
		return SA_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	out->label = SA_LABEL_NEUTRAL;
	return sa_model_score(lex, ws, model, NULL, text, len, out);
}
