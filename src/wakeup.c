/*
 * wakeup.c - the workers' slots in shared memory, and the wake-ups through
 * them.
 *
 * New rows wake a worker at commit: the statement trigger
 * sentiment_wakeup_trigger() arms a transaction callback that, once the
 * transaction has committed, flags the workers of that database in shared
 * memory and sets the latch of one idle worker.  Rows of a prepared
 * transaction become visible at COMMIT PREPARED, which runs no callback of
 * ours: an idle worker watches those (sp_prepared_over).  The queue and the
 * reaper wake the workers the same way (sp_wakeup_at_commit,
 * sp_wake_all_at_commit).  A leaf: it calls nothing else of the glue, so
 * any unit may ask for a wake-up.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "worker.h"

SpWorkerShared *sp_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this backend's worker slot (workers only) */
int			sp_my_slot = -1;

/* trigger side: a wake-up is due when this transaction commits */
static bool wakeup_at_commit = false;
static bool wakeup_all_at_commit = false;	/* every idle worker, not one */
static TransactionId prepared_xid = InvalidTransactionId;	/* being prepared */
static bool xact_callback_registered = false;

static void sp_watch_prepared(Oid dboid, TransactionId xid);

PG_FUNCTION_INFO_V1(sentiment_wakeup_trigger);
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

/* From sp_worker_init while preloading: the shared memory hooks. */
void
sp_wakeup_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = sp_worker_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = sp_worker_shmem_startup;
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
int
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
bool
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
	if (sp_my_slot >= 0 || sp_shared == NULL)
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
