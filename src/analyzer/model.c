/*
 * model.c - the registry of sentiment models (VADER and the trained ones),
 * their versions and self-check, and the linear scoring the trained models
 * share.  The weights themselves are the files in models/, linked in at build
 * time (model.mk); their layout is in model_internal.h.
 */
#include <math.h>
#include <string.h>

#include "language_internal.h"
#include "workspace_internal.h"

static const char *const model_names[SA_MODEL_COUNT] = {
	[SA_MODEL_VADER] = "vader",
	[SA_MODEL_SOCIAL] = "social",
	[SA_MODEL_MULTILINGUAL] = "multilingual",
};

const char *
sa_model_name(sa_model model)
{
	if ((int) model < 0 || model >= SA_MODEL_COUNT)
		return "unknown";
	return model_names[model];
}

sa_error
sa_model_from_name(const char *name, size_t len, sa_model *out)
{
	if (name == NULL || out == NULL)
		return SA_ERR_ARGUMENT;
	for (int m = 0; m < SA_MODEL_COUNT; m++)
		if (strlen(model_names[m]) == len && memcmp(model_names[m], name, len) == 0)
		{
			*out = (sa_model) m;
			return SA_OK;
		}
	return SA_ERR_ARGUMENT;
}

uint64_t
sa_model_file_checksum(const unsigned char *file, size_t len)
{
	uint64_t	h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < len; i++)
	{
		/* the checksum field itself, bytes 248..255, is left out */
		if (i == 248)
			i = SA_MODEL_HEADER_BYTES;
		if (i >= len)
			break;
		h = (h ^ file[i]) * 0x100000001b3u;
	}
	return h;
}

static void
info_of(const sa_model_data *m, sa_model_info *out)
{
	out->name = m->name;
	out->version = m->version;
	out->version_string = m->version_string;
	out->checksum = m->checksum;
	out->file_bytes = m->file_len;
}

sa_error
sa_model_get_info(sa_model model, sa_model_info *out)
{
	if (out == NULL)
		return SA_ERR_ARGUMENT;
	switch (model)
	{
		case SA_MODEL_VADER:
			out->name = "vader";
			out->version = 3;
			out->version_string = "vader-3.3.2";
			out->checksum = 0;
			out->file_bytes = 0;
			return SA_OK;
		case SA_MODEL_SOCIAL:
			info_of(&sa_model_social_data, out);
			return SA_OK;
		case SA_MODEL_MULTILINGUAL:
			info_of(&sa_model_multilingual_data, out);
			return SA_OK;
		default:
			return SA_ERR_ARGUMENT;
	}
}

sa_error
sa_emotion_model_info(sa_model_info *out)
{
	if (out == NULL)
		return SA_ERR_ARGUMENT;
	info_of(&sa_model_emotion_data, out);
	return SA_OK;
}

static sa_error
verify(const sa_model_data *m)
{
	return sa_model_file_checksum(m->file, m->file_len) == m->checksum ? SA_OK : SA_ERR_SYNTAX;
}

sa_error
sa_model_verify(sa_model model)
{
	switch (model)
	{
		case SA_MODEL_VADER:
			return SA_OK;
		case SA_MODEL_SOCIAL:
			return verify(&sa_model_social_data);
		case SA_MODEL_MULTILINGUAL:
			/* it routes English to social and reads the language model */
			if (verify(&sa_model_social_data) != SA_OK || verify(&sa_model_language_data) != SA_OK)
				return SA_ERR_SYNTAX;
			return verify(&sa_model_multilingual_data);
		default:
			return SA_ERR_ARGUMENT;
	}
}

sa_error
sa_emotion_model_verify(void)
{
	return verify(&sa_model_emotion_data);
}

void
sa_model_logits(const sa_model_data *m, const sa_scratch *sc, double *logits)
{
	int64_t		z[SA_MODEL_MAX_CLASSES] = {0};
	const uint32_t *f = sc->feats;
	size_t		n = sc->nfeats;

	/*
	 * Fixed lane counts let the compiler add a row as one vector; int32
	 * sums are exact for 2^24 rows of |w| <= 128, so longer texts are
	 * added up in blocks of that size.
	 */
	for (size_t from = 0; from < n; from += (size_t) 1 << 24)
	{
		size_t		to = n - from > ((size_t) 1 << 24) ? from + ((size_t) 1 << 24) : n;
		int32_t		a[8] = {0};

		if (m->lanes == 4)
		{
			for (size_t i = from; i < to; i++)
			{
				const int8_t *w = m->table + (size_t) f[i] * 4;

				for (int c = 0; c < 4; c++)
					a[c] += w[c];
			}
		}
		else if (m->lanes == 8)
		{
			for (size_t i = from; i < to; i++)
			{
				const int8_t *w = m->table + (size_t) f[i] * 8;

				for (int c = 0; c < 8; c++)
					a[c] += w[c];
			}
		}
		else
		{
			/* 7 lanes: seven classes with no padding (a smaller table) */
			for (size_t i = from; i < to; i++)
			{
				const int8_t *w = m->table + (size_t) f[i] * 7;

				for (int c = 0; c < 7; c++)
					a[c] += w[c];
			}
		}
		for (int c = 0; c < 8; c++)
			z[c] += a[c];
	}
	if ((m->flags & SA_FEAT_NORM) && n > 0)
	{
		double		root = sqrt((double) n);

		for (uint32_t c = 0; c < m->n_classes; c++)
			logits[c] = m->bias[c] + m->scale[c] * ((double) z[c] / root);
	}
	else
		for (uint32_t c = 0; c < m->n_classes; c++)
			logits[c] = m->bias[c] + m->scale[c] * (double) z[c];
}

double
sa_model_top_score(const sa_model_data *m, const double *z, int n, int best)
{
	double		r = 0.0;

	/* r = (1 - p) / p: the other classes' exponents, each <= 0 */
	for (int c = 0; c < n; c++)
		if (c != best)
			r += exp(z[c] - z[best]);
	if (m->cal_a <= 0.0)
		return 1.0 / (1.0 + r);
	if (r <= 0.0)
		return 1.0;				/* the others underflowed: p is 1 */
	return 1.0 / (1.0 + exp(m->cal_a * log(r) - m->cal_c));
}

static void
scratch_free(void *p)
{
	sa_scratch_destroy((sa_scratch *) p);
}

sa_error
sa_model_scratch(sa_workspace *ws, sa_scratch **out)
{
	if (ws->model_scratch == NULL)
	{
		sa_scratch *sc;
		sa_error	err = sa_scratch_create(&sc);

		if (err != SA_OK)
			return err;
		ws->model_scratch = sc;
		ws->model_scratch_free = scratch_free;
	}
	*out = (sa_scratch *) ws->model_scratch;
	sa_scratch_trim(*out);
	return SA_OK;
}
