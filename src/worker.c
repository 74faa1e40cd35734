/*
 * worker.c - background workers: a launcher and N workers per database.
 *
 * The launcher is a static background worker registered while the library is
 * preloaded.  It connects to no database (shared catalogs only), turns
 * sentiment_proc.databases, sentiment_proc.workers_per_database and
 * sentiment_proc.worker_role into a desired set of workers, and starts, stops
 * and restarts dynamic workers to match it.  Because the launcher owns the
 * workers' lifecycle, every worker setting can change at reload.
 *
 * A worker loops over sp_process_batch(): one transaction per table's share
 * of a batch (batch.c commits after each), so a crash or a stop rolls the
 * share in flight back and its rows are simply pending again.
 * It keeps going without sleeping while batches come back full, and otherwise
 * sleeps on its latch.  New rows wake it at commit: the statement trigger
 * sentiment_wakeup_trigger() arms a transaction callback that, once the
 * transaction has committed, flags the workers of that database in shared
 * memory and sets the latch of one idle worker.  The idle poll interval is
 * only a fallback (rows whose retry time comes due, COMMIT PREPARED, ...).
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/heapam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "sentiment_proc.h"

#define SP_LAUNCHER_TYPE	"sentiment_proc launcher"
#define SP_WORKER_TYPE		"sentiment_proc worker"

/* how long the launcher waits before starting a worker again */
#define SP_LAUNCHER_RESTART_SECS	5	/* the launcher itself (bgw_restart_time) */
#define SP_RESPAWN_DELAY_MS			1000	/* a worker that ran a while */
#define SP_RESPAWN_SHORT_LIFE_MS	10000	/* a worker that died young: don't spin */
#define SP_LAUNCHER_RECHECK_MS		10000	/* look again for databases / roles */
#define SP_ERROR_BACKOFF_MAX_MS		60000
#define SP_STANDBY_POLL_MS			1000	/* how often a standby's worker looks for promotion */
#define SP_PREPARED_POLL_MS			2	/* how often an idle worker looks at watched prepared transactions */
#define SP_EMPTY_BATCH_SPACING_MS	100	/* least time from an empty batch to the next batch */
#define SP_DRAIN_ROWS				1000	/* staged embeddings moved per transaction */
#define SP_DRAIN_WHILE_BUSY_MS		10000	/* a chunk at least this often while processing */

#define SP_ERRMSG_LEN	200

typedef enum SpWorkerState
{
	SPW_STARTING = 0,
	SPW_RECOVERING,				/* returning abandoned claims at start-up */
	SPW_NO_EXTENSION,			/* waiting for CREATE EXTENSION */
	SPW_IN_RECOVERY,			/* the server is a standby */
	SPW_PROCESSING,
	SPW_IDLE,
	SPW_ERROR_BACKOFF,
	SPW_EXITED					/* gone; the launcher frees the slot */
} SpWorkerState;

static const char *const sp_state_names[] = {
	"starting", "recovering claims", "waiting for extension",
	"standby", "processing", "idle", "error backoff", "exited"
};

/* One worker's slot; the launcher assigns it, the worker fills it in. */
typedef struct SpWorkerSlot
{
	bool		in_use;			/* assigned by the launcher */
	uint32		generation;		/* bumped at every assignment */
	Oid			dboid;
	Oid			roleoid;		/* InvalidOid: bootstrap superuser */
	int			index;			/* 0 .. workers_per_database - 1 */
	pid_t		pid;			/* 0 until the worker has attached */
	PGPROC	   *proc;			/* for its latch */
	bool		idle;			/* sleeping on its latch */
	bool		work;			/* new rows committed since it last looked */
	SpWorkerState state;
	int			batch_size;		/* setting in effect in this worker */
	int64		batches;
	int64		rows;
	int64		wakeups;		/* times a commit set its latch */
	int64		recovered;		/* abandoned claims returned at start-up */
	TimestampTz started_at;
	TimestampTz last_batch_at;
	char		last_error[SP_ERRMSG_LEN];
} SpWorkerSlot;

/*
 * Prepared transactions (two-phase commit: how Citus commits a statement
 * that wrote on several nodes) that inserted rows: their rows become
 * visible at COMMIT PREPARED, which runs no callback of ours, so an idle
 * worker watches them and starts a batch as soon as one is over.
 */
#define SP_PREPARED_WATCH	64

typedef struct SpPreparedWakeup
{
	Oid			dboid;
	TransactionId xid;
} SpPreparedWakeup;

typedef struct SpWorkerShared
{
	slock_t		mutex;
	pid_t		launcher_pid;
	int			nprepared;
	SpPreparedWakeup prepared[SP_PREPARED_WATCH];
	int			nslots;
	SpWorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
} SpWorkerShared;

/* settings */
static char *sp_databases = NULL;
static int	sp_workers_per_database = 1;
static int	sp_worker_batch_size = 500;
static int	sp_worker_poll_interval = 1000;
static int	sp_upkeep_interval_ms = 10000;
static char *sp_worker_role = NULL;

/* The source the latest batch skipped as broken or locked (empty: none). */
static char skipped_source[SP_SKIPPED_ERROR_LEN];

/* Set in our own background workers: they may process every attached table. */
bool		sp_am_worker = false;

static SpWorkerShared *sp_shared = NULL;
static bool sp_preloaded = false;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this backend's worker slot (workers only) */
static int	my_slot = -1;
static uint32 my_generation = 0;

/* trigger side: a wake-up is due when this transaction commits */
static bool wakeup_at_commit = false;
static bool wakeup_all_at_commit = false;	/* every idle worker, not one */
static TransactionId prepared_xid = InvalidTransactionId;	/* being prepared */
static bool xact_callback_registered = false;

static void sp_watch_prepared(Oid dboid, TransactionId xid);

PGDLLEXPORT void sp_launcher_main(Datum main_arg);
PGDLLEXPORT void sp_worker_main(Datum main_arg);

PG_FUNCTION_INFO_V1(sentiment_wakeup_trigger);
PG_FUNCTION_INFO_V1(sentiment_worker_status);
PG_FUNCTION_INFO_V1(sentiment_wake_workers);

/* ------------------------------------------------------------------------
 * Shared memory
 * ------------------------------------------------------------------------
 */

/* Enough slots for every background worker the server may run. */
static int
sp_worker_nslots(void)
{
	return Max(max_worker_processes, 1);
}

static Size
sp_worker_shmem_size(void)
{
	return add_size(offsetof(SpWorkerShared, slots),
					mul_size(sizeof(SpWorkerSlot), sp_worker_nslots()));
}

static void
sp_worker_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sp_worker_shmem_size());
}

static void
sp_worker_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	sp_shared = ShmemInitStruct("sentiment_proc workers",
								sp_worker_shmem_size(), &found);
	if (!found)
	{
		memset(sp_shared, 0, sp_worker_shmem_size());
		SpinLockInit(&sp_shared->mutex);
		sp_shared->nslots = sp_worker_nslots();
	}
	LWLockRelease(AddinShmemInitLock);
}

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
 * Settings
 * ------------------------------------------------------------------------
 */

/* GUC check hook of sentiment_proc.databases: a list of names. */
static bool
sp_check_databases(char **newval, void **extra, GucSource source)
{
	char	   *raw = pstrdup(*newval);
	List	   *names;
	bool		ok = SplitGUCList(raw, ',', &names);

	if (!ok)
		GUC_check_errdetail("List syntax is invalid.");
	list_free(names);
	pfree(raw);
	return ok;
}

/*
 * Settings, shared memory and the launcher.  Called from _PG_init; the
 * launcher is registered only while preloading, and never during a binary
 * upgrade (pg_upgrade must not have workers writing into the new cluster).
 */
void
sp_worker_init(void)
{
	DefineCustomStringVariable("sentiment_proc.databases",
							   "Databases in which background workers process attached sources.",
							   "Comma-separated database names; empty runs no workers.",
							   &sp_databases, "",
							   PGC_SIGHUP, GUC_LIST_INPUT,
							   sp_check_databases, NULL, NULL);
	DefineCustomIntVariable("sentiment_proc.workers_per_database",
							"Number of background workers per database.",
							NULL,
							&sp_workers_per_database, 1, 0, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("sentiment_proc.worker_batch_size",
							"Rows a background worker claims per batch.",
							NULL,
							&sp_worker_batch_size, 500, 1, SP_MAX_BATCH_SIZE,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("sentiment_proc.worker_poll_interval",
							"How long an idle worker sleeps before looking for rows without being woken.",
							"New rows wake a worker at commit; this is only a fallback.",
							&sp_worker_poll_interval, 1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomStringVariable("sentiment_proc.worker_role",
							   "Role the background workers run as.",
							   "Empty means the bootstrap superuser.",
							   &sp_worker_role, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("sentiment_proc.upkeep_interval",
							"How often a worker returns abandoned claims and prunes the queue.",
							NULL,
							&sp_upkeep_interval_ms, 10000, 100, 24 * 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;
	sp_preloaded = true;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = sp_worker_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = sp_worker_shmem_startup;

	if (!IsBinaryUpgrade)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_ConsistentState;
		worker.bgw_restart_time = SP_LAUNCHER_RESTART_SECS;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "sentiment_proc");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "sp_launcher_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, SP_LAUNCHER_TYPE);
		snprintf(worker.bgw_type, BGW_MAXLEN, SP_LAUNCHER_TYPE);
		RegisterBackgroundWorker(&worker);
	}
}

/* ------------------------------------------------------------------------
 * Wake-up at commit
 * ------------------------------------------------------------------------
 */

/*
 * Flag every worker of the database and set the latch of one idle worker
 * (all of them if asked).  Busy workers see the flag before they next go to
 * sleep, so a wake-up is never lost; marking the woken worker busy makes the
 * next commit pick another idle one.  Returns how many latches were set.
 */
static int
sp_wake_database(Oid dboid, int except_slot, bool all)
{
	PGPROC	   *targets[64];
	int			ntargets = 0;
	int			i;

	if (sp_shared == NULL)
		return 0;

	SpinLockAcquire(&sp_shared->mutex);
	for (i = 0; i < sp_shared->nslots; i++)
	{
		SpWorkerSlot *slot = &sp_shared->slots[i];

		if (!slot->in_use || slot->dboid != dboid || i == except_slot)
			continue;
		slot->work = true;
		if ((all || ntargets == 0) && ntargets < lengthof(targets) &&
			slot->idle && slot->proc != NULL)
		{
			slot->idle = false;
			slot->wakeups++;
			targets[ntargets++] = slot->proc;
		}
	}
	SpinLockRelease(&sp_shared->mutex);

	/* A stale PGPROC only costs its new owner a spurious wake-up. */
	for (i = 0; i < ntargets; i++)
		SetLatch(&targets[i]->procLatch);
	return ntargets;
}

/*
 * A transaction that inserted rows was prepared: list it for the idle
 * workers of its database to watch (sp_prepared_over), and wake one to
 * start watching.  A full list only leaves the rows to the poll interval.
 */
static void
sp_watch_prepared(Oid dboid, TransactionId xid)
{
	if (sp_shared == NULL)
		return;
	SpinLockAcquire(&sp_shared->mutex);
	if (sp_shared->nprepared < SP_PREPARED_WATCH)
	{
		sp_shared->prepared[sp_shared->nprepared].dboid = dboid;
		sp_shared->prepared[sp_shared->nprepared].xid = xid;
		sp_shared->nprepared++;
	}
	SpinLockRelease(&sp_shared->mutex);
	sp_wake_database(dboid, -1, false);
}

/*
 * Have the idle workers of this database start a batch once transaction
 * xid has ended (citus.c: a coordinator's transaction as seen on this
 * node, whose rows this node's workers cannot see before it commits).
 */
void
sp_wake_after_xid(TransactionId xid)
{
	sp_watch_prepared(MyDatabaseId, xid);
}

/*
 * Watched prepared transactions of a database: returns true when one has
 * ended since (committed or rolled back: either way, a batch finds out),
 * taking it off the list; *watching tells whether any is still prepared.
 */
static bool
sp_prepared_over(Oid dboid, bool *watching)
{
	TransactionId xids[SP_PREPARED_WATCH];
	int			n = 0;
	bool		over = false;

	*watching = false;
	SpinLockAcquire(&sp_shared->mutex);
	for (int i = 0; i < sp_shared->nprepared; i++)
		if (sp_shared->prepared[i].dboid == dboid)
			xids[n++] = sp_shared->prepared[i].xid;
	SpinLockRelease(&sp_shared->mutex);

	/* (the proc array is read outside the spinlock) */
	for (int k = 0; k < n; k++)
	{
		if (TransactionIdIsInProgress(xids[k]))
		{
			*watching = true;
			continue;
		}
		over = true;
		SpinLockAcquire(&sp_shared->mutex);
		for (int i = 0; i < sp_shared->nprepared; i++)
			if (sp_shared->prepared[i].dboid == dboid && sp_shared->prepared[i].xid == xids[k])
			{
				sp_shared->prepared[i] = sp_shared->prepared[--sp_shared->nprepared];
				break;
			}
		SpinLockRelease(&sp_shared->mutex);
	}
	return over;
}

/* At commit, wake the workers this transaction asked for (sp_wakeup_at_commit); nothing on abort. */
static void
sp_worker_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			/* the commit is visible to new snapshots by now */
			if (wakeup_at_commit)
			{
				sp_wake_database(MyDatabaseId, -1, wakeup_all_at_commit);
				wakeup_at_commit = wakeup_all_at_commit = false;
			}
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (wakeup_at_commit)
				prepared_xid = GetTopTransactionIdIfAny();
			break;
		case XACT_EVENT_PREPARE:
			/* its rows become visible at COMMIT PREPARED: have it watched */
			if (wakeup_at_commit && TransactionIdIsValid(prepared_xid))
				sp_watch_prepared(MyDatabaseId, prepared_xid);
			prepared_xid = InvalidTransactionId;
			wakeup_at_commit = wakeup_all_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
			prepared_xid = InvalidTransactionId;
			wakeup_at_commit = wakeup_all_at_commit = false;
			break;
		default:
			break;
	}
}

/* Ask for the workers of this database to be woken when we commit. */
void
sp_wakeup_at_commit(void)
{
	/* a worker needs no wake-up for its own writes; no workers, no wake-up */
	if (my_slot >= 0 || sp_shared == NULL)
		return;
	if (!xact_callback_registered)
	{
		RegisterXactCallback(sp_worker_xact_callback, NULL);
		xact_callback_registered = true;
	}
	wakeup_at_commit = true;
}

/*
 * sentiment_wakeup_trigger(): AFTER INSERT OR UPDATE OF text ... FOR EACH
 * STATEMENT on every attached source and each of its partitions.  It costs
 * one flag per statement; nothing per row, nothing when the workers are not
 * loaded.
 */
Datum
sentiment_wakeup_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sentiment_wakeup_trigger() was not called by the trigger manager")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sentiment_wakeup_trigger() must be fired AFTER ... FOR EACH STATEMENT")));

	sp_wakeup_at_commit();
	/* the result of an AFTER trigger is ignored, but must not be SQL NULL */
	return PointerGetDatum(NULL);
}

/*
 * sentiment_wake_workers(): the same, asked for explicitly (by attach), for
 * every idle worker: those still waiting for the extension learn it exists.
 */
Datum
sentiment_wake_workers(PG_FUNCTION_ARGS)
{
	sp_wake_all_at_commit();
	PG_RETURN_VOID();
}

/* Wake every idle worker of this database when the transaction commits. */
void
sp_wake_all_at_commit(void)
{
	sp_wakeup_at_commit();
	if (wakeup_at_commit)
		wakeup_all_at_commit = true;
}

/* ------------------------------------------------------------------------
 * Worker
 * ------------------------------------------------------------------------
 */

/* Show this worker's state in sentiment_workers (only while the slot is still ours). */
static void
sp_set_state(SpWorkerState state)
{
	SpWorkerSlot *slot = &sp_shared->slots[my_slot];

	SpinLockAcquire(&sp_shared->mutex);
	if (slot->generation == my_generation)
		slot->state = state;
	SpinLockRelease(&sp_shared->mutex);
}

static void
sp_worker_detach(int code, Datum arg)
{
	SpWorkerSlot *slot = &sp_shared->slots[my_slot];

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
		sp_shared->slots[my_slot].recovered += n;
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

	if (sp_shared == NULL || my_slot < 0 || my_slot >= sp_shared->nslots)
		proc_exit(0);
	slot = &sp_shared->slots[my_slot];

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

	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 timeout, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/*
 * An empty batch is followed by the next one no sooner than
 * SP_EMPTY_BATCH_SPACING_MS later.  Wake-ups that find nothing (anyone may
 * call sentiment_wake_workers(), in a loop if they like) then cost at most
 * ten empty batches a second per worker; no wake-up is lost, it is only
 * served up to that much later, and only right after an empty batch.
 */
static void
worker_space_empty_batches(TimestampTz last_empty)
{
	for (;;)
	{
		long		secs;
		int			usecs;
		long		left;

		TimestampDifference(last_empty, GetCurrentTimestamp(), &secs, &usecs);
		left = SP_EMPTY_BATCH_SPACING_MS - (secs * 1000 + usecs / 1000);
		if (left <= 0 || secs >= SP_EMPTY_BATCH_SPACING_MS / 1000 + 1)
			return;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
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
	volatile TimestampTz last_drain = 0;
	volatile int error_backoff_ms = 0;
	volatile TimestampTz last_empty = 0;
	MemoryContext loop_ctx;
	sigjmp_buf	local_sigjmp_buf;

	my_slot = DatumGetInt32(main_arg);
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
		if (last_empty != 0)
			worker_space_empty_batches(last_empty);

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
			last_empty = (n == 0) ? GetCurrentTimestamp() : 0;
		}

		/*
		 * Staged embeddings into their HNSW indexes (embedding_lane.c): when
		 * no rows wait, and every few seconds while rows keep coming, so
		 * that results never wait for the index and the index still keeps
		 * up.  A full chunk: more are likely; share them with a peer.
		 */
		if (res == SP_STEP_DONE && recovered &&
			(!more || TimestampDifferenceExceeds(last_drain, GetCurrentTimestamp(), SP_DRAIN_WHILE_BUSY_MS)))
		{
			bool		full_chunk = sp_worker_drain(SP_DRAIN_ROWS) >= SP_DRAIN_ROWS;

			last_drain = GetCurrentTimestamp();
			if (full_chunk && !more)
				sp_wake_database(MyDatabaseId, my_slot, false);
			more |= full_chunk;
		}
		MemoryContextReset(loop_ctx);

		if (more)
		{
			/* a full batch: more rows are likely; share them with a peer */
			if (n >= batch_size)
				sp_wake_database(MyDatabaseId, my_slot, false);
			pgstat_report_stat(false);
			continue;
		}
		worker_idle(slot, index, res, res == SP_STEP_NOT_READY && RecoveryInProgress());
	}
}

/* ------------------------------------------------------------------------
 * Launcher
 * ------------------------------------------------------------------------
 */

typedef struct SpDesired
{
	Oid			dboid;
	Oid			roleoid;
	int			nworkers;
	NameData	dbname;
} SpDesired;

/* launcher-local bookkeeping, parallel to the shared slots */
typedef struct SpLauncherSlot
{
	BackgroundWorkerHandle *handle;
	bool		stopping;		/* we asked it to stop */
	bool		orphan;			/* from a previous launcher: no handle */
	TimestampTz started;
} SpLauncherSlot;

/* when (dboid, index) may be started again after an unexpected exit */
typedef struct SpRespawn
{
	Oid			dboid;
	int			index;
	TimestampTz not_before;
} SpRespawn;

static SpLauncherSlot *lslots;
static List *respawns = NIL;
static char *last_warning = NULL;

/* Log a configuration problem once, not at every recheck. */
static void
sp_launcher_warn(const char *msg, const char *hint)
{
	if (last_warning != NULL && strcmp(last_warning, msg) == 0)
		return;
	ereport(WARNING,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 hint ? errhint("%s", hint) : 0));
	if (last_warning)
		pfree(last_warning);
	last_warning = MemoryContextStrdup(TopMemoryContext, msg);
}

/*
 * Resolve the settings against the catalogs: which databases get how many
 * workers as which role.  Databases that do not exist or do not accept
 * connections are skipped with a warning; they are looked up again at the
 * next recheck, so creating one later needs no reload.
 */
typedef struct SpCatalogDb
{
	Oid			oid;
	bool		allowconn;
	NameData	name;
} SpCatalogDb;

/*
 * The launcher is connected to no database, so it reads the shared catalogs
 * with plain heap scans (as the autovacuum launcher does): their indexes'
 * relcache entries would need pg_class.
 */
static List *
sp_scan_databases(void)
{
	List	   *result = NIL;
	Relation	rel = table_open(DatabaseRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, NULL);
	HeapTuple	tup;

	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		SpCatalogDb *d = palloc(sizeof(SpCatalogDb));

		d->oid = db->oid;
		d->allowconn = db->datallowconn;
		d->name = db->datname;
		result = lappend(result, d);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* Returns false when the role does not exist; *canlogin tells the rest. */
static bool
sp_scan_role(const char *rolename, Oid *roleoid, bool *canlogin)
{
	Relation	rel = table_open(AuthIdRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, NULL);
	HeapTuple	tup;
	bool		found = false;

	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_authid role = (Form_pg_authid) GETSTRUCT(tup);

		if (strcmp(NameStr(role->rolname), rolename) == 0)
		{
			*roleoid = role->oid;
			*canlogin = role->rolcanlogin;
			found = true;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Resolve the settings against the catalogs: which databases get how many
 * workers as which role.  Databases that do not exist or do not accept
 * connections are skipped with a warning; they are looked up again at the
 * next recheck, so creating one later needs no reload.
 */
static List *
sp_launcher_desired(void)
{
	List	   *result = NIL;
	List	   *names;
	List	   *dbs;
	ListCell   *lc;
	char	   *raw;
	Oid			roleoid = InvalidOid;
	bool		problem = false;

	if (sp_workers_per_database <= 0)
		return NIL;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	raw = pstrdup(sp_databases ? sp_databases : "");
	if (!SplitGUCList(raw, ',', &names))
		names = NIL;			/* the check hook rejects this already */

	if (sp_worker_role != NULL && sp_worker_role[0] != '\0')
	{
		bool		canlogin = false;

		if (!sp_scan_role(sp_worker_role, &roleoid, &canlogin))
		{
			sp_launcher_warn(psprintf("role \"%s\" named in sentiment_proc.worker_role does not exist",
									  sp_worker_role),
							 "Create the role or change sentiment_proc.worker_role, then reload.");
			names = NIL;
			problem = true;
		}
		else if (!canlogin)
		{
			sp_launcher_warn(psprintf("role \"%s\" named in sentiment_proc.worker_role cannot log in",
									  sp_worker_role),
							 "Grant it LOGIN (ALTER ROLE ... LOGIN), then reload.");
			names = NIL;
			problem = true;
		}
	}

	dbs = names != NIL ? sp_scan_databases() : NIL;
	foreach(lc, names)
	{
		char	   *name = (char *) lfirst(lc);
		SpCatalogDb *db = NULL;
		ListCell   *lc2;
		bool		dup = false;

		foreach(lc2, dbs)
		{
			SpCatalogDb *d = lfirst(lc2);

			if (strcmp(NameStr(d->name), name) == 0)
				db = d;
		}
		if (db == NULL)
		{
			sp_launcher_warn(psprintf("database \"%s\" named in sentiment_proc.databases does not exist", name),
							 "Create the database or remove it from sentiment_proc.databases.");
			problem = true;
			continue;
		}
		if (!db->allowconn)
		{
			sp_launcher_warn(psprintf("database \"%s\" named in sentiment_proc.databases does not allow connections", name),
							 "Remove it from sentiment_proc.databases or allow connections.");
			problem = true;
			continue;
		}
		foreach(lc2, result)
		{
			if (((SpDesired *) lfirst(lc2))->dboid == db->oid)
				dup = true;
		}
		if (!dup)
		{
			/* the result outlives the transaction */
			MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);
			SpDesired  *d = palloc(sizeof(SpDesired));

			d->dboid = db->oid;
			d->roleoid = roleoid;
			d->nworkers = sp_workers_per_database;
			d->dbname = db->name;
			result = lappend(result, d);
			MemoryContextSwitchTo(oldcxt);
		}
	}
	CommitTransactionCommand();

	if (!problem && last_warning)
	{
		pfree(last_warning);
		last_warning = NULL;
	}
	return result;
}

static TimestampTz
sp_respawn_time(Oid dboid, int index)
{
	ListCell   *lc;

	foreach(lc, respawns)
	{
		SpRespawn  *r = lfirst(lc);

		if (r->dboid == dboid && r->index == index)
			return r->not_before;
	}
	return 0;
}

static void
sp_set_respawn_time(Oid dboid, int index, TimestampTz t)
{
	ListCell   *lc;
	SpRespawn  *r;

	foreach(lc, respawns)
	{
		r = lfirst(lc);
		if (r->dboid == dboid && r->index == index)
		{
			r->not_before = t;
			return;
		}
	}
	r = MemoryContextAlloc(TopMemoryContext, sizeof(SpRespawn));
	r->dboid = dboid;
	r->index = index;
	r->not_before = t;
	respawns = lappend(respawns, r);
}

static void
sp_free_slot(int i)
{
	SpWorkerSlot *slot = &sp_shared->slots[i];

	SpinLockAcquire(&sp_shared->mutex);
	slot->in_use = false;
	slot->pid = 0;
	slot->proc = NULL;
	slot->idle = false;
	slot->work = false;
	SpinLockRelease(&sp_shared->mutex);
	if (lslots[i].handle)
		pfree(lslots[i].handle);
	memset(&lslots[i], 0, sizeof(SpLauncherSlot));
}

static bool
sp_start_worker(SpDesired *d, int index)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	SpWorkerSlot *slot = NULL;
	uint32		generation = 0;
	int			i;

	SpinLockAcquire(&sp_shared->mutex);
	for (i = 0; i < sp_shared->nslots; i++)
	{
		if (!sp_shared->slots[i].in_use)
		{
			slot = &sp_shared->slots[i];
			generation = slot->generation + 1;
			memset(slot, 0, sizeof(SpWorkerSlot));
			slot->in_use = true;
			slot->generation = generation;
			slot->dboid = d->dboid;
			slot->roleoid = d->roleoid;
			slot->index = index;
			slot->state = SPW_STARTING;
			break;
		}
	}
	SpinLockRelease(&sp_shared->mutex);
	if (slot == NULL)
		return false;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "sentiment_proc");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "sp_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "sentiment_proc worker %d for database %s",
			 index, NameStr(d->dbname));
	snprintf(worker.bgw_type, BGW_MAXLEN, SP_WORKER_TYPE);
	worker.bgw_main_arg = Int32GetDatum(i);
	memcpy(worker.bgw_extra, &generation, sizeof(generation));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		SpinLockAcquire(&sp_shared->mutex);
		slot->in_use = false;
		SpinLockRelease(&sp_shared->mutex);
		return false;
	}
	/* palloc'd in CurrentMemoryContext, which is TopMemoryContext here */
	lslots[i].handle = handle;
	lslots[i].stopping = false;
	lslots[i].orphan = false;
	lslots[i].started = GetCurrentTimestamp();
	return true;
}

/*
 * Free the slots of workers that have exited; an unexpected exit gets a
 * respawn time (later for one that died young, so a crash loop is slow).
 * Returns how soon to look again.
 */
static long
launcher_reap(TimestampTz now, long sleep_ms)
{
	for (int i = 0; i < sp_shared->nslots; i++)
	{
		SpWorkerSlot *slot = &sp_shared->slots[i];
		pid_t		pid;

		if (!slot->in_use)
			continue;
		if (lslots[i].orphan)
		{
			if (slot->pid == 0)
				sp_free_slot(i);
			else
				sleep_ms = Min(sleep_ms, 100);
			continue;
		}
		if (lslots[i].handle == NULL)
			continue;
		if (GetBackgroundWorkerPid(lslots[i].handle, &pid) == BGWH_STOPPED)
		{
			if (!lslots[i].stopping)
			{
				long		lived = TimestampDifferenceMilliseconds(lslots[i].started, now);
				int			delay = lived < SP_RESPAWN_SHORT_LIFE_MS ?
					SP_RESPAWN_SHORT_LIFE_MS : SP_RESPAWN_DELAY_MS;

				sp_set_respawn_time(slot->dboid, slot->index,
									TimestampTzPlusMilliseconds(now, delay));
			}
			sp_free_slot(i);
		}
	}
	return sleep_ms;
}

/* Ask the workers no longer wanted (database, index or role changed) to stop. */
static void
launcher_stop_unwanted(List *desired)
{
	for (int i = 0; i < sp_shared->nslots; i++)
	{
		SpWorkerSlot *slot = &sp_shared->slots[i];
		bool		wanted = false;
		ListCell   *lc;

		if (!slot->in_use || lslots[i].orphan || lslots[i].stopping)
			continue;
		foreach(lc, desired)
		{
			SpDesired  *d = lfirst(lc);

			if (d->dboid == slot->dboid && slot->index < d->nworkers &&
				d->roleoid == slot->roleoid)
				wanted = true;
		}
		if (!wanted && lslots[i].handle)
		{
			TerminateBackgroundWorker(lslots[i].handle);
			lslots[i].stopping = true;
		}
	}
}

/*
 * Start the wanted workers that are missing (not before their respawn
 * time).  *running gets the workers there now; *sleep_ms is lowered to the
 * next respawn time.  Returns false when a start failed.
 */
static bool
launcher_start_missing(List *desired, TimestampTz now, int *running, long *sleep_ms)
{
	ListCell   *lc;
	bool		ok = true;

	foreach(lc, desired)
	{
		SpDesired  *d = lfirst(lc);

		for (int k = 0; k < d->nworkers; k++)
		{
			bool		present = false;
			TimestampTz nb;

			for (int i = 0; i < sp_shared->nslots; i++)
			{
				SpWorkerSlot *slot = &sp_shared->slots[i];

				/* a stopping one still counts until it is gone */
				if (slot->in_use && slot->dboid == d->dboid && slot->index == k)
					present = true;
			}
			if (present)
			{
				(*running)++;
				continue;
			}
			nb = sp_respawn_time(d->dboid, k);
			if (nb > now)
			{
				*sleep_ms = Min(*sleep_ms, TimestampDifferenceMilliseconds(now, nb) + 1);
				continue;
			}
			if (sp_start_worker(d, k))
				(*running)++;
			else
				ok = false;
		}
	}
	return ok;
}

/*
 * Bring the running workers in line with the settings.  Returns how long the
 * launcher may sleep before it has to look again.
 */
static long
sp_launcher_reconcile(void)
{
	List	   *desired;
	TimestampTz now = GetCurrentTimestamp();
	long		sleep_ms;
	int			running = 0;
	char		activity[96];
	MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

	sleep_ms = launcher_reap(now, SP_LAUNCHER_RECHECK_MS);
	desired = sp_launcher_desired();
	MemoryContextSwitchTo(TopMemoryContext);
	launcher_stop_unwanted(desired);
	if (!launcher_start_missing(desired, now, &running, &sleep_ms))
		sp_launcher_warn("sentiment_proc could not start all configured background workers",
						 "Raise max_worker_processes (restart required) or lower sentiment_proc.workers_per_database.");

	snprintf(activity, sizeof(activity),
			 "sentiment_proc launcher: %d databases, %d workers",
			 list_length(desired), running);
	pgstat_report_activity(STATE_IDLE, activity);
	list_free_deep(desired);
	MemoryContextSwitchTo(oldcxt);
	return sleep_ms;
}

/* When the launcher goes, its workers go with it; a new launcher restarts them. */
static void
sp_launcher_exit(int code, Datum arg)
{
	int			i;

	for (i = 0; i < sp_shared->nslots; i++)
	{
		if (sp_shared->slots[i].in_use && lslots != NULL && lslots[i].handle)
			TerminateBackgroundWorker(lslots[i].handle);
	}
	SpinLockAcquire(&sp_shared->mutex);
	sp_shared->launcher_pid = 0;
	SpinLockRelease(&sp_shared->mutex);
}

void
sp_launcher_main(Datum main_arg)
{
	int			i;
	sigjmp_buf	local_sigjmp_buf;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* shared catalogs only: pg_database and pg_authid */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname(SP_LAUNCHER_TYPE);

	lslots = MemoryContextAllocZero(TopMemoryContext,
									sizeof(SpLauncherSlot) * sp_shared->nslots);

	/*
	 * Slots left by a previous launcher (it exited on an error; a crash
	 * would have reset shared memory): stop live workers, forget the rest.
	 * A worker whose start was still pending sees its generation reused and
	 * exits by itself.
	 */
	SpinLockAcquire(&sp_shared->mutex);
	sp_shared->launcher_pid = MyProcPid;
	for (i = 0; i < sp_shared->nslots; i++)
	{
		SpWorkerSlot *slot = &sp_shared->slots[i];

		if (!slot->in_use)
			continue;
		if (slot->pid != 0)
		{
			kill(slot->pid, SIGTERM);
			lslots[i].orphan = true;
		}
		else
			slot->in_use = false;
	}
	SpinLockRelease(&sp_shared->mutex);
	before_shmem_exit(sp_launcher_exit, (Datum) 0);

	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
	{
		error_context_stack = NULL;
		HOLD_INTERRUPTS();
		EmitErrorReport();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(TopMemoryContext);
		FlushErrorState();
		RESUME_INTERRUPTS();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	PG_exception_stack = &local_sigjmp_buf;

	for (;;)
	{
		long		sleep_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* a new configuration deserves its warnings again */
			if (last_warning)
			{
				pfree(last_warning);
				last_warning = NULL;
			}
		}
		sleep_ms = sp_launcher_reconcile();
		pgstat_report_stat(true);

		/* our workers' starts and exits set the latch (bgw_notify_pid) */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ------------------------------------------------------------------------
 * Monitoring: sentiment_worker_status() behind the sentiment_workers view
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
		values[12] = CStringGetTextDatum(s->last_error);
		nulls[12] = (s->last_error[0] == '\0');
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
