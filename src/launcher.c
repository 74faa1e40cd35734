/*
 * launcher.c - the workers' settings, and the launcher that starts them.
 *
 * The launcher is a static background worker registered while the library is
 * preloaded.  It connects to no database (shared catalogs only), turns
 * sentiment_proc.databases, sentiment_proc.workers_per_database and
 * sentiment_proc.worker_role into a desired set of workers, and starts, stops
 * and restarts dynamic workers (worker.c) to match it.  Because the launcher
 * owns the workers' lifecycle, every worker setting can change at reload.
 * It calls no processing: a worker is started by the name of its entry
 * point.
 */
#include "postgres.h"

#include <signal.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/heapam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "worker.h"

/* how long the launcher waits before starting a worker again */
#define SP_LAUNCHER_RESTART_SECS	5	/* the launcher itself (bgw_restart_time) */
#define SP_RESPAWN_DELAY_MS			1000	/* a worker that ran a while */
#define SP_RESPAWN_SHORT_LIFE_MS	10000	/* a worker that died young: don't spin */
#define SP_LAUNCHER_RECHECK_MS		10000	/* look again for databases / roles */

/* settings */
static char *sp_databases = NULL;
static int	sp_workers_per_database = 1;
int			sp_worker_batch_size = 500;
int			sp_worker_poll_interval = 1000;
int			sp_upkeep_interval_ms = 10000;
static char *sp_worker_role = NULL;

static bool sp_preloaded = false;

PGDLLEXPORT void sp_launcher_main(Datum main_arg);

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

/* The workers' integer settings (the lists of databases and the role aside). */
static const SpIntSetting worker_settings[] = {
	{"sentiment_proc.workers_per_database",
		"Number of background workers per database.", NULL,
		&sp_workers_per_database, 1, 0, 64, PGC_SIGHUP, 0},
	{"sentiment_proc.worker_batch_size",
		"Rows a background worker claims per batch.", NULL,
		&sp_worker_batch_size, 500, 1, SP_MAX_BATCH_SIZE, PGC_SIGHUP, 0},
	{"sentiment_proc.worker_poll_interval",
		"How long an idle worker sleeps before looking for rows without being woken.",
		"New rows wake a worker at commit; this is only a fallback.",
		&sp_worker_poll_interval, 1000, 10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS},
	{"sentiment_proc.upkeep_interval",
		"How often a worker returns abandoned claims and prunes the queue.", NULL,
		&sp_upkeep_interval_ms, 10000, 100, 24 * 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS},
};

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
	DefineCustomStringVariable("sentiment_proc.worker_role",
							   "Role the background workers run as.",
							   "Empty means the bootstrap superuser.",
							   &sp_worker_role, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	sp_define_int_settings(worker_settings, lengthof(worker_settings));

	if (!process_shared_preload_libraries_in_progress)
		return;
	sp_preloaded = true;

	sp_wakeup_shmem_init();

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
