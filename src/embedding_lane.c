/*
 * embedding_lane.c - the embedding lane: embeddings reach an HNSW-indexed
 * side table apart from the batch that computed them.
 *
 * Inserting into an HNSW graph costs a search of the graph per row, far
 * more than analysing the row.  A source whose embeddings table holds
 * pgvector's vector or halfvec therefore has a lane: a plain table beside
 * it, <embeddings table>_lane (entry_id PRIMARY KEY, embedding real[],
 * staged_at), which the batch writes instead, in its own transaction and at
 * the real[] cost (batch_plans.c).  Results and status commit at once; the
 * workers drain the lanes into the indexed tables when they have no rows to
 * process (and every so often while they do), in large chunks: one
 * statement that DELETEs a chunk from the lane with RETURNING and INSERTs it
 * into the indexed table ON CONFLICT DO UPDATE, in one transaction.  A drain
 * killed half-way rolls back with its rows still in the lane: each embedding
 * reaches the indexed table exactly once.  The lane holds one row per entry
 * (its key): a row analysed again before its drain replaces its staged
 * embedding.
 *
 * The lane is found by name beside the embeddings table and must be a table
 * of the same owner with a real[] embedding column (anything else is no
 * lane, and embeddings are written straight into the indexed table as
 * before; lane_lookup.c).  Drains run as the tables' owner in a
 * security-restricted operation, like batches (identity.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "batch.h"

PG_FUNCTION_INFO_V1(sentiment_embedding_lane);
PG_FUNCTION_INFO_V1(sentiment_drain_embeddings);

/* _sentiment_embedding_lane(regclass): the lane of an embeddings table, or NULL. */
Datum
sentiment_embedding_lane(PG_FUNCTION_ARGS)
{
	Oid			lane = sp_embedding_lane(PG_GETARG_OID(0));

	if (!OidIsValid(lane))
		PG_RETURN_NULL();
	PG_RETURN_OID(lane);
}

/* A kept drain statement of one lane, rebuilt when a name changed. */
typedef struct LanePlan
{
	Oid			lane;
	char	   *key;
	SPIPlanPtr	drain;
	struct LanePlan *next;
} LanePlan;

static LanePlan *lane_plans = NULL;

/*
 * The drain of one lane: up to $1 staged rows, moved in one statement.
 * The rows are picked with SKIP LOCKED, so two workers drain different
 * rows, and a row a batch is replacing right now waits for the next drain;
 * in key order, through the primary key, which passes over the rows earlier
 * drains deleted (not vacuumed yet) faster than a scan of the table would.
 */
static SPIPlanPtr
drain_plan(Oid lane, Oid embeddings)
{
	AttrNumber	att = get_attnum(embeddings, "embedding");
	Oid			type = att == InvalidAttrNumber ? InvalidOid : get_atttype(embeddings, att);
	char	   *cast = (type == FLOAT4ARRAYOID || !OidIsValid(type)) ? "" :
		psprintf("::%s", format_type_extended(type, -1, FORMAT_TYPE_FORCE_QUALIFY));
	char	   *l = sp_qualified_name(lane);
	char	   *e = sp_qualified_name(embeddings);
	char	   *key = psprintf("%s|%s|%s", l, e, cast);
	LanePlan   *p;
	Oid			types[1] = {INT4OID};

	for (p = lane_plans; p != NULL; p = p->next)
		if (p->lane == lane)
			break;
	if (p != NULL && strcmp(p->key, key) == 0)
		return p->drain;
	if (p == NULL)
	{
		p = MemoryContextAllocZero(TopMemoryContext, sizeof(LanePlan));
		p->lane = lane;
		p->next = lane_plans;
		lane_plans = p;
	}
	else
	{
		SPI_freeplan(p->drain);
		pfree(p->key);
		p->drain = NULL;
		p->key = NULL;
	}
	p->drain = sp_prepare_kept(psprintf(
		"WITH moved AS (DELETE FROM %s AS l WHERE l.entry_id OPERATOR(pg_catalog.=) ANY (ARRAY("
		"SELECT k.entry_id FROM %s AS k ORDER BY k.entry_id LIMIT $1 FOR UPDATE OF k SKIP LOCKED)) "
		"RETURNING l.entry_id, l.embedding) "
		"INSERT INTO %s (entry_id, embedding) SELECT m.entry_id, m.embedding%s FROM moved AS m "
		"ON CONFLICT (entry_id) DO UPDATE SET embedding = excluded.embedding",
		l, l, e, cast), 1, types);
	p->key = MemoryContextStrdup(TopMemoryContext, key);
	return p->drain;
}

typedef struct DrainStep
{
	const SpSource *src;
	Oid			lane;
	int			limit;
	int64		moved;
} DrainStep;

/* Drain one lane as the owner of its source (identity.c). */
static void
drain_step(void *arg)
{
	DrainStep  *d = (DrainStep *) arg;
	SpOwnerSwitch sw;
	Datum		args[1] = {Int32GetDatum(d->limit)};

	sp_as_table_owner(d->src->relid, &sw);
	sp_check_source_tables(d->src->relid, d->src->topics, d->src->embeddings);
	if (SPI_execute_plan(drain_plan(d->lane, d->src->embeddings), args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not move embeddings into %s", get_rel_name(d->src->embeddings));
	d->moved = (int64) SPI_processed;
	sp_restore_user(&sw);
}

/* Errors of one lane (a constraint, a trigger, a lock): skip it, go on. */
static bool
lane_skippable(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_TRANSACTION_ROLLBACK:
		case ERRCODE_INVALID_TRANSACTION_STATE:
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
		case ERRCODE_OPERATOR_INTERVENTION:
		case ERRCODE_SYSTEM_ERROR:
		case ERRCODE_INTERNAL_ERROR:
			return false;
		default:
			return true;
	}
}

/*
 * Move up to max_rows staged embeddings of one source (InvalidOid: of
 * every source the caller may process) into their indexed tables, each
 * lane in a subtransaction of its own: a lane that fails (a trigger on the
 * embeddings table raises, a lock) is skipped with a warning and stays as
 * it was.  In the caller's transaction; returns the rows moved.
 */
int64
sp_drain_lanes(Oid source, int max_rows)
{
	SpSource   *sources;
	int			nsources;
	int64		moved = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sources = sp_load_sources(source, &nsources);
	for (int i = 0; i < nsources && moved < max_rows; i++)
	{
		DrainStep	d = {&sources[i], InvalidOid, (int) (max_rows - moved), 0};
		ErrorData  *edata;

		d.lane = sp_embedding_lane(sources[i].embeddings);
		if (!OidIsValid(d.lane) || !sp_may_process(sources[i].logical))
			continue;
		edata = sp_in_subtransaction(drain_step, &d, lane_skippable);
		if (edata != NULL)
		{
			ereport(WARNING,
					(errcode(edata->sqlerrcode),
					 errmsg("could not move the staged embeddings of \"%s\" into its index: %s",
							get_rel_name(sources[i].embeddings),
							edata->message ? edata->message : "unknown error"),
					 errdetail("They stay in \"%s\" and sentiment_similar does not see them yet.",
							   get_rel_name(d.lane)),
					 errhint("Fix the cause (a trigger or constraint on the embeddings table, a lock); "
							 "the workers try again.")));
			FreeErrorData(edata);
			continue;
		}
		moved += d.moved;
	}
	SPI_finish();
	return moved;
}

/*
 * sentiment_drain_embeddings(source regclass, max_rows integer): the
 * workers' drain on demand, in the caller's transaction.
 */
Datum
sentiment_drain_embeddings(PG_FUNCTION_ARGS)
{
	Oid			source = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	int32		max_rows;

	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows must be a positive number"),
				 errhint("Leave it out for 10000.")));
	max_rows = PG_GETARG_INT32(1);
	if (OidIsValid(source))
	{
		if (get_rel_name(source) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", source),
					 errhint("Pass an attached table, see the sentiment_sources table.")));
		sp_check_may_process(source);
	}
	PG_RETURN_INT64(sp_drain_lanes(source, max_rows));
}

/*
 * A worker's drain: one chunk in a transaction of its own.  Returns the
 * rows moved (a full chunk: there may be more).
 */
int64
sp_worker_drain(int max_rows)
{
	int64		moved = 0;

	if (RecoveryInProgress())
		return 0;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (sp_extension_ready())
	{
		pgstat_report_activity(STATE_RUNNING, "sentiment_proc: moving staged embeddings into their HNSW index");
		moved = sp_drain_lanes(InvalidOid, max_rows);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	return moved;
}
