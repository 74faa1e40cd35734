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
 * commit as whoever commits, stops the script with an error naming them;
 * so does any statement of the script that reads or writes a user's
 * relation with rules (whose actions are statements of their own, a SELECT
 * say, that no switch covers), or that writes tables of different owners.
 *
 * Statements run inside a security-restricted operation (the tenant's own
 * code, or ours) are left alone: the switch happens at most once, for the
 * script's own statement, never on a tenant's behalf.
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "sentiment_proc.h"

static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;

/* The one statement running as a table's owner, and what to restore. */
static QueryDesc *guarded = NULL;
static SpOwnerSwitch guarded_switch;
static int	guarded_level = 0;

/* Is this one of sentiment_proc's own scripts running (not code inside a switch)? */
static bool
in_own_script(Oid *ext)
{
	if (!creating_extension || guarded != NULL || InSecurityRestrictedOperation())
		return false;
	*ext = get_extension_oid("sentiment_proc", true);
	return OidIsValid(*ext) && CurrentExtensionObject == *ext;
}

/*
 * A user's relation the script's statement reads or writes: not a system
 * catalogue, not the extension's own, not the current user's.
 */
static bool
foreign_relation(Oid relid, Oid ext)
{
	Oid			owner;

	if (!OidIsValid(relid) || relid < FirstNormalObjectId)
		return false;
	owner = sp_relation_owner(relid);
	return OidIsValid(owner) && owner != GetUserId() &&
		getExtensionOfObject(RelationRelationId, relid) != ext;
}

/*
 * Refuse a statement that touches a user's relation with rules, on itself
 * or a partition or inheritance child: a rule's actions are statements of
 * their own (an ON UPDATE ... DO ALSO SELECT f() is a SELECT), which would
 * run as the script's caller.  Needs SPI connected.
 */
static void
refuse_rules(PlannedStmt *ps, Oid ext)
{
	ListCell   *lc;

	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		Oid			types[1] = {OIDOID};
		Datum		values[1];
		char		kind;
		bool		isnull;
		Datum		rules;

		/* (a view stays in the range table, as a subquery from PostgreSQL 16) */
		if ((rte->rtekind != RTE_RELATION && rte->rtekind != RTE_SUBQUERY) ||
			!foreign_relation(rte->relid, ext))
			continue;
		kind = get_rel_relkind(rte->relid);
		if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE &&
			kind != RELKIND_VIEW && kind != RELKIND_FOREIGN_TABLE)
			continue;
		values[0] = ObjectIdGetDatum(rte->relid);
		if (SPI_execute_with_args("WITH RECURSIVE tree(relid) AS (SELECT $1 UNION "
								  "  SELECT i.inhrelid FROM pg_catalog.pg_inherits i "
								  "  JOIN tree ON i.inhparent OPERATOR(pg_catalog.=) tree.relid) "
								  "SELECT pg_catalog.string_agg(pg_catalog.format('rule %I on %s', r.rulename, "
								  "  r.ev_class::pg_catalog.regclass), ', ' ORDER BY r.rulename) "
								  "FROM pg_catalog.pg_rewrite r WHERE r.ev_class IN (SELECT relid FROM tree) "
								  "AND r.rulename OPERATOR(pg_catalog.<>) '_RETURN'",
								  1, types, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not read the rules of a relation");
		rules = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("sentiment_proc cannot update table %s: it has rules", get_rel_name(rte->relid)),
					 errdetail("A rule's actions would run as the role running the update, not as the "
							   "owner of the table: %s.", TextDatumGetCString(rules)),
					 errhint("Have the owner drop the rules, or detach the table, and update again.")));
	}
}

/*
 * The table a statement of one of sentiment_proc's scripts writes (itself,
 * or in a data-modifying WITH), when it must be written as its owner;
 * InvalidOid otherwise.  A statement writing tables of more than one owner
 * is refused: it cannot run as all of them.
 */
static Oid
script_write_target(QueryDesc *qd, Oid ext)
{
	PlannedStmt *ps = qd->plannedstmt;
	Oid			target = InvalidOid;
	Oid			target_owner = InvalidOid;
	ListCell   *lc;

	if (qd->operation != CMD_INSERT && qd->operation != CMD_UPDATE &&
		qd->operation != CMD_DELETE && qd->operation != CMD_MERGE && !ps->hasModifyingCTE)
		return InvalidOid;
	foreach(lc, ps->resultRelations)
	{
		Oid			relid = rt_fetch(lfirst_int(lc), ps->rtable)->relid;
		Oid			owner = sp_relation_owner(relid);

		if (!OidIsValid(owner) || getExtensionOfObject(RelationRelationId, relid) == ext)
			continue;
		if (OidIsValid(target_owner) && owner != target_owner)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("sentiment_proc cannot update tables %s and %s in one statement: they have different owners",
							get_rel_name(target), get_rel_name(relid)),
					 errdetail("The update writes a table as its owner, and one statement runs as one role."),
					 errhint("Give the tables one owner, or detach them, and update again.")));
		if (!OidIsValid(target_owner))
		{
			target = relid;
			target_owner = owner;
		}
	}
	if (!OidIsValid(target) || target_owner == GetUserId())
		return InvalidOid;
	return target;
}

static void
guard_executor_start(QueryDesc *qd, int eflags)
{
	Oid			ext;
	Oid			relid = InvalidOid;

	if (in_own_script(&ext) && qd->plannedstmt != NULL)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		refuse_rules(qd->plannedstmt, ext);
		relid = script_write_target(qd, ext);
		SPI_finish();
	}
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
