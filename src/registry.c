/*
 * registry.c - the only writer of the registry of attached tables.
 *
 * sentiment_sources is the extension's own table and nobody else may write
 * it: a registration makes the workers process a table as its owner, so
 * whoever could insert one could have any table processed.  sentiment_attach
 * and sentiment_detach run with the caller's rights and record their result
 * through sentiment_register / sentiment_unregister, which check as the
 * caller that the caller may attach (EXECUTE on sentiment_attach or
 * sentiment_detach) and owns the source and its side tables, and only then
 * write the row as the extension's owner (identity.c).
 *
 * A trigger on the registry (_sentiment_registry_forget_trigger) drops the
 * statistics of a source whose registration goes, by either path (detach,
 * or the drop event trigger), when the transaction commits.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_register);
PG_FUNCTION_INFO_V1(sentiment_unregister);
PG_FUNCTION_INFO_V1(sentiment_register_grace);
PG_FUNCTION_INFO_V1(sentiment_set_processor);
PG_FUNCTION_INFO_V1(sentiment_registry_forget_trigger);
PG_FUNCTION_INFO_V1(sentiment_check_attachable);

/*
 * May the current user execute the extension's function fname with one of
 * the given signatures?
 */
static bool
may_execute(const char *schema, const char *fname, int nargs, Oid *argtypes)
{
	List	   *name = list_make2(makeString(pstrdup(schema)), makeString(pstrdup(fname)));
	Oid			fn = LookupFuncName(name, nargs, argtypes, true);

	return OidIsValid(fn) && object_aclcheck(ProcedureRelationId, fn, GetUserId(), ACL_EXECUTE) == ACLCHECK_OK;
}

/* Refuse unless the current user owns (or is a member of the owner of) relid. */
static void
check_owner(Oid relid)
{
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", get_rel_name(relid)),
				 errdetail("Attached tables are processed as their owner; only the owner may attach or detach them."),
				 errhint("Ask the owner of %s to do it, or to grant you membership in the owning role.",
						 get_rel_name(relid))));
}

/* Refuse unless the current user may execute sentiment_attach (or sentiment_detach for fname "sentiment_detach"). */
static void
check_may_attach(const char *schema, const char *what, const char *fname)
{
	Oid			text_sig[6] = {TEXTOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID, TEXTOID};
	Oid			regclass_sig[6] = {REGCLASSOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID, TEXTOID};
	Oid			detach_sig[1] = {REGCLASSOID};
	bool		ok;

	if (strcmp(fname, "sentiment_detach") == 0)
		ok = may_execute(schema, fname, 1, detach_sig);
	else
		ok = may_execute(schema, fname, 6, text_sig) || may_execute(schema, fname, 6, regclass_sig);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s tables of sentiment_proc", what),
				 errhint("A superuser or the extension owner can GRANT EXECUTE ON FUNCTION %s to you.", fname)));
}

/*
 * Refuse a table that cannot be attached safely: a temporary table (it goes
 * with its session, which no event trigger sees, and would leave its
 * registration behind for everyone's source-less calls), or a partitioned
 * table with a partition of another owner.
 */
static void
check_attachable(Oid relid)
{
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("temporary table %s cannot be attached", get_rel_name(relid)),
				 errdetail("A temporary table goes away with its session; its registration would be left behind."),
				 errhint("Attach an ordinary or unlogged table.")));
	sp_check_partition_owners(relid);
}

/*
 * _sentiment_check_attachable(source regclass): the checks above, called by
 * sentiment_attach before it changes anything.
 */
Datum
sentiment_check_attachable(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);

	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	check_attachable(relid);
	PG_RETURN_VOID();
}

/* Run one statement on the registry as the extension's owner. */
static uint64
registry_write(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	SpOwnerSwitch sw;
	int			ret;
	uint64		n;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sp_as_extension_owner(&sw);
	ret = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	sp_restore_user(&sw);
	if (ret < 0)
		elog(ERROR, "could not write the sentiment_proc registry: %s", SPI_result_code_string(ret));
	n = SPI_processed;
	SPI_finish();
	return n;
}

/*
 * sentiment_register(source, id_column, text_column, topics_table,
 * embeddings_table, sentiment_model): record (or update) a registration
 * after the checks above.  Called by sentiment_attach once the tables are in
 * shape, and by sentiment_set_model.  A NULL model keeps the registered one
 * (vader for a new registration).
 */
Datum
sentiment_register(PG_FUNCTION_ARGS)
{
	char	   *schema = sp_extension_schema();
	Oid			source;
	Oid			topics;
	Oid			embeddings;
	Oid			types[6] = {OIDOID, NAMEOID, NAMEOID, OIDOID, OIDOID, TEXTOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	for (int i = 0; i < 5; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("registration arguments must not be null")));
	source = PG_GETARG_OID(0);
	topics = PG_GETARG_OID(3);
	embeddings = PG_GETARG_OID(4);

	check_may_attach(schema, "attach", "sentiment_attach");
	check_owner(source);
	check_owner(topics);
	check_owner(embeddings);
	sp_check_source_tables(source, topics, embeddings);
	check_attachable(source);

	values[0] = ObjectIdGetDatum(source);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(2);
	values[3] = ObjectIdGetDatum(topics);
	values[4] = ObjectIdGetDatum(embeddings);
	if (PG_ARGISNULL(5))
		nulls[5] = 'n';
	else
	{
		(void) sp_model_by_name(text_to_cstring(PG_GETARG_TEXT_PP(5)));
		values[5] = PG_GETARG_DATUM(5);
	}
	registry_write(psprintf("INSERT INTO %s.sentiment_sources AS s "
							"(source_table, id_column, text_column, topics_table, embeddings_table, sentiment_model) "
							"VALUES ($1, $2, $3, $4, $5, COALESCE($6, 'vader')) "
							"ON CONFLICT (source_table) DO UPDATE "
							"SET id_column = excluded.id_column, text_column = excluded.text_column, "
							"topics_table = excluded.topics_table, embeddings_table = excluded.embeddings_table, "
							"sentiment_model = COALESCE($6, s.sentiment_model)",
							quote_identifier(schema)),
				   6, types, values, nulls);
	PG_RETURN_VOID();
}

/*
 * sentiment_unregister(source): remove a registration; false when there was
 * none.  Called by sentiment_detach.
 */
Datum
sentiment_unregister(PG_FUNCTION_ARGS)
{
	char	   *schema = sp_extension_schema();
	Oid			source;
	Oid			types[1] = {OIDOID};
	Datum		values[1];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source table must not be null"),
				 errhint("Pass an attached table, see the sentiment_sources table.")));
	source = PG_GETARG_OID(0);
	check_may_attach(schema, "detach", "sentiment_detach");
	check_owner(source);

	values[0] = ObjectIdGetDatum(source);
	PG_RETURN_BOOL(registry_write(psprintf("DELETE FROM %s.sentiment_sources s "
										   "WHERE s.source_table OPERATOR(pg_catalog.=) $1",
										   quote_identifier(schema)),
								  1, types, values, NULL) > 0);
}

/*
 * sentiment_register_grace(source, grace): a table's own grace period for
 * rows claimed outside sentiment_proc (NULL: the setting's).  Only the
 * table's owner may set it.  Called by sentiment_set_foreign_grace.
 */
Datum
sentiment_register_grace(PG_FUNCTION_ARGS)
{
	char	   *schema = sp_extension_schema();
	Oid			types[2] = {OIDOID, INTERVALOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source table must not be null"),
				 errhint("Pass an attached table, see the sentiment_sources table.")));
	values[0] = PG_GETARG_DATUM(0);
	check_owner(PG_GETARG_OID(0));
	if (PG_ARGISNULL(1))
		nulls[1] = 'n';
	else
		values[1] = PG_GETARG_DATUM(1);
	if (registry_write(psprintf("UPDATE %s.sentiment_sources s SET foreign_claim_grace = $2 "
								"WHERE s.source_table OPERATOR(pg_catalog.=) $1",
								quote_identifier(schema)),
					   2, types, values, nulls) == 0)
		sp_error_not_attached(PG_GETARG_OID(0));
	PG_RETURN_VOID();
}

/*
 * sentiment_set_processor(source, processor): who analyses the table.
 * 'server': the background workers and sentiment_process_batch (and any
 * analyser calling sentiment_claim); 'external': only analysers calling
 * sentiment_claim, which would otherwise compete with the workers for the
 * rows.  Only the table's owner may set it (EXECUTE is not PUBLIC's).
 * Returns the processor now in force.
 */
Datum
sentiment_set_processor(PG_FUNCTION_ARGS)
{
	char	   *schema = sp_extension_schema();
	char	   *processor;
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source and processor must not be null"),
				 errhint("Pass an attached table and 'server' or 'external'.")));
	processor = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(processor, "server") != 0 && strcmp(processor, "external") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid processor \"%s\"", processor),
				 errdetail("With 'server' the background workers and sentiment_process_batch analyse the table; "
						   "with 'external' only analysers calling sentiment_claim do."),
				 errhint("Pass 'server' or 'external'.")));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	check_owner(PG_GETARG_OID(0));
	/* the nodes that hold a distributed table's rows process them: they do not read the registry */
	if (strcmp(processor, "external") == 0 && sp_citus_distributed(PG_GETARG_OID(0)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table %s is distributed: it cannot be left to external analysers",
						get_rel_name(PG_GETARG_OID(0))),
				 errdetail("The background workers of the worker nodes process its rows; they do not read the processor."),
				 errhint("sentiment_claim takes its rows through the coordinator beside them; to leave the table to "
						 "external analysers, run no workers for its database on the worker nodes.")));
	if (registry_write(psprintf("UPDATE %s.sentiment_sources s SET processor = $2 "
								"WHERE s.source_table OPERATOR(pg_catalog.=) $1",
								quote_identifier(schema)),
					   2, types, values, NULL) == 0)
		sp_error_not_attached(PG_GETARG_OID(0));
	/* rows left to external analysers until now are the workers' again */
	if (strcmp(processor, "server") == 0)
		sp_wake_all_at_commit();
	PG_RETURN_TEXT_P(cstring_to_text(processor));
}

/*
 * _sentiment_registry_forget_trigger(): AFTER DELETE FOR EACH ROW on
 * sentiment_sources.  The deleted registration's statistics are removed
 * from shared memory when the transaction commits (stats.c).
 */
Datum
sentiment_registry_forget_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		isnull;
	Datum		relid;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_sentiment_registry_forget_trigger() was not called by the trigger manager")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		strcmp(RelationGetRelationName(trigdata->tg_relation), "sentiment_sources") != 0 ||
		RelationGetDescr(trigdata->tg_relation)->natts < 1 ||
		TupleDescAttr(RelationGetDescr(trigdata->tg_relation), 0)->atttypid != REGCLASSOID)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_sentiment_registry_forget_trigger() must be fired AFTER DELETE ... FOR EACH ROW on sentiment_sources")));

	relid = heap_getattr(trigdata->tg_trigtuple, 1, RelationGetDescr(trigdata->tg_relation), &isnull);
	if (!isnull)
		sp_stats_forget_at_commit(DatumGetObjectId(relid));
	return PointerGetDatum(NULL);
}

/*
 * The attached source relid is, or is a partition of (InvalidOid: none),
 * with its side tables (topics, embeddings: may be NULL).  Reads the
 * registry directly through its primary key (no SPI), so a row trigger can
 * ask.  Not a distributed table as a Citus worker node sees it.
 */
Oid
sp_attached_source(Oid relid, Oid *topics, Oid *embeddings)
{
	Oid			nsp;
	Oid			registry;
	Oid			registry_key;
	List	   *rels;
	ListCell   *lc;
	Oid			found = InvalidOid;
	Relation	rel;

	nsp = sp_extension_namespace();
	if (!OidIsValid(nsp))
		return InvalidOid;
	registry = get_relname_relid("sentiment_sources", nsp);
	registry_key = get_relname_relid("sentiment_sources_pkey", nsp);
	if (!OidIsValid(registry) || !OidIsValid(registry_key))
		return InvalidOid;

	rels = list_make1_oid(relid);
	if (get_rel_relispartition(relid))
		rels = list_concat(rels, get_partition_ancestors(relid));

	rel = table_open(registry, AccessShareLock);
	foreach(lc, rels)
	{
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;

		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(lfirst_oid(lc)));
		scan = systable_beginscan(rel, registry_key, true, NULL, 1, &key);
		tup = systable_getnext(scan);
		if (HeapTupleIsValid(tup))
		{
			TupleDesc	desc = RelationGetDescr(rel);
			AttrNumber	t = get_attnum(registry, "topics_table");
			AttrNumber	e = get_attnum(registry, "embeddings_table");
			bool		isnull;

			found = lfirst_oid(lc);
			if (topics != NULL)
				*topics = DatumGetObjectId(heap_getattr(tup, t, desc, &isnull));
			if (embeddings != NULL)
				*embeddings = DatumGetObjectId(heap_getattr(tup, e, desc, &isnull));
		}
		systable_endscan(scan);
		if (OidIsValid(found))
			break;
	}
	table_close(rel, AccessShareLock);
	return found;
}

/* Is relid an attached source, or a partition of one? */
bool
sp_is_attached(Oid relid)
{
	bool		found = OidIsValid(sp_attached_source(relid, NULL, NULL));

	/* a distributed table as a worker node sees it, or a shard of one */
	return found || sp_citus_attached(relid);
}
