/*
 * language.c - language identification: sa_language_identify().
 *
 * language_scan.c strips the noise, counts letters per script and sums the
 * trained model's rows (models/language.samodel) for Latin-script text;
 * here the sums become logits, bias + scale * sum / sqrt(n), and the
 * largest wins (the lowest class on ties, as the trainer).
 */
#include <math.h>

#include "language_internal.h"

sa_lang
sa_lang_identify(const char *text, size_t len)
{
	const sa_model_data *m = &sa_model_language_data;
	sa_lang_layout layout = {m->table, m->bits, m->char_min, m->char_max};
	int32_t		z[8];
	size_t		n;
	sa_lang		lang = sa_lang_scan(text, len, &layout, NULL, &n, z);
	double		root,
				top = 0;
	int			best = -1;

	if (lang != SA_LANG_BY_MODEL)
		return lang;
	if (n == 0)
		return SA_LANG_UND;
	root = sqrt((double) n);
	for (int c = 0; c < SA_LANG_MODEL_COUNT; c++)
	{
		double		logit = m->bias[c] + m->scale[c] * ((double) z[c] / root);

		if (best < 0 || logit > top)
		{
			best = c;
			top = logit;
		}
	}
	return (sa_lang) best;
}

sa_error
sa_language_identify(const char *text, size_t len, const char **code)
{
	if (code == NULL || (text == NULL && len > 0))
		return SA_ERR_ARGUMENT;
	*code = "und";
	if (len > SA_MAX_INPUT_BYTES)
		return SA_ERR_TOO_LONG;
	if (text == NULL)
		return SA_OK;
	*code = sa_lang_code(sa_lang_identify(text, len));
	return SA_OK;
}
