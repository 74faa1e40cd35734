/*
 * model.c - the table of models (VADER and the trained ones, see
 * models_internal.h), their names, versions and self-check, and the linear
 * scoring the trained models share.  The weights themselves are the files
 * in models/, linked in at build time (model.mk); their layout is in
 * model_internal.h.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models_internal.h"
#include "workspace_internal.h"

/*
 * The table of models (models_internal.h): the sentiment models in
 * sa_model order, then the rows only sa_model_list() shows.
 */
static const sa_model_def model_table[] = {
	[SA_MODEL_VADER] = {
		.name = "vader", .kind = "sentiment", .is_default = true,
		.version_string = "vader-3.3.2", .version = 3,
	},
	[SA_MODEL_SOCIAL] = {
		.name = "social", .kind = "sentiment", .data = &sa_model_social_data,
	},
	[SA_MODEL_MULTILINGUAL] = {
		/* English and the languages it has no slice for go to social */
		.name = "multilingual", .kind = "sentiment", .data = &sa_model_multilingual_data,
		.reads = {&sa_model_social_data, &sa_model_language_data},
		.route = sa_multilingual_route,
	},
	[SA_MODEL_COUNT] = {
		.name = "emotion", .kind = "emotion", .data = &sa_model_emotion_data,
	},
};

#define MODEL_ROWS (sizeof(model_table) / sizeof(model_table[0]))

/* the emotion row last; a constant without its row is caught by test_models */
_Static_assert(MODEL_ROWS == SA_MODEL_COUNT + 1, "a row per sa_model, then the emotion model");

/* The emotion model's row. */
#define EMOTION_ROW (&model_table[SA_MODEL_COUNT])

const sa_model_def *
sa_model_def_of(sa_model model)
{
	if ((int) model < 0 || model >= SA_MODEL_COUNT)
		return NULL;
	return &model_table[model];
}

const char *
sa_model_name(sa_model model)
{
	const sa_model_def *d = sa_model_def_of(model);

	return d == NULL ? "unknown" : d->name;
}

sa_error
sa_model_from_name(const char *name, size_t len, sa_model *out)
{
	if (name == NULL || out == NULL)
		return SA_ERR_ARGUMENT;
	for (int m = 0; m < SA_MODEL_COUNT; m++)
		if (strlen(model_table[m].name) == len && memcmp(model_table[m].name, name, len) == 0)
		{
			*out = (sa_model) m;
			return SA_OK;
		}
	return SA_ERR_ARGUMENT;
}

size_t
sa_model_names_text(char *buf, size_t cap)
{
	size_t		n = 0;

	if (buf == NULL || cap == 0)
		return 0;
	buf[0] = '\0';
	for (int m = 0; m < SA_MODEL_COUNT; m++)
	{
		const char *sep = m == 0 ? "" : m == SA_MODEL_COUNT - 1 ? " and " : ", ";
		int			w = snprintf(buf + n, cap - n, "%s%s%s", sep, model_table[m].name,
								 model_table[m].is_default ? " (the default)" : "");

		if (w < 0 || (size_t) w >= cap - n)
		{
			buf[0] = '\0';		/* too small: nothing rather than a cut list */
			return 0;
		}
		n += (size_t) w;
	}
	return n;
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
info_of(const sa_model_def *d, sa_model_info *out)
{
	const sa_model_data *m = d->data;

	out->name = d->name;
	out->kind = d->kind;
	out->is_default = d->is_default;
	out->version = m != NULL ? m->version : d->version;
	out->version_string = m != NULL ? m->version_string : d->version_string;
	out->checksum = m != NULL ? m->checksum : 0;
	out->file_bytes = m != NULL ? m->file_len : 0;
}

sa_error
sa_model_get_info(sa_model model, sa_model_info *out)
{
	const sa_model_def *d = sa_model_def_of(model);

	if (out == NULL || d == NULL)
		return SA_ERR_ARGUMENT;
	info_of(d, out);
	return SA_OK;
}

sa_error
sa_model_list(size_t i, sa_model_info *out)
{
	if (out == NULL || i >= MODEL_ROWS)
		return SA_ERR_ARGUMENT;
	info_of(&model_table[i], out);
	return SA_OK;
}

sa_error
sa_emotion_model_info(sa_model_info *out)
{
	if (out == NULL)
		return SA_ERR_ARGUMENT;
	info_of(EMOTION_ROW, out);
	return SA_OK;
}

static sa_error
verify(const sa_model_data *m)
{
	return sa_model_file_checksum(m->file, m->file_len) == m->checksum ? SA_OK : SA_ERR_SYNTAX;
}

/* The row's file and every file it reads (none for VADER). */
static sa_error
verify_row(const sa_model_def *d)
{
	for (size_t i = 0; i < sizeof(d->reads) / sizeof(d->reads[0]) && d->reads[i] != NULL; i++)
		if (verify(d->reads[i]) != SA_OK)
			return SA_ERR_SYNTAX;
	return d->data == NULL ? SA_OK : verify(d->data);
}

sa_error
sa_model_verify(sa_model model)
{
	const sa_model_def *d = sa_model_def_of(model);

	return d == NULL ? SA_ERR_ARGUMENT : verify_row(d);
}

sa_error
sa_emotion_model_verify(void)
{
	return verify_row(EMOTION_ROW);
}

void
sa_model_logits(const sa_model_data *m, const uint32_t *f, size_t n, double *logits)
{
	int64_t		z[SA_MODEL_MAX_CLASSES] = {0};

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
