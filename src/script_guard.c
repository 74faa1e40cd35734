/*
 * script_guard.c - the extension's own install and upgrade scripts write
 * users' tables as their owners.
 *
 * ALTER EXTENSION sentiment_proc UPDATE runs the scripts of every version
 * on the way, as whoever runs it, usually a superuser.  The frozen 1.0--1.1
 * script attaches every registered table again with the 1.1 code, which
 * UPDATEs each table as the caller: a tenant's triggers, CHECK constraints
 * and generated columns on it would run with the superuser's rights.  The
 * frozen scripts cannot change, but this library runs them.  While one of
 * sentiment_proc's own scripts runs, every INSERT, UPDATE, DELETE or MERGE
 * of the script on a table that the current user does not own, and that is
 * not one of the extension's own tables, runs as the table's owner in a
 * security-restricted operation with the pinned search_path and the source
 * lock timeout (sp_as_table_owner), from ExecutorStart to ExecutorEnd: the
 * table's code gets its owner's rights and nothing more, as in a batch.
 * A table with deferrable triggers or constraints, whose code would run at
 * commit as whoever commits, stops the script with an error naming them.
 *
 * Statements run inside a security-restricted operation (the tenant's own
 * code, or ours) are left alone: the switch happens at most once, for the
 * script's own statement, never on a tenant's behalf.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

#include "sentiment_proc.h"

static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;

/* The one statement running as a table's owner, and what to restore. */
static QueryDesc *guarded = NULL;
static SpOwnerSwitch guarded_switch;
static int	guarded_level = 0;

/*
 * The table a statement of one of sentiment_proc's scripts writes, when it
 * must be written as its owner; InvalidOid otherwise.
 */
static Oid
script_write_target(QueryDesc *qd)
{
	PlannedStmt *ps = qd->plannedstmt;
	Oid			ext;
	Oid			relid;
	Oid			owner;

	if (!creating_extension || guarded != NULL || InSecurityRestrictedOperation())
		return InvalidOid;
	ext = get_extension_oid("sentiment_proc", true);
	if (!OidIsValid(ext) || CurrentExtensionObject != ext)
		return InvalidOid;
	if (qd->operation != CMD_INSERT && qd->operation != CMD_UPDATE &&
		qd->operation != CMD_DELETE && qd->operation != CMD_MERGE)
		return InvalidOid;
	if (ps == NULL || ps->resultRelations == NIL)
		return InvalidOid;
	relid = rt_fetch(linitial_int(ps->resultRelations), ps->rtable)->relid;
	owner = sp_relation_owner(relid);
	if (!OidIsValid(owner) || owner == GetUserId() ||
		getExtensionOfObject(RelationRelationId, relid) == ext)
		return InvalidOid;
	return relid;
}

static void
guard_executor_start(QueryDesc *qd, int eflags)
{
	Oid			relid = script_write_target(qd);

	if (OidIsValid(relid))
	{
		char	   *deferred;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		deferred = sp_deferred_code(relid);
		if (deferred != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("sentiment_proc cannot update table %s: it has deferrable triggers or constraints",
							get_rel_name(relid)),
					 errdetail("The update writes the table as its owner; deferred code would run at commit "
							   "as the role running the update: %s.", deferred),
					 errhint("Have the owner make them NOT DEFERRABLE, or detach the table, and update again.")));
		SPI_finish();

		/* before the executor starts: nothing of the table's runs as the caller */
		sp_as_table_owner(relid, &guarded_switch);
		guarded = qd;
		guarded_level = GetCurrentTransactionNestLevel();
	}
	if (prev_executor_start)
		prev_executor_start(qd, eflags);
	else
		standard_ExecutorStart(qd, eflags);
}

static void
guard_executor_end(QueryDesc *qd)
{
	if (prev_executor_end)
		prev_executor_end(qd);
	else
		standard_ExecutorEnd(qd);
	if (guarded != NULL && guarded == qd)
	{
		guarded = NULL;
		sp_restore_user(&guarded_switch);
	}
}

/* An abort restores the identity itself; forget the statement it ended. */
static void
guard_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		guarded = NULL;
}

static void
guard_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && guarded != NULL &&
		GetCurrentTransactionNestLevel() <= guarded_level)
		guarded = NULL;
}

/* From _PG_init. */
void
sp_script_guard_init(void)
{
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = guard_executor_start;
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = guard_executor_end;
	RegisterXactCallback(guard_xact_callback, NULL);
	RegisterSubXactCallback(guard_subxact_callback, NULL);
}
