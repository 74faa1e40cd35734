/*
 * worker.c - a background worker: batches in one database, until stopped.
 *
 * The launcher (launcher.c) starts N workers per database.  A worker loops
 * over sp_process_batch(): one transaction per table's share of a batch
 * (batch.c commits after each), so a crash or a stop rolls the share in
 * flight back and its rows are simply pending again.  It keeps going
 * without sleeping while batches come back full, and otherwise sleeps on
 * its latch until a commit wakes it (wakeup.c).  The idle poll interval is
 * only a fallback (rows whose retry time comes due, ...).  The first worker
 * of a database also does the upkeep: abandoned claims back to pending,
 * old queue requests pruned.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "worker.h"

#define SP_ERROR_BACKOFF_MAX_MS		60000
#define SP_STANDBY_POLL_MS			1000	/* how often a standby's worker looks for promotion */
#define SP_PREPARED_POLL_MS			2	/* how often an idle worker looks at watched prepared transactions */
#define SP_EMPTY_BATCH_SPACING_MS	100	/* one empty batch per this, after a burst */
#define SP_EMPTY_BATCH_BURST		3	/* empty batches a worker may run in a row */
#define SP_DRAIN_ROWS				1000	/* staged embeddings moved per transaction */
#define SP_DRAIN_WHILE_BUSY_MS		10000	/* a chunk at least this often while processing */

static const char *const sp_state_names[] = {
	"starting", "recovering claims", "waiting for extension",
	"standby", "processing", "idle", "error backoff", "exited"
};

/* The source the latest batch skipped as broken or locked (empty: none). */
static char skipped_source[SP_SKIPPED_ERROR_LEN];

/* this worker's slot's generation (sp_my_slot is the slot) */
static uint32 my_generation = 0;

PGDLLEXPORT void sp_worker_main(Datum main_arg);

PG_FUNCTION_INFO_V1(sentiment_worker_status);

/* For SQL functions that only make sense with the workers loaded. */
static void
sp_require_preload(void)
{
	if (sp_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("sentiment_proc background workers are not available"),
				 errdetail("The sentiment_proc library was not loaded through shared_preload_libraries."),
				 errhint("Add sentiment_proc to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* ------------------------------------------------------------------------
 * Worker
 * ------------------------------------------------------------------------
 */

/* Show this worker's state in sentiment_workers (only while the slot is still ours). */
static void
sp_set_state(SpWorkerState state)
{
	SpWorkerSlot *slot = &sp_shared->slots[sp_my_slot];

	SpinLockAcquire(&sp_shared->mutex);
	if (slot->generation == my_generation)
		slot->state = state;
	SpinLockRelease(&sp_shared->mutex);
}

static void
sp_worker_detach(int code, Datum arg)
{
	SpWorkerSlot *slot = &sp_shared->slots[sp_my_slot];

	SpinLockAcquire(&sp_shared->mutex);
	if (slot->generation == my_generation)
	{
		slot->pid = 0;
		slot->proc = NULL;
		slot->idle = false;
		slot->state = SPW_EXITED;
	}
	SpinLockRelease(&sp_shared->mutex);
}

typedef enum SpStepResult
{
	SP_STEP_NOT_READY,			/* no extension or a standby: wait */
	SP_STEP_DONE
} SpStepResult;

/*
 * One batch in its own transaction.  *nrows gets the rows finished.
 * Start-up recovery runs in the same way before the first batch.
 */
static SpStepResult
sp_worker_step(bool recover, int batch_size, int64 *nrows)
{
	SpStepResult result = SP_STEP_DONE;

	*nrows = 0;

	if (RecoveryInProgress())
	{
		sp_set_state(SPW_IN_RECOVERY);
		pgstat_report_activity(STATE_IDLE, "sentiment_proc: idle, server is in recovery");
		return SP_STEP_NOT_READY;
	}

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	/* nonatomic: a batch on a Citus node commits after each shard (batch.c) */
	SPI_connect_ext(SPI_OPT_NONATOMIC);
	PushActiveSnapshot(GetTransactionSnapshot());

	if (!sp_extension_ready())
	{
		sp_set_state(SPW_NO_EXTENSION);
		pgstat_report_activity(STATE_IDLE, "sentiment_proc: waiting for CREATE EXTENSION sentiment_proc");
		result = SP_STEP_NOT_READY;
	}
	else if (recover)
	{
		int64		n;

		sp_set_state(SPW_RECOVERING);
		pgstat_report_activity(STATE_RUNNING, "sentiment_proc: returning abandoned claims to pending");
		n = sp_reap_claims(InvalidOid, false);
		/* and finished processing queue requests past their retention */
		(void) sp_prune_queue();
		if (n > 0)
			ereport(LOG,
					(errmsg("sentiment_proc worker returned %lld abandoned claims to pending",
							(long long) n)));
		SpinLockAcquire(&sp_shared->mutex);
		sp_shared->slots[sp_my_slot].recovered += n;
		SpinLockRelease(&sp_shared->mutex);
	}
	else
	{
		char		activity[80];

		sp_set_state(SPW_PROCESSING);
		snprintf(activity, sizeof(activity),
				 "sentiment_proc: processing a batch of up to %d rows", batch_size);
		pgstat_report_activity(STATE_RUNNING, activity);
		*nrows = sp_process_batch(InvalidOid, batch_size, skipped_source);
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return result;
}

/*
 * Take over our slot: exit at once when the launcher has since reassigned
 * it (a late start).  Returns the slot, with the database, role and index.
 */
static SpWorkerSlot *
worker_take_slot(Oid *dboid, Oid *roleoid, int *index)
{
	SpWorkerSlot *slot;

	if (sp_shared == NULL || sp_my_slot < 0 || sp_my_slot >= sp_shared->nslots)
		proc_exit(0);
	slot = &sp_shared->slots[sp_my_slot];

	SpinLockAcquire(&sp_shared->mutex);
	if (!slot->in_use || slot->generation != my_generation || slot->pid != 0)
	{
		SpinLockRelease(&sp_shared->mutex);
		proc_exit(0);
	}
	slot->pid = MyProcPid;
	slot->proc = MyProc;
	slot->state = SPW_STARTING;
	slot->started_at = GetCurrentTimestamp();
	*dboid = slot->dboid;
	*roleoid = slot->roleoid;
	*index = slot->index;
	SpinLockRelease(&sp_shared->mutex);
	on_shmem_exit(sp_worker_detach, (Datum) 0);
	return slot;
}

/*
 * After an error in a batch (which rolled it back): log it, show it in
 * sentiment_workers, and pause before trying again, longer each time in a
 * row (a persistent error would otherwise restart the worker forever).
 */
static void
worker_recover_from_error(SpWorkerSlot *slot, MemoryContext loop_ctx, int backoff_ms)
{
	ErrorData  *edata;

	error_context_stack = NULL;
	HOLD_INTERRUPTS();
	MemoryContextSwitchTo(loop_ctx);
	edata = CopyErrorData();
	EmitErrorReport();
	AbortCurrentTransaction();
	MemoryContextSwitchTo(TopMemoryContext);
	FlushErrorState();

	SpinLockAcquire(&sp_shared->mutex);
	if (slot->generation == my_generation)
	{
		strlcpy(slot->last_error, edata->message ? edata->message : "unknown error",
				SP_ERRMSG_LEN);
		slot->state = SPW_ERROR_BACKOFF;
	}
	SpinLockRelease(&sp_shared->mutex);
	MemoryContextReset(loop_ctx);
	RESUME_INTERRUPTS();

	pgstat_report_activity(STATE_IDLE, "sentiment_proc: error in last batch, retrying later");
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 backoff_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/*
 * A batch went through: count it if it finished rows (a poll that found
 * nothing is not a batch, as in sentiment_stats) and show the source it
 * skipped, if any.
 */
static void
worker_count_batch(SpWorkerSlot *slot, int64 n)
{
	TimestampTz now = n > 0 ? GetCurrentTimestamp() : 0;

	SpinLockAcquire(&sp_shared->mutex);
	if (n > 0)
	{
		slot->batches++;
		slot->rows += n;
		slot->last_batch_at = now;
	}
	/* a source skipped as broken stays visible until it recovers */
	strlcpy(slot->last_error, skipped_source, SP_ERRMSG_LEN);
	SpinLockRelease(&sp_shared->mutex);
}

/*
 * Sleep until a wake-up, a reload, an interrupt or timeout ms.  The latch is
 * also set for things that are not wake-ups (PostgreSQL's own signals, such
 * as a cache invalidation catch-up after DDL elsewhere): those go back to
 * sleep, or an idle worker would run a batch that nobody asked for.  A
 * wake-up clears slot->idle (sp_wake_database) or sets slot->work.
 */
static void
worker_sleep(SpWorkerSlot *slot, long timeout)
{
	TimestampTz start = GetCurrentTimestamp();
	long		left = timeout;

	for (;;)
	{
		int			rc;
		bool		woken;

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (rc & WL_TIMEOUT)
			return;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
			return;
		SpinLockAcquire(&sp_shared->mutex);
		woken = slot->work || !slot->idle;
		SpinLockRelease(&sp_shared->mutex);
		if (woken)
			return;
		left = timeout - TimestampDifferenceMilliseconds(start, GetCurrentTimestamp());
		if (left <= 0)
			return;
	}
}

/*
 * Nothing more to do for now: go idle (unless a commit flagged new rows
 * meanwhile) and sleep until woken, the poll interval, or for the first
 * worker the upkeep interval; a standby looks every second, as nothing
 * signals a promotion.
 */
static void
worker_idle(SpWorkerSlot *slot, int index, SpStepResult res, bool in_recovery)
{
	long		timeout;
	bool		watching = false;

	SpinLockAcquire(&sp_shared->mutex);
	if (slot->work)
	{
		SpinLockRelease(&sp_shared->mutex);
		return;
	}
	slot->idle = true;
	if (res == SP_STEP_DONE)
		slot->state = SPW_IDLE;
	SpinLockRelease(&sp_shared->mutex);

	if (res == SP_STEP_DONE)
		pgstat_report_activity(STATE_IDLE, "sentiment_proc: idle, waiting for new rows");
	pgstat_report_stat(true);

	timeout = in_recovery ? Min(sp_worker_poll_interval, SP_STANDBY_POLL_MS) :
		index == 0 ? Min(sp_worker_poll_interval, sp_upkeep_interval_ms) :
		sp_worker_poll_interval;
	/* rows of a prepared transaction that has just committed: go now */
	if (!in_recovery && sp_prepared_over(slot->dboid, &watching))
	{
		SpinLockAcquire(&sp_shared->mutex);
		slot->idle = false;
		SpinLockRelease(&sp_shared->mutex);
		return;
	}
	if (watching)
		timeout = Min(timeout, SP_PREPARED_POLL_MS);
	worker_sleep(slot, timeout);
}

/*
 * Empty batches are paced: a worker may run SP_EMPTY_BATCH_BURST of them
 * in a row, then one per SP_EMPTY_BATCH_SPACING_MS.  Wake-ups that find
 * nothing (anyone may call sentiment_wake_workers(), in a loop if they
 * like) then cost at most ten empty batches a second per worker; no
 * wake-up is lost, it is only served up to that much later.  The burst is
 * for the empty batches that workers cause each other: a commit flags
 * every worker, and one finds the rows taken by another.  (Pacing every
 * empty batch delayed 1% of rows inserted at 100 a second by 100 ms.)
 * The wait comes before the worker goes idle, so that a commit meanwhile
 * wakes another worker, one free to start at once.
 */
static void
worker_pace_empty_batch(void)
{
	static double budget = SP_EMPTY_BATCH_BURST;
	static TimestampTz budget_at = 0;
	TimestampTz now = GetCurrentTimestamp();
	long		wait_ms;

	if (budget_at != 0)
		budget = Min(SP_EMPTY_BATCH_BURST,
					 budget + (double) (now - budget_at) / (SP_EMPTY_BATCH_SPACING_MS * 1000.0));
	budget_at = now;
	budget -= 1.0;
	if (budget >= 0.0)
		return;
	wait_ms = (long) (-budget * SP_EMPTY_BATCH_SPACING_MS) + 1;
	while (!TimestampDifferenceExceeds(now, GetCurrentTimestamp(), (int) wait_ms))
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Connect to the worker's database as its role, with a pinned search_path. */
static void
worker_connect(Oid dboid, Oid roleoid, int index)
{
	BackgroundWorkerInitializeConnectionByOid(dboid, roleoid, 0);
	pgstat_report_appname(SP_WORKER_TYPE);
	sp_am_worker = true;

	/*
	 * Nothing the workers run resolves an unqualified name, and code a table
	 * owner wrote runs under its own pinned path (identity.c); pin ours too
	 * so that no schema's objects can be picked up by accident.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	ereport(DEBUG1,
			(errmsg("sentiment_proc worker %d started in database %u", index, dboid)));
}

/* When the worker last drained staged embeddings (worker_drain). */
static TimestampTz last_drain = 0;

/*
 * Staged embeddings into their HNSW indexes (embedding_lane.c): when no
 * rows wait (!more), and every few seconds while rows keep coming, so that
 * results never wait for the index and the index still keeps up.  A full
 * chunk: more are likely; share them with a peer.  Returns more, or true
 * after a full chunk.
 */
static bool
worker_drain(bool more)
{
	if (!more || TimestampDifferenceExceeds(last_drain, GetCurrentTimestamp(), SP_DRAIN_WHILE_BUSY_MS))
	{
		bool		full_chunk = sp_worker_drain(SP_DRAIN_ROWS) >= SP_DRAIN_ROWS;

		last_drain = GetCurrentTimestamp();
		if (full_chunk && !more)
			sp_wake_database(MyDatabaseId, sp_my_slot, false);
		more |= full_chunk;
	}
	return more;
}

void
sp_worker_main(Datum main_arg)
{
	SpWorkerSlot *slot;
	Oid			dboid;
	Oid			roleoid;
	int			index;
	volatile bool recovered = false;
	volatile TimestampTz last_upkeep = 0;
	volatile int error_backoff_ms = 0;
	MemoryContext loop_ctx;
	sigjmp_buf	local_sigjmp_buf;

	sp_my_slot = DatumGetInt32(main_arg);
	memcpy(&my_generation, MyBgworkerEntry->bgw_extra, sizeof(my_generation));

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	slot = worker_take_slot(&dboid, &roleoid, &index);

	/*
	 * Start-up recovery scans each source for 'processing' rows; one worker
	 * per database is enough, the first.
	 */
	recovered = (index != 0);

	worker_connect(dboid, roleoid, index);

	loop_ctx = AllocSetContextCreate(TopMemoryContext,
									 "sentiment_proc worker loop",
									 ALLOCSET_DEFAULT_SIZES);

	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
	{
		error_backoff_ms = error_backoff_ms == 0 ? 1000 :
			Min(error_backoff_ms * 2, SP_ERROR_BACKOFF_MAX_MS);
		worker_recover_from_error(slot, loop_ctx, error_backoff_ms);
	}
	PG_exception_stack = &local_sigjmp_buf;
	/* (the first busy-time drain comes after a while, not with the first batch) */
	if (last_drain == 0)
		last_drain = GetCurrentTimestamp();

	for (;;)
	{
		int			batch_size;
		int64		n = 0;
		SpStepResult res;
		bool		more = false;
		bool		empty = false;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextSwitchTo(loop_ctx);
		batch_size = sp_worker_batch_size;

		/* consume the wake-up flag before looking, so no commit is missed */
		SpinLockAcquire(&sp_shared->mutex);
		slot->work = false;
		slot->idle = false;
		slot->batch_size = batch_size;
		SpinLockRelease(&sp_shared->mutex);

		/*
		 * Upkeep, by the first worker: abandoned two-phase claims back to
		 * pending, old queue requests pruned; at start-up and then every
		 * sentiment_proc.upkeep_interval.
		 */
		if (index == 0 && recovered &&
			TimestampDifferenceExceeds(last_upkeep, GetCurrentTimestamp(), sp_upkeep_interval_ms))
			recovered = false;
		res = sp_worker_step(!recovered, batch_size, &n);
		if (res == SP_STEP_DONE && !recovered)
		{
			recovered = true;
			last_upkeep = GetCurrentTimestamp();
			more = true;		/* now process */
		}
		else if (res == SP_STEP_DONE)
		{
			error_backoff_ms = 0;
			worker_count_batch(slot, n);
			more = (n >= batch_size);
			empty = (n == 0);
		}

		if (res == SP_STEP_DONE && recovered)
			more = worker_drain(more);
		MemoryContextReset(loop_ctx);

		if (more)
		{
			/* a full batch: more rows are likely; share them with a peer */
			if (n >= batch_size)
				sp_wake_database(MyDatabaseId, sp_my_slot, false);
			pgstat_report_stat(false);
			continue;
		}
		if (empty)
			worker_pace_empty_batch();
		worker_idle(slot, index, res, res == SP_STEP_NOT_READY && RecoveryInProgress());
	}
}

/* ------------------------------------------------------------------------
 * Monitoring: _sentiment_worker_status() behind the sentiment_workers view
 * ------------------------------------------------------------------------
 */
Datum
sentiment_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SpWorkerSlot *copy;
	pid_t		launcher_pid;
	int			nslots;
	int			i;

	/*
	 * An error text may come from any table's owner (a trigger's message) or
	 * name any table: shown, as pg_stat_activity shows other sessions'
	 * queries, only to pg_read_all_stats (pg_monitor has it).
	 */
	bool		may_read_errors = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	sp_require_preload();
	InitMaterializedSRF(fcinfo, 0);

	nslots = sp_shared->nslots;
	copy = palloc(sizeof(SpWorkerSlot) * nslots);
	SpinLockAcquire(&sp_shared->mutex);
	memcpy(copy, sp_shared->slots, sizeof(SpWorkerSlot) * nslots);
	launcher_pid = sp_shared->launcher_pid;
	SpinLockRelease(&sp_shared->mutex);

	if (launcher_pid != 0)
	{
		Datum		values[13];
		bool		nulls[13];

		memset(nulls, true, sizeof(nulls));
		values[0] = CStringGetTextDatum("launcher");
		nulls[0] = false;
		values[1] = Int32GetDatum(launcher_pid);
		nulls[1] = false;
		/* it runs while it has a pid; the other columns are the workers' */
		values[4] = CStringGetTextDatum("running");
		nulls[4] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	for (i = 0; i < nslots; i++)
	{
		SpWorkerSlot *s = &copy[i];
		Datum		values[13];
		bool		nulls[13];
		char	   *dbname;

		if (!s->in_use)
			continue;
		memset(nulls, false, sizeof(nulls));
		values[0] = CStringGetTextDatum("worker");
		values[1] = Int32GetDatum(s->pid);
		nulls[1] = (s->pid == 0);
		dbname = get_database_name(s->dboid);
		values[2] = dbname ? CStringGetTextDatum(dbname) : (Datum) 0;
		nulls[2] = (dbname == NULL);
		values[3] = Int32GetDatum(s->index);
		values[4] = CStringGetTextDatum(sp_state_names[s->state]);
		values[5] = Int32GetDatum(s->batch_size);
		nulls[5] = (s->batch_size == 0);
		values[6] = Int64GetDatum(s->batches);
		values[7] = Int64GetDatum(s->rows);
		values[8] = Int64GetDatum(s->wakeups);
		values[9] = Int64GetDatum(s->recovered);
		values[10] = TimestampTzGetDatum(s->started_at);
		nulls[10] = (s->started_at == 0);
		values[11] = TimestampTzGetDatum(s->last_batch_at);
		nulls[11] = (s->last_batch_at == 0);
		values[12] = CStringGetTextDatum(may_read_errors ? s->last_error : "<insufficient privilege>");
		nulls[12] = (s->last_error[0] == '\0');
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
