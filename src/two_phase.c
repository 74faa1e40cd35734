/*
 * two_phase.c - the two-phase path's writes: sentiment_complete and
 * sentiment_fail (the jsonb and bigint[] forms; the one-row forms in
 * sql/objects/56_claim_api.sql call these), and the lease's sentiment_renew
 * and sentiment_release (58_claim_lease.sql).
 *
 * The checks are made as the caller, in the order the PL/pgSQL versions
 * made them (claim, registration, the results, the embedding length, the
 * rights on the side tables); the rows are then written as the table's
 * owner by the fixed statements complete, complete_rest and fail of
 * source_sql.c (sp_source_statement: the same checks, lock, owner switch,
 * security-restricted operation and source timeout as sentiment_source_sql).
 * Those statements find the claimed rows by the primary key, whatever the
 * statistics say of 'processing' rows.
 *
 * Rows finished here are counted in the statistics as external work
 * (stats.c, sp_stats_external), so that monitoring sees an external
 * analyser's progress.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "result_row.h"
#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_complete);
PG_FUNCTION_INFO_V1(sentiment_fail);
PG_FUNCTION_INFO_V1(sentiment_renew);
PG_FUNCTION_INFO_V1(sentiment_release);

/* The first column of the first row of a query run as the caller (NULL: *isnull). */
static Datum
query_value(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, bool *isnull)
{
	if (SPI_execute_with_args(sql, nargs, types, values, nulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not run: %s", sql);
	if (SPI_processed == 0)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
}

/*
 * The claim the caller acts on (_sentiment_own_claim: NULL for its session's)
 * and the registration of source (_sentiment_registration: an error when it
 * is not attached).  Returns the claim, as text, NULL for none.
 */
static Datum
claim_and_registration(const char *ext, Datum claim, bool claim_null, Oid source, bool source_null, bool *out_null)
{
	Oid			text_type[1] = {TEXTOID};
	Oid			reg_type[1] = {REGCLASSOID};
	Datum		reg[1] = {ObjectIdGetDatum(source)};
	Datum		own;
	bool		isnull;

	own = query_value(psprintf("SELECT %s._sentiment_own_claim($1)", ext), 1, text_type, &claim,
					  claim_null ? "n" : " ", out_null);
	(void) query_value(psprintf("SELECT 1 FROM %s._sentiment_registration($1)", ext), 1, reg_type, reg,
					   source_null ? "n" : " ", &isnull);
	/* (a NULL source: as sentiment_source_sql says) */
	if (source_null)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source and statement must not be null")));
	return own;
}

/* The queued requests of the rows finished end (sentiment_queue_finish). */
static void
queue_finish(const char *ext, Oid source, Datum ids, Datum ats, bool failed, Datum error)
{
	Oid			types[5] = {REGCLASSOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, BOOLOID, TEXTOID};
	Datum		values[5] = {ObjectIdGetDatum(source), ids, ats, BoolGetDatum(failed), error};
	bool		isnull;

	(void) query_value(psprintf("SELECT %s.sentiment_queue_finish($1, $2, $3, $4, $5)", ext), 5, types,
					   values, failed ? "     " : "    n", &isnull);
}

/*
 * A statement's args: jsonb_build_object(key1, $1, key2, $2, ...) of the
 * values given, as the PL/pgSQL versions built them.
 */
static Datum
args_object(const char *keys, int n, Oid *types, Datum *values, const char *nulls)
{
	bool		isnull;

	return query_value(psprintf("SELECT %s", keys), n, types, values, nulls, &isnull);
}

/*
 * The rows the complete or fail statement wrote: their ids and the time
 * each claim began (for the queue), as arrays; returns how many.
 */
static int
written_rows(SPITupleTable *rows, Datum *ids, Datum *ats)
{
	bool		isnull;

	if (rows->numvals != 1)
		elog(ERROR, "the write returned %d rows, not 1", (int) rows->numvals);
	*ids = SPI_getbinval(rows->vals[0], rows->tupdesc, 1, &isnull);
	*ats = SPI_getbinval(rows->vals[0], rows->tupdesc, 2, &isnull);
	return ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(*ids)), ARR_DIMS(DatumGetArrayTypeP(*ids)));
}

/*
 * Every result checked before any is written: the first problem, by id,
 * raised; then the first embedding of another length than the analyser's.
 * As the caller, one pass over the results (they are parsed once); reads
 * only them.
 */
static void
check_results(const char *ext, Datum results, Oid embeddings)
{
	Oid			types[3] = {JSONBOID, INT4OID, INT4OID};
	Datum		values[3] = {results, (Datum) 0, (Datum) 0};
	Oid			emb_type[1] = {REGCLASSOID};
	Datum		emb[1] = {ObjectIdGetDatum(embeddings)};
	bool		isnull;
	bool		dims_null;
	char	   *sql;
	int32		dims;
	HeapTuple	row;
	TupleDesc	desc;

	/* the embeddings table's type (real[], or pgvector's with a dimension) */
	values[1] = query_value(psprintf("SELECT dims FROM %s._sentiment_embedding_column($1)", ext), 1, emb_type,
							emb, NULL, &dims_null);
	/* embeddings are compared with each other (sentiment_similar): one length */
	dims = DatumGetInt32(query_value(psprintf("SELECT %s.sentiment_embedding_dims()", ext), 0, NULL, NULL,
									 NULL, &isnull));
	values[2] = Int32GetDatum(dims);
	/* (the result's fields as the complete statement reads them, result_row.c) */
	sql = psprintf("WITH r AS MATERIALIZED (SELECT * FROM jsonb_to_recordset($1) AS r(%s)) "
		"SELECT p.id::text, p.problem, "
		"  (SELECT r.id::text FROM r WHERE cardinality(r.embedding) <> $3 ORDER BY r.id LIMIT 1), "
		"  (SELECT cardinality(r.embedding)::text FROM r WHERE cardinality(r.embedding) <> $3 "
		"   ORDER BY r.id LIMIT 1) "
		"FROM (SELECT r.id, CASE "
		"WHEN r.id IS NULL OR r.version IS NULL THEN 'id and version are required' "
		"WHEN count(*) OVER (PARTITION BY r.id) > 1 THEN 'the id appears more than once' "
		"WHEN r.sentiment_label IS NULL OR r.sentiment_label NOT IN ('negative', 'neutral', 'positive') "
		"  THEN 'sentiment_label must be negative, neutral or positive' "
		"WHEN r.sentiment_score IS NULL OR NOT r.sentiment_score BETWEEN -1 AND 1 "
		"  THEN 'sentiment_score must be between -1 and 1' "
		"WHEN r.emotion_score IS NOT NULL AND NOT r.emotion_score BETWEEN 0 AND 1 "
		"  THEN 'emotion_score must be between 0 and 1' "
		"WHEN r.influence_weight = 'NaN' OR r.influence_weight IN ('Infinity', '-Infinity') "
		"  THEN 'influence_weight must be a finite number' "
		"WHEN r.language IS NOT NULL AND r.language !~ '^([a-z]{2}|und)$' "
		"  THEN 'language must be an ISO 639-1 code or und' "
		"WHEN array_position(r.topics, NULL) IS NOT NULL THEN 'topics must not contain null' "
		"WHEN cardinality(r.embedding) = 0 OR array_position(r.embedding, NULL) IS NOT NULL "
		"  OR r.embedding && '{NaN,Infinity,-Infinity}'::real[] "
		"  THEN 'embedding must be a non-empty array of finite numbers' "
		"WHEN cardinality(r.embedding) <> $2 THEN 'embedding must have ' || $2 || ' numbers' "
		"END AS problem FROM r) AS p ORDER BY p.problem IS NULL, p.id LIMIT 1", sp_result_complete_record(true));
	if (SPI_execute_with_args(sql, 3, types, values, dims_null ? " n " : "   ", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not check the results");
	if (SPI_processed == 0)
		return;					/* no results at all */
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	if (SPI_getvalue(row, desc, 2) != NULL)
	{
		char	   *id = SPI_getvalue(row, desc, 1);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid result for id %s: %s", id ? id : "<NULL>", SPI_getvalue(row, desc, 2)),
				 errhint("Nothing was written; correct the result and call sentiment_complete again.")));
	}
	if (SPI_getvalue(row, desc, 3) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid result for id %s: embedding has %s dimensions, expected %d",
						SPI_getvalue(row, desc, 3), SPI_getvalue(row, desc, 4), dims),
				 errdetail("Stored embeddings are compared with each other and with those of sentiment_analyze()."),
				 errhint("Send embeddings of %d dimensions (as sentiment_analyze(text).embedding has), "
						 "or leave \"embedding\" out; nothing was written.", dims)));
}

/* The caller's rights on the side tables, which are written as the owner. */
static void
side_table_check(const char *ext, Oid source, const char *privileges)
{
	Oid			types[2] = {REGCLASSOID, TEXTOID};
	Datum		values[2] = {ObjectIdGetDatum(source), CStringGetTextDatum(privileges)};
	bool		isnull;

	(void) query_value(psprintf("SELECT %s._sentiment_side_table_check($1, $2)", ext), 2, types, values,
					   NULL, &isnull);
}

/*
 * sentiment_complete(source regclass, results jsonb, claim text): store the
 * results of claimed rows whose version and claim still hold; one row per
 * result: (id, completed, reason).
 */
Datum
sentiment_complete(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *ext = quote_identifier(sp_extension_schema());
	Oid			source = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	Datum		results = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	Datum		claim;
	bool		claim_null;
	Oid			types[3] = {JSONBOID, TEXTOID, INT8ARRAYOID};
	Datum		values[3];
	bool		isnull;
	bool		ok;
	Datum		ids;
	Datum		ats;
	int			ndone;
	Oid			embeddings;
	SPITupleTable *rows;
	Datum		args;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	claim = claim_and_registration(ext, PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2),
								   source, PG_ARGISNULL(0), &claim_null);

	ok = !PG_ARGISNULL(1) &&
		DatumGetBool(query_value("SELECT jsonb_typeof($1) = 'array' AND NOT EXISTS "
								 "(SELECT FROM jsonb_array_elements($1) e WHERE jsonb_typeof(e) <> 'object')",
								 1, types, &results, NULL, &isnull)) && !isnull;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("results must be a JSON array of objects"),
				 errhint("Pass [{\"id\": 1, \"version\": 0, \"sentiment_label\": \"positive\", \"sentiment_score\": 0.8}, ...].")));

	values[0] = ObjectIdGetDatum(source);
	embeddings = DatumGetObjectId(query_value(psprintf("SELECT embeddings_table::oid FROM %s.sentiment_sources "
													   "WHERE source_table = $1::regclass", ext),
											  1, (Oid[1]) {OIDOID}, values, NULL, &isnull));
	check_results(ext, results, embeddings);

	/* (the side tables are written as the owner; the caller still needs the rights) */
	side_table_check(ext, source, "INSERT, DELETE");

	/*
	 * The rows still claimed by us at the version we read, their old topics
	 * and embedding gone, as the owner (statement complete).
	 */
	values[0] = results;
	values[1] = claim;
	args = args_object("jsonb_build_object('claim', $2)", 2, types, values, claim_null ? " n" : "  ");
	rows = sp_source_statement(source, "complete", args, false, results);
	ndone = written_rows(rows, &ids, &ats);
	if (ndone > 0)
		queue_finish(ext, source, ids, ats, false, (Datum) 0);
	sp_stats_external(source, ndone, 0);

	/*
	 * The new topics and embeddings; the others, and why (read afresh: a
	 * concurrent edit shows).
	 */
	values[2] = ids;
	args = args_object("jsonb_build_object('claim', $2, 'ids', to_jsonb($3))", 3, types, values,
					   claim_null ? " n " : "   ");
	rows = sp_source_statement(source, "complete_rest", args, false, results);
	for (uint64 r = 0; r < rows->numvals; r++)
		tuplestore_puttuple(rsinfo->setResult, rows->vals[r]);
	SPI_finish();
	return (Datum) 0;
}

/*
 * sentiment_fail(source regclass, ids bigint[], error text, sqlstate text,
 * retry boolean, claim text): record a failure of claimed rows; returns the
 * rows recorded.
 */
Datum
sentiment_fail(PG_FUNCTION_ARGS)
{
	const char *ext = quote_identifier(sp_extension_schema());
	Oid			source = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	char	   *error = PG_ARGISNULL(2) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(2));
	char	   *sqlstate = PG_ARGISNULL(3) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(3));
	Datum		claim;
	bool		claim_null;
	Datum		ids;
	Datum		ats;
	int			ndone;
	Datum		args;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	claim = claim_and_registration(ext, PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5), PG_ARGISNULL(5),
								   source, PG_ARGISNULL(0), &claim_null);
	if (error == NULL || strspn(error, " ") == strlen(error))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("error must not be null or empty"),
				 errhint("Say what went wrong; it is shown in sentiment_failures.")));
	if (sqlstate != NULL &&
		(strlen(sqlstate) != 5 || strspn(sqlstate, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 5))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid SQLSTATE \"%s\"", sqlstate),
				 errhint("A SQLSTATE is five digits or upper-case letters, for example 22000.")));

	side_table_check(ext, source, "DELETE");

	/* (as the table's owner: statement fail) */
	{
		Oid			ftypes[5] = {INT8ARRAYOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID};
		Datum		fvalues[5] = {PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), PG_GETARG_DATUM(2),
		PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), BoolGetDatum(PG_ARGISNULL(4) || PG_GETARG_BOOL(4)), claim};
		char		fnulls[6] = {PG_ARGISNULL(1) ? 'n' : ' ', ' ', PG_ARGISNULL(3) ? 'n' : ' ', ' ',
		claim_null ? 'n' : ' ', '\0'};

		args = args_object("jsonb_strip_nulls(jsonb_build_object('ids', to_jsonb($1), 'error', $2, "
						   "'sqlstate', $3, 'retry', $4, 'claim', $5))", 5, ftypes, fvalues, fnulls);
	}
	ndone = written_rows(sp_source_statement(source, "fail", args, false, (Datum) 0), &ids, &ats);
	if (ndone > 0)
		queue_finish(ext, source, ids, ats, true, CStringGetTextDatum(error));
	sp_stats_external(source, 0, ndone);
	SPI_finish();
	PG_RETURN_INT64(ndone);
}

/*
 * A statement on rows the caller holds (renew, release), as the table's
 * owner: the claim and registration checked as for sentiment_fail, then
 * the statement with args {ids, lease, claim}; its one value, copied out of
 * SPI (*isnull: none).
 */
static Datum
held_rows(FunctionCallInfo fcinfo, const char *statement, Datum lease, bool lease_null, int claim_arg,
		  bool *isnull)
{
	const char *ext = quote_identifier(sp_extension_schema());
	Oid			types[3] = {INT8ARRAYOID, INTERVALOID, TEXTOID};
	Datum		values[3] = {PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), lease, (Datum) 0};
	char		nulls[4] = {PG_ARGISNULL(1) ? 'n' : ' ', lease_null ? 'n' : ' ', ' ', '\0'};
	bool		claim_null;
	SPITupleTable *rows;
	Datum		value;
	Oid			type;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[2] = claim_and_registration(ext, PG_ARGISNULL(claim_arg) ? (Datum) 0 : PG_GETARG_DATUM(claim_arg),
									   PG_ARGISNULL(claim_arg), PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0),
									   PG_ARGISNULL(0), &claim_null);
	nulls[2] = claim_null ? 'n' : ' ';
	rows = sp_source_statement(PG_GETARG_OID(0), statement,
							   args_object("jsonb_strip_nulls(jsonb_build_object('ids', to_jsonb($1), "
										   "'lease', $2, 'claim', $3))", 3, types, values, nulls),
							   false, (Datum) 0);
	if (rows->numvals != 1)
		elog(ERROR, "statement %s returned %d rows, not 1", statement, (int) rows->numvals);
	value = SPI_getbinval(rows->vals[0], rows->tupdesc, 1, isnull);
	type = SPI_gettypeid(rows->tupdesc, 1);
	if (!*isnull)
		value = SPI_datumTransfer(value, get_typbyval(type), get_typlen(type));
	SPI_finish();
	return value;
}

/*
 * sentiment_renew(source regclass, ids bigint[], lease interval, claim
 * text): extend the lease of the rows the caller still holds; returns their
 * ids (the caller drops the others: their claim was returned).
 */
Datum
sentiment_renew(PG_FUNCTION_ARGS)
{
	Interval	zero = {0};
	Interval	week = {.day = 7};
	Datum		done;
	bool		isnull;

	if (PG_ARGISNULL(2) ||
		DatumGetInt32(DirectFunctionCall2(interval_cmp, PG_GETARG_DATUM(2), IntervalPGetDatum(&zero))) <= 0 ||
		DatumGetInt32(DirectFunctionCall2(interval_cmp, PG_GETARG_DATUM(2), IntervalPGetDatum(&week))) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease must be a positive interval of at most 7 days"),
				 errhint("Pass the time the analyser still needs for the rows, for example interval '5 minutes'.")));
	done = held_rows(fcinfo, "renew", PG_GETARG_DATUM(2), false, 3, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(done);
}

/*
 * sentiment_release(source regclass, ids bigint[], claim text): give rows
 * the caller holds back to pending at once, untried; returns how many.
 */
Datum
sentiment_release(PG_FUNCTION_ARGS)
{
	Datum		n;
	bool		isnull;

	n = held_rows(fcinfo, "release", (Datum) 0, true, 2, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(n);
}
