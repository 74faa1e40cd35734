/*
 * multilingual.c - the multilingual sentiment model (SA_MODEL_MULTILINGUAL).
 *
 * The text's language comes first (language.c).  English, "und" and the
 * languages the model has no slice for go to the social model; Arabic,
 * German, Spanish, French, Hindi (romanised, and in Devanagari), Italian
 * and Portuguese to models/multilingual.samodel: a three-class softmax
 * regression whose hashed table holds one slice per language and a
 * language-independent copy of every feature (sa_ml_features), trained by
 * tools/train_multilingual.py on UMSAB.  Scores are probabilities as the
 * social model's: neg, neu, pos sum to 1, compound = pos - neg.
 */
#include <math.h>
#include <string.h>

#include "language_internal.h"

bool
sa_multilingual_covers(sa_lang lang)
{
	return lang == SA_LANG_AR || lang == SA_LANG_DE || lang == SA_LANG_ES || lang == SA_LANG_FR ||
		lang == SA_LANG_HI || lang == SA_LANG_HI_DEVA || lang == SA_LANG_IT || lang == SA_LANG_PT;
}

/* The slice of a covered language (Hindi in either script shares one). */
static sa_lang
slice_of(sa_lang lang)
{
	return lang == SA_LANG_HI_DEVA ? SA_LANG_HI : lang;
}

sa_error
sa_multilingual_classify(sa_scratch *sc, sa_lang lang, const char *text, size_t len,
						 const sa_sentiment *vader, bool want_origin, sa_sentiment *out)
{
	const sa_model_data *m = &sa_model_multilingual_data;
	sa_feat_layout layout = sa_model_layout(m);
	double		z[SA_MODEL_MAX_CLASSES];
	double		p[3],
				sum = 0.0;
	int			best = 0;
	sa_error	err;

	err = sa_ml_features(sc, &layout, slice_of(lang), text, len, vader, want_origin);
	if (err != SA_OK)
		return err;
	sa_model_logits(m, sc, z);
	for (int c = 1; c < 3; c++)
		if (z[c] > z[best])
			best = c;
	for (int c = 0; c < 3; c++)
	{
		p[c] = exp(z[c] - z[best]);
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
sa_multilingual_score(const sa_lexicon *lex, sa_workspace *ws, int lang,
					  const char *text, size_t len, sa_sentiment *out)
{
	sa_sentiment vader;
	sa_scratch *sc;
	sa_error	err;

	err = sa_sentiment_score(lex, ws, text, len, &vader);
	if (err != SA_OK)
		return err;
	if (text == NULL)
		text = "";
	if (lang < 0)
		lang = (int) sa_lang_identify(text, len);
	err = sa_model_scratch(ws, &sc);
	if (err == SA_OK)
		err = sa_tokenize(sc, text, len);
	if (err == SA_OK)
		err = sa_multilingual_covers((sa_lang) lang)
			? sa_multilingual_classify(sc, (sa_lang) lang, text, len, &vader, false, out)
			: sa_social_classify(sc, text, len, &vader, out);
	if (err != SA_OK)
	{
		memset(out, 0, sizeof(*out));
		out->label = SA_LABEL_NEUTRAL;
	}
	return err;
}

sa_error
sa_language_model_info(sa_model_info *out)
{
	const sa_model_data *m = &sa_model_language_data;

	if (out == NULL)
		return SA_ERR_ARGUMENT;
	out->name = m->name;
	out->version = m->version;
	out->version_string = m->version_string;
	out->checksum = m->checksum;
	out->file_bytes = m->file_len;
	return SA_OK;
}
