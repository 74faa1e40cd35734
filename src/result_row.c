/*
 * result_row.c - the result row's columns (see result_row.h), and what is
 * built from them: attach's column list, a table's shape, the batch's
 * result UPDATE and its arguments, and sentiment_complete's and
 * sentiment_fail's SET lists.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "result_row.h"

PG_FUNCTION_INFO_V1(sentiment_status_columns);
PG_FUNCTION_INFO_V1(sentiment_result_fields);

/* the values of a batch's rows: the analysis's (a failed row has none) */
static Datum
v_result(const SpResultColumn *c, const SpBatch *b, int i, bool *isnull)
{
	*isnull = b->failed[i];
	return *isnull ? (Datum) 0 : b->results[c->slot][i];
}

/* (the emotion's columns: NULL when it was not judged, the text is not English) */
static Datum
v_emotion(const SpResultColumn *c, const SpBatch *b, int i, bool *isnull)
{
	*isnull = b->failed[i] || b->results[SP_R_EMOTION][i] == (Datum) 0;
	return *isnull ? (Datum) 0 : b->results[c->slot][i];
}

static Datum
v_status(const SpResultColumn *c, const SpBatch *b, int i, bool *isnull)
{
	*isnull = false;
	return b->failed[i] ? b->status_failed : b->status_completed;
}

static Datum
v_error(const SpResultColumn *c, const SpBatch *b, int i, bool *isnull)
{
	*isnull = !b->failed[i];
	return *isnull ? (Datum) 0 : CStringGetTextDatum(b->error[i]);
}

/* (the error history's new entry: the failed row's SQLSTATE) */
static Datum
v_code(const SpResultColumn *c, const SpBatch *b, int i, bool *isnull)
{
	*isnull = !b->failed[i];
	return *isnull ? (Datum) 0 : CStringGetTextDatum(b->code[i]);
}

static Datum
v_retry(const SpResultColumn *c, const SpBatch *b, int i, bool *isnull)
{
	*isnull = !b->failed[i] || b->retry[i] == 0;
	return *isnull ? (Datum) 0 : TimestampTzGetDatum(b->retry[i]);
}

static Datum
v_started(const SpResultColumn *c, const SpBatch *b, int i, bool *isnull)
{
	*isnull = false;
	return TimestampTzGetDatum(b->started);
}

static Datum
v_finished(const SpResultColumn *c, const SpBatch *b, int i, bool *isnull)
{
	*isnull = false;
	return TimestampTzGetDatum(b->finished);
}

static Datum
v_model(const SpResultColumn *c, const SpBatch *b, int i, bool *isnull)
{
	*isnull = false;
	return CStringGetTextDatum(sp_model_version(b->src->model));
}

#define NOTHING InvalidOid, NULL, NULL, NULL

/*
 * In attach's order (n in sentiment_status_columns).  (sentiment_fail sets
 * the retry time and the error history itself: they differ on Citus.)
 */
const SpResultColumn sp_result_columns[] = {
	{"sentiment_label", "text", "", "string", SP_SHAPE_1_0, SP_FROM_RESULT,
	TEXTOID, "u.sentiment_label", "r.sentiment_label", v_result, SP_R_LABEL},
	{"sentiment_score", "double precision", "", "number", SP_SHAPE_1_0, SP_FROM_RESULT,
	FLOAT8OID, "u.sentiment_score", "r.sentiment_score", v_result, SP_R_SCORE},
	{"emotion_label", "text", "", "string", SP_SHAPE_1_0, SP_FROM_RESULT,
	TEXTOID, "u.emotion_label", "r.emotion_label", v_emotion, SP_R_EMOTION},
	{"emotion_score", "double precision", "", "number", SP_SHAPE_1_0, SP_FROM_RESULT,
	FLOAT8OID, "u.emotion_score", "r.emotion_score", v_emotion, SP_R_EMOTION_SCORE},
	{"influence_weight", "double precision", "", "number", SP_SHAPE_1_0, SP_FROM_RESULT,
	FLOAT8OID, "u.influence_weight", "r.influence_weight", v_result, SP_R_INFLUENCE},
	{"author_followers", "bigint", "", "integer", SP_SHAPE_1_0, SP_FROM_INPUT, NOTHING},
	{"likes", "bigint", "", "integer", SP_SHAPE_1_0, SP_FROM_INPUT, NOTHING},
	{"shares", "bigint", "", "integer", SP_SHAPE_1_0, SP_FROM_INPUT, NOTHING},
	{"replies", "bigint", "", "integer", SP_SHAPE_1_0, SP_FROM_INPUT, NOTHING},
	{"processing_status", "text", " NOT NULL DEFAULT 'pending'", "string", SP_SHAPE_1_0, SP_FROM_STATUS,
	TEXTOID, "u.processing_status", "'completed'", v_status, SP_R_NONE, "'failed'"},
	{"processing_started_at", "timestamptz", "", "timestamp", SP_SHAPE_1_0, SP_FROM_WRITE,
	TIMESTAMPTZOID, "$", NULL, v_started},
	{"processing_completed_at", "timestamptz", "", "timestamp", SP_SHAPE_1_0, SP_FROM_WRITE,
	TIMESTAMPTZOID, "$", "clock_timestamp()", v_finished, SP_R_NONE, "clock_timestamp()"},
	{"processing_error", "text", "", "string", SP_SHAPE_1_0, SP_FROM_FAILURE,
	TEXTOID, "u.processing_error", "NULL", v_error, SP_R_NONE, "$1->>'error'"},
	{"processing_attempts", "integer", " NOT NULL DEFAULT 0", "integer", SP_SHAPE_1_0, SP_FROM_ROW,
	InvalidOid, "s.processing_attempts OPERATOR(pg_catalog.+) 1", NULL, NULL},
	{"version", "integer", " NOT NULL DEFAULT 0", "integer", SP_SHAPE_1_0, SP_FROM_CLAIM, NOTHING},
	{"processing_retry_at", "timestamptz", "", "timestamp", SP_SHAPE_1_1, SP_FROM_FAILURE,
	TIMESTAMPTZOID, "u.processing_retry_at", "NULL", v_retry},
	{"processing_lease_until", "timestamptz", "", "timestamp", SP_SHAPE_1_1, SP_FROM_CLAIM,
	InvalidOid, NULL, "NULL", NULL, SP_R_NONE, "NULL"},
	{"processing_claimed_by", "text", "", "string", SP_SHAPE_1_1, SP_FROM_CLAIM,
	InvalidOid, NULL, "NULL", NULL, SP_R_NONE, "NULL"},
	/* (the batch's argument: the failed row's SQLSTATE, the new entry's) */
	{"processing_error_history", "jsonb", "", "jsonb", SP_SHAPE_1_1, SP_FROM_FAILURE,
		TEXTOID, "CASE WHEN u.processing_error IS NULL THEN s.processing_error_history "
		"ELSE {ext}.sentiment_error_history_add(s.processing_error_history, "
		"(s.processing_attempts OPERATOR(pg_catalog.+) 1)::pg_catalog.int4, u.processing_error_history, "
		"u.processing_error, pg_catalog.current_setting('sentiment_proc.error_history')::pg_catalog.int4) END",
	NULL, v_code},
	/* which model (and version) wrote the row's result */
	{"sentiment_model", "text", "", "string", SP_SHAPE_1_2, SP_FROM_WRITE,
	TEXTOID, "CASE WHEN u.processing_error IS NULL THEN $ END", NULL, v_model},
	/* the text's language (ISO 639-1 or und), from every batch */
	{"language", "text", "", "string", SP_SHAPE_1_3, SP_FROM_RESULT,
	TEXTOID, "u.language", "r.language", v_result, SP_R_LANGUAGE},
};
const int	sp_nresult_columns = lengthof(sp_result_columns);

/*
 * The shape of a table: the last version whose columns it all has.  A
 * table not yet upgraded (a new library before ALTER EXTENSION ... UPDATE)
 * is written as its version wrote it.  The language is written only into a
 * text column.
 */
SpShape
sp_table_shape(Oid relid)
{
	SpShape		shape = SP_SHAPE_1_3;

	for (int i = 0; i < sp_nresult_columns; i++)
	{
		const SpResultColumn *c = &sp_result_columns[i];
		AttrNumber	att = get_attnum(relid, c->name);
		bool		has = att != InvalidAttrNumber;

		if (has && c->since == SP_SHAPE_1_3 && strcmp(c->type, "text") == 0)
		{
			Oid			type = get_atttype(relid, att);

			has = type == TEXTOID || type == VARCHAROID;
		}
		if (!has && c->since > SP_SHAPE_1_0 && c->since - 1 < shape)
			shape = c->since - 1;
	}
	return shape;
}

/*
 * The description against the batch's result arrays: every SP_FROM_RESULT
 * column the batch writes takes its values from a slot of its own, and
 * every slot is some column's.  A mismatch is a programming error, raised
 * before any batch or attach runs with it.
 */
static void
check_slots(void)
{
	int			used[SP_NRESULT_SLOTS] = {0};

	for (int i = 0; i < sp_nresult_columns; i++)
	{
		const SpResultColumn *c = &sp_result_columns[i];
		bool		needs = c->from == SP_FROM_RESULT && c->batch_value != NULL;

		if (c->slot < SP_R_NONE || c->slot >= SP_NRESULT_SLOTS || needs != (c->slot != SP_R_NONE))
			elog(ERROR, "result column %s: slot %d does not match its source", c->name, (int) c->slot);
		used[c->slot]++;
	}
	for (int slot = SP_R_NONE + 1; slot < SP_NRESULT_SLOTS; slot++)
		if (used[slot] != 1)
			elog(ERROR, "result slot %d is the slot of %d result columns, not 1", slot, used[slot]);
}

/* A batch_value with $ and {ext} filled in. */
static void
append_value(StringInfo buf, const char *value, int arg, const char *ext)
{
	for (const char *p = value; *p; p++)
	{
		if (*p == '$')
			appendStringInfo(buf, "$%d", arg);
		else if (strncmp(p, "{ext}", 5) == 0)
		{
			appendStringInfoString(buf, ext);
			p += 4;
		}
		else
			appendStringInfoChar(buf, *p);
	}
}

/* Does the batch's UPDATE of a table of this shape set column c? */
static bool
batch_sets(const SpResultColumn *c, SpShape shape)
{
	return c->batch_value != NULL && c->since <= shape;
}

char *
sp_result_update_sql(const char *rel, const char *id, const char *ext, SpShape shape,
					 int *nargs, Oid **argtypes)
{
	StringInfoData set;
	StringInfoData from;
	StringInfoData names;
	int			n = 1;

	check_slots();
	*argtypes = palloc(sizeof(Oid) * (sp_nresult_columns + 1));
	(*argtypes)[0] = INT8ARRAYOID;
	initStringInfo(&set);
	initStringInfo(&from);
	initStringInfo(&names);
	appendStringInfoString(&from, "pg_catalog.unnest($1)");
	appendStringInfoString(&names, "id");
	for (int i = 0; i < sp_nresult_columns; i++)
	{
		const SpResultColumn *c = &sp_result_columns[i];

		if (!batch_sets(c, shape))
			continue;
		if (OidIsValid(c->arg_elem))
		{
			n++;
			if (c->from == SP_FROM_WRITE)
				(*argtypes)[n - 1] = c->arg_elem;
			else
			{
				(*argtypes)[n - 1] = get_array_type(c->arg_elem);
				appendStringInfo(&from, ", pg_catalog.unnest($%d)", n);
				appendStringInfo(&names, ", %s", c->name);
			}
		}
		appendStringInfo(&set, "%s%s = ", set.len > 0 ? ", " : "", c->name);
		append_value(&set, c->batch_value, n, ext);
	}
	*nargs = n;
	/* (the ids written: batch_record.c checks that each reached one row) */
	return psprintf("UPDATE %s AS s SET %s FROM ROWS FROM (%s) AS u(%s) WHERE s.%s OPERATOR(pg_catalog.=) u.id "
					"RETURNING s.%s::pg_catalog.int8",
					rel, set.data, from.data, names.data, id, id);
}

void
sp_result_update_args(SpBatch *b, SpShape shape, const int *rows, int nrows, Datum *args)
{
	Datum	   *values = palloc(sizeof(Datum) * nrows);
	bool	   *nulls = palloc(sizeof(bool) * nrows);
	int			n = 1;

	for (int k = 0; k < nrows; k++)
		values[k] = b->ids[rows[k]];
	args[0] = sp_array_datum(values, NULL, nrows, INT8OID);
	for (int i = 0; i < sp_nresult_columns; i++)
	{
		const SpResultColumn *c = &sp_result_columns[i];
		bool		isnull;

		if (!batch_sets(c, shape) || !OidIsValid(c->arg_elem))
			continue;
		if (c->from == SP_FROM_WRITE)
		{
			args[n++] = c->value(c, b, -1, &isnull);
			continue;
		}
		for (int k = 0; k < nrows; k++)
			values[k] = c->value(c, b, rows[k], &nulls[k]);
		args[n++] = sp_array_datum(values, nulls, nrows, c->arg_elem);
	}
}

/* sentiment_complete's SET list: the columns it writes, as it writes them. */
char *
sp_result_complete_set(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < sp_nresult_columns; i++)
		if (sp_result_columns[i].complete_value != NULL)
			appendStringInfo(&buf, "%s%s = %s", buf.len > 0 ? ", " : "", sp_result_columns[i].name,
							 sp_result_columns[i].complete_value);
	return buf.data;
}

/*
 * sentiment_fail's SET list: the result columns sentiment_complete writes
 * cleared, the others it writes as a failure writes them.
 */
char *
sp_result_fail_set(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < sp_nresult_columns; i++)
	{
		const SpResultColumn *c = &sp_result_columns[i];
		const char *value = c->from == SP_FROM_RESULT && c->complete_value != NULL ? "NULL" : c->fail_value;

		if (value != NULL)
			appendStringInfo(&buf, "%s%s = %s", buf.len > 0 ? ", " : "", c->name, value);
	}
	return buf.data;
}

/*
 * The fields of a result sentiment_complete reads, with their SQL types:
 * the key, the result columns, then (with_side) the row's side rows.
 * Returns how many; *names and *types point at them.
 */
static int
complete_fields(bool with_side, const char ***names, const char ***types)
{
	int			n = 0;

	*names = palloc(sizeof(char *) * (sp_nresult_columns + 4));
	*types = palloc(sizeof(char *) * (sp_nresult_columns + 4));
	(*names)[n] = "id";
	(*types)[n++] = "bigint";
	(*names)[n] = "version";
	(*types)[n++] = "integer";
	for (int i = 0; i < sp_nresult_columns; i++)
		if (sp_result_columns[i].from == SP_FROM_RESULT)
		{
			(*names)[n] = sp_result_columns[i].name;
			(*types)[n++] = sp_result_columns[i].type;
		}
	if (with_side)
	{
		(*names)[n] = "topics";
		(*types)[n++] = "text[]";
		(*names)[n] = "embedding";
		(*types)[n++] = "real[]";
	}
	return n;
}

/*
 * Those fields as a record definition: without the side rows for the
 * complete statement (source_sql.c), with them for the checks (two_phase.c).
 */
char *
sp_result_complete_record(bool with_side)
{
	StringInfoData buf;
	const char **names;
	const char **types;
	int			n = complete_fields(with_side, &names, &types);

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s %s", i > 0 ? ", " : "", names[i], types[i]);
	return buf.data;
}

/*
 * sentiment_result_fields(): the fields of a result sentiment_complete
 * takes (field, field_type), for clients that build results
 * (examples/python/sentiment_worker.py).
 */
Datum
sentiment_result_fields(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char **names;
	const char **types;
	int			n = complete_fields(true, &names, &types);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		Datum		values[2] = {CStringGetTextDatum(names[i]), CStringGetTextDatum(types[i])};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * sentiment_status_columns(): the columns attach adds (n, column_name,
 * column_type, add_clause, kind), in its order.
 */
Datum
sentiment_status_columns(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	check_slots();
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < sp_nresult_columns; i++)
	{
		const SpResultColumn *c = &sp_result_columns[i];
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = DirectFunctionCall1(namein, CStringGetDatum(c->name));
		values[2] = CStringGetTextDatum(c->type);
		values[3] = CStringGetTextDatum(c->add_clause);
		values[4] = CStringGetTextDatum(c->kind);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
