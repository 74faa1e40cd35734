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
 * (_sentiment_citus_publish in sql/objects/25_citus.sql), which Citus copies
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
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

#include "batch.h"

PG_FUNCTION_INFO_V1(sentiment_citus_wake_nodes);
PG_FUNCTION_INFO_V1(sentiment_citus_wake_after);

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
 * The published arguments of an edit trigger (pg_trigger.tgargs: each
 * argument ends with a NUL): text column, key column, topics table,
 * embeddings table, model.  False unless all of them are there.
 */
static bool
published_args(bytea *tgargs, const char *arg[SP_PUBLISHED_NARGS])
{
	const char *p = VARDATA_ANY(tgargs);
	const char *end = p + VARSIZE_ANY_EXHDR(tgargs);

	for (int k = 0; k < SP_PUBLISHED_NARGS; k++)
	{
		size_t		len = strnlen(p, end - p);

		if (p + len >= end)
			return false;
		arg[k] = p;
		p += len + 1;
	}
	return true;
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
			/* (a partition has the trigger cloned: its rows are the parent shard's) */
			"AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits i "
			"  WHERE i.inhrelid OPERATOR(pg_catalog.=) p.logicalrelid) "
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
		const char *arg[SP_PUBLISHED_NARGS];
		SpSource	s = {0};

		if (OidIsValid(only) && relid != only)
			continue;
		if (!published_args(raw, arg))
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
 * The model a shard's rows are to be analysed with, read after they were
 * claimed: from the shard's own copy of the edit trigger.  Citus changes
 * that copy (sentiment_set_model, a re-attach) in the same local
 * transaction as the shard's rows it re-queues, while the table's copy that
 * published_sources reads is changed in another one, which may commit
 * later: rows claimed from the first must not be analysed with the old
 * model.  A statement of its own, so its snapshot is newer than the
 * claim's.  NULL: no such copy (the table's then holds).
 */
char *
sp_citus_shard_model(Oid shard)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[2] = {OIDOID, OIDOID};
	Datum		args[2] = {ObjectIdGetDatum(shard), ObjectIdGetDatum(edit_trigger_function())};
	char	   *model = NULL;

	if (plan == NULL)
		plan = sp_prepare_kept("SELECT t.tgargs FROM pg_catalog.pg_trigger t "
							   "WHERE t.tgrelid OPERATOR(pg_catalog.=) $1 AND t.tgfoid OPERATOR(pg_catalog.=) $2 "
							   "AND t.tgnargs OPERATOR(pg_catalog.=) 5", 2, types);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the edit trigger of shard %u", shard);
	if (SPI_processed == 1)
	{
		bool		isnull;
		bytea	   *raw = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		const char *arg[SP_PUBLISHED_NARGS];

		if (published_args(raw, arg))
			model = pstrdup(arg[SP_PUBLISHED_NARGS - 1]);
	}
	SPI_freetuptable(SPI_tuptable);
	return model;
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
 * On the coordinator: run cmd on worker nodes, each in a transaction of its
 * own there (Citus's master_run_on_worker, over its connections, as the
 * caller, in parallel), and add up the bigint each returns.  placed_only:
 * only the nodes holding shards of source (InvalidOid: of any attached
 * distributed table); otherwise every active worker node.  A node that
 * fails gets a warning (what it could not do, and hint), never an error:
 * the other nodes did their part.
 */
static int64
run_on_nodes(const char *cmd, bool placed_only, Oid source, const char *what, const char *hint)
{
	const char *schema = sp_extension_schema();
	Oid			types[2] = {TEXTOID, OIDOID};
	Datum		args[2] = {CStringGetTextDatum(cmd), ObjectIdGetDatum(source)};
	int64		done = 0;
	bool		isnull;
	char	   *sql;

	if (schema == NULL)
		return 0;
	sql = psprintf(
		"SELECT r.success, r.result, r.node_name OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) r.node_port "
		"FROM (SELECT pg_catalog.array_agg(n.nodename::pg_catalog.text ORDER BY n.nodeid) AS names, "
		"  pg_catalog.array_agg(n.nodeport ORDER BY n.nodeid) AS ports, "
		"  pg_catalog.array_agg($1 ORDER BY n.nodeid) AS cmds "
		"  FROM pg_catalog.pg_dist_node n WHERE n.noderole OPERATOR(pg_catalog.=) 'primary' AND n.isactive "
		"  AND n.groupid OPERATOR(pg_catalog.<>) 0 AND (%s OR EXISTS (SELECT FROM pg_catalog.pg_dist_placement p "
		"    JOIN pg_catalog.pg_dist_shard s ON s.shardid OPERATOR(pg_catalog.=) p.shardid "
		"    WHERE p.groupid OPERATOR(pg_catalog.=) n.groupid AND (s.logicalrelid OPERATOR(pg_catalog.=) $2 "
		"    OR $2 OPERATOR(pg_catalog.=) 0 AND s.logicalrelid IN (SELECT source_table FROM %s.sentiment_sources))))) a, "
		"LATERAL pg_catalog.master_run_on_worker(a.names, a.ports, a.cmds, true) r "
		"WHERE a.names IS NOT NULL",
		placed_only ? "false" : "true", quote_identifier(schema));
	if (SPI_execute_with_args(sql, 2, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run commands on the worker nodes");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *result = SPI_getvalue(tup, desc, 2);

		if (DatumGetBool(SPI_getbinval(tup, desc, 1, &isnull)))
			done += (result && *result) ? pg_strtoint64(result) : 0;
		else
			ereport(WARNING,
					(errmsg("sentiment_proc could not %s on node %s: %s",
							what, SPI_getvalue(tup, desc, 3), result ? result : "unknown error"),
					 errdetail("The other nodes did their part."),
					 errhint("%s", hint)));
	}
	SPI_freetuptable(SPI_tuptable);
	return done;
}

/* The name of source for a command, quoted as a literal; "NULL" for none. */
static char *
source_literal(Oid source)
{
	if (!OidIsValid(source))
		return "NULL";
	return psprintf("%s::pg_catalog.regclass",
					quote_literal_cstr(sp_qualified_name(source)));
}

/*
 * On the coordinator: have every worker node process a batch of its shards,
 * each in its own transaction there, up to a share of batch_size each.
 * command(share, arg) gives the statement a node runs for its share (the
 * caller's: this unit knows no batch), which returns the rows it processed;
 * NULL: none.  Returns the rows the nodes processed.
 */
int64
sp_citus_process_on_workers(char *(*command) (int share, void *arg), void *arg, int batch_size)
{
	char	   *cmd;
	int			nodes;
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
	return run_on_nodes(cmd, false, InvalidOid, "process the shards",
						"The node's own background workers keep processing its shards; see its log.");
}

/*
 * On the coordinator: sentiment_reset_stuck on every worker node, for the
 * claims of the shards it holds (the coordinator holds none), each in its
 * own transaction there, which wakes that node's workers as it commits.
 * Returns the claims the nodes returned.
 */
int64
sp_citus_reset_on_workers(Oid source, bool force)
{
	const char *schema = sp_extension_schema();

	return run_on_nodes(psprintf("SELECT %s.sentiment_reset_stuck(%s, %s)", quote_identifier(schema),
								 source_literal(source), force ? "true" : "false"),
						false, source, "return abandoned claims",
						"The node's workers return them at their next upkeep (sentiment_proc.upkeep_interval); see its log.");
}

/*
 * On the coordinator, after rows of distributed tables went back to pending
 * in the current transaction (sentiment_retry_failed, sentiment_enqueue):
 * wake the workers of the nodes holding their shards once it commits.  The
 * nodes cannot be told at commit (nothing may fail then), so each node is
 * told now which Citus transaction to wait for
 * (sentiment_citus_wake_after); its workers start a batch as soon as that
 * transaction's part on the node has ended, committed or not.  A node that
 * cannot be told gets a warning; its rows wait for its poll interval.
 */
void
sp_citus_wake_nodes(Oid source)
{
	int64		gpid;
	int64		number;
	bool		isnull;

	if (!sp_citus_present() || sp_am_worker)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* (only the nodes holding shards of source are asked: run_on_nodes) */
	if (local_group() == 0)
	{
		/* (the nodes know the transaction by this backend's global pid and its number) */
		if (SPI_execute("SELECT pg_catalog.citus_backend_gpid(), transaction_number "
						"FROM pg_catalog.get_current_transaction_id()", true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "could not read the Citus transaction");
		gpid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		number = isnull ? 0 : DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		SPI_freetuptable(SPI_tuptable);
		run_on_nodes(psprintf("SELECT %s.sentiment_citus_wake_after(%lld, %lld)",
							  quote_identifier(sp_extension_schema()),
							  (long long) gpid, (long long) (isnull ? 0 : number)),
					 true, source, "wake the workers",
					 "Its rows wait for its poll interval (sentiment_proc.worker_poll_interval), "
					 "or for SELECT sentiment_citus_wake_nodes() once it can be reached.");
	}
	SPI_finish();
}

/*
 * sentiment_enqueue of a distributed table, on the coordinator.  The
 * processing queue is not distributed, so the rows asked for (ids; NULL:
 * every row) that are completed or failed go back to pending, through
 * Citus, as the table's owner (sentiment_source_sql statement requeue,
 * which checks the caller's UPDATE on the table), and their nodes' workers
 * are woken once the transaction commits.  Returns the rows set back.
 */
int64
sp_citus_requeue(Oid source, Datum ids, bool ids_null)
{
	Oid			types[2] = {REGCLASSOID, INT8ARRAYOID};
	Datum		args[2] = {ObjectIdGetDatum(source), ids};
	char		nulls[2] = {' ', ids_null ? 'n' : ' '};
	bool		isnull;
	int64		n;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(psprintf("SELECT u.n FROM %s.sentiment_source_sql($1, 'requeue', "
									   "pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('ids', "
									   "pg_catalog.to_jsonb($2)))) AS u(n pg_catalog.int8)",
									   quote_identifier(sp_extension_schema())),
							  2, types, args, nulls, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not set the rows of %s back to pending", get_rel_name(source));
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (n > 0)
		sp_citus_wake_nodes(source);
	return n;
}

/* sentiment_citus_wake_nodes(source regclass DEFAULT NULL): the same, from SQL */
Datum
sentiment_citus_wake_nodes(PG_FUNCTION_ARGS)
{
	sp_citus_wake_nodes(PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0));
	PG_RETURN_VOID();
}

/*
 * sentiment_citus_wake_after(global_pid bigint, transaction_number bigint),
 * on a worker node: start a batch here once this node's part of that Citus
 * transaction (of the coordinator's backend global_pid) has ended (its local transactions, prepared ones until
 * COMMIT PREPARED).  With none in progress (it wrote nothing here, or has
 * committed already), at once.  Only wakes: anyone may call it.
 */
Datum
sentiment_citus_wake_after(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {INT8OID, INT8OID, OIDOID};
	Datum		args[3] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), ObjectIdGetDatum(MyDatabaseId)};
	SpOwnerSwitch sw;
	uint64		watched = 0;
	int			ret;

	if (!sp_citus_present() || PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_GETARG_INT64(1) == 0)
	{
		sp_wake_all_at_commit();
		PG_RETURN_VOID();
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the transaction's backends here run as whoever wrote (a table's owner) */
	sp_as_extension_owner(&sw);
	ret = SPI_execute_with_args("SELECT a.backend_xid FROM pg_catalog.get_all_active_transactions() t "
								"JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) t.process_id "
								"WHERE t.datid OPERATOR(pg_catalog.=) $3 "
								"AND t.global_pid OPERATOR(pg_catalog.=) $1 "
								"AND t.transaction_number OPERATOR(pg_catalog.=) $2 AND a.backend_xid IS NOT NULL",
								3, types, args, NULL, true, 0);
	sp_restore_user(&sw);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the Citus transactions");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		xid = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			sp_wake_after_xid(DatumGetTransactionId(xid));
			watched++;
		}
	}
	SPI_finish();
	if (watched == 0)
		sp_wake_all_at_commit();
	PG_RETURN_VOID();
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
