/*
 * citus.c - distributed sources on Citus: each node processes the shard
 * placements it holds.
 *
 * sentiment_proc does not link against Citus.  It reads Citus's metadata
 * tables, which Citus keeps on every node (pg_dist_partition, pg_dist_shard,
 * pg_dist_placement, pg_dist_local_group), and resolves shard relations by
 * name through the syscache (to_regclass), never by scanning pg_class, which
 * Citus filters for client backends and other background workers.
 *
 * The coordinator's registry names the distributed table.  A worker node's
 * registry is empty: what it needs of an attached distributed table is
 * published as the arguments of the table's sentiment_text_edit trigger
 * (sentiment_citus_publish in sql/objects/25_citus.sql), which Citus copies
 * to every node, in the same transaction and to nodes added later.
 *
 * A batch of a shard runs as its own local transaction on the node that
 * holds it, with Citus's shard metadata lock held in share mode: a move or
 * split of the shard waits for the batch to commit, and a batch that finds
 * its shard moved away in the meantime does nothing.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

#include "batch.h"

/* What a worker node reads of the published arguments, in this order. */
#define SP_PUBLISHED_NARGS 5

static SPIPlanPtr published_plan = NULL;
static SPIPlanPtr shards_plan = NULL;
static SPIPlanPtr placed_plan = NULL;

/* Is Citus installed in this database? */
bool
sp_citus_present(void)
{
	return OidIsValid(get_extension_oid("citus", true));
}

/* A growing list of sources. */
typedef struct SourceList
{
	SpSource   *items;
	int			n;
	int			max;
} SourceList;

static void
list_push(SourceList *l, const SpSource *src)
{
	if (l->n >= l->max)
	{
		l->max = Max(l->max * 2, 8);
		l->items = l->items ? repalloc(l->items, sizeof(SpSource) * (l->max + 1))
			: palloc0(sizeof(SpSource) * (l->max + 1));
	}
	l->items[l->n++] = *src;
}

/* This node's Citus group: 0 on the coordinator. */
static int
local_group(void)
{
	int			ret = SPI_execute("SELECT groupid FROM pg_catalog.pg_dist_local_group", true, 1);
	bool		isnull;
	int			group;

	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		return 0;
	group = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return isnull ? 0 : group;
}

/* Is this the coordinator of a Citus cluster (or a node without Citus)? */
bool
sp_citus_is_coordinator(void)
{
	return !sp_citus_present() || local_group() == 0;
}

/* Is relid a hash-distributed table?  Reads pg_dist_partition through its key. */
bool
sp_citus_distributed(Oid relid)
{
	Oid			nsp = PG_CATALOG_NAMESPACE;
	Oid			partition = get_relname_relid("pg_dist_partition", nsp);
	Oid			key = get_relname_relid("pg_dist_partition_logical_relid_index", nsp);
	Relation	rel;
	ScanKeyData skey;
	SysScanDesc scan;
	bool		found;

	if (!OidIsValid(partition) || !OidIsValid(key) || !sp_citus_present())
		return false;
	rel = table_open(partition, AccessShareLock);
	ScanKeyInit(&skey, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, key, true, NULL, 1, &skey);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * The distributed table a shard relation belongs to, or InvalidOid.  Shards
 * are named TABLE_SHARDID in the table's schema; the shard id is looked up
 * in pg_dist_shard through its key, so a row trigger can ask cheaply.
 */
Oid
sp_citus_shard_parent(Oid relid)
{
	char	   *name = get_rel_name(relid);
	char	   *sep = name ? strrchr(name, '_') : NULL;
	char	   *end;
	int64		shardid;
	Oid			shard_table = get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE);
	Oid			key = get_relname_relid("pg_dist_shard_shardid_index", PG_CATALOG_NAMESPACE);
	Oid			parent = InvalidOid;
	Relation	rel;
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tup;

	if (sep == NULL || sep[1] == '\0' || !OidIsValid(shard_table) || !OidIsValid(key))
		return InvalidOid;
	errno = 0;
	shardid = strtoi64(sep + 1, &end, 10);
	if (errno != 0 || *end != '\0' || shardid <= 0)
		return InvalidOid;

	rel = table_open(shard_table, AccessShareLock);
	ScanKeyInit(&skey, 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(shardid));
	scan = systable_beginscan(rel, key, true, NULL, 1, &skey);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);

		if (!isnull)
			parent = DatumGetObjectId(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* the same schema, and the name is the parent's with the suffix */
	if (OidIsValid(parent) &&
		(get_rel_namespace(parent) != get_rel_namespace(relid) ||
		 get_rel_name(parent) == NULL ||
		 strncmp(get_rel_name(parent), name, sep - name) != 0 ||
		 strlen(get_rel_name(parent)) != (size_t) (sep - name)))
		parent = InvalidOid;
	return parent;
}

/*
 * The OID of this node's sentiment_text_edit_trigger(), the function of the
 * edit trigger attach creates (InvalidOid: not installed).  Looked up in the
 * syscache, with no privilege check on the schema.
 */
static Oid
edit_trigger_function(void)
{
	Oid			nsp = sp_extension_namespace();

	if (!OidIsValid(nsp))
		return InvalidOid;
	return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
						   CStringGetDatum("sentiment_text_edit_trigger"),
						   PointerGetDatum(buildoidvector(NULL, 0)),
						   ObjectIdGetDatum(nsp));
}

/*
 * Has relid an edit trigger that calls our trigger function?  A trigger of
 * that name calling anything else (any table owner can create one) does not
 * make a table attached.
 */
static bool
has_our_edit_trigger(Oid relid)
{
	Oid			fn = edit_trigger_function();
	Relation	rel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		ours = false;

	if (!OidIsValid(fn))
		return false;
	rel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_trigger_tgname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("sentiment_text_edit"));
	scan = systable_beginscan(rel, TriggerRelidNameIndexId, true, NULL, 2, key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		ours = ((Form_pg_trigger) GETSTRUCT(tup))->tgfoid == fn;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return ours;
}

/*
 * Is relid attached as far as this node can tell without the coordinator's
 * registry: a distributed table with the edit trigger attach publishes (our
 * trigger function, not merely the name), or a shard of one?  (Creating
 * that trigger takes EXECUTE on the function, which attach's grant gives.)
 */
bool
sp_citus_attached(Oid relid)
{
	Oid			parent;

	if (!sp_citus_present())
		return false;
	parent = sp_citus_distributed(relid) ? relid : sp_citus_shard_parent(relid);
	return OidIsValid(parent) && has_our_edit_trigger(parent);
}

/*
 * The relation a published name ("schema"."table", as regclass prints it)
 * names, InvalidOid when none.  Never raises: the name is whatever the
 * table's owner put in the trigger's arguments, read outside any source's
 * subtransaction; and no schema privilege is checked (the workers' role
 * needs none).
 */
static Oid
relid_of_name(const char *name)
{
	char	   *raw = pstrdup(name);
	List	   *names;
	Oid			nsp;

	if (!SplitIdentifierString(raw, '.', &names))
		return InvalidOid;
	if (list_length(names) == 1)
		return RelnameGetRelid((char *) linitial(names));
	if (list_length(names) != 2)
		return InvalidOid;
	nsp = get_namespace_oid((char *) linitial(names), true);
	return OidIsValid(nsp) ? get_relname_relid((char *) lsecond(names), nsp) : InvalidOid;
}

/*
 * Attached distributed tables as a worker node sees them: from the published
 * arguments of their edit trigger (text column, key column, topics table,
 * embeddings table, model).  Appended to sources[*n], which has room for max.
 */
static void
published_sources(SourceList *sources, Oid only)
{
	Oid			fn_type[1] = {OIDOID};
	Datum		fn[1];

	if (published_plan == NULL)
		published_plan = sp_prepare_kept(
			"SELECT t.tgrelid, t.tgargs FROM pg_catalog.pg_dist_partition p "
			"JOIN pg_catalog.pg_trigger t ON t.tgrelid OPERATOR(pg_catalog.=) p.logicalrelid "
			"WHERE p.partmethod OPERATOR(pg_catalog.=) 'h' "
			"AND t.tgname OPERATOR(pg_catalog.=) 'sentiment_text_edit' "
			"AND t.tgfoid OPERATOR(pg_catalog.=) $1 "
			"AND t.tgnargs OPERATOR(pg_catalog.=) 5 ORDER BY 1", 1, fn_type);
	/* only triggers that call our function publish a table (not the name) */
	fn[0] = ObjectIdGetDatum(edit_trigger_function());
	if (SPI_execute_plan(published_plan, fn, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the distributed tables");

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		bytea	   *raw = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		const char *p = VARDATA_ANY(raw);
		const char *end = p + VARSIZE_ANY_EXHDR(raw);
		const char *arg[SP_PUBLISHED_NARGS];
		SpSource	s = {0};
		int			k;

		if (OidIsValid(only) && relid != only)
			continue;
		for (k = 0; k < SP_PUBLISHED_NARGS && p < end; k++)
		{
			arg[k] = p;
			p += strnlen(p, end - p) + 1;
		}
		if (k < SP_PUBLISHED_NARGS)
			continue;
		s.relid = s.logical = relid;
		s.text_column = pstrdup(arg[0]);
		s.id_column = pstrdup(arg[1]);
		s.topics = relid_of_name(arg[2]);
		s.embeddings = relid_of_name(arg[3]);
		/* checked in the source's subtransaction: an unknown one fails it alone */
		s.model_name = pstrdup(arg[4]);
		s.foreign_grace_s = -1;
		if (OidIsValid(s.topics) && OidIsValid(s.embeddings))
			list_push(sources, &s);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * The shard placements this node holds of one distributed source, with the
 * colocated shards of its side tables (the same hash range).  Appended to
 * out[*n].
 */
static void
local_shards(const SpSource *src, SourceList *out)
{
	Oid			types[3] = {OIDOID, OIDOID, OIDOID};
	Datum		args[3] = {ObjectIdGetDatum(src->logical), ObjectIdGetDatum(src->topics),
	ObjectIdGetDatum(src->embeddings)};

	if (shards_plan == NULL)
		shards_plan = sp_prepare_kept(
			"SELECT sh.shardid, "
			"pg_catalog.to_regclass(pg_catalog.shard_name(sh.logicalrelid, sh.shardid, false))::pg_catalog.oid, "
			"pg_catalog.to_regclass(pg_catalog.shard_name(t.logicalrelid, t.shardid, false))::pg_catalog.oid, "
			"pg_catalog.to_regclass(pg_catalog.shard_name(e.logicalrelid, e.shardid, false))::pg_catalog.oid "
			"FROM pg_catalog.pg_dist_shard sh "
			"JOIN pg_catalog.pg_dist_placement pl ON pl.shardid OPERATOR(pg_catalog.=) sh.shardid "
			"JOIN pg_catalog.pg_dist_local_group lg ON lg.groupid OPERATOR(pg_catalog.=) pl.groupid "
			"JOIN pg_catalog.pg_dist_shard t ON t.logicalrelid OPERATOR(pg_catalog.=) $2 "
			" AND t.shardminvalue OPERATOR(pg_catalog.=) sh.shardminvalue "
			"JOIN pg_catalog.pg_dist_shard e ON e.logicalrelid OPERATOR(pg_catalog.=) $3 "
			" AND e.shardminvalue OPERATOR(pg_catalog.=) sh.shardminvalue "
			"WHERE sh.logicalrelid OPERATOR(pg_catalog.=) $1 ORDER BY sh.shardid", 3, types);
	if (SPI_execute_plan(shards_plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the shards of %s", get_rel_name(src->logical));

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		null1, null2, null3, null4;
		int64		shardid = DatumGetInt64(SPI_getbinval(tup, desc, 1, &null1));
		Oid			shard = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &null2));
		Oid			topics = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &null3));
		Oid			embeddings = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &null4));
		SpSource	shard_src = *src;

		/* a placement being created or dropped right now: next batch */
		if (null2 || null3 || null4)
			continue;
		shard_src.relid = shard;
		shard_src.topics = topics;
		shard_src.embeddings = embeddings;
		shard_src.shardid = shardid;
		list_push(out, &shard_src);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * The sources to process on this node: every source that is not
 * distributed as it is, every distributed one replaced by the shard
 * placements this node holds (resolved afresh at every batch, so moves,
 * splits and rebalancing need nothing), and on a worker node the attached
 * distributed tables published to it.  only: the attached table asked for.
 */
SpSource *
sp_citus_sources(SpSource *sources, int *count, Oid only)
{
	SourceList	in = {sources, *count, *count};
	SourceList	out = {0};

	if (!sp_citus_present())
		return sources;
	if (local_group() != 0)
		published_sources(&in, only);

	for (int i = 0; i < in.n; i++)
	{
		if (!sp_citus_distributed(in.items[i].logical))
			list_push(&out, &in.items[i]);
		else
			local_shards(&in.items[i], &out);
	}
	*count = out.n;
	/* (callers may index one past the end, as sp_load_sources allows) */
	return out.items ? out.items : palloc0(sizeof(SpSource));
}

/*
 * Hold the shard's metadata lock in share mode for the rest of the
 * transaction (a move or split takes it exclusively to switch placements),
 * then make sure the placement is still on this node.  Call as the table's
 * owner: Citus lets only the owner take it.  false: moved away, skip it.
 */
bool
sp_citus_hold_shard(int64 shardid)
{
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(shardid)};
	bool		isnull;
	bool		here;

	if (placed_plan == NULL)
		placed_plan = sp_prepare_kept(
			"SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_placement pl "
			"JOIN pg_catalog.pg_dist_local_group lg ON lg.groupid OPERATOR(pg_catalog.=) pl.groupid "
			"WHERE pl.shardid OPERATOR(pg_catalog.=) $1)", 1, types);

	/* 5: ShareLock */
	if (SPI_execute_with_args("SELECT pg_catalog.lock_shard_metadata(5, ARRAY[$1])",
							  1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock shard %lld", (long long) shardid);
	if (SPI_execute_plan(placed_plan, args, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not look up shard %lld", (long long) shardid);
	here = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return here;
}

/*
 * On the coordinator: have every worker node process a batch of its shards,
 * each in its own transaction there (Citus's run_command_on_workers), up to
 * a share of batch_size each.  command(share, arg) gives the statement a
 * node runs for its share (the caller's: this unit knows no batch), which
 * returns the rows it processed; NULL: none.  Returns the rows the nodes
 * processed; a node that fails is reported as a warning.
 */
int64
sp_citus_process_on_workers(char *(*command) (int share, void *arg), void *arg, int batch_size)
{
	char	   *cmd;
	int			nodes;
	int64		done = 0;
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;

	if (SPI_execute("SELECT pg_catalog.count(*)::pg_catalog.int4 FROM pg_catalog.pg_dist_node "
					"WHERE noderole OPERATOR(pg_catalog.=) 'primary' AND isactive "
					"AND groupid OPERATOR(pg_catalog.<>) 0", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_dist_node");
	nodes = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	if (nodes == 0)
		return 0;
	cmd = command(Max(1, (batch_size + nodes - 1) / nodes), arg);
	if (cmd == NULL)
		return 0;
	args[0] = CStringGetTextDatum(cmd);
	if (SPI_execute_with_args("SELECT success, result, nodename OPERATOR(pg_catalog.||) ':' "
							  "OPERATOR(pg_catalog.||) nodeport FROM pg_catalog.run_command_on_workers($1)",
							  1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run batches on the worker nodes");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *result = SPI_getvalue(tup, desc, 2);

		if (DatumGetBool(SPI_getbinval(tup, desc, 1, &isnull)))
			done += pg_strtoint64(result);
		else
			ereport(WARNING,
					(errmsg("sentiment_proc could not process the shards on node %s: %s",
							SPI_getvalue(tup, desc, 3), result ? result : "unknown error"),
					 errdetail("The other nodes were processed."),
					 errhint("The node's own background workers keep processing its shards; see its log.")));
	}
	SPI_freetuptable(SPI_tuptable);
	return done;
}

/* Has the coordinator's registry a distributed source (only: that one)? */
bool
sp_citus_any_distributed(Oid only)
{
	const char *schema = sp_extension_schema_name();
	Oid			types[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(only)};
	bool		isnull;
	bool		any;

	if (schema == NULL || !sp_citus_present())
		return false;
	if (SPI_execute_with_args(psprintf("SELECT EXISTS (SELECT FROM %s.sentiment_sources s "
									   "JOIN pg_catalog.pg_dist_partition p "
									   "ON p.logicalrelid OPERATOR(pg_catalog.=) s.source_table "
									   "WHERE $1 OPERATOR(pg_catalog.=) 0 "
									   "OR s.source_table OPERATOR(pg_catalog.=) $1)",
									   quote_identifier(schema)),
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read sentiment_sources");
	any = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return any;
}
