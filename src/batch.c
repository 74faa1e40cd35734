/*
 * batch.c - one processing batch: claim, analyse, write, in one transaction.
 *
 * 1. Claim up to n pending rows in claim order with FOR NO KEY UPDATE SKIP
 *    LOCKED: concurrent processors take disjoint rows and never wait for each
 *    other; inserts and readers are not blocked.
 * 2. Analyse every claimed row in C, with no database access in between.
 * 3. Write results, status, timestamps and attempt counts with one UPDATE
 *    ... FROM unnest(arrays), topics and embeddings with one INSERT ...
 *    SELECT FROM unnest(arrays) ON CONFLICT each.  Never a statement per row.
 *
 * Claim order: explicit requests of the processing queue (priority order),
 * then failed rows whose retry time has come, then pending rows.
 *
 * The writes run in a subtransaction.  When they fail (a user trigger
 * raises for one row, a constraint), the batch is bisected in further
 * subtransactions until the failing rows are found; the others are written,
 * the culprits recorded as 'failed' with SQLSTATE and message in the batch's
 * own transaction, with a retry time (exponential backoff, see claim.c).
 *
 * Nothing is committed here: a crash or cancel rolls the whole batch back
 * and its rows are simply pending again.  The statements are prepared once
 * per backend and source and kept; names are quoted and every function,
 * cast and operator is schema-qualified, so the caller's search_path (a
 * background worker's, or a hostile one) cannot change what runs.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "utils/resowner.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_process_batch);

/* One row of the registry. */
typedef struct SpSource
{
	Oid			relid;
	Oid			topics;
	Oid			embeddings;
	char	   *id_column;
	char	   *text_column;
} SpSource;

/* Prepared statements of one source, kept for the life of the backend. */
typedef struct SpPlans
{
	Oid			relid;
	char	   *key;			/* the names they were built from */
	bool		legacy;			/* a source not yet upgraded (no retry columns) */
	SPIPlanPtr	claim;
	SPIPlanPtr	queue_take;		/* queue requests (run as the extension owner) */
	SPIPlanPtr	claim_queued;	/* the rows those requests name */
	SPIPlanPtr	exists;			/* which of some ids still exist */
	SPIPlanPtr	update;
	SPIPlanPtr	delete_topics;
	SPIPlanPtr	delete_embeddings;
	SPIPlanPtr	insert_topics;
	SPIPlanPtr	insert_embeddings;
	struct SpPlans *next;
} SpPlans;

static SpPlans *plan_cache = NULL;

static SPIPlanPtr registry_plan = NULL;
static char *registry_schema = NULL;

/* Column numbers of the claim query. */
enum
{
	CLAIM_ID = 1,
	CLAIM_TEXT,
	CLAIM_FOLLOWERS,
	CLAIM_LIKES,
	CLAIM_SHARES,
	CLAIM_REPLIES,
	CLAIM_REDO,
	CLAIM_ATTEMPTS
};

/*
 * Generic plans: the same shape for every batch, planned once.  A custom plan
 * would see the batch's arrays as constants and, on a table of moderate size,
 * may prefer hashing the whole table to probing its key once per row; the
 * generic plan's row estimate keeps the index probes.
 */
static SPIPlanPtr
prepare_kept(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed (%s) for: %s",
			 SPI_result_code_string(SPI_result), sql);
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

static char *
qualified_name(Oid relid)
{
	char	   *rel = get_rel_name(relid);
	char	   *nsp;

	if (rel == NULL)
		return NULL;
	nsp = get_namespace_name(get_rel_namespace(relid));
	return quote_qualified_identifier(nsp, rel);
}

/*
 * Read the registry (every source, or just one).  Called with SPI connected;
 * results are allocated in the SPI procedure context.
 */
static SpSource *
load_sources(Oid only, int *count)
{
	char	   *schema = sp_extension_schema();
	SpSource   *sources;
	int			n = 0;

	if (registry_plan == NULL || registry_schema == NULL || strcmp(registry_schema, schema) != 0)
	{
		char	   *sql = psprintf("SELECT source_table::pg_catalog.oid, id_column::pg_catalog.text, "
								   "text_column::pg_catalog.text, topics_table::pg_catalog.oid, "
								   "embeddings_table::pg_catalog.oid "
								   "FROM %s.sentiment_sources ORDER BY 1",
								   quote_identifier(schema));

		if (registry_plan != NULL)
			SPI_freeplan(registry_plan);
		registry_plan = NULL;
		if (registry_schema != NULL)
			pfree(registry_schema);
		registry_schema = NULL;
		registry_plan = prepare_kept(sql, 0, NULL);
		registry_schema = MemoryContextStrdup(TopMemoryContext, schema);
	}

	if (SPI_execute_plan(registry_plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read sentiment_sources");

	sources = palloc0(sizeof(SpSource) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		SpSource   *s = &sources[n];

		s->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		if (OidIsValid(only) && s->relid != only)
			continue;
		s->id_column = SPI_getvalue(tup, desc, 2);
		s->text_column = SPI_getvalue(tup, desc, 3);
		s->topics = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
		s->embeddings = DatumGetObjectId(SPI_getbinval(tup, desc, 5, &isnull));
		n++;
	}
	SPI_freetuptable(SPI_tuptable);
	*count = n;
	return sources;
}

/*
 * The prepared statements for a source; rebuilt when a table or column was
 * renamed since they were made (the plan cache handles other DDL).  Returns
 * NULL when one of the tables no longer exists.
 */
static SpPlans *
get_plans(const SpSource *src)
{
	char	   *rel = qualified_name(src->relid);
	char	   *topics = qualified_name(src->topics);
	char	   *emb = qualified_name(src->embeddings);
	const char *id;
	const char *txt;
	char	   *key;
	SpPlans    *p;
	char	   *sql;
	Oid			claim_types[2] = {INT4OID, INT8ARRAYOID};
	Oid			queue_types[2] = {OIDOID, INT4OID};
	Oid			update_types[13] = {INT8ARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID,
		FLOAT8ARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	TIMESTAMPTZARRAYOID, TEXTARRAYOID, INT4OID};
	const char *ext = quote_identifier(registry_schema);
	const char *cols;
	bool		legacy;
	bool		has_queue;
	Oid			delete_types[1] = {INT8ARRAYOID};
	Oid			topic_types[4] = {INT8ARRAYOID, TEXTARRAYOID, FLOAT4ARRAYOID, FLOAT4ARRAYOID};
	Oid			emb_types[4] = {INT8ARRAYOID, FLOAT4ARRAYOID, INT4ARRAYOID, INT4ARRAYOID};

	if (rel == NULL || topics == NULL || emb == NULL)
		return NULL;
	id = quote_identifier(src->id_column);
	txt = quote_identifier(src->text_column);

	/*
	 * Between installing a new library and ALTER EXTENSION ... UPDATE, the
	 * sources and the extension have their 1.0 shape: process them as 1.0
	 * did (no retry times, no error history, no queue) until the update.
	 */
	legacy = get_attnum(src->relid, "processing_retry_at") == InvalidAttrNumber;
	has_queue = OidIsValid(get_relname_relid("sentiment_processing_queue",
											 get_namespace_oid(registry_schema, false)));
	key = psprintf("%s|%s|%s|%s|%s|%s|%d%d", rel, topics, emb, id, txt, registry_schema,
				   legacy, has_queue);

	for (p = plan_cache; p != NULL; p = p->next)
		if (p->relid == src->relid)
			break;
	/* key is NULL when a previous build failed half-way */
	if (p != NULL && p->key != NULL && strcmp(p->key, key) == 0)
		return p;

	if (p == NULL)
	{
		p = MemoryContextAllocZero(TopMemoryContext, sizeof(SpPlans));
		p->relid = src->relid;
		p->next = plan_cache;
		plan_cache = p;
	}
	else
	{
		/* Renamed: drop the old statements, keep the cache entry. */
		SPIPlanPtr *all[] = {&p->claim, &p->queue_take, &p->claim_queued, &p->exists, &p->update, &p->delete_topics, &p->delete_embeddings,
		&p->insert_topics, &p->insert_embeddings};

		for (int i = 0; i < lengthof(all); i++)
		{
			if (*all[i] != NULL)
				SPI_freeplan(*all[i]);
			*all[i] = NULL;
		}
		if (p->key != NULL)
			pfree(p->key);
		p->key = NULL;
	}

	cols = psprintf("s.%s::pg_catalog.int8, s.%s::pg_catalog.text, "
					"s.author_followers::pg_catalog.int8, s.likes::pg_catalog.int8, "
					"s.shares::pg_catalog.int8, s.replies::pg_catalog.int8, "
					"s.processing_completed_at IS NOT NULL, s.processing_attempts::pg_catalog.int4",
					id, txt);

	/*
	 * Due retries, then pending rows, each through its own partial index
	 * (the retry index and the claim index that sentiment_attach creates);
	 * $2 holds rows this batch already took from the queue.
	 */
	if (legacy)
		sql = psprintf("SELECT %s FROM %s AS s "
					   "WHERE s.processing_status OPERATOR(pg_catalog.=) 'pending' "
					   "AND s.%s OPERATOR(pg_catalog.<>) ALL ($2) "
					   "ORDER BY s.%s LIMIT $1 FOR NO KEY UPDATE OF s SKIP LOCKED",
					   cols, rel, id, id);
	else
	sql = psprintf("SELECT * FROM (SELECT %s FROM %s AS s "
				   "WHERE s.processing_status OPERATOR(pg_catalog.=) 'failed' "
				   "AND s.processing_retry_at OPERATOR(pg_catalog.<=) pg_catalog.now() "
				   "AND s.%s OPERATOR(pg_catalog.<>) ALL ($2) "
				   "ORDER BY s.processing_retry_at LIMIT $1 FOR NO KEY UPDATE OF s SKIP LOCKED) AS r "
				   "UNION ALL "
				   "SELECT * FROM (SELECT %s FROM %s AS s "
				   "WHERE s.processing_status OPERATOR(pg_catalog.=) 'pending' "
				   "AND s.%s OPERATOR(pg_catalog.<>) ALL ($2) "
				   "ORDER BY s.%s LIMIT $1 FOR NO KEY UPDATE OF s SKIP LOCKED) AS p "
				   "LIMIT $1",
				   cols, rel, id, cols, rel, id, id);
	p->claim = prepare_kept(sql, 2, claim_types);

	/* The queue is the extension's own table: quoted schema, fixed names. */
	sql = psprintf("SELECT q.request_id, q.entry_id FROM %s.sentiment_processing_queue AS q "
				   "WHERE q.status OPERATOR(pg_catalog.=) 'queued' "
				   "AND q.source_table OPERATOR(pg_catalog.=) $1::pg_catalog.regclass "
				   "ORDER BY q.priority DESC, q.request_id LIMIT $2 FOR UPDATE OF q SKIP LOCKED",
				   ext);
	p->queue_take = has_queue && !legacy ? prepare_kept(sql, 2, queue_types) : NULL;

	/* rows held by a two-phase claimant wait for it */
	sql = psprintf("SELECT %s FROM %s AS s WHERE s.%s OPERATOR(pg_catalog.=) ANY ($1) "
				   "AND s.processing_status OPERATOR(pg_catalog.<>) 'processing' "
				   "ORDER BY s.%s FOR NO KEY UPDATE OF s SKIP LOCKED",
				   cols, rel, id, id);
	p->claim_queued = prepare_kept(sql, 1, delete_types);

	sql = psprintf("SELECT s.%s::pg_catalog.int8 FROM %s AS s WHERE s.%s OPERATOR(pg_catalog.=) ANY ($1)",
				   id, rel, id);
	p->exists = prepare_kept(sql, 1, delete_types);

	/*
	 * Failed rows get a retry time ($11, NULL: not retried automatically)
	 * and an entry in their bounded error history ($12 SQLSTATE, $13 cap).
	 */
	if (legacy)
		sql = psprintf("UPDATE %s AS s SET "
					   "sentiment_label = u.label, sentiment_score = u.score, "
					   "emotion_label = u.emotion, emotion_score = u.emotion_score, "
					   "influence_weight = u.influence, processing_status = u.status, "
					   "processing_started_at = $9, processing_completed_at = $10, "
					   "processing_error = u.error, "
					   "processing_attempts = s.processing_attempts OPERATOR(pg_catalog.+) 1 "
					   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), "
					   "pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), "
					   "pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($11), pg_catalog.unnest($12)) "
					   "AS u(id, label, score, emotion, emotion_score, influence, status, error, retry, code) "
					   "WHERE s.%s OPERATOR(pg_catalog.=) u.id AND $13 IS NOT NULL",
					   rel, id);
	else
	sql = psprintf("UPDATE %s AS s SET "
				   "sentiment_label = u.label, sentiment_score = u.score, "
				   "emotion_label = u.emotion, emotion_score = u.emotion_score, "
				   "influence_weight = u.influence, processing_status = u.status, "
				   "processing_started_at = $9, processing_completed_at = $10, "
				   "processing_error = u.error, processing_retry_at = u.retry, "
				   "processing_attempts = s.processing_attempts OPERATOR(pg_catalog.+) 1, "
				   "processing_error_history = CASE WHEN u.error IS NULL THEN s.processing_error_history "
				   "ELSE %s.sentiment_error_history_add(s.processing_error_history, "
				   "(s.processing_attempts OPERATOR(pg_catalog.+) 1)::pg_catalog.int4, u.code, u.error, $13) END "
				   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), "
				   "pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), "
				   "pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($11), pg_catalog.unnest($12)) "
				   "AS u(id, label, score, emotion, emotion_score, influence, status, error, retry, code) "
				   "WHERE s.%s OPERATOR(pg_catalog.=) u.id",
				   rel, ext, id);
	p->update = prepare_kept(sql, 13, update_types);

	sql = psprintf("DELETE FROM %s WHERE mention_id OPERATOR(pg_catalog.=) ANY ($1)", topics);
	p->delete_topics = prepare_kept(sql, 1, delete_types);

	sql = psprintf("DELETE FROM %s WHERE entry_id OPERATOR(pg_catalog.=) ANY ($1)", emb);
	p->delete_embeddings = prepare_kept(sql, 1, delete_types);

	sql = psprintf("INSERT INTO %s (mention_id, topic_key, weight, sentiment) "
				   "SELECT u.id, u.topic, u.weight, u.sentiment "
				   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
				   "pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(id, topic, weight, sentiment) "
				   "ON CONFLICT (mention_id, topic_key) DO UPDATE "
				   "SET weight = excluded.weight, sentiment = excluded.sentiment",
				   topics);
	p->insert_topics = prepare_kept(sql, 4, topic_types);

	/* $2 holds every embedding end to end; $3/$4 bound each row's slice. */
	sql = psprintf("INSERT INTO %s (entry_id, embedding) "
				   "SELECT u.id, $2[u.lo:u.hi] "
				   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($3), "
				   "pg_catalog.unnest($4)) AS u(id, lo, hi) "
				   "ON CONFLICT (entry_id) DO UPDATE SET embedding = excluded.embedding",
				   emb);
	p->insert_embeddings = prepare_kept(sql, 4, emb_types);

	p->legacy = legacy;
	p->key = MemoryContextStrdup(TopMemoryContext, key);
	return p;
}

static Datum
array_datum(Datum *values, bool *nulls, int n, Oid elemtype)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs,
											  elemtype, typlen, typbyval, typalign));
}

/* A real[] straight from a float buffer, without a Datum per element. */
static Datum
float4_array_datum(const float *values, int n)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(float4) * (Size) n;
	ArrayType  *a = palloc0(nbytes);

	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = FLOAT4OID;
	*ARR_DIMS(a) = n;
	*ARR_LBOUND(a) = 1;
	memcpy(ARR_DATA_PTR(a), values, sizeof(float4) * (Size) n);
	return PointerGetDatum(a);
}

static void
execute(SPIPlanPtr plan, Datum *args, int expected)
{
	int			ret = SPI_execute_plan(plan, args, NULL, false, 0);

	if (ret != expected)
		elog(ERROR, "sentiment_proc write failed: %s", SPI_result_code_string(ret));
}

/* The rows of one batch and what became of them, indexed by claim order. */
typedef struct SpBatch
{
	int			n;
	Datum	   *ids;
	int64	   *request;		/* queue request, 0 if none */
	int		   *attempts;		/* before this batch */
	bool	   *redo;			/* had results: old topics and embedding go */
	bool	   *failed;
	Datum	   *labels, *scores, *emotions, *emotion_scores, *influences;
	char	  **error;			/* failed rows */
	char	  **code;			/* their SQLSTATE */
	TimestampTz *retry;			/* their next attempt, 0: none */
	bool	   *written;		/* its write went through */
	/* topics of row i: [t_first[i], t_first[i + 1]) */
	int		   *t_first;
	Datum	   *t_keys, *t_weights, *t_sentiments;
	/* embedding of row i, a completed row */
	float	   *e_values;
	TimestampTz started;
	TimestampTz finished;
	Datum		status_completed, status_failed;
} SpBatch;

/* Subtransactions left for isolating failing rows in this batch. */
static int	isolation_budget;

/* Per-row analyser failures: deterministic, so not retried automatically. */
static void
set_analysis_failure(SpBatch *b, int i, const char *why, const char *code)
{
	b->failed[i] = true;
	b->error[i] = pstrdup(why);
	b->code[i] = pstrdup(code);
	b->retry[i] = 0;
}

/* A write failure: retried after a backoff until the attempts run out. */
static void
set_write_failure(SpBatch *b, int i, ErrorData *edata)
{
	b->failed[i] = true;
	b->error[i] = pstrdup(edata->message ? edata->message : "unknown error");
	b->code[i] = pstrdup(unpack_sql_state(edata->sqlerrcode));
	b->retry[i] = sp_retry_at(b->attempts[i] + 1, b->finished);
}

/* Write the listed rows: results and status, side rows.  May raise. */
static void
write_rows(SpPlans *plans, SpBatch *b, const int *rows, int nrows)
{
	Datum	   *ids = palloc(sizeof(Datum) * nrows);
	Datum	   *labels = palloc(sizeof(Datum) * nrows);
	Datum	   *scores = palloc(sizeof(Datum) * nrows);
	Datum	   *emotions = palloc(sizeof(Datum) * nrows);
	Datum	   *emotion_scores = palloc(sizeof(Datum) * nrows);
	Datum	   *influences = palloc(sizeof(Datum) * nrows);
	Datum	   *statuses = palloc(sizeof(Datum) * nrows);
	Datum	   *errors = palloc(sizeof(Datum) * nrows);
	Datum	   *codes = palloc(sizeof(Datum) * nrows);
	Datum	   *retries = palloc(sizeof(Datum) * nrows);
	bool	   *result_nulls = palloc(sizeof(bool) * nrows);
	bool	   *error_nulls = palloc(sizeof(bool) * nrows);
	bool	   *retry_nulls = palloc(sizeof(bool) * nrows);
	Datum	   *redo = palloc(sizeof(Datum) * nrows);
	Datum	   *e_ids = palloc(sizeof(Datum) * nrows);
	Datum	   *e_lo = palloc(sizeof(Datum) * nrows);
	Datum	   *e_hi = palloc(sizeof(Datum) * nrows);
	float	   *e_values = NULL;
	Datum	   *t_ids = NULL, *t_keys = NULL, *t_weights = NULL, *t_sentiments = NULL;
	int			nredo = 0, nemb = 0, ntopics = 0, topic_cap = 0;

	for (int k = 0; k < nrows; k++)
	{
		int			i = rows[k];

		if (!b->failed[i])
			topic_cap += b->t_first[i + 1] - b->t_first[i];
	}
	if (topic_cap > 0)
	{
		t_ids = palloc(sizeof(Datum) * topic_cap);
		t_keys = palloc(sizeof(Datum) * topic_cap);
		t_weights = palloc(sizeof(Datum) * topic_cap);
		t_sentiments = palloc(sizeof(Datum) * topic_cap);
	}
	e_values = palloc(sizeof(float) * SA_EMBEDDING_DIMS * (Size) nrows);

	for (int k = 0; k < nrows; k++)
	{
		int			i = rows[k];

		ids[k] = b->ids[i];
		if (b->redo[i])
			redo[nredo++] = b->ids[i];
		if (b->failed[i])
		{
			statuses[k] = b->status_failed;
			result_nulls[k] = true;
			labels[k] = scores[k] = emotions[k] = emotion_scores[k] = influences[k] = (Datum) 0;
			errors[k] = CStringGetTextDatum(b->error[i]);
			codes[k] = CStringGetTextDatum(b->code[i]);
			error_nulls[k] = false;
			retry_nulls[k] = (b->retry[i] == 0);
			retries[k] = TimestampTzGetDatum(b->retry[i]);
			continue;
		}
		statuses[k] = b->status_completed;
		result_nulls[k] = false;
		labels[k] = b->labels[i];
		scores[k] = b->scores[i];
		emotions[k] = b->emotions[i];
		emotion_scores[k] = b->emotion_scores[i];
		influences[k] = b->influences[i];
		errors[k] = codes[k] = retries[k] = (Datum) 0;
		error_nulls[k] = retry_nulls[k] = true;

		for (int t = b->t_first[i]; t < b->t_first[i + 1]; t++)
		{
			t_ids[ntopics] = b->ids[i];
			t_keys[ntopics] = b->t_keys[t];
			t_weights[ntopics] = b->t_weights[t];
			t_sentiments[ntopics] = b->t_sentiments[t];
			ntopics++;
		}
		memcpy(e_values + (Size) nemb * SA_EMBEDDING_DIMS,
			   b->e_values + (Size) i * SA_EMBEDDING_DIMS,
			   sizeof(float) * SA_EMBEDDING_DIMS);
		e_ids[nemb] = b->ids[i];
		e_lo[nemb] = Int32GetDatum(nemb * SA_EMBEDDING_DIMS + 1);
		e_hi[nemb] = Int32GetDatum((nemb + 1) * SA_EMBEDDING_DIMS);
		nemb++;
	}

	/* Writes: one statement each, whatever the batch size. */
	{
		Datum		args[13];

		args[0] = array_datum(ids, NULL, nrows, INT8OID);
		args[1] = array_datum(labels, result_nulls, nrows, TEXTOID);
		args[2] = array_datum(scores, result_nulls, nrows, FLOAT8OID);
		args[3] = array_datum(emotions, result_nulls, nrows, TEXTOID);
		args[4] = array_datum(emotion_scores, result_nulls, nrows, FLOAT8OID);
		args[5] = array_datum(influences, result_nulls, nrows, FLOAT8OID);
		args[6] = array_datum(statuses, NULL, nrows, TEXTOID);
		args[7] = array_datum(errors, error_nulls, nrows, TEXTOID);
		args[8] = TimestampTzGetDatum(b->started);
		args[9] = TimestampTzGetDatum(b->finished);
		args[10] = array_datum(retries, retry_nulls, nrows, TIMESTAMPTZOID);
		args[11] = array_datum(codes, error_nulls, nrows, TEXTOID);
		args[12] = Int32GetDatum(sp_error_history);
		if (SPI_execute_plan(plans->update, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not write results of %s", get_rel_name(plans->relid));
	}

	if (nredo > 0)
	{
		Datum		a = array_datum(redo, NULL, nredo, INT8OID);

		execute(plans->delete_topics, &a, SPI_OK_DELETE);
		execute(plans->delete_embeddings, &a, SPI_OK_DELETE);
	}

	if (ntopics > 0)
	{
		Datum		args[4];

		args[0] = array_datum(t_ids, NULL, ntopics, INT8OID);
		args[1] = array_datum(t_keys, NULL, ntopics, TEXTOID);
		args[2] = array_datum(t_weights, NULL, ntopics, FLOAT4OID);
		args[3] = array_datum(t_sentiments, NULL, ntopics, FLOAT4OID);
		execute(plans->insert_topics, args, SPI_OK_INSERT);
	}

	if (nemb > 0)
	{
		Datum		args[4];

		args[0] = array_datum(e_ids, NULL, nemb, INT8OID);
		args[1] = float4_array_datum(e_values, nemb * SA_EMBEDDING_DIMS);
		args[2] = array_datum(e_lo, NULL, nemb, INT4OID);
		args[3] = array_datum(e_hi, NULL, nemb, INT4OID);
		execute(plans->insert_embeddings, args, SPI_OK_INSERT);
	}
}

/*
 * Errors a row's data can cause (a trigger's RAISE, a constraint, a bad
 * value): worth isolating.  Anything else (cancel, shutdown, out of memory,
 * deadlock, serialization failure, missing privileges, internal errors)
 * concerns the whole batch and is raised again.
 */
static bool
isolatable(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:
		case ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION:
		case ERRCODE_PLPGSQL_ERROR:
		case ERRCODE_TRIGGERED_ACTION_EXCEPTION:
		case ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION:
		case ERRCODE_SQL_ROUTINE_EXCEPTION:
		case ERRCODE_EXTERNAL_ROUTINE_EXCEPTION:
		case ERRCODE_EXTERNAL_ROUTINE_INVOCATION_EXCEPTION:
		case ERRCODE_WITH_CHECK_OPTION_VIOLATION:
			return true;
		default:
			return false;
	}
}

/*
 * Run step(arg) in a subtransaction.  On an error that catch_it() accepts,
 * roll the subtransaction back and return the error; other errors are raised
 * again.  Returns NULL when the step succeeded.
 */
ErrorData *
sp_in_subtransaction(void (*step) (void *), void *arg, bool (*catch_it) (int sqlerrcode))
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		step(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (!catch_it(edata->sqlerrcode))
			ReThrowError(edata);
	}
	PG_END_TRY();
	return edata;
}

typedef struct WriteStep
{
	SpPlans    *plans;
	SpBatch    *b;
	const int  *rows;
	int			nrows;
} WriteStep;

static void
write_step(void *arg)
{
	WriteStep  *w = (WriteStep *) arg;

	write_rows(w->plans, w->b, w->rows, w->nrows);
}

/*
 * Try to write the rows in a subtransaction.  On an isolatable error, roll
 * it back and return the error; other errors are raised again.
 */
static ErrorData *
try_write(SpPlans *plans, SpBatch *b, const int *rows, int nrows)
{
	WriteStep	w = {plans, b, rows, nrows};

	isolation_budget--;
	return sp_in_subtransaction(write_step, &w, isolatable);
}

/*
 * Write the rows; when that fails, split them in halves and write each, down
 * to the single rows that fail, which become write failures.  A batch with
 * many failing rows would need many subtransactions: when the budget is
 * spent, the rows of a failing part all fail with its error (they are
 * retried after the backoff like any failure, so nothing is lost).
 */
static void
write_isolating(SpPlans *plans, SpBatch *b, const int *rows, int nrows,
				int *failures, int *nfailures)
{
	ErrorData  *edata;

	if (nrows == 0)
		return;
	edata = try_write(plans, b, rows, nrows);
	if (edata == NULL)
	{
		for (int k = 0; k < nrows; k++)
			b->written[rows[k]] = true;
		return;
	}
	if (nrows == 1 || isolation_budget < 2)
	{
		for (int k = 0; k < nrows; k++)
		{
			set_write_failure(b, rows[k], edata);
			failures[(*nfailures)++] = rows[k];
		}
		FreeErrorData(edata);
		return;
	}
	FreeErrorData(edata);
	write_isolating(plans, b, rows, nrows / 2, failures, nfailures);
	write_isolating(plans, b, rows + nrows / 2, nrows - nrows / 2, failures, nfailures);
}

/*
 * Take up to limit queued requests of the source, as the extension owner.
 * Returns how many; their request and entry ids go to *req and *ent.
 */
static int
take_queue(SpPlans *plans, Oid relid, int limit, int64 **req, int64 **ent)
{
	SpOwnerSwitch sw;
	Datum		args[2] = {ObjectIdGetDatum(relid), Int32GetDatum(limit)};
	volatile int n = 0;

	sp_as_extension_owner(&sw);
	PG_TRY();
	{
		if (SPI_execute_plan(plans->queue_take, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the processing queue");
	}
	PG_FINALLY();
	{
		sp_restore_user(&sw);
	}
	PG_END_TRY();
	n = (int) SPI_processed;
	*req = palloc(sizeof(int64) * (n + 1));
	*ent = palloc(sizeof(int64) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		(*req)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		(*ent)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return n;
}

/* Record what became of queue requests, as the extension owner. */
static void
finish_queue(SpBatch *b, int64 *gone, int ngone)
{
	char	   *sql;
	Datum	   *reqs = palloc(sizeof(Datum) * (b->n + ngone + 1));
	Datum	   *statuses = palloc(sizeof(Datum) * (b->n + ngone + 1));
	Datum	   *errors = palloc(sizeof(Datum) * (b->n + ngone + 1));
	bool	   *enulls = palloc(sizeof(bool) * (b->n + ngone + 1));
	int			m = 0;
	Datum		args[5];
	Oid			types[5] = {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	SpOwnerSwitch sw;

	for (int i = 0; i < b->n; i++)
	{
		if (b->request[i] == 0 || !b->written[i])
			continue;
		reqs[m] = Int64GetDatum(b->request[i]);
		statuses[m] = b->failed[i] ? b->status_failed : b->status_completed;
		enulls[m] = !b->failed[i];
		errors[m] = b->failed[i] ? CStringGetTextDatum(b->error[i]) : (Datum) 0;
		m++;
	}
	for (int i = 0; i < ngone; i++)
	{
		reqs[m] = Int64GetDatum(gone[i]);
		statuses[m] = b->status_failed;
		enulls[m] = false;
		errors[m] = CStringGetTextDatum("the row no longer exists");
		m++;
	}
	if (m == 0)
		return;
	args[0] = array_datum(reqs, NULL, m, INT8OID);
	args[1] = array_datum(statuses, NULL, m, TEXTOID);
	args[2] = array_datum(errors, enulls, m, TEXTOID);
	args[3] = TimestampTzGetDatum(b->started);
	args[4] = TimestampTzGetDatum(b->finished);
	sql = psprintf("UPDATE %s.sentiment_processing_queue AS q "
				   "SET status = u.status, started_at = $4, completed_at = $5, error = u.error "
				   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) "
				   "AS u(id, status, error) WHERE q.request_id OPERATOR(pg_catalog.=) u.id",
				   quote_identifier(registry_schema));
	sp_as_extension_owner(&sw);
	PG_TRY();
	{
		if (SPI_execute_with_args(sql, 5, types, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update the processing queue");
	}
	PG_FINALLY();
	{
		sp_restore_user(&sw);
	}
	PG_END_TRY();
}

/* Claim, analyse and write one batch of one source. Returns rows done. */
static int64
process_source(const SpSource *src, int limit)
{
	SpPlans    *plans = get_plans(src);
	SpAnalyzer *an;
	SpBatch		bb;
	SpBatch    *b = &bb;
	SPITupleTable *claimed[2] = {NULL, NULL};
	int			nclaimed[2] = {0, 0};
	int			n;
	int64	   *q_req = NULL;
	int64	   *q_ent = NULL;
	int			nq;
	int64	   *gone = NULL;
	int			ngone = 0;
	Datum		label_names[3], emotion_names[SA_EMOTION_COUNT];
	sa_analysis *res;
	int			topic_cap;
	int			ntopics = 0;
	int		   *rows;
	int		   *failures;
	int			nfailures = 0;
	int64		written = 0;
	int64		ncompleted = 0;
	int64		nfailed = 0;

	if (plans == NULL)
	{
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("an attached table or one of its side tables no longer exists, skipped"),
				 errdetail("The attached table has OID %u.", src->relid),
				 errhint("Remove it from processing with SELECT sentiment_detach(%u);", src->relid)));
		return 0;
	}
	an = sp_analyzer();
	memset(b, 0, sizeof(SpBatch));

	b->started = GetCurrentTimestamp();
	sp_stats_batch_begin(src->relid, limit);	/* stats.c: progress, timing */

	/* 1. explicit requests from the processing queue, by priority */
	nq = plans->queue_take ? take_queue(plans, src->relid, limit, &q_req, &q_ent) : 0;
	if (nq > 0)
	{
		Datum	   *d = palloc(sizeof(Datum) * nq);
		Datum		a;

		for (int i = 0; i < nq; i++)
			d[i] = Int64GetDatum(q_ent[i]);
		a = array_datum(d, NULL, nq, INT8OID);
		if (SPI_execute_plan(plans->claim_queued, &a, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not claim queued rows of %s", get_rel_name(src->relid));
		claimed[0] = SPI_tuptable;
		nclaimed[0] = (int) SPI_processed;

		/* requests whose row was deleted fail; locked rows wait their turn */
		if (nclaimed[0] < nq)
		{
			if (SPI_execute_plan(plans->exists, &a, NULL, true, 0) != SPI_OK_SELECT)
				elog(ERROR, "could not look up queued rows of %s", get_rel_name(src->relid));
			gone = palloc(sizeof(int64) * nq);
			for (int i = 0; i < nq; i++)
			{
				bool		found = false;

				for (uint64 j = 0; j < SPI_processed && !found; j++)
				{
					bool		isnull;

					found = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[j], SPI_tuptable->tupdesc,
														1, &isnull)) == q_ent[i];
				}
				if (!found)
					gone[ngone++] = q_req[i];
			}
			SPI_freetuptable(SPI_tuptable);
		}
	}

	/* 2. due retries and pending rows, besides those */
	if (nclaimed[0] < limit)
	{
		Datum		args[2];
		Datum	   *d = palloc(sizeof(Datum) * (nclaimed[0] + 1));

		for (int i = 0; i < nclaimed[0]; i++)
		{
			bool		isnull;

			d[i] = SPI_getbinval(claimed[0]->vals[i], claimed[0]->tupdesc, CLAIM_ID, &isnull);
		}
		args[0] = Int32GetDatum(limit - nclaimed[0]);
		args[1] = array_datum(d, NULL, nclaimed[0], INT8OID);
		if (SPI_execute_plan(plans->claim, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not claim rows of %s", get_rel_name(src->relid));
		claimed[1] = SPI_tuptable;
		nclaimed[1] = (int) SPI_processed;
	}
	n = nclaimed[0] + nclaimed[1];
	sp_stats_batch_claimed(n);	/* stats.c */
	if (n == 0)
	{
		b->n = 0;
		if (ngone > 0)
		{
			b->finished = GetCurrentTimestamp();
			b->status_failed = CStringGetTextDatum("failed");
			finish_queue(b, gone, ngone);
		}
		return 0;
	}

	b->n = n;
	b->ids = palloc(sizeof(Datum) * n);
	b->request = palloc0(sizeof(int64) * n);
	b->attempts = palloc(sizeof(int) * n);
	b->redo = palloc(sizeof(bool) * n);
	b->failed = palloc0(sizeof(bool) * n);
	b->written = palloc0(sizeof(bool) * n);
	b->labels = palloc(sizeof(Datum) * n);
	b->scores = palloc(sizeof(Datum) * n);
	b->emotions = palloc(sizeof(Datum) * n);
	b->emotion_scores = palloc(sizeof(Datum) * n);
	b->influences = palloc(sizeof(Datum) * n);
	b->error = palloc0(sizeof(char *) * n);
	b->code = palloc0(sizeof(char *) * n);
	b->retry = palloc0(sizeof(TimestampTz) * n);
	b->t_first = palloc(sizeof(int) * (n + 1));
	topic_cap = n * 2;
	b->t_keys = palloc(sizeof(Datum) * topic_cap);
	b->t_weights = palloc(sizeof(Datum) * topic_cap);
	b->t_sentiments = palloc(sizeof(Datum) * topic_cap);
	b->e_values = palloc(sizeof(float) * SA_EMBEDDING_DIMS * (Size) n);
	res = palloc(sizeof(sa_analysis));

	for (int i = 0; i < 3; i++)
		label_names[i] = CStringGetTextDatum(sa_label_name((sa_label) (i - 1)));
	for (int i = 0; i < SA_EMOTION_COUNT; i++)
		emotion_names[i] = CStringGetTextDatum(sa_emotion_name((sa_emotion) i));
	b->status_completed = CStringGetTextDatum("completed");
	b->status_failed = CStringGetTextDatum("failed");

	/* Analysis: pure C, no database access until every row is done. */
	for (int i = 0; i < n; i++)
	{
		int			part = i < nclaimed[0] ? 0 : 1;
		HeapTuple	tup = claimed[part]->vals[part == 0 ? i : i - nclaimed[0]];
		TupleDesc	desc = claimed[part]->tupdesc;
		bool		isnull;
		Datum		d;
		sa_error	err = SA_OK;
		sa_engagement eng;
		int64		id;

		CHECK_FOR_INTERRUPTS();

		b->t_first[i] = ntopics;
		id = DatumGetInt64(SPI_getbinval(tup, desc, CLAIM_ID, &isnull));
		b->ids[i] = Int64GetDatum(id);
		b->redo[i] = DatumGetBool(SPI_getbinval(tup, desc, CLAIM_REDO, &isnull));
		b->attempts[i] = DatumGetInt32(SPI_getbinval(tup, desc, CLAIM_ATTEMPTS, &isnull));
		if (part == 0)
			for (int k = 0; k < nq; k++)
				if (q_ent[k] == id)
					b->request[i] = q_req[k];

		d = SPI_getbinval(tup, desc, CLAIM_TEXT, &isnull);
		if (isnull)
		{
			set_analysis_failure(b, i, "text is null", "22004");
			continue;
		}
		else
		{
			text	   *t = DatumGetTextPP(d);

			err = sa_analyze(an->lexicon, an->topics, an->workspace,
							 VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), res);
			if ((Pointer) t != DatumGetPointer(d))
				pfree(t);
			/* Running out of memory is not the row's fault: retry it later. */
			if (err == SA_ERR_NOMEM)
				sp_analyzer_error(err, "analysing a batch");
			if (err != SA_OK)
			{
				set_analysis_failure(b, i, sa_strerror(err),
									 err == SA_ERR_TOO_LONG ? "54000" : "22023");
				continue;
			}
		}

		/* Unknown engagement is -1, which the influence formula expects. */
		eng.followers = DatumGetInt64(SPI_getbinval(tup, desc, CLAIM_FOLLOWERS, &isnull));
		if (isnull)
			eng.followers = -1;
		eng.likes = DatumGetInt64(SPI_getbinval(tup, desc, CLAIM_LIKES, &isnull));
		if (isnull)
			eng.likes = -1;
		eng.shares = DatumGetInt64(SPI_getbinval(tup, desc, CLAIM_SHARES, &isnull));
		if (isnull)
			eng.shares = -1;
		eng.replies = DatumGetInt64(SPI_getbinval(tup, desc, CLAIM_REPLIES, &isnull));
		if (isnull)
			eng.replies = -1;

		b->labels[i] = label_names[(int) res->sentiment.label + 1];
		b->scores[i] = Float8GetDatum(res->sentiment.compound);
		b->emotions[i] = emotion_names[res->emotion];
		b->emotion_scores[i] = Float8GetDatum(res->emotion_score);
		b->influences[i] = Float8GetDatum(sa_influence_weight(&eng));

		/* Topics: one row per distinct key (ON CONFLICT cannot see one twice). */
		for (size_t k = 0; k < res->n_topics; k++)
		{
			const sa_topic_match *m = &res->topics[k];
			bool		dup = false;

			for (size_t j = 0; j < k && !dup; j++)
				dup = (res->topics[j].key_len == m->key_len &&
					   memcmp(res->topics[j].key, m->key, m->key_len) == 0);
			if (dup)
				continue;
			if (ntopics == topic_cap)
			{
				topic_cap *= 2;
				b->t_keys = repalloc(b->t_keys, sizeof(Datum) * topic_cap);
				b->t_weights = repalloc(b->t_weights, sizeof(Datum) * topic_cap);
				b->t_sentiments = repalloc(b->t_sentiments, sizeof(Datum) * topic_cap);
			}
			b->t_keys[ntopics] = PointerGetDatum(cstring_to_text_with_len(m->key, (int) m->key_len));
			b->t_weights[ntopics] = Float4GetDatum((float4) m->weight);
			b->t_sentiments[ntopics] = Float4GetDatum((float4) m->sentiment);
			ntopics++;
		}

		memcpy(b->e_values + (Size) i * SA_EMBEDDING_DIMS, res->embedding,
			   sizeof(float) * SA_EMBEDDING_DIMS);
	}
	b->t_first[n] = ntopics;
	b->finished = GetCurrentTimestamp();
	sp_stats_batch_analysed();	/* stats.c */
	for (int part = 0; part < 2; part++)
		if (claimed[part] != NULL)
			SPI_freetuptable(claimed[part]);

	/*
	 * Writes, isolating rows whose write fails.  One bad row in 1,000 takes
	 * about 2 * log2(1000) = 20 subtransactions; the budget allows a few.
	 */
	rows = palloc(sizeof(int) * n);
	failures = palloc(sizeof(int) * n);
	for (int i = 0; i < n; i++)
		rows[i] = i;
	isolation_budget = 8 + 6 * (int) ceil(log2((double) n + 1));
	write_isolating(plans, b, rows, n, failures, &nfailures);

	/*
	 * The culprits, now recorded as failed (results cleared, error, retry
	 * time) in this transaction; their failed writes were rolled back.
	 */
	if (nfailures > 0)
	{
		ErrorData  *edata;

		isolation_budget = Max(isolation_budget, 1);
		edata = try_write(plans, b, failures, nfailures);
		if (edata == NULL)
		{
			for (int k = 0; k < nfailures; k++)
				b->written[failures[k]] = true;
		}
		else
		{
			/* even their failure is refused: they stay as they were */
			ereport(WARNING,
					(errcode(edata->sqlerrcode),
					 errmsg("could not record %d failed rows of %s: %s",
							nfailures, get_rel_name(src->relid), edata->message),
					 errhint("A trigger or constraint on the table refuses the failed state; those rows stay as they were.")));
			FreeErrorData(edata);
		}
	}

	for (int i = 0; i < n; i++)
	{
		if (!b->written[i])
			continue;
		written++;
		if (b->failed[i])
			nfailed++;
		else
			ncompleted++;
	}

	if (nq > 0)
		finish_queue(b, gone, ngone);

	sp_stats_batch_end(ncompleted, nfailed);
	return written;
}

/*
 * Errors of one source (a renamed column, a revoked privilege) rather than
 * of the whole transaction or the server: those may be skipped.
 */
static bool
source_skippable(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_TRANSACTION_ROLLBACK:	/* deadlock, serialization */
		case ERRCODE_INVALID_TRANSACTION_STATE: /* read-only, aborted */
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
		case ERRCODE_OPERATOR_INTERVENTION:	/* cancel, shutdown */
		case ERRCODE_SYSTEM_ERROR:
		case ERRCODE_INTERNAL_ERROR:
			return false;
		default:
			return true;
	}
}

/* The source an all-sources batch starts with; rotates (see sp_process_batch). */
static uint32 next_first_source = 0;

/* Message of the last source skipped by the latest all-sources batch. */
char		sp_skipped_source_error[SP_SKIPPED_ERROR_LEN];

typedef struct SourceStep
{
	const SpSource *src;
	int			limit;
	int64		done;
} SourceStep;

/*
 * Process one source as its owner, in a security-restricted operation
 * (identity.c): code the owner attached to the table runs with the owner's
 * rights, never with the caller's or a worker's.
 */
static void
source_step(void *arg)
{
	SourceStep *st = (SourceStep *) arg;
	SpOwnerSwitch sw;

	sp_as_table_owner(st->src->relid, &sw);
	sp_check_source_tables(st->src->relid, st->src->topics, st->src->embeddings);
	st->done = process_source(st->src, st->limit);
	sp_restore_user(&sw);
}

/*
 * Process one source of an all-sources batch in a subtransaction, so that a
 * broken source (its text column renamed, a privilege revoked) is skipped
 * with a warning instead of stalling every other attached table.
 */
static int64
process_source_isolated(const SpSource *src, int limit)
{
	SourceStep	st = {src, limit, 0};
	ErrorData  *edata = sp_in_subtransaction(source_step, &st, source_skippable);
	char	   *name;

	if (edata == NULL)
		return st.done;

	name = get_rel_name(src->relid);
	snprintf(sp_skipped_source_error, sizeof(sp_skipped_source_error),
			 "table %s skipped: %s", name ? name : "?",
			 edata->message ? edata->message : "unknown error");
	/* a table its owner keeps locked is simply tried again later */
	if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
		ereport(NOTICE,
				(errcode(edata->sqlerrcode),
				 errmsg("sentiment_proc skipped table \"%s\": it is locked by another session",
						name ? name : "?"),
				 errdetail("The other attached tables were processed."),
				 errhint("A later batch takes its rows; sentiment_proc.source_lock_timeout sets how long a batch waits.")));
	else
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("sentiment_proc skipped table \"%s\": %s",
						name ? name : "?", edata->message ? edata->message : "unknown error"),
				 errdetail("The other attached tables were processed."),
				 errhint("Repair the table, or attach it again with the right column names, or detach it.")));
	FreeErrorData(edata);
	return 0;
}

int64
sp_process_batch(Oid source, int batch_size)
{
	SpSource   *sources;
	int			nsources;
	int64		done = 0;

	Assert(batch_size > 0 && batch_size <= SP_MAX_BATCH_SIZE);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	sources = load_sources(source, &nsources);
	if (OidIsValid(source) && nsources == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not attached to sentiment_proc",
						get_rel_name(source) ? get_rel_name(source) : "?"),
				 errhint("Attach it first with SELECT sentiment_attach('%s');",
						 get_rel_name(source) ? get_rel_name(source) : "?")));

	if (OidIsValid(source))
		sp_check_may_process(source);

	sp_skipped_source_error[0] = '\0';
	if (nsources == 1)
	{
		/* one source only: its errors are the caller's to see */
		SourceStep	st = {&sources[0], batch_size, 0};

		if (sp_may_process(sources[0].relid))
			source_step(&st);
		done = st.done;
	}
	else if (nsources > 1)
	{
		/*
		 * Fair shares: each source the caller may process gets up to
		 * batch_size / nsources rows, starting from a different source each
		 * batch; what is left goes to the sources that filled their share.
		 * A flood of rows into one table, or a table its owner keeps
		 * locked, cannot hold up the others.
		 */
		int			share = Max(1, batch_size / nsources);
		int			first = (int) (next_first_source++ % (uint32) nsources);
		bool	   *full = palloc0(sizeof(bool) * nsources);

		for (int k = 0; k < nsources && done < batch_size; k++)
		{
			int			i = (first + k) % nsources;
			int64		got;

			if (!sp_may_process(sources[i].relid))
				continue;
			got = process_source_isolated(&sources[i], (int) Min(share, batch_size - done));
			full[i] = (got >= share);
			done += got;
		}
		for (int k = 0; k < nsources && done < batch_size; k++)
		{
			int			i = (first + k) % nsources;

			if (full[i])
				done += process_source_isolated(&sources[i], batch_size - (int) done);
		}
	}

	SPI_finish();
	return done;
}

Datum
sentiment_process_batch(PG_FUNCTION_ARGS)
{
	int32		batch_size;
	Oid			source = InvalidOid;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("batch_size must not be null"),
				 errhint("Pass a number of rows between 1 and %d, or leave it out for 100.",
						 SP_MAX_BATCH_SIZE)));
	batch_size = PG_GETARG_INT32(0);
	if (batch_size < 1 || batch_size > SP_MAX_BATCH_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size %d is out of range", batch_size),
				 errdetail("The batch size must be between 1 and %d.", SP_MAX_BATCH_SIZE),
				 errhint("Call sentiment_process_batch repeatedly for more rows.")));

	if (!PG_ARGISNULL(1))
	{
		source = PG_GETARG_OID(1);
		if (get_rel_name(source) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", source),
					 errhint("Pass an attached table, see the sentiment_sources table.")));
	}

	PG_RETURN_INT32((int32) sp_process_batch(source, batch_size));
}
