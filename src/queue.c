/*
 * queue.c - requests in the processing queue.
 *
 * sentiment_processing_queue is the extension's private table, written only
 * here and always as the extension's owner: batches take requests of a
 * source first, by priority, with SKIP LOCKED, and record what became of
 * them; finished requests are pruned after sentiment_proc.queue_retention
 * (by the workers' upkeep and at every enqueue).  Requests enter
 * through sentiment_enqueue, which checks as the caller that the caller may
 * update the source (who may not write a table may not have it
 * re-analysed), reads the source's keys as the source's owner (as the
 * batch does, source_sql.c), and writes the queue itself as the
 * extension's owner.  A user's relation is never read with the extension
 * owner's rights, nor with the caller's.
 *
 * Batches and the two-phase claim API (sql/objects/56_claim_api.sql, plpgsql
 * running as the caller) take requests with the same statement
 * (sp_queue_take_plan): the API through sentiment_queue_take, which marks
 * them claimed for the lease, so that batches pass them over, and finishes them
 * through sentiment_queue_finish: the caller never writes the queue itself,
 * and these two read only the queue as the owner, never the source.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/timestamp.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "batch.h"

PG_FUNCTION_INFO_V1(sentiment_enqueue);
PG_FUNCTION_INFO_V1(sentiment_prune_queue);

/* How long finished requests are kept (seconds). */
static int	sp_queue_retention_s = 7 * 24 * 3600;

void
sp_queue_init(void)
{
	DefineCustomIntVariable("sentiment_proc.queue_retention",
							"How long finished requests stay in sentiment_processing_queue.",
							NULL,
							&sp_queue_retention_s, 7 * 24 * 3600, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
}

PG_FUNCTION_INFO_V1(sentiment_queue_take);
PG_FUNCTION_INFO_V1(sentiment_queue_finish);

/* Keys read from the source per round trip; bounds the memory used. */
#define ENQUEUE_CHUNK 10000

/*
 * Queue the keys the cursor (opened as the table's owner) reads, a chunk at
 * a time, writing the queue as the extension's owner; returns the requests
 * queued or re-prioritised.
 */
static int64
queue_keys(Portal keys, Oid source, int32 priority, const char *schema)
{
	Oid			ins_types[4] = {OIDOID, INT8ARRAYOID, INT4OID, NAMEOID};
	SpOwnerSwitch owner;
	int64		queued = 0;
	char	   *insert_sql;

	insert_sql = psprintf("INSERT INTO %s.sentiment_processing_queue AS q "
						  "(source_table, entry_id, priority, requested_by) "
						  "SELECT $1, k.id, $3, $4 FROM pg_catalog.unnest($2) AS k(id) "
						  "ON CONFLICT (source_table, entry_id) WHERE status OPERATOR(pg_catalog.=) 'queued' "
						  "DO UPDATE SET priority = pg_catalog.int4larger(q.priority, excluded.priority)%s",
						  quote_identifier(schema),
						  /* taken by a claim: a new request, which the claim does not satisfy */
						  sp_queue_has_claims(schema) ?
						  ", requested_at = CASE WHEN q.claimed_until IS NULL THEN q.requested_at "
						  "ELSE excluded.requested_at END, claimed_until = NULL" : "");
	for (;;)
	{
		Datum	   *ids;
		Datum		ins_args[4];
		SpOwnerSwitch sw;
		uint64		n;
		int			ret;

		sp_as_table_owner(source, &owner);
		SPI_cursor_fetch(keys, true, ENQUEUE_CHUNK);
		sp_restore_user(&owner);
		n = SPI_processed;
		if (n == 0)
			break;
		ids = palloc(sizeof(Datum) * n);
		for (uint64 i = 0; i < n; i++)
		{
			bool		isnull;

			ids[i] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		}
		ins_args[0] = ObjectIdGetDatum(source);
		ins_args[1] = PointerGetDatum(construct_array(ids, (int) n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		ins_args[2] = Int32GetDatum(priority);
		ins_args[3] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetSessionUserId(), false)));
		SPI_freetuptable(SPI_tuptable);

		/* the queue is the extension's own table */
		sp_as_extension_owner(&sw);
		ret = SPI_execute_with_args(insert_sql, 4, ins_types, ins_args, NULL, false, 0);
		sp_restore_user(&sw);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not write the processing queue: %s", SPI_result_code_string(ret));
		queued += (int64) SPI_processed;
		pfree(ids);
	}
	return queued;
}

/*
 * sentiment_enqueue(source regclass, ids bigint[] DEFAULT NULL,
 * priority integer DEFAULT 0): queue rows of an attached table (ids NULL:
 * every row) for analysis before pending rows.  A row already queued keeps
 * the higher priority; one whose request a two-phase claim took is asked
 * for again (the claim read it before this request).  Returns the requests queued or re-prioritised.
 */
Datum
sentiment_enqueue(PG_FUNCTION_ARGS)
{
	char	   *schema = sp_extension_schema();
	Oid			source;
	int32		priority;
	char	   *id_column;
	Oid			topics;
	Oid			embeddings;
	Portal		keys;
	int64		queued = 0;
	SpSource   *src;
	int			nsources;
	Oid			key_types[1] = {INT8ARRAYOID};
	Datum		key_args[1];
	char		key_nulls[1];
	SpOwnerSwitch owner;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source and priority must not be null"),
				 errhint("Pass an attached table; leave priority out for 0.")));
	source = PG_GETARG_OID(0);
	priority = PG_GETARG_INT32(2);

	/* the queue lives on one node: a distributed table's rows go back to pending */
	if (sp_citus_distributed(source))
		PG_RETURN_INT64(sp_citus_requeue(source, PG_GETARG_DATUM(1), PG_ARGISNULL(1)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* the registration (the registry is readable by all) */
	src = sp_load_sources(source, &nsources);
	if (nsources == 0)
		sp_error_not_attached(source);
	id_column = src->id_column;
	topics = src->topics;
	embeddings = src->embeddings;

	/* as the caller: only a table, and only one the caller may write */
	sp_check_source_tables(source, topics, embeddings);
	if (pg_class_aclcheck(source, GetUserId(), ACL_UPDATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to queue rows of table %s", get_rel_name(source)),
				 errdetail("Queueing rows for analysis has them written again; it takes UPDATE on the table."),
				 errhint("GRANT UPDATE ON %s TO the role that queues its rows.",
						 quote_identifier(get_rel_name(source)))));

	/* read as the owner below: the columns' types, row-level security */
	sp_source_check(source, false);

	(void) sp_prune_queue();

	/*
	 * The keys, read as the table's owner (source_sql.c), a chunk at a time:
	 * whoever queues, code of the table's owner runs as the owner.
	 */
	key_args[0] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	key_nulls[0] = PG_ARGISNULL(1) ? 'n' : ' ';
	sp_as_table_owner(source, &owner);
	keys = SPI_cursor_open_with_args(NULL,
									 psprintf("SELECT s.%s::pg_catalog.int8 FROM %s AS s "
											  "WHERE $1 IS NULL OR s.%s OPERATOR(pg_catalog.=) ANY ($1)",
											  quote_identifier(id_column),
											  sp_qualified_name(source),
											  quote_identifier(id_column)),
									 1, key_types, key_args, key_nulls, true, 0);
	sp_restore_user(&owner);

	queued = queue_keys(keys, source, priority, schema);
	SPI_cursor_close(keys);
	SPI_finish();

	if (queued > 0)
		sp_wake_all_at_commit();
	PG_RETURN_INT64(queued);
}

/* ---- retention ---- */

/*
 * Delete finished requests past sentiment_proc.queue_retention, and those of
 * tables no longer attached, a bounded number at a time; returns how many.
 */
int64
sp_prune_queue(void)
{
	char	   *schema = sp_extension_schema_name();
	SpOwnerSwitch sw;
	volatile int64 n = 0;
	int			ret;
	Oid			types[1] = {INT4OID};
	Datum		vals[1] = {Int32GetDatum(sp_queue_retention_s)};

	if (schema == NULL ||
		!OidIsValid(get_relname_relid("sentiment_processing_queue", get_namespace_oid(schema, false))))
		return 0;				/* not there before 1.1 */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sp_as_extension_owner(&sw);
	PG_TRY();
	{
		/*
		 * Finished requests past the retention, and requests of tables no
		 * longer attached, a bounded number at a time.
		 */
		char	   *sql = psprintf(
			"DELETE FROM %1$s.sentiment_processing_queue WHERE request_id OPERATOR(pg_catalog.=) ANY (ARRAY("
			" SELECT q.request_id FROM %1$s.sentiment_processing_queue q "
			"  WHERE (q.status OPERATOR(pg_catalog.<>) 'queued' AND q.completed_at OPERATOR(pg_catalog.<) "
			"         (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))) "
			"     OR NOT EXISTS (SELECT FROM %1$s.sentiment_sources s WHERE s.source_table OPERATOR(pg_catalog.=) q.source_table) "
			"  LIMIT 10000))",
			quote_identifier(schema));

		ret = SPI_execute_with_args(sql, 1, types, vals, NULL, false, 0);
		if (ret != SPI_OK_DELETE)
			elog(ERROR, "could not prune the processing queue: %s", SPI_result_code_string(ret));
		n = (int64) SPI_processed;
	}
	PG_FINALLY();
	{
		sp_restore_user(&sw);
	}
	PG_END_TRY();
	SPI_finish();
	return n;
}

Datum
sentiment_prune_queue(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(sp_prune_queue());
}

/* ---- a batch's requests ---- */

/*
 * Record what became of the batch's queue requests, as the extension owner:
 * completed or failed with the row's error when the row was written, failed
 * when the row is gone; those of released rows stay queued.
 */
void
sp_queue_finish(SpBatch *b)
{
	int64	   *gone = b->gone;
	int			ngone = b->ngone;
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
		if (b->request[i] == 0 || b->fate == NULL || b->fate[i] != SP_ROW_WRITTEN)
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
	args[0] = sp_array_datum(reqs, NULL, m, INT8OID);
	args[1] = sp_array_datum(statuses, NULL, m, TEXTOID);
	args[2] = sp_array_datum(errors, enulls, m, TEXTOID);
	args[3] = TimestampTzGetDatum(b->started);
	args[4] = TimestampTzGetDatum(b->finished);
	sql = psprintf("UPDATE %s.sentiment_processing_queue AS q "
				   "SET status = u.status, started_at = $4, completed_at = $5, error = u.error "
				   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) "
				   "AS u(id, status, error) WHERE q.request_id OPERATOR(pg_catalog.=) u.id",
				   quote_identifier(sp_registry_schema()));
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

/*
 * The checks of the two-phase queue calls, which name one source: it is
 * attached (and the extension is installed), and the caller may process it.
 */
static void
require_processable(const char *schema, Oid source)
{
	if (schema == NULL || !sp_is_attached(source))
		sp_error_not_attached(source);
	sp_check_may_process(source);
}

/*
 * sentiment_queue_take(source regclass, n integer, lease interval) RETURNS
 * bigint[]: the entry ids of up to n queued requests of an attached source,
 * highest priority first, with SKIP LOCKED, as a batch takes them; requests
 * another claim took are passed over until its lease ends.  Each request
 * taken is marked claimed_until now + lease; it stays queued until
 * sentiment_queue_finish ends it, and batches pass it over until then (or
 * until the lease ends).  The caller must be allowed to process the source
 * (UPDATE on it).
 */
Datum
sentiment_queue_take(PG_FUNCTION_ARGS)
{
	char	   *schema = sp_extension_schema();
	Oid			source;
	int32		n;
	Datum	   *ids;
	int64	   *req;
	int64	   *ent;
	int			got;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext old;
	ArrayType  *result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, n and lease must not be null"),
				 errhint("Pass an attached table, the number of requests wanted and the claim's lease.")));
	source = PG_GETARG_OID(0);
	n = PG_GETARG_INT32(1);
	if (n < 1 || n > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be between 1 and 10000"),
				 errhint("Take at most 10000 requests per call.")));
	require_processable(schema, source);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the queue is the extension's own table; nothing else is read */
	got = sp_queue_take(sp_queue_take_plan(schema, true), source, n, PG_GETARG_DATUM(2), &req, &ent);
	/* the array outlives SPI: build it in the caller's context */
	old = MemoryContextSwitchTo(caller);
	ids = palloc(sizeof(Datum) * (got + 1));
	for (int i = 0; i < got; i++)
		ids[i] = Int64GetDatum(ent[i]);
	result = construct_array(ids, got, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	MemoryContextSwitchTo(old);
	SPI_finish();
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * sentiment_queue_finish(source regclass, ids bigint[], claimed_at
 * timestamptz[], failed boolean, error text) RETURNS bigint: end the queued
 * requests of rows a two-phase claimant completed or failed.  A request is
 * ended only if it was made before the row was claimed (claimed_at[i], the
 * row's processing_started_at): a request made later asks for another
 * analysis and stays queued.  Returns the requests ended.  The caller must
 * be allowed to process the source.
 */
Datum
sentiment_queue_finish(PG_FUNCTION_ARGS)
{
	char	   *schema = sp_extension_schema();
	Oid			source;
	bool		failed;
	Oid			types[5] = {OIDOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, TEXTOID, TEXTOID};
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	SpOwnerSwitch sw;
	int			ret;
	int64		done;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, ids, claimed_at and failed must not be null"),
				 errhint("Pass the rows completed or failed and when each was claimed.")));
	source = PG_GETARG_OID(0);
	failed = PG_GETARG_BOOL(3);
	require_processable(schema, source);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = ObjectIdGetDatum(source);
	args[1] = PG_GETARG_DATUM(1);
	args[2] = PG_GETARG_DATUM(2);
	args[3] = CStringGetTextDatum(failed ? "failed" : "completed");
	args[4] = PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4);
	nulls[4] = PG_ARGISNULL(4) ? 'n' : ' ';
	sp_as_extension_owner(&sw);
	ret = SPI_execute_with_args(psprintf("UPDATE %s.sentiment_processing_queue AS q "
										 "SET status = $4, started_at = u.at, "
										 "completed_at = pg_catalog.clock_timestamp(), error = $5 "
										 "FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(id, at) "
										 "WHERE q.status OPERATOR(pg_catalog.=) 'queued' "
										 "AND q.source_table OPERATOR(pg_catalog.=) $1::pg_catalog.regclass "
										 "AND q.entry_id OPERATOR(pg_catalog.=) u.id "
										 "AND q.requested_at OPERATOR(pg_catalog.<=) u.at",
										 quote_identifier(schema)),
								5, types, args, nulls, false, 0);
	sp_restore_user(&sw);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not update the processing queue: %s", SPI_result_code_string(ret));
	done = (int64) SPI_processed;
	SPI_finish();
	PG_RETURN_INT64(done);
}
