/*
 * analyzer_glue.c - the analyser library's names and failures in server
 * terms: a model by its name, the version a result of it records, and the
 * error an analyser failure raises.  A leaf: it calls the analyser library
 * only, so the claim, analyse and record phases, the registry and the
 * dictionary all use it without calling one another.
 */
#include "postgres.h"

#include "sentiment_proc.h"

void
sp_analyzer_error(sa_error err, const char *what)
{
	if (err == SA_ERR_NOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory in the sentiment analyser while %s", what)));
	if (err == SA_ERR_TOO_LONG)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("text is too long to analyse"),
				 errdetail("The limit is %zu bytes.", (size_t) SA_MAX_INPUT_BYTES),
				 errhint("Analyse a shorter excerpt of the text.")));
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("sentiment analyser failed while %s: %s", what, sa_strerror(err))));
}

/* The sentiment model of a name ("vader", "social", "multilingual"); an error for others. */
sa_model
sp_model_by_name(const char *name)
{
	sa_model	model;
	char		names[256];

	if (name == NULL || sa_model_from_name(name, strlen(name), &model) != SA_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown sentiment model \"%s\"", name ? name : "(null)"),
				 sa_model_names_text(names, sizeof(names)) > 0
				 ? errhint("The models are %s; see sentiment_models.", names)
				 : errhint("See sentiment_models for the models.")));
	return model;
}

/* What a result of the model records: name, version and checksum prefix. */
const char *
sp_model_version(sa_model model)
{
	sa_model_info info;

	if (sa_model_get_info(model, &info) != SA_OK)
		elog(ERROR, "no information about sentiment model %d", (int) model);
	return info.version_string;
}
