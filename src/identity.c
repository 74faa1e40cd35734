/*
 * identity.c - who the extension is, and whose rights code runs with.
 *
 * One place for the extension's identity (its OID, schema and owner, and
 * whether it is ready to use in this database) and for the two identity
 * switches the server glue makes:
 *
 * - as the extension's owner, only to read and write the extension's own
 *   private tables (the registry, the processing queue), never a user's;
 * - as a source table's owner, for everything that touches an attached
 *   table or its side tables (claiming, writing results, returning claims).
 *   This is what PostgreSQL does for VACUUM, ANALYZE and CREATE INDEX on a
 *   user's table: triggers, defaults, constraints and index expressions the
 *   owner wrote run with the owner's rights and nothing more, inside a
 *   security-restricted operation (no SET ROLE, no temporary objects) with a
 *   pinned search_path, so they can neither borrow a worker's rights nor
 *   plant objects for it.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xlog.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_inherits.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "sentiment_proc.h"

/* How long a batch waits for a lock on one source before skipping it. */
static int	sp_source_lock_timeout_ms = 200;

/* How long one source's share of a batch may run before it is given up. */
int			sp_source_timeout_ms = 30000;

/* Set in our own background workers: they may process every attached table. */
bool		sp_am_worker = false;

void
sp_identity_init(void)
{
	DefineCustomIntVariable("sentiment_proc.source_lock_timeout",
							"How long processing waits for a lock on one attached table before skipping it.",
							"A table locked by its owner (say ALTER TABLE or LOCK TABLE) is skipped and "
							"tried again by a later batch, so it cannot stall the other tables; 0 waits forever.",
							&sp_source_lock_timeout_ms, 200, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("sentiment_proc.source_timeout",
							"How long one attached table's share of a batch may run before it is given up.",
							"Code the table's owner attached (a trigger that sleeps, say) cannot stall the "
							"workers: past this time the table is skipped with a warning, like a broken one, "
							"and the other tables are processed; 0 waits forever.",
							&sp_source_timeout_ms, 30000, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
}

/*
 * Schema and owner of the extension with OID ext; false when it is gone.
 * (PostgreSQL 15 exports no function for either.)
 */
bool
sp_extension_info(Oid ext, Oid *nsp, Oid *owner)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(ext));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		Form_pg_extension e = (Form_pg_extension) GETSTRUCT(tup);

		if (nsp)
			*nsp = e->extnamespace;
		if (owner)
			*owner = e->extowner;
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* Schema and owner of sentiment_proc in this database; false: not installed. */
static bool
installed_extension(Oid *nsp, Oid *owner)
{
	Oid			ext = get_extension_oid("sentiment_proc", true);

	return OidIsValid(ext) && sp_extension_info(ext, nsp, owner);
}

/*
 * Is the extension installed and usable here?  CREATE EXTENSION is
 * transactional, so another backend's half-created extension is invisible;
 * the creating_extension test covers our own backend (as pg_cron does).
 */
bool
sp_extension_ready(void)
{
	Oid			extoid = get_extension_oid("sentiment_proc", true);

	if (!OidIsValid(extoid))
		return false;
	if (creating_extension && CurrentExtensionObject == extoid)
		return false;
	return true;
}

/* The extension's schema name, or an error with a hint when not installed. */
char *
sp_extension_schema(void)
{
	Oid			nsp;

	if (!installed_extension(&nsp, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"sentiment_proc\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION sentiment_proc;")));
	return get_namespace_name(nsp);
}

/* The extension's schema, InvalidOid when it is not installed. */
Oid
sp_extension_namespace(void)
{
	Oid			nsp;

	return installed_extension(&nsp, NULL) ? nsp : InvalidOid;
}

/* The extension's schema name, or NULL when it is not installed. */
char *
sp_extension_schema_name(void)
{
	Oid			nsp;

	if (!installed_extension(&nsp, NULL))
		return NULL;
	return get_namespace_name(nsp);
}

/*
 * Run statements on the extension's private tables (the registry, the
 * processing queue) as the extension's owner, as a SECURITY DEFINER
 * function would.  Keeps the security-restricted flag of the caller.  Never
 * used around a statement that reads a user's relation.
 */
void
sp_as_extension_owner(SpOwnerSwitch *sw)
{
	Oid			owner;

	if (!installed_extension(NULL, &owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"sentiment_proc\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION sentiment_proc;")));
	GetUserIdAndSecContext(&sw->saved_user, &sw->saved_context);
	sw->guc_nest = -1;
	SetUserIdAndSecContext(owner, sw->saved_context | SECURITY_LOCAL_USERID_CHANGE);
}

/* Back to the identity saved by sp_as_extension_owner or sp_as_table_owner. */
void
sp_restore_user(SpOwnerSwitch *sw)
{
	if (sw->guc_nest >= 0)
		AtEOXact_GUC(false, sw->guc_nest);
	SetUserIdAndSecContext(sw->saved_user, sw->saved_context);
}

/* Owner of a relation, InvalidOid when it is gone. */
Oid
sp_relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* "schema"."name" of a relation for a statement or a message; its OID when it is gone. */
char *
sp_qualified_name(Oid relid)
{
	char	   *name = get_rel_name(relid);

	if (name == NULL)
		return psprintf("relation %u", relid);
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), name);
}

/* sentiment_proc.source_lock_timeout, in milliseconds */
int
sp_source_lock_timeout(void)
{
	return sp_source_lock_timeout_ms;
}

/*
 * Check that a source and its side tables can be processed as the source's
 * owner: all are tables (a view or foreign table could run anybody's code
 * on read) and the side tables have that same owner (else code their owner
 * planted, a trigger say, would run with the source owner's rights).
 * Raises an error naming what is wrong.
 */
void
sp_check_source_tables(Oid relid, Oid topics, Oid embeddings)
{
	Oid			rels[3] = {relid, topics, embeddings};
	Oid			owner = sp_relation_owner(relid);

	for (int i = 0; i < lengthof(rels); i++)
	{
		char		kind = get_rel_relkind(rels[i]);
		Oid			o = sp_relation_owner(rels[i]);

		if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is not a table", get_rel_name(rels[i]) ? get_rel_name(rels[i]) : "?"),
					 errdetail("sentiment_proc processes only ordinary and partitioned tables."),
					 errhint("Detach the source with sentiment_detach().")));
		if (o != owner)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("side table \"%s\" is owned by role \"%s\", not by \"%s\", the owner of \"%s\"",
							get_rel_name(rels[i]), GetUserNameFromId(o, true) ? GetUserNameFromId(o, true) : "?",
							GetUserNameFromId(owner, true) ? GetUserNameFromId(owner, true) : "?",
							get_rel_name(relid)),
					 errdetail("Processing runs as the owner of the attached table; a side table of another "
							   "owner could run that owner's code with those rights."),
					 errhint("Give the side table the source's owner with ALTER TABLE ... OWNER TO, "
							 "or attach the source with side tables of its own.")));
		/* partitions, of the source or a side table, are the owner's too */
		sp_check_partition_owners(rels[i]);
	}
}

/*
 * Check that every partition or inheritance child under relid (at any
 * depth) has relid's owner: processing a table runs its children's
 * triggers, defaults and constraints as the attached table's owner, so a
 * child another role owns would run that role's code with those rights.
 * Raises an error naming the first one that does not.  No lock is taken on
 * the children: this is checked as the caller, before any lock timeout, and
 * a child locked by its owner must not hang it (pg_inherits is read as it
 * is; the statement that follows locks the tree with the lock timeout).
 */
void
sp_check_partition_owners(Oid relid)
{
	Oid			owner;
	List	   *parts;
	ListCell   *lc;

	owner = sp_relation_owner(relid);
	parts = find_all_inheritors(relid, NoLock, NULL);
	foreach(lc, parts)
	{
		Oid			part = lfirst_oid(lc);
		Oid			o = sp_relation_owner(part);
		const char *pname = get_rel_name(part) ? get_rel_name(part) : "?";

		if (part == relid || o == owner)
			continue;
		if (o == InvalidOid)
			continue;			/* dropped since pg_inherits was read */
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s \"%s\" of \"%s\" is owned by role \"%s\", not by \"%s\"",
						get_rel_relispartition(part) ? "partition" : "child table", pname, get_rel_name(relid) ? get_rel_name(relid) : "?",
						GetUserNameFromId(o, true) ? GetUserNameFromId(o, true) : "?",
						GetUserNameFromId(owner, true) ? GetUserNameFromId(owner, true) : "?"),
				 errdetail("An attached table is processed as its owner, partitions included; the "
						   "triggers of a partition of another owner would run with those rights."),
				 errhint("Give the partition the table's owner with ALTER TABLE %s OWNER TO %s, or detach the partition.",
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(part)), pname),
						 quote_identifier(GetUserNameFromId(owner, true) ? GetUserNameFromId(owner, true) : "?"))));
	}
}

/*
 * Become the owner of a source table for processing it, in a
 * security-restricted operation with search_path pinned to pg_catalog,
 * pg_temp and the source lock timeout in force; sp_restore_user() undoes
 * all of it (and so does an abort of the (sub)transaction).
 */
void
sp_as_table_owner(Oid relid, SpOwnerSwitch *sw)
{
	Oid			owner = sp_relation_owner(relid);
	char		timeout[32];

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	GetUserIdAndSecContext(&sw->saved_user, &sw->saved_context);
	SetUserIdAndSecContext(owner, sw->saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	sw->guc_nest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	snprintf(timeout, sizeof(timeout), "%d", sp_source_lock_timeout_ms);
	(void) set_config_option("lock_timeout", timeout,
							 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/*
 * May the current user have a source processed (sentiment_process_batch,
 * sentiment_reset_stuck, the queue and claim helpers)?  Processing writes
 * the table, so it takes UPDATE on it, checked as the current user before
 * becoming the owner.  Our own background workers may process every
 * attached table, but only the worker's own code at its top level: code
 * running inside a worker as someone else (a table owner's trigger, in the
 * security-restricted operation of its batch, or a SECURITY DEFINER
 * function it calls) is checked like any caller, as the current user.
 */
bool
sp_may_process(Oid relid)
{
	if (sp_am_worker && !InSecurityRestrictedOperation() && !InLocalUserIdChange() &&
		GetUserId() == GetSessionUserId())
		return true;
	return pg_class_aclcheck(relid, GetUserId(), ACL_UPDATE) == ACLCHECK_OK;
}

/* The same as an error, for calls that name one table. */
void
sp_check_may_process(Oid relid)
{
	if (!sp_may_process(relid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to process table %s", get_rel_name(relid)),
				 errdetail("Processing a table writes its rows; it takes UPDATE on it."),
				 errhint("GRANT UPDATE ON %s TO the role that processes it.",
						 quote_identifier(get_rel_name(relid)))));
}

/* The error for a table that is not attached, with the hint to attach it. */
void
sp_error_not_attached(Oid relid)
{
	const char *name = get_rel_name(relid) ? get_rel_name(relid) : "?";

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("table %s is not attached to sentiment_proc", name),
			 errhint("Attach it first with SELECT sentiment_attach('%s'); see sentiment_sources for the attached tables.",
					 name)));
}

/*
 * A claim on a distributed table, made through the coordinator, names the
 * node it was made on: "pid:start:role" and this suffix, "@" and the node's
 * system identifier (source_sql.c adds it).  The worker nodes holding the
 * rows cannot see that backend, so there the claim is bounded by its lease
 * alone (sp_claimant_alive).
 */
char *
sp_claim_node_suffix(void)
{
	return psprintf("@" UINT64_FORMAT, GetSystemIdentifier());
}

PG_FUNCTION_INFO_V1(sentiment_source_ddl_as_owner);

/*
 * The statements attach makes on a source and its partitions, and nothing
 * else: one LOCK, CREATE INDEX, CREATE TRIGGER, or ALTER TABLE adding
 * columns, a constraint or a default, or enabling a trigger, of that table
 * or one of its partitions.
 */
static void
source_ddl_check(Oid source, const char *sql)
{
	List	   *parsed = raw_parser(sql, RAW_PARSE_DEFAULT);
	Node	   *stmt = list_length(parsed) == 1 ? ((RawStmt *) linitial(parsed))->stmt : NULL;
	RangeVar   *target = NULL;
	Oid			rel;

	if (stmt && IsA(stmt, LockStmt) && list_length(((LockStmt *) stmt)->relations) == 1)
		target = linitial(((LockStmt *) stmt)->relations);
	else if (stmt && IsA(stmt, IndexStmt))
		target = ((IndexStmt *) stmt)->relation;
	else if (stmt && IsA(stmt, CreateTrigStmt))
		target = ((CreateTrigStmt *) stmt)->relation;
	else if (stmt && IsA(stmt, AlterTableStmt))
	{
		ListCell   *lc;

		target = ((AlterTableStmt *) stmt)->relation;
		foreach(lc, ((AlterTableStmt *) stmt)->cmds)
		{
			AlterTableType t = ((AlterTableCmd *) lfirst(lc))->subtype;

			if (t != AT_AddColumn && t != AT_AddConstraint && t != AT_ColumnDefault &&
				t != AT_EnableAlwaysTrig)
				target = NULL;
		}
	}
	rel = target ? RangeVarGetRelid(target, NoLock, true) : InvalidOid;
	if (!OidIsValid(rel) ||
		(rel != source && !list_member_oid(get_partition_ancestors(rel), source)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("statement not allowed on %s as its owner", get_rel_name(source)),
				 errdetail("Only the statements sentiment_attach makes on a table are run as its owner.")));
}

/*
 * _sentiment_source_ddl_as_owner(source, statement): one of attach's or
 * sentiment_set_model's DDL statements on a Citus-distributed source, run
 * as the table's owner.  Citus refuses a transaction that touches a table's
 * shards as two roles, and the rows those functions write (a new model's
 * re-queue, adopted rows) are written as the owner, never as the caller.
 * Only a caller with the owner's privileges gets past the check, and could
 * run the statement as that role anyway.
 */
Datum
sentiment_source_ddl_as_owner(PG_FUNCTION_ARGS)
{
	Oid			source = PG_GETARG_OID(0);
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			owner = sp_relation_owner(source);
	Oid			saved_user;
	int			saved_context;
	int			ret;

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	if (!has_privs_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", get_rel_name(source)),
				 errhint("Ask the owner of the table to attach it.")));
	source_ddl_check(source, sql);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ret = SPI_execute(sql, false, 0);
	SetUserIdAndSecContext(saved_user, saved_context);
	if (ret < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	SPI_finish();
	PG_RETURN_VOID();
}
