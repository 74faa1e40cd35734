/*
 * source_xact.c - one source's work in a subtransaction of its own, with
 * sentiment_proc.source_timeout armed: whatever the source's work raises
 * (its owner's triggers, a lock it waits for too long, a run past the
 * timeout) is that source's failure and is returned to the caller, while
 * an interrupt of the batch itself is raised again.  Used by the batches
 * (batch.c), the reaper (lease.c) and the statements run as a table's owner
 * (source_sql.c); none of it calls them back.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "batch.h"

/*
 * Everything is caught in a source's subtransaction; what it caught is
 * then judged by source_owns_error().
 */
static bool
catch_all(int sqlerrcode)
{
	return true;
}

/*
 * Set by the source timeout (sentiment_proc.source_timeout): the cancel
 * that follows is the source's failure, not a cancel of the batch.
 */
static volatile sig_atomic_t source_timed_out = false;
static TimeoutId source_timeout_id = MAX_TIMEOUTS;
static int	source_timeout_depth = 0;

static void
source_timeout_handler(void)
{
	/*
	 * Fired again: the cancel was caught and ignored (a trigger's EXCEPTION
	 * WHEN query_canceled in a loop).  A worker then ends, as at a
	 * termination, and the launcher starts it again; elsewhere the cancel is
	 * repeated at every interval.
	 */
	if (source_timed_out && sp_am_worker)
		ProcDiePending = true;
	source_timed_out = true;
	InterruptPending = true;
	QueryCancelPending = true;
	SetLatch(MyLatch);
}

/*
 * Does an error caught in a source's subtransaction belong to that source?
 * Any error the source's work raised does, whatever its class: code the
 * table's owner wrote can raise any SQLSTATE (XX000, 57014, 40001, 53200,
 * ...), and must not stop the other tables.  What does not is an interrupt
 * of this process: a cancel of the worker or of the caller's statement,
 * its statement_timeout, a recovery conflict.  Those come from
 * ProcessInterrupts(), which no SQL can raise, except the source's own lock
 * timeout and source timeout.  (A shutdown is FATAL and never caught.)
 */
static bool
source_owns_error(const ErrorData *edata)
{
	if (edata->funcname == NULL || strcmp(edata->funcname, "ProcessInterrupts") != 0)
		return true;
	if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
		return true;
	return edata->sqlerrcode == ERRCODE_QUERY_CANCELED && source_timed_out;
}

/*
 * Run step(arg), one source's work, in a subtransaction with the source
 * timeout armed.  Returns NULL when it went through, else the error it
 * raised, which belongs to the source (source_owns_error); an interrupt of
 * the batch itself is raised again.  Used by the batches and the reaper.
 */
ErrorData *
sp_in_source_subtransaction(void (*step) (void *), void *arg)
{
	ErrorData  *edata;
	bool		outermost = (source_timeout_depth == 0);

	/*
	 * One timer per process: only the outermost call arms and disarms it.
	 * (A nested call, from code a source runs, is refused in a
	 * security-restricted operation, see sp_refuse_in_source; this keeps the
	 * outer timeout whatever else may call in.)
	 */
	if (outermost)
	{
		if (source_timeout_id == MAX_TIMEOUTS)
			source_timeout_id = RegisterTimeout(USER_TIMEOUT, source_timeout_handler);
		source_timed_out = false;
		if (sp_source_timeout_ms > 0)
			enable_timeout_every(source_timeout_id,
								 TimestampTzPlusMilliseconds(GetCurrentTimestamp(), sp_source_timeout_ms),
								 sp_source_timeout_ms);
	}
	source_timeout_depth++;
	edata = sp_in_subtransaction(step, arg, catch_all);
	source_timeout_depth--;
	if (outermost)
	{
		disable_timeout(source_timeout_id, false);
		/* (a cancel of ours still pending: the source has had its failure) */
		if (source_timed_out)
			QueryCancelPending = false;
	}
	if (edata == NULL)
		return NULL;
	/* the outer source's timeout is the outer call's to judge */
	if (!source_owns_error(edata) ||
		(!outermost && source_timed_out && edata->sqlerrcode == ERRCODE_QUERY_CANCELED))
		ReThrowError(edata);
	if (source_timed_out && edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
		edata->message = psprintf("processing took longer than sentiment_proc.source_timeout (%d ms)",
								  sp_source_timeout_ms);
	return edata;
}

/*
 * Processing (a batch, the reaper) is not run from inside a source's own
 * code: a table owner's trigger or policy, in the security-restricted
 * operation of a batch or of a statement run as the owner.  It would run
 * other tables' work in that table's subtransaction and under its timeout.
 */
void
sp_refuse_in_source(const char *what)
{
	if (InSecurityRestrictedOperation())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot run %s in a security-restricted operation", what),
				 errdetail("It was called from code that runs as the owner of a table while that table is "
						   "processed or read (a trigger, say)."),
				 errhint("Call it from a session of its own, not from a table's triggers.")));
}
