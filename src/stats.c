/*
 * stats.c - processing statistics and batches in flight, in shared memory.
 *
 * Counters per (database, source) and per database (source InvalidOid, the
 * "total" row) live in a shared hash table, in the manner of
 * pg_stat_statements: rows completed and failed, batches, time spent
 * claiming, analysing and writing, the last batch, and a ring of 60
 * one-minute buckets for throughput over the last hour.
 *
 * batch.c reports the phases of each batch of each source (begin, claimed,
 * analysed, end).  Nothing is counted on the hot path but a few clock
 * readings: a finished batch is kept in backend-local memory and added to
 * shared memory when its transaction commits, under one short exclusive
 * lock.  A batch whose transaction (or subtransaction) rolls back counts
 * only as rolled back: its rows were not completed, they are pending again.
 *
 * Batches in flight are published in a slot per backend (pid, source, batch
 * size, phase and when it began) for the sentiment_batch_progress view.
 *
 * Who sees what: the figures of a source only whoever may SELECT from it
 * (a pg_monitor dashboard sees the tables it may read, and each database's
 * total); batches in flight in other databases, whose tables cannot be
 * checked from here, only members of pg_read_all_data (and superusers).
 *
 * A source whose registration goes (detach, DROP TABLE) has its counters
 * removed when that transaction commits (sp_stats_forget_at_commit, from a
 * trigger on the registry); its batches stay counted in the total.
 *
 * Across restarts: the postmaster writes the counters to
 * pg_stat/sentiment_proc.stat when it exits normally (smart, fast or
 * immediate shutdown) and reads them back, removing the file, at start-up.
 * A crash-restart (a backend dying, shared memory reinitialised) starts them
 * from zero, as does a killed postmaster.  This is pg_stat_statements'
 * behaviour.  All of this exists only when the library is preloaded
 * (shared_preload_libraries); the SQL functions raise an error with a hint
 * otherwise.
 */
#include "postgres.h"

#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "sentiment_proc.h"

#define SP_STATS_FILE		PGSTAT_STAT_PERMANENT_DIRECTORY "/sentiment_proc.stat"
#define SP_STATS_MAGIC		0x53505332	/* "SPS2": bump when SpStatsEntry changes */
#define SP_MINUTES			60

/* Key: a source of a database; relid InvalidOid is the database's total. */
typedef struct SpStatsKey
{
	Oid			dboid;
	Oid			relid;
} SpStatsKey;

typedef struct SpMinute
{
	int64		minute;			/* minutes since the PostgreSQL epoch */
	int64		rows_completed;
	int64		rows_failed;
	int64		batches;
	int64		external_completed;	/* of the rows, those finished by the two-phase API */
	int64		external_failed;
} SpMinute;

/* What one batch, or several of one source, adds to the counters. */
typedef struct SpCounters
{
	int64		batches;
	int64		rows_completed;
	int64		rows_failed;
	int64		batches_rolled_back;
	int64		rows_rolled_back;
	int64		claim_us;
	int64		analyse_us;
	int64		write_us;
	TimestampTz last_batch_at;	/* when the last batch ended */
	int64		last_batch_rows;
	int64		last_batch_us;
	int64		external_completed;	/* of rows_completed, finished through sentiment_complete */
	int64		external_failed;	/* of rows_failed, through sentiment_fail */
} SpCounters;

typedef struct SpStatsEntry
{
	SpStatsKey	key;			/* hash key, first */
	SpCounters	c;
	TimestampTz stats_since;
	SpMinute	minutes[SP_MINUTES];	/* indexed by minute % SP_MINUTES */
} SpStatsEntry;

typedef enum SpPhase
{
	SP_PHASE_NONE = 0,
	SP_PHASE_CLAIM,
	SP_PHASE_ANALYSE,
	SP_PHASE_WRITE
} SpPhase;

static const char *const sp_phase_names[] = {"", "claim", "analyse", "write"};

/* A backend's batch in flight; only its owner writes it. */
typedef struct SpProgressSlot
{
	slock_t		mutex;
	pid_t		pid;			/* 0: no batch in flight */
	Oid			dboid;
	Oid			relid;
	int32		batch_size;
	int32		rows_claimed;
	SpPhase		phase;
	TimestampTz batch_started;
	TimestampTz phase_started;
} SpProgressSlot;

typedef struct SpStatsShared
{
	LWLock	   *lock;			/* the hash table and the per-database resets */
	int			nslots;
	SpProgressSlot slots[FLEXIBLE_ARRAY_MEMBER];
} SpStatsShared;

/* settings */
static int	sp_stats_max_sources = 256;

static SpStatsShared *sp_stats = NULL;
static HTAB *sp_stats_hash = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*
 * This backend's finished batches, not yet committed: one record per source,
 * (sub)transaction nesting level and minute, so a long transaction calling
 * sentiment_process_batch in a loop keeps a handful of them.
 */
typedef struct SpPending
{
	Oid			relid;
	int			nestlevel;
	int64		minute;			/* when its batches ended */
	SpCounters	c;
} SpPending;

static List *pending = NIL;
static bool callbacks_registered = false;

/* Sources to forget when the transaction commits (registrations removed). */
typedef struct SpForget
{
	Oid			relid;
	int			nestlevel;
} SpForget;

static List *forget = NIL;

/* the batch this backend is running */
static struct
{
	bool		active;
	Oid			relid;
	int			batch_size;
	int			nestlevel;
	int			claimed;
	SpPhase		phase;
	TimestampTz started;
	TimestampTz phase_started;
	int64		claim_us;
	int64		analyse_us;
}			cur;

PG_FUNCTION_INFO_V1(sentiment_stats_internal);
PG_FUNCTION_INFO_V1(sentiment_stats_reset);
PG_FUNCTION_INFO_V1(sentiment_throughput_internal);
PG_FUNCTION_INFO_V1(sentiment_external_internal);
PG_FUNCTION_INFO_V1(sentiment_batch_progress_internal);

/* ------------------------------------------------------------------------
 * Shared memory
 * ------------------------------------------------------------------------
 */

/* One progress slot per backend, worker and auxiliary process. */
static int
sp_progress_nslots(void)
{
	return Max(MaxBackends, 1);
}

static Size
sp_stats_shmem_size(void)
{
	Size		size;

	size = add_size(offsetof(SpStatsShared, slots),
					mul_size(sizeof(SpProgressSlot), sp_progress_nslots()));
	size = add_size(size, hash_estimate_size(sp_stats_max_sources, sizeof(SpStatsEntry)));
	return size;
}

static void
sp_stats_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sp_stats_shmem_size());
	RequestNamedLWLockTranche("sentiment_proc stats", 1);
}

static void sp_stats_load(void);
static void sp_stats_save(int code, Datum arg);

static void
sp_stats_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	sp_stats = ShmemInitStruct("sentiment_proc stats",
							   offsetof(SpStatsShared, slots) +
							   sizeof(SpProgressSlot) * sp_progress_nslots(),
							   &found);
	if (!found)
	{
		sp_stats->lock = &(GetNamedLWLockTranche("sentiment_proc stats"))->lock;
		sp_stats->nslots = sp_progress_nslots();
		for (int i = 0; i < sp_stats->nslots; i++)
		{
			memset(&sp_stats->slots[i], 0, sizeof(SpProgressSlot));
			SpinLockInit(&sp_stats->slots[i].mutex);
		}
	}

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(SpStatsKey);
	info.entrysize = sizeof(SpStatsEntry);
	sp_stats_hash = ShmemInitHash("sentiment_proc stats hash",
								  sp_stats_max_sources, sp_stats_max_sources,
								  &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);

	/*
	 * The postmaster (not a backend of an EXEC_BACKEND build) loads what the
	 * last clean shutdown saved and saves again at its own clean exit.
	 */
	if (!IsUnderPostmaster)
	{
		sp_stats_load();
		on_shmem_exit(sp_stats_save, (Datum) 0);
	}
}

static void
sp_stats_require_preload(void)
{
	if (sp_stats == NULL || sp_stats_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("sentiment_proc statistics are not available"),
				 errdetail("The sentiment_proc library was not loaded through shared_preload_libraries."),
				 errhint("Add sentiment_proc to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* ------------------------------------------------------------------------
 * Saving across a clean restart
 * ------------------------------------------------------------------------
 */

/* Read the file a clean shutdown wrote, then remove it (a crash loses it). */
static void
sp_stats_load(void)
{
	FILE	   *f;
	uint32		magic;
	int32		n;

	f = AllocateFile(SP_STATS_FILE, PG_BINARY_R);
	if (f == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", SP_STATS_FILE)));
		return;
	}
	if (fread(&magic, sizeof(magic), 1, f) != 1 || magic != SP_STATS_MAGIC ||
		fread(&n, sizeof(n), 1, f) != 1 || n < 0)
		goto bad;
	for (int i = 0; i < n; i++)
	{
		SpStatsEntry e;
		SpStatsEntry *dst;
		bool		found;

		if (fread(&e, sizeof(e), 1, f) != 1)
			goto bad;
		if (hash_get_num_entries(sp_stats_hash) >= sp_stats_max_sources)
			break;				/* stats_max_sources was lowered: keep what fits */
		dst = hash_search(sp_stats_hash, &e.key, HASH_ENTER_NULL, &found);
		if (dst == NULL)
			break;
		memcpy(dst, &e, sizeof(e));
	}
	FreeFile(f);
	unlink(SP_STATS_FILE);
	return;

bad:
	ereport(LOG,
			(errmsg("ignoring invalid sentiment_proc statistics file \"%s\"", SP_STATS_FILE)));
	FreeFile(f);
	unlink(SP_STATS_FILE);
}

/*
 * on_shmem_exit of the postmaster: write the counters, unless this is the
 * reset before a crash-restart (code != 0).
 */
static void
sp_stats_save(int code, Datum arg)
{
	FILE	   *f;
	HASH_SEQ_STATUS seq;
	SpStatsEntry *e;
	uint32		magic = SP_STATS_MAGIC;
	int32		n;

	if (code != 0 || sp_stats_hash == NULL)
		return;

	f = AllocateFile(SP_STATS_FILE ".tmp", PG_BINARY_W);
	if (f == NULL)
		goto error;
	n = (int32) hash_get_num_entries(sp_stats_hash);
	if (fwrite(&magic, sizeof(magic), 1, f) != 1 || fwrite(&n, sizeof(n), 1, f) != 1)
		goto error;
	hash_seq_init(&seq, sp_stats_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (fwrite(e, sizeof(*e), 1, f) != 1)
		{
			hash_seq_term(&seq);
			goto error;
		}
	}
	if (FreeFile(f) != 0)
	{
		f = NULL;
		goto error;
	}
	(void) durable_rename(SP_STATS_FILE ".tmp", SP_STATS_FILE, LOG);
	return;

error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("could not write file \"%s\": %m", SP_STATS_FILE ".tmp")));
	if (f)
		FreeFile(f);
	unlink(SP_STATS_FILE ".tmp");
}

/* ------------------------------------------------------------------------
 * Counting
 * ------------------------------------------------------------------------
 */

/* dst += src, counter by counter. */
static void
add_counters(SpCounters *dst, const SpCounters *src)
{
	dst->batches += src->batches;
	dst->rows_completed += src->rows_completed;
	dst->rows_failed += src->rows_failed;
	dst->batches_rolled_back += src->batches_rolled_back;
	dst->rows_rolled_back += src->rows_rolled_back;
	dst->claim_us += src->claim_us;
	dst->analyse_us += src->analyse_us;
	dst->write_us += src->write_us;
	dst->external_completed += src->external_completed;
	dst->external_failed += src->external_failed;
	if (src->last_batch_at != 0 && src->last_batch_at >= dst->last_batch_at)
	{
		dst->last_batch_at = src->last_batch_at;
		dst->last_batch_rows = src->last_batch_rows;
		dst->last_batch_us = src->last_batch_us;
	}
}

/* Add a batch's counts to the per-minute ring of an entry (for sentiment_throughput). */
static void
add_minute(SpStatsEntry *e, int64 minute, const SpCounters *c)
{
	int64		completed = c->rows_completed;
	int64		failed = c->rows_failed;
	int64		batches = c->batches;
	SpMinute   *m;

	if (minute <= 0 || (completed == 0 && failed == 0 && batches == 0))
		return;
	m = &e->minutes[minute % SP_MINUTES];
	if (m->minute != minute)
	{
		if (m->minute > minute)
			return;				/* older than the ring: too late to count */
		memset(m, 0, sizeof(*m));
		m->minute = minute;
	}
	m->rows_completed += completed;
	m->rows_failed += failed;
	m->batches += batches;
	m->external_completed += c->external_completed;
	m->external_failed += c->external_failed;
}

/* The shared entry of a source (relid InvalidOid: the database total), created on first use; NULL when the table is full. */
static SpStatsEntry *
get_entry(Oid dboid, Oid relid)
{
	SpStatsKey	key;
	SpStatsEntry *e;
	bool		found;

	key.dboid = dboid;
	key.relid = relid;
	e = hash_search(sp_stats_hash, &key, HASH_FIND, NULL);
	if (e != NULL)
		return e;
	/*
	 * A full table loses the new source's row (its batches still count in
	 * the total); shared hash tables would otherwise grow into the server's
	 * spare shared memory.  HASH_ENTER_NULL: never an error at commit.
	 */
	if (hash_get_num_entries(sp_stats_hash) >= sp_stats_max_sources)
		return NULL;
	e = hash_search(sp_stats_hash, &key, HASH_ENTER_NULL, &found);
	if (e != NULL && !found)
	{
		memset(&e->c, 0, sizeof(e->c));
		memset(e->minutes, 0, sizeof(e->minutes));
		e->stats_since = GetCurrentTimestamp();
	}
	return e;
}

/* Add the pending records into shared memory (at commit). */
static void
flush_pending(void)
{
	ListCell   *lc;

	if (pending == NIL)
		return;
	if (sp_stats != NULL)
	{
		LWLockAcquire(sp_stats->lock, LW_EXCLUSIVE);
		foreach(lc, pending)
		{
			SpPending  *p = lfirst(lc);
			Oid			rels[2] = {p->relid, InvalidOid};

			for (int i = 0; i < 2; i++)
			{
				SpStatsEntry *e = get_entry(MyDatabaseId, rels[i]);

				if (e == NULL)
					continue;
				add_counters(&e->c, &p->c);
				add_minute(e, p->minute, &p->c);
			}
		}
		LWLockRelease(sp_stats->lock);
	}
	list_free_deep(pending);
	pending = NIL;
}

/*
 * Turn the pending records of nesting level >= level into rolled-back ones:
 * their rows are pending again.  Rolled-back records are flushed like the
 * others, at the end of the top transaction, whatever its outcome.
 */
static void
roll_back_pending(int level)
{
	ListCell   *lc;

	foreach(lc, pending)
	{
		SpPending  *p = lfirst(lc);

		if (p->nestlevel < level)
			continue;
		p->c.batches_rolled_back += p->c.batches;
		/* (rows of a two-phase write rolled back are the analyser's again, not pending) */
		p->c.rows_rolled_back += p->c.rows_completed - p->c.external_completed
			+ p->c.rows_failed - p->c.external_failed;
		p->c.batches = p->c.rows_completed = p->c.rows_failed = 0;
		p->c.external_completed = p->c.external_failed = 0;
		/* the times describe committed batches: mean_batch_time stays honest */
		p->c.claim_us = p->c.analyse_us = p->c.write_us = 0;
		p->c.last_batch_at = 0;
		/* keep it at a level that will still be there to flush it */
		p->nestlevel = level - 1;
	}
}

/* This backend has no batch in flight any more: empty its progress slot. */
static void
clear_progress(void)
{
	cur.active = false;
	if (sp_stats != NULL && MyProcNumber >= 0 && MyProcNumber < sp_stats->nslots)
	{
		SpProgressSlot *s = &sp_stats->slots[MyProcNumber];

		SpinLockAcquire(&s->mutex);
		s->pid = 0;
		s->phase = SP_PHASE_NONE;
		SpinLockRelease(&s->mutex);
	}
}

/* At the end of a transaction, the counts of its batches go to shared memory (those of an aborted one as aborted). */
/* Remove the counters of the sources queued by sp_stats_forget_at_commit. */
static void
forget_sources(bool commit)
{
	ListCell   *lc;

	if (forget == NIL)
		return;
	if (commit && sp_stats != NULL)
	{
		LWLockAcquire(sp_stats->lock, LW_EXCLUSIVE);
		foreach(lc, forget)
		{
			SpStatsKey	key;

			key.dboid = MyDatabaseId;
			key.relid = ((SpForget *) lfirst(lc))->relid;
			hash_search(sp_stats_hash, &key, HASH_REMOVE, NULL);
		}
		LWLockRelease(sp_stats->lock);
	}
	list_free_deep(forget);
	forget = NIL;
}

static void
sp_stats_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			/* prepared: counted now, as the rows will be at COMMIT PREPARED */
			if (cur.active)
				clear_progress();
			flush_pending();
			forget_sources(true);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (cur.active)
				clear_progress();
			roll_back_pending(0);
			flush_pending();
			forget_sources(false);
			break;
		default:
			break;
	}
}

/* Counts of a committed subtransaction pass to its parent; those of an aborted one are dropped. */
static void
sp_stats_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	switch (event)
	{
		case SUBXACT_EVENT_COMMIT_SUB:
			/* the parent owns them now */
			foreach(lc, pending)
			{
				SpPending  *p = lfirst(lc);

				if (p->nestlevel >= level)
					p->nestlevel = level - 1;
			}
			foreach(lc, forget)
			{
				SpForget   *f = lfirst(lc);

				if (f->nestlevel >= level)
					f->nestlevel = level - 1;
			}
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			if (cur.active && cur.nestlevel >= level)
				clear_progress();
			roll_back_pending(level);
			/* a registration removed in the subtransaction is back */
			foreach(lc, forget)
			{
				SpForget   *f = lfirst(lc);

				if (f->nestlevel >= level)
					forget = foreach_delete_current(forget, lc);
			}
			break;
		default:
			break;
	}
}

/* A batch in flight when the backend exits (FATAL, terminate). */
static void
sp_stats_backend_exit(int code, Datum arg)
{
	if (cur.active)
		clear_progress();
}

/* Show this backend's batch in its progress slot, now in phase. */
static void
publish_phase(SpPhase phase, TimestampTz now)
{
	SpProgressSlot *s;

	cur.phase = phase;
	cur.phase_started = now;
	if (MyProcNumber < 0 || MyProcNumber >= sp_stats->nslots)
		return;
	s = &sp_stats->slots[MyProcNumber];
	SpinLockAcquire(&s->mutex);
	if (phase == SP_PHASE_CLAIM)
	{
		s->pid = MyProcPid;
		s->dboid = MyDatabaseId;
		s->relid = cur.relid;
		s->batch_size = cur.batch_size;
		s->batch_started = now;
	}
	s->rows_claimed = cur.claimed;
	s->phase = phase;
	s->phase_started = now;
	SpinLockRelease(&s->mutex);
}

/* ------------------------------------------------------------------------
 * The API batch.c calls
 * ------------------------------------------------------------------------
 */

/* The transaction callbacks that flush or roll back the pending records, once per backend. */
static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(sp_stats_xact_callback, NULL);
	RegisterSubXactCallback(sp_stats_subxact_callback, NULL);
	before_shmem_exit(sp_stats_backend_exit, (Datum) 0);
	callbacks_registered = true;
}

/* The pending record of a source at this nesting level and minute, made on first use. */
static SpPending *
pending_record(Oid relid, int64 minute)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;
	SpPending  *p;
	MemoryContext old;

	foreach(lc, pending)
	{
		SpPending  *q = lfirst(lc);

		if (q->relid == relid && q->nestlevel == level && q->minute == minute)
			return q;
	}
	/* the list outlives the statement that made it */
	old = MemoryContextSwitchTo(TopMemoryContext);
	p = palloc0(sizeof(SpPending));
	p->relid = relid;
	p->nestlevel = level;
	p->minute = minute;
	pending = lappend(pending, p);
	MemoryContextSwitchTo(old);
	return p;
}

void
sp_stats_batch_begin(Oid source, int batch_size)
{
	TimestampTz now;

	if (sp_stats == NULL)
		return;
	register_callbacks();

	now = GetCurrentTimestamp();
	cur.active = true;
	cur.relid = source;
	cur.batch_size = batch_size;
	cur.nestlevel = GetCurrentTransactionNestLevel();
	cur.claimed = 0;
	cur.started = now;
	cur.claim_us = cur.analyse_us = 0;
	publish_phase(SP_PHASE_CLAIM, now);
}

void
sp_stats_batch_claimed(int nclaimed)
{
	TimestampTz now;

	if (!cur.active)
		return;
	if (nclaimed <= 0)
	{
		/* nothing to do is not a batch: an idle poll costs no counters */
		clear_progress();
		return;
	}
	now = GetCurrentTimestamp();
	cur.claimed = nclaimed;
	cur.claim_us = now - cur.phase_started;
	publish_phase(SP_PHASE_ANALYSE, now);
}

void
sp_stats_batch_analysed(void)
{
	TimestampTz now;

	if (!cur.active)
		return;
	now = GetCurrentTimestamp();
	cur.analyse_us = now - cur.phase_started;
	publish_phase(SP_PHASE_WRITE, now);
}

void
sp_stats_batch_end(int64 completed, int64 failed)
{
	TimestampTz now;
	SpPending  *p;

	if (!cur.active)
		return;
	now = GetCurrentTimestamp();
	p = pending_record(cur.relid, now / USECS_PER_MINUTE);

	p->c.batches++;
	p->c.rows_completed += completed;
	p->c.rows_failed += failed;
	p->c.claim_us += cur.claim_us;
	p->c.analyse_us += cur.analyse_us;
	p->c.write_us += now - cur.phase_started;
	p->c.last_batch_at = now;
	p->c.last_batch_rows = completed + failed;
	p->c.last_batch_us = now - cur.started;

	clear_progress();
}

/*
 * Rows an external analyser finished through the two-phase API
 * (sentiment_complete, sentiment_fail; two_phase.c): counted in the rows
 * completed and failed of the source and in its throughput, and apart as
 * external, when the transaction commits.  Not a batch: no batch count or
 * times.
 */
void
sp_stats_external(Oid source, int64 completed, int64 failed)
{
	SpPending  *p;

	if (sp_stats == NULL || (completed == 0 && failed == 0))
		return;
	register_callbacks();
	p = pending_record(source, GetCurrentTimestamp() / USECS_PER_MINUTE);
	p->c.rows_completed += completed;
	p->c.rows_failed += failed;
	p->c.external_completed += completed;
	p->c.external_failed += failed;
}

/*
 * Forget the counters of a source when this transaction commits: its
 * registration was removed (sentiment_detach, or the table was dropped).
 * Called by the registry's delete trigger (registry.c).
 */
void
sp_stats_forget_at_commit(Oid relid)
{
	MemoryContext old;
	SpForget   *f;

	if (sp_stats == NULL)
		return;
	register_callbacks();
	old = MemoryContextSwitchTo(TopMemoryContext);
	f = palloc(sizeof(SpForget));
	f->relid = relid;
	f->nestlevel = GetCurrentTransactionNestLevel();
	forget = lappend(forget, f);
	MemoryContextSwitchTo(old);
}

/* ------------------------------------------------------------------------
 * Settings and registration (from _PG_init)
 * ------------------------------------------------------------------------
 */

void
sp_stats_init(void)
{
	/* a PGC_POSTMASTER setting can only be defined while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("sentiment_proc.stats_max_sources",
							"Number of sources (per database, plus one total per database) whose statistics are kept.",
							"Sources beyond it are counted in their database's total only.",
							&sp_stats_max_sources, 256, 16, 100000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = sp_stats_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = sp_stats_shmem_startup;
}

/* ------------------------------------------------------------------------
 * SQL functions
 * ------------------------------------------------------------------------
 */

#define STATS_COLS 13

/* May the current user see the figures of relid (InvalidOid: the total)? */
static bool
may_see_source(Oid relid)
{
	bool		missing = false;

	if (!OidIsValid(relid))
		return true;
	return pg_class_aclcheck_ext(relid, GetUserId(), ACL_SELECT, &missing) == ACLCHECK_OK && !missing;
}

/*
 * Copies of this database's entries the current user may see, taken under
 * the lock and checked after it (the check reads the catalogue).
 */
static SpStatsEntry *
visible_entries(int *count)
{
	HASH_SEQ_STATUS seq;
	SpStatsEntry *e;
	SpStatsEntry *copies;
	int			n = 0;
	int			kept = 0;

	LWLockAcquire(sp_stats->lock, LW_SHARED);
	copies = palloc(sizeof(SpStatsEntry) * (hash_get_num_entries(sp_stats_hash) + 1));
	hash_seq_init(&seq, sp_stats_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (e->key.dboid == MyDatabaseId)
			copies[n++] = *e;
	LWLockRelease(sp_stats->lock);
	for (int i = 0; i < n; i++)
		if (may_see_source(copies[i].key.relid))
			copies[kept++] = copies[i];
	*count = kept;
	return copies;
}

/*
 * The start of a function returning rows per source: its result set, and
 * the entries the caller may see (their number in *count).
 */
static SpStatsEntry *
start_entry_rows(FunctionCallInfo fcinfo, int *count)
{
	sp_stats_require_preload();
	InitMaterializedSRF(fcinfo, 0);
	return visible_entries(count);
}

/*
 * An entry's minutes of the last hour (the slots of its ring that hold one),
 * into recent[SP_MINUTES]; returns how many.
 */
static int
recent_minutes(const SpStatsEntry *e, int64 now_minute, const SpMinute **recent)
{
	int			n = 0;

	for (int k = 0; k < SP_MINUTES; k++)
		if (e->minutes[k].minute > now_minute - SP_MINUTES && e->minutes[k].minute <= now_minute)
			recent[n++] = &e->minutes[k];
	return n;
}

/* A row of a source's minute: the source, the minute, then ncounts counts. */
static void
put_minute_row(ReturnSetInfo *rsinfo, Oid relid, const SpMinute *m, const int64 *counts, int ncounts)
{
	Datum		values[2 + 3];
	bool		nulls[2 + 3] = {!OidIsValid(relid), false, false, false, false};

	Assert(ncounts <= 3);
	values[0] = ObjectIdGetDatum(relid);
	values[1] = TimestampTzGetDatum(m->minute * USECS_PER_MINUTE);
	for (int i = 0; i < ncounts; i++)
		values[2 + i] = Int64GetDatum(counts[i]);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* _sentiment_stats_internal(): the current database's rows, total first. */
Datum
sentiment_stats_internal(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SpStatsEntry *entries;
	int			n;

	entries = start_entry_rows(fcinfo, &n);
	for (int k = 0; k < n; k++)
	{
		SpStatsEntry *e = &entries[k];
		Datum		values[STATS_COLS];
		bool		nulls[STATS_COLS];
		int			i = 0;

		memset(nulls, false, sizeof(nulls));
		values[i] = ObjectIdGetDatum(e->key.relid);
		nulls[i++] = !OidIsValid(e->key.relid);
		values[i++] = Int64GetDatum(e->c.batches);
		values[i++] = Int64GetDatum(e->c.rows_completed);
		values[i++] = Int64GetDatum(e->c.rows_failed);
		values[i++] = Int64GetDatum(e->c.batches_rolled_back);
		values[i++] = Int64GetDatum(e->c.rows_rolled_back);
		values[i++] = Float8GetDatum(e->c.claim_us / 1000.0);
		values[i++] = Float8GetDatum(e->c.analyse_us / 1000.0);
		values[i++] = Float8GetDatum(e->c.write_us / 1000.0);
		values[i] = TimestampTzGetDatum(e->c.last_batch_at);
		nulls[i++] = (e->c.last_batch_at == 0);
		values[i] = Int64GetDatum(e->c.last_batch_rows);
		nulls[i++] = (e->c.last_batch_at == 0);
		values[i] = Float8GetDatum(e->c.last_batch_us / 1000.0);
		nulls[i++] = (e->c.last_batch_at == 0);
		values[i++] = TimestampTzGetDatum(e->stats_since);
		Assert(i == STATS_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * sentiment_stats_reset(source regclass DEFAULT NULL): forget the counters
 * and throughput of one source, or of the whole current database (every
 * source and the total).  Resetting one source leaves the total as it is.
 * EXECUTE is revoked from PUBLIC in SQL.
 */
Datum
sentiment_stats_reset(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS seq;
	SpStatsEntry *e;
	Oid			relid = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	int64		removed = 0;

	sp_stats_require_preload();

	LWLockAcquire(sp_stats->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, sp_stats_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->key.dboid != MyDatabaseId)
			continue;
		if (OidIsValid(relid) && e->key.relid != relid)
			continue;
		hash_search(sp_stats_hash, &e->key, HASH_REMOVE, NULL);
		removed++;
	}
	LWLockRelease(sp_stats->lock);
	PG_RETURN_INT64(removed);
}

/* What a function returning rows per source and minute puts for one source. */
typedef void (*SpMinuteRows) (ReturnSetInfo *rsinfo, const SpStatsEntry *e,
							  const SpMinute **recent, int nrecent);

/* Rows for each source the caller may see, from its minutes of the last hour. */
static Datum
minute_rows(FunctionCallInfo fcinfo, SpMinuteRows put)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		now_minute = GetCurrentTimestamp() / USECS_PER_MINUTE;
	SpStatsEntry *entries;
	int			n;

	entries = start_entry_rows(fcinfo, &n);
	for (int j = 0; j < n; j++)
	{
		const SpMinute *recent[SP_MINUTES];
		int			nrecent = recent_minutes(&entries[j], now_minute, recent);

		put(rsinfo, &entries[j], recent, nrecent);
	}
	return (Datum) 0;
}

/* A source's throughput: a row per minute. */
static void
put_throughput(ReturnSetInfo *rsinfo, const SpStatsEntry *e, const SpMinute **recent, int nrecent)
{
	for (int k = 0; k < nrecent; k++)
	{
		int64		counts[3] = {recent[k]->rows_completed, recent[k]->rows_failed, recent[k]->batches};

		put_minute_row(rsinfo, e->key.relid, recent[k], counts, 3);
	}
}

/* _sentiment_throughput_internal(): per source and minute, the last hour. */
Datum
sentiment_throughput_internal(PG_FUNCTION_ARGS)
{
	return minute_rows(fcinfo, put_throughput);
}

/*
 * A source's rows finished through the two-phase API: since the statistics
 * began (minute NULL), then per minute that had any.
 */
static void
put_external(ReturnSetInfo *rsinfo, const SpStatsEntry *e, const SpMinute **recent, int nrecent)
{
	Datum		values[4];
	bool		nulls[4] = {!OidIsValid(e->key.relid), true, false, false};

	values[0] = ObjectIdGetDatum(e->key.relid);
	values[2] = Int64GetDatum(e->c.external_completed);
	values[3] = Int64GetDatum(e->c.external_failed);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	for (int k = 0; k < nrecent; k++)
	{
		int64		counts[2] = {recent[k]->external_completed, recent[k]->external_failed};

		if (counts[0] == 0 && counts[1] == 0)
			continue;
		put_minute_row(rsinfo, e->key.relid, recent[k], counts, 2);
	}
}

/*
 * _sentiment_external_internal(): of the rows counted, those finished through
 * the two-phase API, per source: since the statistics began (minute NULL),
 * then per minute of the last hour that had any.
 */
Datum
sentiment_external_internal(PG_FUNCTION_ARGS)
{
	return minute_rows(fcinfo, put_external);
}

/* _sentiment_batch_progress_internal(): batches in flight, every database. */
Datum
sentiment_batch_progress_internal(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	sp_stats_require_preload();
	InitMaterializedSRF(fcinfo, 0);

	for (int i = 0; i < sp_stats->nslots; i++)
	{
		SpProgressSlot copy;
		SpProgressSlot *s = &sp_stats->slots[i];
		Datum		values[8];
		bool		nulls[8] = {false, false, false, false, false, false, false, false};

		SpinLockAcquire(&s->mutex);
		memcpy(&copy, s, sizeof(copy));
		SpinLockRelease(&s->mutex);
		if (copy.pid == 0 || copy.phase == SP_PHASE_NONE)
			continue;
		if (copy.dboid == MyDatabaseId ? !may_see_source(copy.relid)
			: !has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_DATA))
			continue;

		values[0] = Int32GetDatum(copy.pid);
		values[1] = ObjectIdGetDatum(copy.dboid);
		values[2] = ObjectIdGetDatum(copy.relid);
		values[3] = CStringGetTextDatum(sp_phase_names[copy.phase]);
		values[4] = Int32GetDatum(copy.batch_size);
		values[5] = Int32GetDatum(copy.rows_claimed);
		values[6] = TimestampTzGetDatum(copy.batch_started);
		values[7] = TimestampTzGetDatum(copy.phase_started);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
