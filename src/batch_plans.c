/*
 * batch_plans.c - the statements a batch runs, prepared once per source.
 *
 * Reads the registry, and builds and keeps the prepared statements of each
 * source: the claim, the queue's claim, the result UPDATE and the side-table
 * writes.  They are kept for the life of the backend and rebuilt only when a
 * table or column was renamed (the plan cache handles other DDL).  Names are
 * quoted and every function, cast and operator is schema-qualified, so the
 * search_path in force (a worker's, a hostile one) cannot change what runs;
 * plans are generic, so a batch's arrays never turn an index probe into a
 * hash of the whole table.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "batch.h"
#include "result_row.h"

static SpPlans *plan_cache = NULL;

static SPIPlanPtr registry_plan = NULL;
static char *registry_schema = NULL;
static bool registry_has_model = false;


/* "schema"."name" of a relation, NULL when it is gone. */
static char *
qualified_name(Oid relid)
{
	char	   *rel = get_rel_name(relid);
	char	   *nsp;

	if (rel == NULL)
		return NULL;
	nsp = get_namespace_name(get_rel_namespace(relid));
	return quote_qualified_identifier(nsp, rel);
}

/*
 * Read the registry (every source, or just one).  Called with SPI connected;
 * results are allocated in the SPI procedure context.
 */
SpSource *
sp_load_sources(Oid only, int *count)
{
	char	   *schema = sp_extension_schema();
	SpSource   *sources;
	int			n = 0;

	/*
	 * Before ALTER EXTENSION ... UPDATE the registry has neither the model
	 * nor the grace column (both 1.2): every source then uses VADER and the
	 * setting's grace, as before.
	 */
	Oid			registry = get_relname_relid("sentiment_sources", get_namespace_oid(schema, false));
	bool		has_model = get_attnum(registry, "sentiment_model") != InvalidAttrNumber;

	if (registry_plan == NULL || registry_schema == NULL || strcmp(registry_schema, schema) != 0 ||
		registry_has_model != has_model)
	{
		char	   *sql = psprintf("SELECT source_table::pg_catalog.oid, id_column::pg_catalog.text, "
								   "text_column::pg_catalog.text, topics_table::pg_catalog.oid, "
								   "embeddings_table::pg_catalog.oid, %s, %s "
								   "FROM %s.sentiment_sources ORDER BY 1",
								   has_model ? "sentiment_model::pg_catalog.text" : "'vader'::pg_catalog.text",
								   has_model ? "COALESCE(pg_catalog.date_part('epoch', foreign_claim_grace), -1)"
								   : "-1::pg_catalog.float8",
								   quote_identifier(schema));

		if (registry_plan != NULL)
			SPI_freeplan(registry_plan);
		registry_plan = NULL;
		if (registry_schema != NULL)
			pfree(registry_schema);
		registry_schema = NULL;
		registry_plan = sp_prepare_kept(sql, 0, NULL);
		registry_schema = MemoryContextStrdup(TopMemoryContext, schema);
		registry_has_model = has_model;
	}

	if (SPI_execute_plan(registry_plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read sentiment_sources");

	sources = palloc0(sizeof(SpSource) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		SpSource   *s = &sources[n];

		s->relid = s->logical = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		if (OidIsValid(only) && s->relid != only)
			continue;
		/* a registration left behind by a relation that is gone: not a source */
		if (get_rel_name(s->relid) == NULL)
			continue;
		s->id_column = SPI_getvalue(tup, desc, 2);
		s->text_column = SPI_getvalue(tup, desc, 3);
		s->topics = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
		s->embeddings = DatumGetObjectId(SPI_getbinval(tup, desc, 5, &isnull));
		s->model = sp_model_by_name(SPI_getvalue(tup, desc, 6));
		s->foreign_grace_s = DatumGetFloat8(SPI_getbinval(tup, desc, 7, &isnull));
		n++;
	}
	SPI_freetuptable(SPI_tuptable);
	*count = n;
	/* on Citus: distributed sources as the shards this node holds */
	return sp_citus_sources(sources, count, only);
}

/* The extension's schema as of the last sp_load_sources(). */
const char *
sp_registry_schema(void)
{
	return registry_schema;
}


/*
 * The cache entry of a source.  *ready when its kept statements still match
 * key; otherwise a new entry, or the old one with its statements dropped (a
 * table or column was renamed, or an earlier build failed half-way).
 */
static SpPlans *
cache_entry(Oid relid, const char *key, bool *ready)
{
	SpPlans    *p;
	SPIPlanPtr *all[9];

	for (p = plan_cache; p != NULL; p = p->next)
		if (p->relid == relid)
			break;
	*ready = (p != NULL && p->key != NULL && strcmp(p->key, key) == 0);
	if (*ready)
		return p;
	if (p == NULL)
	{
		p = MemoryContextAllocZero(TopMemoryContext, sizeof(SpPlans));
		p->relid = relid;
		p->next = plan_cache;
		plan_cache = p;
		return p;
	}
	all[0] = &p->claim;
	all[1] = &p->queue_take;
	all[2] = &p->claim_queued;
	all[3] = &p->exists;
	all[4] = &p->update;
	all[5] = &p->delete_topics;
	all[6] = &p->delete_embeddings;
	all[7] = &p->insert_topics;
	all[8] = &p->insert_embeddings;
	for (int i = 0; i < lengthof(all); i++)
	{
		if (*all[i] != NULL)
			SPI_freeplan(*all[i]);
		*all[i] = NULL;
	}
	if (p->key != NULL)
		pfree(p->key);
	p->key = NULL;
	return p;
}

/* The claim statements: due retries and pending rows, queued requests. */
static void
prepare_claims(SpPlans *p, const char *rel, const char *id, const char *txt,
			   const char *ext, bool legacy, bool has_queue)
{
	Oid			claim_types[2] = {INT4OID, INT8ARRAYOID};
	Oid			queue_types[2] = {OIDOID, INT4OID};
	Oid			ids_types[1] = {INT8ARRAYOID};
	char	   *sql;
	const char *cols = psprintf("s.%s::pg_catalog.int8, s.%s::pg_catalog.text, "
								"s.author_followers::pg_catalog.int8, s.likes::pg_catalog.int8, "
								"s.shares::pg_catalog.int8, s.replies::pg_catalog.int8, "
								"s.processing_completed_at IS NOT NULL, s.processing_attempts::pg_catalog.int4",
								id, txt);

	/*
	 * Due retries, then pending rows, each through its own partial index
	 * (the retry index and the claim index that sentiment_attach creates);
	 * $2 holds rows this batch already took from the queue.
	 */
	if (legacy)
		sql = psprintf("SELECT %s FROM %s AS s "
					   "WHERE s.processing_status OPERATOR(pg_catalog.=) 'pending' "
					   "AND s.%s OPERATOR(pg_catalog.<>) ALL ($2) "
					   "ORDER BY s.%s LIMIT $1 FOR NO KEY UPDATE OF s SKIP LOCKED",
					   cols, rel, id, id);
	else
	sql = psprintf("SELECT * FROM (SELECT %s FROM %s AS s "
				   "WHERE s.processing_status OPERATOR(pg_catalog.=) 'failed' "
				   "AND s.processing_retry_at OPERATOR(pg_catalog.<=) pg_catalog.now() "
				   "AND s.%s OPERATOR(pg_catalog.<>) ALL ($2) "
				   "ORDER BY s.processing_retry_at LIMIT $1 FOR NO KEY UPDATE OF s SKIP LOCKED) AS r "
				   "UNION ALL "
				   "SELECT * FROM (SELECT %s FROM %s AS s "
				   "WHERE s.processing_status OPERATOR(pg_catalog.=) 'pending' "
				   "AND s.%s OPERATOR(pg_catalog.<>) ALL ($2) "
				   "ORDER BY s.%s LIMIT $1 FOR NO KEY UPDATE OF s SKIP LOCKED) AS p "
				   "LIMIT $1",
				   cols, rel, id, cols, rel, id, id);
	p->claim = sp_prepare_kept(sql, 2, claim_types);

	/* The queue is the extension's own table: quoted schema, fixed names. */
	sql = psprintf("SELECT q.request_id, q.entry_id FROM %s.sentiment_processing_queue AS q "
				   "WHERE q.status OPERATOR(pg_catalog.=) 'queued' "
				   "AND q.source_table OPERATOR(pg_catalog.=) $1::pg_catalog.regclass "
				   "ORDER BY q.priority DESC, q.request_id LIMIT $2 FOR UPDATE OF q SKIP LOCKED",
				   ext);
	p->queue_take = has_queue && !legacy ? sp_prepare_kept(sql, 2, queue_types) : NULL;

	/* rows held by a two-phase claimant wait for it */
	sql = psprintf("SELECT %s FROM %s AS s WHERE s.%s OPERATOR(pg_catalog.=) ANY ($1) "
				   "AND s.processing_status OPERATOR(pg_catalog.<>) 'processing' "
				   "ORDER BY s.%s FOR NO KEY UPDATE OF s SKIP LOCKED",
				   cols, rel, id, id);
	p->claim_queued = sp_prepare_kept(sql, 1, ids_types);

	sql = psprintf("SELECT s.%s::pg_catalog.int8 FROM %s AS s WHERE s.%s OPERATOR(pg_catalog.=) ANY ($1)",
				   id, rel, id);
	p->exists = sp_prepare_kept(sql, 1, ids_types);

}

/* The write statements: results and statuses (result_row.c), side rows. */
static void
prepare_writes(SpPlans *p, const char *rel, const char *topics, const char *emb,
			   const char *lane, const char *emb_cast, const char *id, const char *ext, SpShape shape)
{
	Oid			delete_types[1] = {INT8ARRAYOID};
	Oid			topic_types[4] = {INT8ARRAYOID, TEXTARRAYOID, FLOAT4ARRAYOID, FLOAT4ARRAYOID};
	Oid			emb_types[4] = {INT8ARRAYOID, FLOAT4ARRAYOID, INT4ARRAYOID, INT4ARRAYOID};
	Oid		   *update_types;
	int			nupdate;
	char	   *sql;

	/* the columns a table of this shape has, as result_row.c describes them */
	sql = sp_result_update_sql(rel, id, ext, shape, &nupdate, &update_types);
	p->update = sp_prepare_kept(sql, nupdate, update_types);

	sql = psprintf("DELETE FROM %s WHERE mention_id OPERATOR(pg_catalog.=) ANY ($1)", topics);
	p->delete_topics = sp_prepare_kept(sql, 1, delete_types);

	/* (with a lane: a staged embedding goes with the indexed one) */
	if (lane != NULL)
		sql = psprintf("WITH staged AS (DELETE FROM %s WHERE entry_id OPERATOR(pg_catalog.=) ANY ($1)) "
					   "DELETE FROM %s WHERE entry_id OPERATOR(pg_catalog.=) ANY ($1)", lane, emb);
	else
		sql = psprintf("DELETE FROM %s WHERE entry_id OPERATOR(pg_catalog.=) ANY ($1)", emb);
	p->delete_embeddings = sp_prepare_kept(sql, 1, delete_types);

	sql = psprintf("INSERT INTO %s (mention_id, topic_key, weight, sentiment) "
				   "SELECT u.id, u.topic, u.weight, u.sentiment "
				   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
				   "pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(id, topic, weight, sentiment) "
				   "ON CONFLICT (mention_id, topic_key) DO UPDATE "
				   "SET weight = excluded.weight, sentiment = excluded.sentiment",
				   topics);
	p->insert_topics = sp_prepare_kept(sql, 4, topic_types);

	/*
	 * $2 holds every embedding end to end; $3/$4 bound each row's slice,
	 * cast to the column's pgvector type when it has one (emb_cast).  With
	 * a lane (embedding_lane.c) they go there as real[], at the real[] cost,
	 * and the workers move them into the HNSW-indexed table later.
	 */
	sql = psprintf("INSERT INTO %s (entry_id, embedding) "
				   "SELECT u.id, $2[u.lo:u.hi]%s "
				   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($3), "
				   "pg_catalog.unnest($4)) AS u(id, lo, hi) "
				   "ON CONFLICT (entry_id) DO UPDATE SET embedding = excluded.embedding",
				   lane != NULL ? lane : emb, lane != NULL ? "" : emb_cast);
	p->insert_embeddings = sp_prepare_kept(sql, 4, emb_types);

}

/*
 * The cast the embeddings INSERT needs: none for a real[] column (nor for a
 * missing one: the INSERT then fails as it always did), else "::schema.type"
 * of the column's type, always schema-qualified, without its dimension,
 * which the column itself enforces (pgvector's vector and halfvec cast from
 * real[]).
 */
static char *
embedding_cast(Oid embeddings)
{
	AttrNumber	att = get_attnum(embeddings, "embedding");
	Oid			type;

	if (att == InvalidAttrNumber)
		return "";
	type = get_atttype(embeddings, att);
	if (type == FLOAT4ARRAYOID || !OidIsValid(type))
		return "";
	return psprintf("::%s", format_type_extended(type, -1, FORMAT_TYPE_FORCE_QUALIFY));
}

/*
 * The prepared statements for a source, built on first use and rebuilt
 * when a table or column was renamed since (the plan cache handles other
 * DDL).  Returns NULL when one of the tables no longer exists.
 */
SpPlans *
sp_source_plans(const SpSource *src)
{
	char	   *rel = qualified_name(src->relid);
	char	   *topics = qualified_name(src->topics);
	char	   *emb = qualified_name(src->embeddings);
	const char *ext = quote_identifier(registry_schema);
	const char *id;
	const char *txt;
	char	   *emb_cast;
	Oid			lane_oid;
	char	   *lane;
	SpShape		shape;
	char	   *key;
	SpPlans    *p;
	bool		ready;

	if (rel == NULL || topics == NULL || emb == NULL)
		return NULL;
	id = quote_identifier(src->id_column);
	txt = quote_identifier(src->text_column);

	/*
	 * Between installing a new library and ALTER EXTENSION ... UPDATE, the
	 * sources and the extension have their old shape: process them as that
	 * version did (1.0: no retry times, no error history, no queue) until
	 * the update.
	 */
	shape = sp_table_shape(src->relid);
	/* a converted embeddings column (sentiment_convert_embeddings) is a new key */
	emb_cast = embedding_cast(src->embeddings);
	/* so is a lane made or dropped (embedding_lane.c) */
	lane_oid = sp_embedding_lane(src->embeddings);
	lane = OidIsValid(lane_oid) ? qualified_name(lane_oid) : NULL;
	key = psprintf("%s|%s|%s|%s|%s|%s|%s|%s|%d", rel, topics, emb, emb_cast, lane ? lane : "", id, txt,
				   registry_schema, (int) shape);

	p = cache_entry(src->relid, key, &ready);
	if (ready)
		return p;
	prepare_claims(p, rel, id, txt, ext, shape < SP_SHAPE_1_1, shape >= SP_SHAPE_1_1);
	prepare_writes(p, rel, topics, emb, lane, emb_cast, id, ext, shape);
	p->shape = shape;
	p->key = MemoryContextStrdup(TopMemoryContext, key);
	return p;
}
