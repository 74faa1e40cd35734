/*
 * batch_claim.c - the claim: which rows a batch, or a two-phase claimant,
 * takes, and in which order.
 *
 * One statement says it (sp_claim_sql), for both paths: the batch prepares
 * it (batch_plans.c) and sentiment_claim runs it as the table's owner
 * (statement claim of sentiment_source_sql, source_sql.c), so the two take
 * the same rows in the same order.  In claim order: the rows of the queued
 * requests taken (in the queue's order, priority first), then failed rows
 * whose retry time has come, then pending rows, each through its own
 * partial index, all locked with FOR NO KEY UPDATE SKIP LOCKED: concurrent
 * processors take disjoint rows and never wait for each other; inserts and
 * readers are not blocked.  Rows held by a two-phase claimant
 * ('processing') are never taken, and the queue requests a live claim took
 * are not taken either (sp_queue_take, queue.c).
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "batch.h"

/*
 * The claim statement: up to n rows (n, an SQL expression) of rel (quoted),
 * selecting cols of "s"; id is the quoted key column.  queued: an SQL
 * expression of the int8[] of entry ids the queue requests taken name, in
 * the order they were taken (NULL: no queue); retries false: pending rows
 * only (a table still of the 1.0 shape, without retry times).
 */
char *
sp_claim_sql(const char *cols, const char *rel, const char *id, const char *n,
			 const char *queued, bool retries)
{
	const char *lock = "FOR NO KEY UPDATE OF s SKIP LOCKED";
	const char *not_queued = queued == NULL ? ""
		: psprintf(" AND s.%s OPERATOR(pg_catalog.<>) ALL (%s)", id, queued);
	StringInfoData sql;

	initStringInfo(&sql);
	/* queued rows in the requests' order; rows a two-phase claimant holds wait for it */
	if (queued != NULL)
		appendStringInfo(&sql, "SELECT * FROM (SELECT %s FROM %s AS s WHERE s.%s OPERATOR(pg_catalog.=) ANY (%s) "
						 "AND s.processing_status OPERATOR(pg_catalog.<>) 'processing' "
						 "ORDER BY pg_catalog.array_position(%s, s.%s::pg_catalog.int8) %s) AS q UNION ALL ",
						 cols, rel, id, queued, queued, id, lock);
	/* due retries through the retry index, pending rows through the claim index */
	if (retries)
		appendStringInfo(&sql, "SELECT * FROM (SELECT %s FROM %s AS s "
						 "WHERE s.processing_status OPERATOR(pg_catalog.=) 'failed' "
						 "AND s.processing_retry_at OPERATOR(pg_catalog.<=) pg_catalog.now()%s "
						 "ORDER BY s.processing_retry_at LIMIT %s %s) AS r UNION ALL ",
						 cols, rel, not_queued, n, lock);
	appendStringInfo(&sql, "SELECT * FROM (SELECT %s FROM %s AS s "
					 "WHERE s.processing_status OPERATOR(pg_catalog.=) 'pending'%s "
					 "ORDER BY s.%s LIMIT %s %s) AS p LIMIT %s",
					 cols, rel, not_queued, id, n, lock, n);
	return sql.data;
}

/*
 * Does the queue have the claimed_until column (1.2)?  The library may be
 * newer than the extension's SQL until ALTER EXTENSION ... UPDATE.
 */
bool
sp_queue_has_claims(const char *schema)
{
	Oid			queue = get_relname_relid("sentiment_processing_queue", get_namespace_oid(schema, false));

	return OidIsValid(queue) && get_attnum(queue, "claimed_until") != InvalidAttrNumber;
}

/*
 * The one take of queued requests, for batches and claims alike: up to $2
 * requests of source $1, highest priority first, with SKIP LOCKED, passing
 * over those a live claim took (claimed_until ahead: its claimant has the
 * row).  With a lease ($3), what is taken is marked claimed until now +
 * $3 (sentiment_queue_take); a batch's take (lease false) is kept for the
 * backend, a claim's is prepared for the call.
 */
SPIPlanPtr
sp_queue_take_plan(const char *schema, bool lease)
{
	Oid			types[3] = {OIDOID, INT4OID, INTERVALOID};
	char	   *take = psprintf("SELECT q.request_id, q.entry_id, q.priority FROM %s.sentiment_processing_queue AS q "
								"WHERE q.status OPERATOR(pg_catalog.=) 'queued' "
								"AND q.source_table OPERATOR(pg_catalog.=) $1::pg_catalog.regclass%s "
								"ORDER BY q.priority DESC, q.request_id LIMIT $2 FOR UPDATE OF q SKIP LOCKED",
								quote_identifier(schema),
								sp_queue_has_claims(schema) ?
								" AND (q.claimed_until IS NULL "
								"OR q.claimed_until OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp())" : "");
	SPIPlanPtr	plan;

	if (lease)
		take = psprintf("WITH c AS (%s), t AS (UPDATE %s.sentiment_processing_queue AS q "
						"SET claimed_until = pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) $3 "
						"FROM c WHERE q.request_id OPERATOR(pg_catalog.=) c.request_id "
						"RETURNING q.request_id, q.entry_id, q.priority) "
						"SELECT t.request_id, t.entry_id FROM t ORDER BY t.priority DESC, t.request_id",
						take, quote_identifier(schema));
	if (!lease)
		return sp_prepare_kept(take, 3, types);
	plan = SPI_prepare(take, 3, types);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed (%s) for: %s", SPI_result_code_string(SPI_result), take);
	return plan;
}

/*
 * Take up to limit queued requests of the source with plan (above), as the
 * extension owner; lease: an interval Datum (a take without one ignores
 * it).  Returns how many; their request and entry ids go to *req and *ent,
 * in the order taken.
 */
int
sp_queue_take(SPIPlanPtr plan, Oid relid, int limit, Datum lease, int64 **req, int64 **ent)
{
	SpOwnerSwitch sw;
	Datum		args[3] = {ObjectIdGetDatum(relid), Int32GetDatum(limit), lease};
	char		nulls[3] = {' ', ' ', lease == (Datum) 0 ? 'n' : ' '};
	volatile int n = 0;

	sp_as_extension_owner(&sw);
	PG_TRY();
	{
		if (SPI_execute_plan(plan, args, nulls, false, 0) != SPI_OK_SELECT)
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

/*
 * The requests taken whose row no longer exists (they fail); those whose
 * row is locked or held by a claimant stay queued and wait their turn.
 */
static void
find_gone(SpBatch *b, Datum ids, int64 *q_req, int64 *q_ent, int nq)
{
	if (SPI_execute_plan(b->plans->exists, &ids, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look up queued rows of %s", get_rel_name(b->src->relid));
	b->gone = palloc(sizeof(int64) * nq);
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
			b->gone[b->ngone++] = q_req[i];
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Claim up to limit rows of b->src into b: ids, attempts, whether they had
 * results, and the queue requests they answer.  The claimed tuples stay in
 * b->claimed for the analysis.  Returns the number of rows.
 */
int
sp_batch_claim(SpBatch *b, int limit)
{
	int64	   *q_req = NULL;
	int64	   *q_ent = NULL;
	int			nq = 0;
	int			answered = 0;
	Datum	   *d;
	Datum		args[2];
	int			n;

	if (b->plans->queue_take)
		nq = sp_queue_take(b->plans->queue_take, b->src->relid, limit, (Datum) 0, &q_req, &q_ent);
	b->nrequests = nq;
	d = palloc(sizeof(Datum) * (nq + 1));
	for (int i = 0; i < nq; i++)
		d[i] = Int64GetDatum(q_ent[i]);
	args[0] = Int32GetDatum(limit);
	args[1] = sp_array_datum(d, NULL, nq, INT8OID);
	if (SPI_execute_plan(b->plans->claim, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not claim rows of %s", get_rel_name(b->src->relid));
	b->claimed = SPI_tuptable;
	n = b->n = (int) SPI_processed;

	b->ids = palloc(sizeof(Datum) * (n + 1));
	b->attempts = palloc(sizeof(int) * (n + 1));
	b->redo = palloc(sizeof(bool) * (n + 1));
	b->request = palloc0(sizeof(int64) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = b->claimed->vals[i];
		TupleDesc	desc = b->claimed->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, CLAIM_ID, &isnull));

		b->ids[i] = Int64GetDatum(id);
		b->redo[i] = DatumGetBool(SPI_getbinval(tup, desc, CLAIM_REDO, &isnull));
		b->attempts[i] = DatumGetInt32(SPI_getbinval(tup, desc, CLAIM_ATTEMPTS, &isnull));
		/* which request the row answers (the queue has one per row) */
		for (int k = 0; k < nq; k++)
			if (q_ent[k] == id)
			{
				b->request[i] = q_req[k];
				answered++;
			}
	}
	if (answered < nq)
		find_gone(b, args[1], q_req, q_ent, nq);
	return n;
}

/*
 * The sources the in-server processors (the workers, sentiment_process_batch)
 * claim from: a table whose processor is 'external' (sentiment_set_processor)
 * is left to sentiment_claim, and asked for by name (only) it is an error.
 */
SpSource *
sp_server_sources(SpSource *sources, int *count, Oid only)
{
	int			n = 0;

	for (int i = 0; i < *count; i++)
	{
		if (sources[i].external && OidIsValid(only))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table %s is analysed by external analysers only", get_rel_name(sources[i].logical)),
					 errdetail("Its processor is 'external': the background workers and sentiment_process_batch "
							   "leave it to sentiment_claim."),
					 errhint("To analyse it in the server: SELECT sentiment_set_processor('%s', 'server');",
							 DatumGetCString(DirectFunctionCall1(regclassout,
																 ObjectIdGetDatum(sources[i].logical))))));
		if (!sources[i].external)
			sources[n++] = sources[i];
	}
	*count = n;
	return sources;
}
