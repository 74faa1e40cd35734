/*
 * worker.h - what the background workers' units share: the workers' slots
 * in shared memory (wakeup.c), the settings the launcher defines and the
 * workers read (launcher.c), and the wake-ups a worker makes itself.
 * Included by wakeup.c, launcher.c and worker.c only.
 */
#ifndef SP_WORKER_H
#define SP_WORKER_H

#include "postgres.h"

#include "storage/proc.h"
#include "storage/spin.h"

#include "sentiment_proc.h"

#define SP_LAUNCHER_TYPE	"sentiment_proc launcher"
#define SP_WORKER_TYPE		"sentiment_proc worker"

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

/* wakeup.c: the slots (NULL when not preloaded), and this backend's (-1: not a worker) */
extern SpWorkerShared *sp_shared;
extern int	sp_my_slot;

/* wakeup.c: from sp_worker_init while preloading, the shared memory hooks */
extern void sp_wakeup_shmem_init(void);

/* wakeup.c: wake the workers of a database (but except_slot) at once */
extern int	sp_wake_database(Oid dboid, int except_slot, bool all);

/* wakeup.c: has a watched prepared transaction of the database ended? */
extern bool sp_prepared_over(Oid dboid, bool *watching);

/* launcher.c: the settings the workers read */
extern int	sp_worker_batch_size;
extern int	sp_worker_poll_interval;
extern int	sp_upkeep_interval_ms;

#endif							/* SP_WORKER_H */
