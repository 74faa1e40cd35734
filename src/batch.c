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
 * Nothing is committed here: a crash or cancel rolls the whole batch back
 * and its rows are simply pending again.  The statements are prepared once
 * per backend and source and kept; names are quoted and every function,
 * cast and operator is schema-qualified, so the caller's search_path (a
 * background worker's, or a hostile one) cannot change what runs.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
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
	SPIPlanPtr	claim;
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
	CLAIM_REDO
};

/* The schema the extension lives in (PostgreSQL 15 does not export this). */
static Oid
extension_schema(Oid ext)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(ext));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return nsp;
}

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
	Oid			ext = get_extension_oid("sentiment_proc", true);
	char	   *schema;
	SpSource   *sources;
	int			n = 0;

	if (!OidIsValid(ext))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"sentiment_proc\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION sentiment_proc;")));
	schema = get_namespace_name(extension_schema(ext));

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
	Oid			claim_types[1] = {INT4OID};
	Oid			update_types[10] = {INT8ARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID,
	FLOAT8ARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Oid			delete_types[1] = {INT8ARRAYOID};
	Oid			topic_types[4] = {INT8ARRAYOID, TEXTARRAYOID, FLOAT4ARRAYOID, FLOAT4ARRAYOID};
	Oid			emb_types[4] = {INT8ARRAYOID, FLOAT4ARRAYOID, INT4ARRAYOID, INT4ARRAYOID};

	if (rel == NULL || topics == NULL || emb == NULL)
		return NULL;
	id = quote_identifier(src->id_column);
	txt = quote_identifier(src->text_column);
	key = psprintf("%s|%s|%s|%s|%s", rel, topics, emb, id, txt);

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
		SPIPlanPtr *all[] = {&p->claim, &p->update, &p->delete_topics, &p->delete_embeddings,
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

	sql = psprintf("SELECT s.%s::pg_catalog.int8, s.%s::pg_catalog.text, "
				   "s.author_followers::pg_catalog.int8, s.likes::pg_catalog.int8, "
				   "s.shares::pg_catalog.int8, s.replies::pg_catalog.int8, "
				   "s.processing_completed_at IS NOT NULL "
				   "FROM %s AS s "
				   "WHERE s.processing_status OPERATOR(pg_catalog.=) 'pending' "
				   "ORDER BY s.%s LIMIT $1 "
				   "FOR NO KEY UPDATE OF s SKIP LOCKED",
				   id, txt, rel, id);
	p->claim = prepare_kept(sql, 1, claim_types);

	sql = psprintf("UPDATE %s AS s SET "
				   "sentiment_label = u.label, sentiment_score = u.score, "
				   "emotion_label = u.emotion, emotion_score = u.emotion_score, "
				   "influence_weight = u.influence, processing_status = u.status, "
				   "processing_started_at = $9, processing_completed_at = $10, "
				   "processing_error = u.error, "
				   "processing_attempts = s.processing_attempts OPERATOR(pg_catalog.+) 1 "
				   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), "
				   "pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), "
				   "pg_catalog.unnest($7), pg_catalog.unnest($8)) "
				   "AS u(id, label, score, emotion, emotion_score, influence, status, error) "
				   "WHERE s.%s OPERATOR(pg_catalog.=) u.id",
				   rel, id);
	p->update = prepare_kept(sql, 10, update_types);

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

/* Claim, analyse and write one batch of one source. Returns rows done. */
static int64
process_source(const SpSource *src, int limit)
{
	SpPlans    *plans = get_plans(src);
	SpAnalyzer *an;
	Datum		arg;
	SPITupleTable *claimed;
	int			n;
	TimestampTz started;
	TimestampTz finished;

	/* per row */
	Datum	   *ids, *labels, *scores, *emotions, *emotion_scores, *influences, *statuses, *errors;
	bool	   *label_nulls, *result_nulls, *error_nulls;
	/* rows that had results before: their old topics and embedding go */
	Datum	   *redo;
	int			nredo = 0;
	/* topics */
	Datum	   *t_ids, *t_keys, *t_weights, *t_sentiments;
	int			ntopics = 0;
	int			topic_cap;
	/* embeddings */
	float	   *e_values;
	Datum	   *e_ids, *e_lo, *e_hi;
	int			nemb = 0;
	Datum		label_names[3], emotion_names[SA_EMOTION_COUNT];
	Datum		completed, failed;
	sa_analysis *res;
	int64		written;

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

	started = GetCurrentTimestamp();
	sp_stats_batch_begin(src->relid, limit);	/* stats.c: progress, timing */
	arg = Int32GetDatum(limit);
	if (SPI_execute_plan(plans->claim, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not claim rows of %s", get_rel_name(src->relid));
	claimed = SPI_tuptable;
	n = (int) SPI_processed;
	sp_stats_batch_claimed(n);	/* stats.c */
	if (n == 0)
	{
		SPI_freetuptable(claimed);
		return 0;
	}

	ids = palloc(sizeof(Datum) * n);
	labels = palloc(sizeof(Datum) * n);
	scores = palloc(sizeof(Datum) * n);
	emotions = palloc(sizeof(Datum) * n);
	emotion_scores = palloc(sizeof(Datum) * n);
	influences = palloc(sizeof(Datum) * n);
	statuses = palloc(sizeof(Datum) * n);
	errors = palloc(sizeof(Datum) * n);
	label_nulls = palloc(sizeof(bool) * n);
	result_nulls = palloc(sizeof(bool) * n);
	error_nulls = palloc(sizeof(bool) * n);
	redo = palloc(sizeof(Datum) * n);
	topic_cap = n * 2;
	t_ids = palloc(sizeof(Datum) * topic_cap);
	t_keys = palloc(sizeof(Datum) * topic_cap);
	t_weights = palloc(sizeof(Datum) * topic_cap);
	t_sentiments = palloc(sizeof(Datum) * topic_cap);
	e_values = palloc(sizeof(float) * SA_EMBEDDING_DIMS * (Size) n);
	e_ids = palloc(sizeof(Datum) * n);
	e_lo = palloc(sizeof(Datum) * n);
	e_hi = palloc(sizeof(Datum) * n);
	res = palloc(sizeof(sa_analysis));

	for (int i = 0; i < 3; i++)
		label_names[i] = CStringGetTextDatum(sa_label_name((sa_label) (i - 1)));
	for (int i = 0; i < SA_EMOTION_COUNT; i++)
		emotion_names[i] = CStringGetTextDatum(sa_emotion_name((sa_emotion) i));
	completed = CStringGetTextDatum("completed");
	failed = CStringGetTextDatum("failed");

	/* Analysis: pure C, no database access until every row is done. */
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = claimed->vals[i];
		TupleDesc	desc = claimed->tupdesc;
		bool		isnull;
		Datum		d;
		sa_error	err = SA_OK;
		const char *why = NULL;
		sa_engagement eng;
		int64		id;

		CHECK_FOR_INTERRUPTS();

		id = DatumGetInt64(SPI_getbinval(tup, desc, CLAIM_ID, &isnull));
		ids[i] = Int64GetDatum(id);
		if (DatumGetBool(SPI_getbinval(tup, desc, CLAIM_REDO, &isnull)))
			redo[nredo++] = ids[i];

		d = SPI_getbinval(tup, desc, CLAIM_TEXT, &isnull);
		if (isnull)
			why = "text is null";
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
				why = sa_strerror(err);
		}

		if (why != NULL)
		{
			statuses[i] = failed;
			errors[i] = CStringGetTextDatum(why);
			error_nulls[i] = false;
			label_nulls[i] = result_nulls[i] = true;
			labels[i] = scores[i] = emotions[i] = emotion_scores[i] = influences[i] = (Datum) 0;
			continue;
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

		statuses[i] = completed;
		errors[i] = (Datum) 0;
		error_nulls[i] = true;
		label_nulls[i] = result_nulls[i] = false;
		labels[i] = label_names[(int) res->sentiment.label + 1];
		scores[i] = Float8GetDatum(res->sentiment.compound);
		emotions[i] = emotion_names[res->emotion];
		emotion_scores[i] = Float8GetDatum(res->emotion_score);
		influences[i] = Float8GetDatum(sa_influence_weight(&eng));

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
				t_ids = repalloc(t_ids, sizeof(Datum) * topic_cap);
				t_keys = repalloc(t_keys, sizeof(Datum) * topic_cap);
				t_weights = repalloc(t_weights, sizeof(Datum) * topic_cap);
				t_sentiments = repalloc(t_sentiments, sizeof(Datum) * topic_cap);
			}
			t_ids[ntopics] = ids[i];
			t_keys[ntopics] = PointerGetDatum(cstring_to_text_with_len(m->key, (int) m->key_len));
			t_weights[ntopics] = Float4GetDatum((float4) m->weight);
			t_sentiments[ntopics] = Float4GetDatum((float4) m->sentiment);
			ntopics++;
		}

		memcpy(e_values + (Size) nemb * SA_EMBEDDING_DIMS, res->embedding,
			   sizeof(float) * SA_EMBEDDING_DIMS);
		e_ids[nemb] = ids[i];
		e_lo[nemb] = Int32GetDatum(nemb * SA_EMBEDDING_DIMS + 1);
		e_hi[nemb] = Int32GetDatum((nemb + 1) * SA_EMBEDDING_DIMS);
		nemb++;
	}
	finished = GetCurrentTimestamp();
	sp_stats_batch_analysed();	/* stats.c */
	SPI_freetuptable(claimed);

	/* Writes: one statement each, whatever the batch size. */
	{
		Datum		args[10];
		char		nulls[10];

		args[0] = array_datum(ids, NULL, n, INT8OID);
		args[1] = array_datum(labels, label_nulls, n, TEXTOID);
		args[2] = array_datum(scores, result_nulls, n, FLOAT8OID);
		args[3] = array_datum(emotions, result_nulls, n, TEXTOID);
		args[4] = array_datum(emotion_scores, result_nulls, n, FLOAT8OID);
		args[5] = array_datum(influences, result_nulls, n, FLOAT8OID);
		args[6] = array_datum(statuses, NULL, n, TEXTOID);
		args[7] = array_datum(errors, error_nulls, n, TEXTOID);
		args[8] = TimestampTzGetDatum(started);
		args[9] = TimestampTzGetDatum(finished);
		memset(nulls, ' ', sizeof(nulls));
		if (SPI_execute_plan(plans->update, args, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not write results of %s", get_rel_name(src->relid));
		written = (int64) SPI_processed;
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

	/* stats.c: every completed row has an embedding, the others failed */
	sp_stats_batch_end(nemb, n - nemb);
	return written;
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

	for (int i = 0; i < nsources && done < batch_size; i++)
		done += process_source(&sources[i], batch_size - (int) done);

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
