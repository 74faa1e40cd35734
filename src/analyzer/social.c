/*
 * social.c - the trained social-media sentiment model (SA_MODEL_SOCIAL) and
 * sa_sentiment_score_model(), which picks VADER or it.
 *
 * The model is a three-class (negative, neutral, positive) softmax
 * regression over the features of features.c, VADER's own scores among
 * them, so VADER always runs first.  Classes are in that order in the model
 * file (checked at build time).
 */
#include <math.h>
#include <string.h>

#include "language_internal.h"

sa_error
sa_social_classify(sa_scratch *sc, const char *text, size_t len,
				   const sa_sentiment *vader, sa_sentiment *out)
{
	const sa_model_data *m = &sa_model_social_data;
	sa_feat_layout layout = sa_model_layout(m);
	double		z[SA_MODEL_MAX_CLASSES];
	double		p[3],
				sum = 0.0,
				top;
	int			best = 0;
	sa_error	err;

	err = sa_features(sc, &layout, text, len, vader, false);
	if (err != SA_OK)
		return err;
	sa_model_logits(m, sc, z);
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
	return SA_OK;
}

sa_error
sa_sentiment_score_model(const sa_lexicon *lex, sa_workspace *ws, sa_model model,
						 const char *text, size_t len, sa_sentiment *out)
{
	sa_sentiment vader;
	sa_scratch *sc;
	sa_error	err;

	if (out == NULL)
		return SA_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	out->label = SA_LABEL_NEUTRAL;
	if (model == SA_MODEL_VADER)
		return sa_sentiment_score(lex, ws, text, len, out);
	if (model == SA_MODEL_MULTILINGUAL)
		return sa_multilingual_score(lex, ws, -1, text, len, out);
	if (model != SA_MODEL_SOCIAL)
		return SA_ERR_ARGUMENT;

	err = sa_sentiment_score(lex, ws, text, len, &vader);
	if (err != SA_OK)
		return err;
	if (text == NULL)
		text = "";
	err = sa_model_scratch(ws, &sc);
	if (err == SA_OK)
		err = sa_tokenize(sc, text, len);
	if (err == SA_OK)
		err = sa_social_classify(sc, text, len, &vader, out);
	if (err != SA_OK)
	{
		memset(out, 0, sizeof(*out));
		out->label = SA_LABEL_NEUTRAL;
	}
	return err;
}
