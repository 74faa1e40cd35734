/*
 * similar.c - cosine similarity of embeddings, the inner loop of
 * sentiment_similar().
 *
 * Embeddings are L2-normalised, so their cosine is their dot product; the
 * function still divides by the norms so that it is right for any vectors
 * (the three sums cost no more than the one: the loop is memory-bound).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_cosine);
PG_FUNCTION_INFO_V1(sentiment_embedding_dims);

/* (src/source_sql.c: called directly by _sentiment_similar_internal below) */
extern PGDLLEXPORT Datum sentiment_source_sql(PG_FUNCTION_ARGS);

/*
 * sentiment_embedding_dims(): the length of the analyser's embeddings, the
 * one length sentiment_complete accepts and sentiment_similar compares.
 */
Datum
sentiment_embedding_dims(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(SA_EMBEDDING_DIMS);
}

/* The elements of a one-dimensional real[] without NULLs. */
static const float4 *
vector_of(ArrayType *a, const char *which, int *n)
{
	if (ARR_ELEMTYPE(a) != FLOAT4OID)
		elog(ERROR, "sentiment_cosine: %s is not a real[]", which);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s embedding has %d dimensions, not one", which, ARR_NDIM(a)),
				 errhint("Pass a flat real[] such as sentiment_analyze(text).embedding.")));
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s embedding contains null elements", which),
				 errhint("Every element of an embedding must be a number.")));
	*n = ARR_NDIM(a) == 0 ? 0 : ARR_DIMS(a)[0];
	return (const float4 *) ARR_DATA_PTR(a);
}

/*
 * The cosine of two vectors of n elements into *r; false when either is all
 * zeros (no direction).
 */
static bool
cosine(const float4 *x, const float4 *y, int n, double *r)
{
	double		dot = 0.0,
				xx = 0.0,
				yy = 0.0;

	for (int i = 0; i < n; i++)
	{
		dot += (double) x[i] * y[i];
		xx += (double) x[i] * x[i];
		yy += (double) y[i] * y[i];
	}
	if (xx == 0.0 || yy == 0.0)
		return false;
	*r = dot / (sqrt(xx) * sqrt(yy));
	if (!isfinite(*r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("embedding values out of range"),
				 errhint("Embedding elements must be finite numbers.")));
	return true;
}

/*
 * sentiment_cosine(a real[], b real[]) -> double precision in [-1, 1];
 * NULL when either vector is all zeros (no direction).
 */
Datum
sentiment_cosine(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	int			na,
				nb;
	const float4 *x = vector_of(a, "first", &na);
	const float4 *y = vector_of(b, "second", &nb);
	double		r;

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embeddings have different dimensions %d and %d", na, nb),
				 errhint("Compare embeddings made by the same analyser (%d dimensions).",
						 SA_EMBEDDING_DIMS)));
	if (!cosine(x, y, na, &r))
		PG_RETURN_NULL();
	/* rounding can step just past the bounds */
	PG_RETURN_FLOAT8(Max(-1.0, Min(1.0, r)));
}

/*
 * _sentiment_similar_internal(source, query, entry, k): the search behind
 * both sentiment_similar (sql/objects/65_similar.sql says what it returns).
 * In C because the plpgsql it replaces spent more than the index scan of a
 * 100,000-row table around it (bench/similar_profile.sh): two plpgsql
 * functions, a function-level SET, lookups run as queries, the query
 * embedding through sentiment_analyze's row.  The tables are still read by
 * sentiment_source_sql's statements, as the source's owner, with its
 * checks; it is called here directly, without a plan of its own.
 *
 * Settings: search_path pinned and hnsw.ef_search raised at a GUC nest
 * level of this call, as a function-level SET clause would set them
 * (fmgr_security_definer): restored when the call returns, and by the
 * (sub)transaction's abort when it fails, so neither can outlive the call.
 */
PG_FUNCTION_INFO_V1(sentiment_similar_internal);

/* hnsw.ef_search for the call: at least 100 and k + 1, or the caller's higher value */
#define SP_EF_SEARCH_FLOOR 100

/* The embeddings table of an attached source; InvalidOid when not attached. */
static Oid
embeddings_of(Oid source, const char *schema)
{
	static SPIPlanPtr plan = NULL;
	static char *plan_schema = NULL;
	Oid			types[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(source)};
	bool		isnull;

	if (plan_schema == NULL || strcmp(plan_schema, schema) != 0)
	{
		if (plan != NULL)
			SPI_freeplan(plan);
		plan = NULL;
		if (plan_schema != NULL)
			pfree(plan_schema);
		plan_schema = NULL;
		plan = SPI_prepare(psprintf("SELECT s.embeddings_table::pg_catalog.oid FROM %s.sentiment_sources s "
									"WHERE s.source_table OPERATOR(pg_catalog.=) $1",
									quote_identifier(schema)), 1, types);
		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the lookup of a source");
		plan_schema = MemoryContextStrdup(TopMemoryContext, schema);
	}
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read sentiment_sources");
	if (SPI_processed == 0)
		return InvalidOid;
	return DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * The source to search (*source, NULL: the default one: on_path, the
 * sentiment_data on the caller's search_path, when it is attached) and its
 * embeddings table; the rare cases (no source given, not attached) go
 * through _sentiment_similar_source, which chooses the default or raises
 * the error.
 */
static Oid
resolve_source(Oid *source, Oid on_path, const char *schema)
{
	Oid			embeddings = InvalidOid;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (OidIsValid(*source))
		embeddings = embeddings_of(*source, schema);
	else if (OidIsValid(on_path) && OidIsValid(embeddings = embeddings_of(on_path, schema)))
		*source = on_path;
	if (!OidIsValid(embeddings))
	{
		Oid			types[1] = {REGCLASSOID};
		Datum		values[1] = {ObjectIdGetDatum(*source)};
		bool		isnull;

		if (SPI_execute_with_args(psprintf("SELECT r.source_table::pg_catalog.oid, r.embeddings_table::pg_catalog.oid "
										   "FROM %s._sentiment_similar_source($1) r", quote_identifier(schema)),
								  1, types, values, OidIsValid(*source) ? NULL : "n", true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "could not find the source to search");
		*source = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		embeddings = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	return embeddings;
}

/* regclass text of a relation, as plpgsql's RAISE prints it */
static char *
regclass_text(Oid relid)
{
	return DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));
}

/*
 * Run one statement of sentiment_source_sql (src/source_sql.c) on the
 * source as its owner, its rows as columns desc; the rows come back in the
 * ReturnSetInfo's tuplestore.
 */
static ReturnSetInfo *
owner_statement(FunctionCallInfo outer, Oid source, const char *name, Jsonb *args, TupleDesc desc)
{
	ReturnSetInfo *rs = makeNode(ReturnSetInfo);

	LOCAL_FCINFO(fc, 3);

	rs->econtext = ((ReturnSetInfo *) outer->resultinfo)->econtext;
	rs->expectedDesc = desc;
	rs->allowedModes = SFRM_Materialize;
	InitFunctionCallInfoData(*fc, NULL, 3, InvalidOid, NULL, (Node *) rs);
	fc->args[0].value = ObjectIdGetDatum(source);
	fc->args[0].isnull = false;
	fc->args[1].value = CStringGetTextDatum(name);
	fc->args[1].isnull = false;
	fc->args[2].value = PointerGetDatum(args);
	fc->args[2].isnull = (args == NULL);
	(void) sentiment_source_sql(fc);
	return rs;
}

/* A tuple descriptor of one column of a type. */
static TupleDesc
one_column(Oid type)
{
	TupleDesc	desc = CreateTemplateTupleDesc(1);

	TupleDescInitEntry(desc, (AttrNumber) 1, "v", type, -1, 0);
	return desc;
}

/* The statements' args: {"vector": [...], "k": k, "entry": entry} (entry only when given). */
static Jsonb *
statement_args(const float4 *v, int n, int k, bool has_entry, int64 entry)
{
	StringInfoData buf;
	char		num[FLOAT_SHORTEST_DECIMAL_LEN];

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"vector\": [");
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		/* (exact: the shortest text that reads back as the same float4) */
		if (isnan(v[i]))
			appendStringInfoString(&buf, "\"NaN\"");
		else if (isinf(v[i]))
			appendStringInfoString(&buf, v[i] > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		else
		{
			float_to_shortest_decimal_buf(v[i], num);
			appendStringInfoString(&buf, num);
		}
	}
	appendStringInfo(&buf, "], \"k\": %d", k);
	if (has_entry)
		appendStringInfo(&buf, ", \"entry\": " INT64_FORMAT, entry);
	appendStringInfoChar(&buf, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/* The stored embedding of a row (in the table or its lane), checked; an error when there is none. */
static ArrayType *
entry_embedding(FunctionCallInfo fcinfo, Oid source, int64 entry)
{
	ReturnSetInfo *rs;
	TupleTableSlot *slot;
	ArrayType  *v = NULL;
	bool		isnull = true;
	int			n;
	char		args[64];

	snprintf(args, sizeof(args), "{\"entry\": " INT64_FORMAT "}", entry);
	rs = owner_statement(fcinfo, source, "similar_entry",
						 DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(args))),
						 one_column(FLOAT4ARRAYOID));
	slot = MakeSingleTupleTableSlot(rs->setDesc, &TTSOpsMinimalTuple);
	if (tuplestore_gettupleslot(rs->setResult, true, false, slot))
	{
		Datum		d = slot_getattr(slot, 1, &isnull);

		if (!isnull)
			v = DatumGetArrayTypePCopy(d);
	}
	ExecDropSingleTupleTableSlot(slot);
	if (v == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("row " INT64_FORMAT " of %s has no embedding", entry, regclass_text(source)),
				 errhint("A row gets its embedding when it is processed; check that it exists and is completed.")));
	n = ArrayGetNItems(ARR_NDIM(v), ARR_DIMS(v));
	if (n != SA_EMBEDDING_DIMS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the embedding of row " INT64_FORMAT " of %s has %d dimensions, expected %d",
						entry, regclass_text(source), n, SA_EMBEDDING_DIMS),
				 errhint("It was stored by an external analyser; re-analyse the row with sentiment_enqueue().")));
	return v;
}

/* The query text's embedding, as sentiment_analyze(text).embedding gives it. */
static ArrayType *
text_embedding(text *query)
{
	SpAnalyzer *an = sp_analyzer();
	sa_analysis *res = palloc(sizeof(sa_analysis));
	Datum		elems[SA_EMBEDDING_DIMS];
	size_t		len;
	const char *utf8 = sp_text_to_utf8(query, &len);
	sa_error	err = sa_analyze_model(an->lexicon, an->topics, an->workspace, SA_MODEL_VADER, utf8, len, res);

	if (err != SA_OK)
		sp_analyzer_error(err, "analysing the text");
	for (int i = 0; i < SA_EMBEDDING_DIMS; i++)
		elems[i] = Float4GetDatum(res->embedding[i]);
	return construct_array(elems, SA_EMBEDDING_DIMS, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
}

/* Is the embedding column of pgvector's vector or halfvec (else: real[], the exact scan)? */
static bool
indexed_embeddings(Oid embeddings)
{
	AttrNumber	attnum = get_attnum(embeddings, "embedding");
	Oid			ext = get_extension_oid("vector", true);
	Oid			nsp;
	HeapTuple	tup;
	bool		vector;

	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("table %s has no column \"embedding\"", regclass_text(embeddings)),
				 errhint("Attach the source again to add it: sentiment_attach(...).")));
	if (!OidIsValid(ext) || !sp_extension_info(ext, &nsp, NULL))
		return false;
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(get_atttype(embeddings, attnum)));
	if (!HeapTupleIsValid(tup))
		return false;
	vector = ((Form_pg_type) GETSTRUCT(tup))->typnamespace == nsp &&
		(strcmp(NameStr(((Form_pg_type) GETSTRUCT(tup))->typname), "vector") == 0 ||
		 strcmp(NameStr(((Form_pg_type) GETSTRUCT(tup))->typname), "halfvec") == 0);
	ReleaseSysCache(tup);
	return vector;
}

/* Raise hnsw.ef_search for the call (at the caller's GUC nest level, see above). */
static void
raise_ef_search(int k)
{
	const char *caller = GetConfigOption("hnsw.ef_search", true, false);
	long		ef = Max(k + 1, SP_EF_SEARCH_FLOOR);
	char		value[32];

	if (caller != NULL && strtol(caller, NULL, 10) > ef)
		ef = strtol(caller, NULL, 10);
	snprintf(value, sizeof(value), "%ld", ef);
	(void) set_config_option("hnsw.ef_search", value, PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Say when embeddings wait in the lane (embedding_lane.c): they are not in
 * the index yet.  A lane without pages, as vacuum leaves an empty one, holds
 * nothing: no statement.
 */
static void
notice_waiting(FunctionCallInfo fcinfo, Oid source, Oid embeddings)
{
	Oid			lane = sp_embedding_lane(embeddings);
	Relation	rel;
	BlockNumber pages = 0;
	ReturnSetInfo *rs;
	TupleTableSlot *slot;
	bool		isnull = true;
	bool		waiting = false;

	if (!OidIsValid(lane) || (rel = try_relation_open(lane, AccessShareLock)) == NULL)
		return;
	pages = RelationGetNumberOfBlocks(rel);
	relation_close(rel, AccessShareLock);
	if (pages == 0)
		return;
	rs = owner_statement(fcinfo, source, "similar_waiting", NULL, one_column(BOOLOID));
	slot = MakeSingleTupleTableSlot(rs->setDesc, &TTSOpsMinimalTuple);
	if (tuplestore_gettupleslot(rs->setResult, true, false, slot))
		waiting = DatumGetBool(slot_getattr(slot, 1, &isnull)) && !isnull;
	ExecDropSingleTupleTableSlot(slot);
	if (waiting)
		ereport(NOTICE,
				(errmsg("some rows of %s were left out: their embeddings are waiting for the HNSW index",
						regclass_text(source)),
				 errhint("The workers index them when they have no rows to process; "
						 "sentiment_embedding_lag shows how many wait and since when.")));
}

/* After the exact scan: the notice about stored embeddings of another length. */
static void
check_dims(Oid embeddings, const char *schema)
{
	Oid			types[2] = {REGCLASSOID, INT4OID};
	Datum		values[2] = {ObjectIdGetDatum(embeddings), Int32GetDatum(SA_EMBEDDING_DIMS)};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(psprintf("SELECT %s._sentiment_similar_check_dims($1, $2)", quote_identifier(schema)),
							  2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check the embeddings' lengths");
	SPI_finish();
}

/* The caller may read the source and its embeddings table (the owner reads them for it). */
static void
check_may_read(Oid source, Oid embeddings)
{
	Oid			rels[2] = {source, embeddings};

	for (int i = 0; i < lengthof(rels); i++)
		if (pg_class_aclcheck(rels[i], GetUserId(), ACL_SELECT) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for table %s", get_rel_name(rels[i]))));
}

Datum
sentiment_similar_internal(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			source = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	Oid			on_path;
	int			k = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3);
	char	   *schema;
	Oid			embeddings;
	ArrayType  *v;
	bool		vector;
	const float4 *x = NULL;
	int			n = 0;
	double		norm;
	ReturnSetInfo *rs;
	int			nest;

	/* (the statements' rows are handed over in the caller's tuplestore) */
	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize) ||
		rsinfo->expectedDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (k < 1 || k > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and 10000"),
				 errhint("Ask for the number of neighbours wanted, 10 by default.")));
	schema = sp_extension_schema();
	/* (the default source's name is looked up as the caller sees it, before the pinning) */
	on_path = OidIsValid(source) ? InvalidOid : RelnameGetRelid("sentiment_data");
	nest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	embeddings = resolve_source(&source, on_path, schema);
	check_may_read(source, embeddings);
	if (!PG_ARGISNULL(2))
		v = entry_embedding(fcinfo, source, PG_GETARG_INT64(2));
	else if (!PG_ARGISNULL(1))
		v = text_embedding(PG_GETARG_TEXT_PP(1));
	else
		v = NULL;
	vector = v != NULL && indexed_embeddings(embeddings);
	/* an all-zero query has no direction: nothing is similar to it (through the index) */
	if (v != NULL)
		x = vector_of(v, "the query's", &n);
	if (v == NULL || (vector && !cosine(x, x, n, &norm)))
	{
		AtEOXact_GUC(true, nest);
		InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
		return (Datum) 0;
	}
	if (vector)
		raise_ef_search(k);
	rs = owner_statement(fcinfo, source, vector ? "similar_vector" : "similar_real",
						 statement_args(x, n, k, !PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2)),
						 rsinfo->expectedDesc);
	if (vector)
		notice_waiting(fcinfo, source, embeddings);
	else
		check_dims(embeddings, schema);
	AtEOXact_GUC(true, nest);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = rs->setResult;
	rsinfo->setDesc = rs->setDesc;
	return (Datum) 0;
}
