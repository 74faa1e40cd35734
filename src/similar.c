/*
 * similar.c - cosine similarity of embeddings, the inner loop of
 * sentiment_similar(), and its index query through HNSW.
 *
 * Embeddings are L2-normalised, so their cosine is their dot product; the
 * function still divides by the norms so that it is right for any vectors
 * (the three sums cost no more than the one: the loop is memory-bound).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "batch.h"

PG_FUNCTION_INFO_V1(sentiment_cosine);
PG_FUNCTION_INFO_V1(sentiment_embedding_dims);

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
	double		dot = 0.0,
				xx = 0.0,
				yy = 0.0;
	double		r;

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embeddings have different dimensions %d and %d", na, nb),
				 errhint("Compare embeddings made by the same analyser (%d dimensions).",
						 SA_EMBEDDING_DIMS)));

	for (int i = 0; i < na; i++)
	{
		dot += (double) x[i] * y[i];
		xx += (double) x[i] * x[i];
		yy += (double) y[i] * y[i];
	}
	if (xx == 0.0 || yy == 0.0)
		PG_RETURN_NULL();
	r = dot / (sqrt(xx) * sqrt(yy));
	if (!isfinite(r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("embedding values out of range"),
				 errhint("Embedding elements must be finite numbers.")));
	/* rounding can step just past the bounds */
	PG_RETURN_FLOAT8(Max(-1.0, Min(1.0, r)));
}

/*
 * sentiment_similar_hnsw(sql text, ef integer, query real[], entry bigint,
 * lane regclass, source regclass): run sentiment_similar's index query (sql,
 * with $1 the query embedding and $2 the row left out) with hnsw.ef_search
 * at ef, then, when lane (the source's embedding lane, embedding_lane.c) is
 * given and holds rows, say that they were not searched.
 *
 * The statements are prepared once per backend and text and kept (the text
 * names the tables and carries k: a generic plan with the real LIMIT), so a
 * call plans nothing; planning the dynamic SQL was half of a call's time at
 * 100,000 rows (bench/similar_profile.sh).  The setting goes in at the
 * function's own settings level: its SQL definition carries SET
 * hnsw.ef_search, so PostgreSQL puts the caller's value back when the call
 * returns, and an error undoes it with the (sub)transaction.
 */
PG_FUNCTION_INFO_V1(sentiment_similar_hnsw);

#define SIMILAR_PLANS_MAX 64

typedef struct SimilarPlan
{
	char	   *sql;
	SPIPlanPtr	plan;
} SimilarPlan;

static SimilarPlan similar_plans[SIMILAR_PLANS_MAX];
static int	similar_nplans = 0;
static int	similar_next_evict = 0;

/* The kept statement for sql, prepared on first use. */
static SPIPlanPtr
similar_plan(const char *sql, int nargs, Oid *types)
{
	SimilarPlan *slot;

	for (int i = 0; i < similar_nplans; i++)
		if (strcmp(similar_plans[i].sql, sql) == 0)
			return similar_plans[i].plan;
	if (similar_nplans < SIMILAR_PLANS_MAX)
		slot = &similar_plans[similar_nplans++];
	else
	{
		/* (many tables or values of k: the oldest goes) */
		slot = &similar_plans[similar_next_evict];
		similar_next_evict = (similar_next_evict + 1) % SIMILAR_PLANS_MAX;
		SPI_freeplan(slot->plan);
		pfree(slot->sql);
		slot->plan = NULL;
		slot->sql = NULL;
	}
	slot->plan = sp_prepare_kept(sql, nargs, types);
	slot->sql = MemoryContextStrdup(TopMemoryContext, sql);
	return slot->plan;
}

Datum
sentiment_similar_hnsw(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *sql;
	char		ef[16];
	Oid			types[2] = {FLOAT4ARRAYOID, INT8OID};
	Datum		args[2];
	char		nulls[2] = {' ', ' '};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query, ef and embedding must not be null"),
				 errhint("This function is called by sentiment_similar().")));
	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	snprintf(ef, sizeof(ef), "%d", PG_GETARG_INT32(1));
	args[0] = PG_GETARG_DATUM(2);
	args[1] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
	nulls[1] = PG_ARGISNULL(3) ? 'n' : ' ';

	InitMaterializedSRF(fcinfo, 0);
	(void) set_config_option("hnsw.ef_search", ef, superuser() ? PGC_SUSET : PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_plan(similar_plan(sql, 2, types), args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "sentiment_similar: the index query failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[3];
		bool		isnull[3];

		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, isnull);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}

	/* rows processed but not indexed yet are in the lane: say so */
	if (!PG_ARGISNULL(4) && !PG_ARGISNULL(5) &&
		pg_class_aclcheck(PG_GETARG_OID(4), GetUserId(), ACL_SELECT) == ACLCHECK_OK)
	{
		Oid			lane = PG_GETARG_OID(4);
		/* (through the key: rows drained but not vacuumed yet cost little) */
		char	   *probe = psprintf("SELECT FROM %s ORDER BY entry_id LIMIT 1",
									 quote_qualified_identifier(get_namespace_name(get_rel_namespace(lane)),
																get_rel_name(lane)));

		if (SPI_execute_plan(similar_plan(probe, 0, NULL), NULL, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "sentiment_similar: could not read the embedding lane");
		if (SPI_processed > 0)
		{
			Oid			source = PG_GETARG_OID(5);

			ereport(NOTICE,
					(errmsg("some rows of %s were left out: their embeddings are waiting for the HNSW index",
							quote_qualified_identifier(get_namespace_name(get_rel_namespace(source)),
													   get_rel_name(source))),
					 errhint("The workers index them when they have no rows to process; "
							 "sentiment_embedding_lag shows how many wait and since when.")));
		}
	}
	SPI_finish();
	return (Datum) 0;
}
