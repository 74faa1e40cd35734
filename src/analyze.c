/*
 * analyze.c - the analyser inside a backend, and the SQL functions that call
 * it directly: sentiment_analyze(text) and sentiment_scores(text).
 *
 * The analyser reads and writes UTF-8.  In a database of another encoding
 * texts are converted on the way in and topic keys on the way back (a key
 * with a character the server encoding cannot hold is left out: it could
 * not be stored).  In an SQL_ASCII database the bytes go in as they are and
 * invalid UTF-8 reads as U+FFFD.
 *
 * The lexicon and workspace are built once per backend, on first use, by
 * the analyser library (plain malloc, outside any memory context): they live
 * as long as the process and are never rebuilt per call.  The lexicon is
 * rebuilt, and the topic dictionary loaded, only when the user's dictionary
 * tables change (dictionary.c).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_analyze);
PG_FUNCTION_INFO_V1(sentiment_scores);
PG_FUNCTION_INFO_V1(sentiment_probabilities);
PG_FUNCTION_INFO_V1(sentiment_explain);
PG_FUNCTION_INFO_V1(sentiment_models);
PG_FUNCTION_INFO_V1(sentiment_model_check);
PG_FUNCTION_INFO_V1(sentiment_language);

static SpAnalyzer analyzer;
static bool analyzer_ready = false;

/* The backend's analyser objects, built on first use, dictionaries refreshed when they changed. */
SpAnalyzer *
sp_analyzer(void)
{
	sa_error	err;

	if (analyzer_ready)
	{
		/* the user's overrides and topics: a flag test unless they changed */
		sp_dictionary_refresh(&analyzer);
		return &analyzer;
	}

	/* Build both before publishing, so a failure leaves nothing half-made. */
	if (analyzer.lexicon == NULL)
	{
		err = sa_lexicon_create(&analyzer.lexicon);
		if (err != SA_OK)
		{
			analyzer.lexicon = NULL;
			sp_analyzer_error(err, "loading the lexicon");
		}
	}
	if (analyzer.workspace == NULL)
	{
		err = sa_workspace_create(&analyzer.workspace);
		if (err != SA_OK)
		{
			analyzer.workspace = NULL;
			sp_analyzer_error(err, "creating a workspace");
		}
	}
	analyzer.topics = NULL;
	analyzer_ready = true;
	sp_dictionary_refresh(&analyzer);
	return &analyzer;
}

/* The model argument of an SQL function (argno; absent or NULL: VADER). */
static sa_model
model_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return SA_MODEL_VADER;
	return sp_model_by_name(text_to_cstring(PG_GETARG_TEXT_PP(argno)));
}

/*
 * A text's bytes as UTF-8 for the analyser: the bytes themselves in a UTF8
 * or SQL_ASCII database, a converted palloc'd copy otherwise.
 */
const char *
sp_text_to_utf8(text *t, size_t *len)
{
	const char *s = VARDATA_ANY(t);
	int			n = VARSIZE_ANY_EXHDR(t);
	char	   *u;

	*len = (size_t) n;
	/* SQL_ASCII: the bytes as they are (conversion would reject invalid UTF-8) */
	if (GetDatabaseEncoding() == PG_UTF8 || GetDatabaseEncoding() == PG_SQL_ASCII)
		return s;
	u = pg_server_to_any(s, n, PG_UTF8);
	if (u != s)
		*len = strlen(u);
	return u;
}

typedef struct FromUtf8
{
	const char *s;
	size_t		len;
	char	   *result;
} FromUtf8;

static void
from_utf8_step(void *arg)
{
	FromUtf8   *f = (FromUtf8 *) arg;

	f->result = pg_any_to_server(f->s, (int) f->len, PG_UTF8);
}

static bool
untranslatable(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_UNTRANSLATABLE_CHARACTER ||
		sqlerrcode == ERRCODE_CHARACTER_NOT_IN_REPERTOIRE;
}

/*
 * A text datum in the server encoding from the analyser's UTF-8 (a topic
 * key); (Datum) 0 when the server encoding cannot hold one of its
 * characters.  Keys are short and rarely non-ASCII outside UTF8 databases,
 * so the subtransaction that catches a failed conversion is rare too.
 */
Datum
sp_text_from_utf8(const char *s, size_t len)
{
	FromUtf8	f = {s, len, NULL};
	bool		ascii = true;

	if (GetDatabaseEncoding() == PG_UTF8 || GetDatabaseEncoding() == PG_SQL_ASCII)
		return PointerGetDatum(cstring_to_text_with_len(s, (int) len));
	for (size_t i = 0; i < len && ascii; i++)
		ascii = !IS_HIGHBIT_SET(s[i]);
	if (ascii)
		return PointerGetDatum(cstring_to_text_with_len(s, (int) len));
	if (sp_in_subtransaction(from_utf8_step, &f, untranslatable) != NULL)
		return (Datum) 0;
	return PointerGetDatum(cstring_to_text(f.result));
}

/* A real[] of n floats. */
static ArrayType *
float4_array(const float *values, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);
	ArrayType  *result;

	for (int i = 0; i < n; i++)
		elems[i] = Float4GetDatum(values[i]);
	result = construct_array(elems, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	pfree(elems);
	return result;
}

/* A composite result type of an SQL function, blessed. */
static TupleDesc
result_type(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	return BlessTupleDesc(tupdesc);
}

Datum
sentiment_analyze(PG_FUNCTION_ARGS)
{
	text	   *input;
	SpAnalyzer *an = sp_analyzer();
	sa_analysis *res = palloc(sizeof(sa_analysis));
	sa_error	err;
	TupleDesc	tupdesc = result_type(fcinfo);
	Datum		values[9];
	bool		nulls[9] = {false};
	Datum	   *topics;
	int			ntopics = 0;
	const char *utf8;
	size_t		len;

	/* the form with a model is not strict: a NULL model means VADER */
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	input = PG_GETARG_TEXT_PP(0);

	utf8 = sp_text_to_utf8(input, &len);
	err = sa_analyze_model(an->lexicon, an->topics, an->workspace, model_arg(fcinfo, 1), utf8, len, res);
	if (err != SA_OK)
		sp_analyzer_error(err, "analysing the text");

	values[0] = CStringGetTextDatum(sa_label_name(res->sentiment.label));
	values[1] = Float8GetDatum(res->sentiment.compound);
	values[2] = Float8GetDatum(res->sentiment.pos);
	values[3] = Float8GetDatum(res->sentiment.neu);
	values[4] = Float8GetDatum(res->sentiment.neg);
	values[5] = CStringGetTextDatum(sa_emotion_name(res->emotion));
	values[6] = Float8GetDatum(res->emotion_score);
	/* the emotion model reads English only: no guess for other languages */
	nulls[5] = nulls[6] = (res->emotion == SA_EMOTION_NONE);

	topics = palloc(sizeof(Datum) * (res->n_topics + 1));
	for (size_t i = 0; i < res->n_topics; i++)
	{
		Datum		key = sp_text_from_utf8(res->topics[i].key, res->topics[i].key_len);

		if (key != (Datum) 0)
			topics[ntopics++] = key;
	}
	values[7] = PointerGetDatum(construct_array(topics, ntopics, TEXTOID,
												-1, false, TYPALIGN_INT));
	values[8] = PointerGetDatum(float4_array(res->embedding, SA_EMBEDDING_DIMS));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
sentiment_scores(PG_FUNCTION_ARGS)
{
	text	   *input = PG_GETARG_TEXT_PP(0);
	SpAnalyzer *an = sp_analyzer();
	sa_sentiment res;
	sa_error	err;
	TupleDesc	tupdesc = result_type(fcinfo);
	Datum		values[4];
	bool		nulls[4] = {false};
	const char *utf8;
	size_t		len;

	utf8 = sp_text_to_utf8(input, &len);
	err = sa_sentiment_score(an->lexicon, an->workspace, utf8, len, &res);
	if (err != SA_OK)
		sp_analyzer_error(err, "scoring the text");

	values[0] = Float8GetDatum(res.compound);
	values[1] = Float8GetDatum(res.pos);
	values[2] = Float8GetDatum(res.neu);
	values[3] = Float8GetDatum(res.neg);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * sentiment_probabilities(text, model DEFAULT 'social'): P(negative),
 * P(neutral), P(positive) from the model (for VADER: its neg, neu and pos
 * proportions, which also sum to 1).
 */
Datum
sentiment_probabilities(PG_FUNCTION_ARGS)
{
	text	   *input;
	SpAnalyzer *an;
	sa_model	model = PG_ARGISNULL(1) ? SA_MODEL_SOCIAL : model_arg(fcinfo, 1);
	sa_sentiment res;
	sa_error	err;
	Datum		values[4];
	bool		nulls[4] = {false};
	const char *utf8;
	size_t		len;
	TupleDesc	tupdesc = result_type(fcinfo);

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	input = PG_GETARG_TEXT_PP(0);
	an = sp_analyzer();

	utf8 = sp_text_to_utf8(input, &len);
	err = sa_sentiment_score_model(an->lexicon, an->workspace, model, utf8, len, &res);
	if (err != SA_OK)
		sp_analyzer_error(err, "scoring the text");
	values[0] = Float8GetDatum(res.neg);
	values[1] = Float8GetDatum(res.neu);
	values[2] = Float8GetDatum(res.pos);
	values[3] = CStringGetTextDatum(sa_label_name(res.label));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * sentiment_explain(text, model DEFAULT 'vader', k DEFAULT 10): the terms
 * that moved the sentiment most, strongest first, with their contributions
 * (VADER: valences after the rules; social: the linear model's weights).
 */
Datum
sentiment_explain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *input;
	sa_model	model = model_arg(fcinfo, 1);
	int32		k = PG_ARGISNULL(2) ? 10 : PG_GETARG_INT32(2);
	SpAnalyzer *an;
	sa_explain_item *items;
	size_t		n = 0;
	sa_error	err;
	const char *utf8;
	size_t		len;

	if (k < 1 || k > SA_EXPLAIN_MAX_ITEMS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", SA_EXPLAIN_MAX_ITEMS),
				 errhint("Ask for the number of terms wanted, 10 by default.")));
	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	input = PG_GETARG_TEXT_PP(0);
	an = sp_analyzer();
	items = palloc(sizeof(sa_explain_item) * k);
	utf8 = sp_text_to_utf8(input, &len);
	err = sa_explain(an->lexicon, an->workspace, model, utf8, len, items, (size_t) k, &n);
	if (err != SA_OK)
		sp_analyzer_error(err, "explaining the text");
	for (size_t i = 0; i < n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false};

		values[0] = Int32GetDatum((int32) i + 1);
		/* copied out of the workspace before anything else can use it */
		values[1] = sp_text_from_utf8(items[i].term, items[i].term_len);
		nulls[1] = (values[1] == (Datum) 0);
		values[2] = Float8GetDatum(items[i].contribution);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* sentiment_models(): name, version, checksum and size of every model. */
Datum
sentiment_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	sa_model_info info;

	InitMaterializedSRF(fcinfo, 0);
	/* the analyser's table of models: sentiment models, then emotion */
	for (size_t i = 0; sa_model_list(i, &info) == SA_OK; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false};

		values[0] = CStringGetTextDatum(info.name);
		values[1] = CStringGetTextDatum(info.kind);
		values[2] = CStringGetTextDatum(info.version_string);
		values[3] = Int64GetDatum((int64) info.file_bytes);
		values[4] = BoolGetDatum(info.is_default != 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* _sentiment_model_check(name): the name when it is a sentiment model (CHECK). */
Datum
sentiment_model_check(PG_FUNCTION_ARGS)
{
	(void) sp_model_by_name(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_BOOL(true);
}

/* sentiment_language(text): ISO 639-1 code of the text's language, or und. */
Datum
sentiment_language(PG_FUNCTION_ARGS)
{
	text	   *input = PG_GETARG_TEXT_PP(0);
	const char *utf8;
	const char *code;
	size_t		len;
	sa_error	err;

	utf8 = sp_text_to_utf8(input, &len);
	err = sa_language_identify(utf8, len, &code);
	if (err != SA_OK)
		sp_analyzer_error(err, "identifying the language");
	PG_RETURN_TEXT_P(cstring_to_text(code));
}
