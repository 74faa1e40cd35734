/*
 * batch.c - processing batches: every attached source, in fair shares, each
 * in one transaction with its claim, analysis and writes (batch.h).
 *
 * A source is processed as its owner (identity.c), after a check that the
 * caller may have it processed.  With several sources, each gets a fair
 * share of the batch, starting from a different source every time, so a
 * flood into one table or a table locked by its owner holds up no other;
 * and each runs in a subtransaction, so a broken source (a renamed text
 * column, a revoked privilege, any error its owner's triggers raise, a run
 * past sentiment_proc.source_timeout) is skipped with a warning, not fatal
 * to the rest.
 *
 * Nothing is committed here: a crash or cancel rolls the whole batch back
 * and its rows are simply pending again.
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/timestamp.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "tcop/utility.h"

#include "batch.h"

PG_FUNCTION_INFO_V1(sentiment_process_batch);

/*
 * A shard's claimed rows are analysed with the model its own copy of the
 * trigger names now (sp_citus_shard_model), which may be newer than the one
 * read before the claim.
 */
static const SpSource *
shard_model(const SpSource *src, SpSource *copy)
{
	char	   *name = sp_citus_shard_model(src->relid);

	if (name == NULL || (src->model_name != NULL && strcmp(name, src->model_name) == 0))
		return src;
	*copy = *src;
	copy->model_name = name;
	copy->model = sp_model_by_name(name);
	return copy;
}

/* Claim, analyse and record one batch of one source; returns rows done. */
static int64
process_source(const SpSource *src, int limit)
{
	SpBatch		b = {0};
	SpSource	shard_src;
	int64		written;
	int64		ncompleted;
	int64		nfailed;

	b.src = src;
	b.plans = sp_source_plans(src);
	if (b.plans == NULL)
	{
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("an attached table or one of its side tables no longer exists, skipped"),
				 errdetail("The attached table has OID %u.", src->relid),
				 errhint("Remove it from processing with SELECT sentiment_detach(%u);", src->relid)));
		return 0;
	}
	b.started = GetCurrentTimestamp();
	b.status_completed = CStringGetTextDatum("completed");
	b.status_failed = CStringGetTextDatum("failed");
	sp_stats_batch_begin(src->logical, limit);	/* stats.c: progress, timing */

	if (sp_batch_claim(&b, limit) == 0)
	{
		sp_stats_batch_claimed(0);
		b.finished = GetCurrentTimestamp();
		sp_queue_finish(&b);	/* requests whose rows are gone */
		return 0;
	}
	sp_stats_batch_claimed(b.n);
	if (src->shardid != 0)
		b.src = shard_model(src, &shard_src);
	sp_batch_analyse(&b);
	sp_stats_batch_analysed();
	written = sp_batch_record(&b, &ncompleted, &nfailed);
	sp_queue_finish(&b);
	sp_stats_batch_end(ncompleted, nfailed);
	return written;
}


/*
 * A background worker commits after each source.  On a Citus node a batch
 * on a shard is then a transaction of its own, so a worker never holds one
 * shard's locks while it waits for another's.  (Citus runs DDL on the
 * shards of a node in parallel connections; a worker holding several shards
 * could close a distributed deadlock with them, which Citus breaks by
 * cancelling the DDL.)  And a source that ends the worker (its owner's
 * trigger ignoring the source timeout's cancel) takes no other source's
 * work with it.  The caller's one active snapshot is replaced by a new one.
 */
static void
commit_after_shard(void)
{
	while (ActiveSnapshotSet())
		PopActiveSnapshot();
	SPI_commit();
	PushActiveSnapshot(GetTransactionSnapshot());
}

/*
 * The source an all-sources batch starts with; rotates (see
 * sp_process_batch).  A new worker starts at random: a worker that a source
 * ended (its cancel ignored past the source timeout) does not start with
 * that same source every time.
 */
static uint32 next_first_source = 0;
static bool rotation_started = false;

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
	SpSource	src = *st->src;

	/* a model named by the table's owner (Citus), checked as that source's */
	if (src.model_name != NULL)
		src.model = sp_model_by_name(src.model_name);
	sp_as_table_owner(src.relid, &sw);
	sp_check_source_tables(src.relid, src.topics, src.embeddings);
	/* a shard moved or split away since the batch looked is not ours now */
	if (src.shardid == 0 || sp_citus_hold_shard(src.shardid))
		st->done = process_source(&src, st->limit);
	sp_restore_user(&sw);
}

/*
 * A worker polls every few hundred milliseconds: a broken source would be
 * reported at every poll.  It reports a source's error once, then again
 * when the error changes or SKIP_REPORT_AGAIN_MS later, with the number of
 * skips in between; a source that works again is forgotten.  (Per process:
 * each worker reports once.  SQL callers see every skip.)
 */
#define SKIP_REPORTS 32
#define SKIP_REPORT_AGAIN_MS (5 * 60 * 1000)

typedef struct SkipReport
{
	Oid			relid;			/* InvalidOid: free */
	char		message[128];	/* the error reported last */
	TimestampTz reported_at;
	int64		unreported;		/* skips since then */
} SkipReport;

static SkipReport skip_reports[SKIP_REPORTS];

/* Whether to report this skip now; *unreported: skips since the last report. */
static bool
skip_report_due(Oid relid, const char *message, int64 *unreported)
{
	TimestampTz now = GetCurrentTimestamp();
	SkipReport *r = NULL;

	*unreported = 0;
	if (!sp_am_worker)
		return true;
	for (int i = 0; i < SKIP_REPORTS && r == NULL; i++)
		if (skip_reports[i].relid == relid)
			r = &skip_reports[i];
	if (r != NULL && strncmp(r->message, message, sizeof(r->message) - 1) == 0 &&
		!TimestampDifferenceExceeds(r->reported_at, now, SKIP_REPORT_AGAIN_MS))
	{
		r->unreported++;
		return false;
	}
	if (r == NULL)
	{
		/* a free entry, else the oldest report */
		r = &skip_reports[0];
		for (int i = 0; i < SKIP_REPORTS && r->relid != InvalidOid; i++)
			if (skip_reports[i].relid == InvalidOid || skip_reports[i].reported_at < r->reported_at)
				r = &skip_reports[i];
		r->unreported = 0;
	}
	*unreported = r->unreported;
	r->relid = relid;
	strlcpy(r->message, message, sizeof(r->message));
	r->reported_at = now;
	r->unreported = 0;
	return true;
}

/* A source processed without error: its next failure is reported at once. */
static void
skip_report_forget(Oid relid)
{
	for (int i = 0; i < SKIP_REPORTS; i++)
		if (skip_reports[i].relid == relid)
			skip_reports[i].relid = InvalidOid;
}

/*
 * Process one source of an all-sources batch in a subtransaction, so that a
 * broken source (its text column renamed, a privilege revoked, whatever its
 * owner's triggers raise, or a run past the source timeout) is skipped with
 * a warning instead of stalling every other attached table.
 */
static int64
process_source_isolated(const SpSource *src, int limit, char *skipped)
{
	SourceStep	st = {src, limit, 0};
	ErrorData  *edata = sp_in_source_subtransaction(source_step, &st);
	char	   *name;
	int64		unreported;

	if (edata == NULL)
	{
		skip_report_forget(src->logical);
		return st.done;
	}

	name = get_rel_name(src->logical);
	if (skipped)
		snprintf(skipped, SP_SKIPPED_ERROR_LEN,
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
	else if (skip_report_due(src->logical, edata->message ? edata->message : "", &unreported))
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("sentiment_proc skipped table \"%s\": %s",
						name ? name : "?", edata->message ? edata->message : "unknown error"),
				 unreported > 0
				 ? errdetail("The other attached tables were processed. Skipped %lld more times since the last report, which this worker repeats every %d minutes while the error stays the same.",
							 (long long) unreported, SKIP_REPORT_AGAIN_MS / 60000)
				 : errdetail("The other attached tables were processed."),
				 errhint("Repair the table, or attach it again with the right column names, or detach it.")));
	FreeErrorData(edata);
	return 0;
}

/*
 * The statement a Citus worker node runs for its share of a batch of the
 * coordinator (sp_citus_process_on_workers): sentiment_process_batch there,
 * for the same source (*arg; InvalidOid: all).
 */
static char *
node_batch_command(int share, void *arg)
{
	Oid			source = *(Oid *) arg;
	const char *schema = sp_registry_schema();

	if (schema == NULL)
		return NULL;
	if (OidIsValid(source))
		return psprintf("SELECT %s.sentiment_process_batch(%d, %s::pg_catalog.regclass)",
						quote_identifier(schema), share,
						quote_literal_cstr(sp_qualified_name(source)));
	return psprintf("SELECT %s.sentiment_process_batch(%d)", quote_identifier(schema), share);
}

/* Name a source the caller may not process in the list of those skipped. */
static void
note_denied(StringInfo denied, int *ndenied, const SpSource *src)
{
	(*ndenied)++;
	if (denied->len > 0)
		appendStringInfoString(denied, ", ");
	/* named as regclass names it, as the SQL functions do */
	appendStringInfoString(denied, DatumGetCString(DirectFunctionCall1(regclassout,
																	   ObjectIdGetDatum(src->logical))));
}

/*
 * Every source the caller may process, in fair shares: each gets up to
 * batch_size / nsources rows, starting from a different source each batch;
 * what is left goes to the sources that filled their share.  A flood of
 * rows into one table, or a table its owner keeps locked, cannot hold up
 * the others.  Sources the caller may not process are named in denied.
 * Returns the rows done.
 */
static int64
process_fair_shares(const SpSource *sources, int nsources, int batch_size, bool per_shard,
					char *skipped, StringInfo denied, int *ndenied)
{
	/*
	 * (A worker on a Citus node takes shard after shard, each with what
	 * is left of the batch, in a transaction of its own: one table's
	 * shards need no fair shares among themselves, and a batch split
	 * into many small transactions would cost more than it gives.  The
	 * rotation keeps it fair across batches.)
	 */
	int			share = per_shard ? batch_size : Max(1, batch_size / nsources);
	int			first;
	bool	   *full = palloc0(sizeof(bool) * nsources);
	int64		done = 0;

	if (!rotation_started)
	{
		next_first_source = sp_am_worker ? pg_prng_uint32(&pg_global_prng_state) : 0;
		rotation_started = true;
	}
	first = (int) (next_first_source++ % (uint32) nsources);

	for (int k = 0; k < nsources && done < batch_size; k++)
	{
		int			i = (first + k) % nsources;
		int64		got;

		if (!sp_may_process(sources[i].logical))
		{
			note_denied(denied, ndenied, &sources[i]);
			continue;
		}
		got = process_source_isolated(&sources[i], (int) Min(share, batch_size - done), skipped);
		full[i] = (got >= share);
		done += got;
		if (sp_am_worker)
			commit_after_shard();
	}
	for (int k = 0; k < nsources && done < batch_size; k++)
	{
		int			i = (first + k) % nsources;

		if (!full[i])
			continue;
		done += process_source_isolated(&sources[i], batch_size - (int) done, skipped);
		if (sp_am_worker)
			commit_after_shard();
	}
	return done;
}

/*
 * Process up to batch_size rows of one source (InvalidOid: of every source
 * the caller may process, in fair shares) in the caller's transaction.  A
 * source skipped as broken or locked is named in skipped (when not NULL;
 * empty: none).  Returns the rows completed or failed.
 */
int64
sp_process_batch(Oid source, int batch_size, char *skipped)
{
	SpSource   *sources;
	int			nsources;
	int64		done = 0;

	bool		per_shard = false;
	StringInfoData denied;
	int			ndenied = 0;

	initStringInfo(&denied);
	Assert(batch_size > 0 && batch_size <= SP_MAX_BATCH_SIZE);

	/*
	 * A read-only transaction is the caller's, not a source's failure: say so
	 * before any source (whose own errors, 25006 included, are its own).
	 */
	PreventCommandIfReadOnly("sentiment_process_batch()");
	sp_refuse_in_source("sentiment_process_batch()");

	/* (a worker may commit in between: see commit_after_shard) */
	if (SPI_connect_ext(sp_am_worker ? SPI_OPT_NONATOMIC : 0) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	sources = sp_server_sources(sp_load_sources(source, &nsources), &nsources, source);
	for (int i = 0; i < nsources && sp_am_worker; i++)
		per_shard |= (sources[i].shardid != 0);
	/* (a distributed table may have no shard on this node) */
	if (OidIsValid(source) && nsources == 0 &&
		!(sp_citus_distributed(source) && sp_is_attached(source)))
		sp_error_not_attached(source);

	if (OidIsValid(source))
		sp_check_may_process(source);

	if (skipped)
		skipped[0] = '\0';
	/*
	 * A worker isolates even a single source: whatever the table's owner
	 * made its batch raise or wait for is that table's failure, and the
	 * worker carries on.
	 */
	if (nsources == 1 && !(sp_am_worker && !OidIsValid(source)))
	{
		/* one source only: its errors are the caller's to see */
		SourceStep	st = {&sources[0], batch_size, 0};

		if (sp_may_process(sources[0].logical))
			source_step(&st);
		else
			note_denied(&denied, &ndenied, &sources[0]);
		done = st.done;
	}
	else if (nsources >= 1)
		done = process_fair_shares(sources, nsources, batch_size, per_shard, skipped, &denied, &ndenied);

	/*
	 * The coordinator of a Citus cluster: the worker nodes process the
	 * shards they hold, each in a transaction of its own there (the
	 * coordinator's background workers leave them to the nodes' own).
	 */
	if (done < batch_size && !sp_am_worker && sp_citus_present() && sp_citus_is_coordinator() &&
		sp_citus_any_distributed(source))
		done += sp_citus_process_on_workers(node_batch_command, &source, batch_size - (int) done);

	/* as the SQL functions do without a source (_sentiment_report_denied) */
	if (denied.len > 0)
		ereport(NOTICE,
				(errmsg("sentiment_process_batch skipped %d attached table(s) the current user may not update: %s",
						ndenied, denied.data),
				 errhint("Their owners, or roles granted UPDATE on them, can do it for them.")));
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

	PG_RETURN_INT32((int32) sp_process_batch(source, batch_size, NULL));
}
