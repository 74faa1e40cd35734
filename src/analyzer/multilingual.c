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
 * social model's: neg, neu, pos sum to 1, compound = pos - neg.  Its row in
 * the table of models (model.c) routes each language here; the scoring is
 * the trained models' own (social.c).
 */
#include "models_internal.h"

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

sa_scorer
sa_multilingual_route(sa_lang lang)
{
	if (sa_multilingual_covers(lang))
		return (sa_scorer) {&sa_model_multilingual_data, (int) slice_of(lang)};
	return (sa_scorer) {&sa_model_social_data, -1};
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
