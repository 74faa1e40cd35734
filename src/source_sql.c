/*
 * source_sql.c - the SQL functions' statements on attached tables, run as
 * the table's owner.
 *
 * Monitoring (sentiment_queue_status, sentiment_failures, sentiment_stuck,
 * sentiment_cutover, sentiment_completions, sentiment_summary,
 * sentiment_error_history) and maintenance
 * (sentiment_retry_failed, re-attaching, sentiment_set_model), the
 * two-phase path (sentiment_claim .. sentiment_release) and
 * sentiment_similar are plpgsql run by whoever calls them, often a
 * superuser, a pg_monitor dashboard or an analyser role shared by tenants.
 * Whatever reads or writes a tenant's table runs code the tenant wrote:
 * triggers, CHECK constraints, defaults, and the casts and operators of
 * column types the tenant can change.  So those statements are not run as
 * the caller: sentiment_source_sql(source, statement, args) runs one of the
 * fixed statements below, by name, as the table's owner in a
 * security-restricted operation with the pinned search_path and the source
 * lock timeout (sp_as_table_owner, as the batch does), after checks made
 * as the caller:
 *   - the relation is a table (a view or foreign table is refused);
 *   - the caller holds SELECT on it (reads) or UPDATE (writes), and no
 *     row-level security applies to the caller (the owner would see more);
 *   - every column attach created still has a type attach accepts
 *     (sentiment_source_problem): a tenant's enum or domain with a cast of
 *     its own is never read;
 *   - no FORCE ROW LEVEL SECURITY (the owner's policies would run);
 *   - a statement on the topics table: SELECT on that table too;
 *   - writes only: no deferrable trigger or exclusion constraint, whose
 *     code would run at commit as whoever commits.
 * The table is locked first (with the source lock timeout), so that the
 * checks hold for the statement.  The statement runs in a subtransaction
 * under the source timeout, as a batch's share does; what the table's code
 * raises is the table's error, and 57014 or P0004 from it comes back as
 * SP014, which the callers' EXCEPTION WHEN OTHERS catches.
 * A refused or locked table raises an error with its own SQLSTATE; the
 * monitoring functions skip it with a warning.  The statements are fixed:
 * the function is no way to run arbitrary SQL as someone else.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"
#include "utils/syscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "batch.h"
#include "result_row.h"
#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_source_sql);
PG_FUNCTION_INFO_V1(sentiment_source_problem);

/*
 * A statement on an attached table.  In sql, {t} stands for the table, {id}
 * for its id column, {text} for its text column, {topics} and {embeddings}
 * for its side tables, {vtype} and {vschema} for the type of the embedding
 * column and that type's schema, and {ext} for the extension's schema, all
 * quoted; $1 is the args jsonb (NULLs stripped by the caller), $2 the
 * table's OID (regclass).
 */
typedef struct SourceStatement
{
	const char *name;
	bool		write;			/* UPDATE on the table (else SELECT) */
	bool		attach;			/* attach's own: the caller owns the table, registered or not */
	const char *created_at;		/* "created_at" when read (must be a timestamp) */
	const char *sql;
} SourceStatement;

/* the bigint[] of an array of args, and the query embedding of sentiment_similar */
/* (an expression, not a subquery: Citus runs it in a distributed UPDATE's WHERE) */
#define SP_IDS(key) "pg_catalog.translate(($1->'" key "')::text, '[]', '{}')::int8[]"
#define SP_VECTOR "ARRAY(SELECT jsonb_array_elements_text($1->'vector')::float4)"
/* sentiment_complete's results: $3 from C (two_phase.c: not copied into $1), else $1->'results' */
#define SP_RESULTS "COALESCE($3, $1->'results')"

/*
 * A row still claimed by $1->>'claim'.  Hidden from the planner in a
 * COALESCE: statistics taken between claims show next to no 'processing'
 * rows, and the planner would then start from the partial index of those
 * and rescan the results for each (a nested loop: 0.2 to 0.85 s for 1,000
 * rows); this way the rows are found by the primary key.
 */
#define SP_STILL_CLAIMED \
	"  AND COALESCE(s.processing_status = 'processing' AND s.processing_claimed_by = $1->>'claim', false) "

/* sentiment_claim's rows (c: cid, ord) taken by $1->>'claim', returned in the order taken */
#define SP_CLAIM_SET \
	"u AS (UPDATE {t} AS s SET processing_status = 'processing', " \
	"  processing_started_at = clock_timestamp(), processing_completed_at = NULL, " \
	"  processing_lease_until = clock_timestamp() + ($1->>'lease')::interval, " \
	"  processing_claimed_by = $1->>'claim', " \
	"  processing_attempts = s.processing_attempts + 1, processing_retry_at = NULL "
#define SP_CLAIM_RETURNING \
	"RETURNING $2 AS source_table, s.{id}::bigint AS id, s.{text}::text AS text, " \
	"  s.version::integer AS version, s.processing_attempts::integer AS attempts, " \
	"  $1->>'claim' AS claim, s.processing_lease_until AS lease_until, " \
	"  s.author_followers::bigint AS author_followers, s.likes::bigint AS likes, " \
	"  s.shares::bigint AS shares, s.replies::bigint AS replies, c.ord) " \
	"SELECT source_table, id, text, version, attempts, claim, lease_until, author_followers, likes, " \
	"shares, replies FROM u ORDER BY u.ord"

/* sentiment_fail's row: failed, its results and claim cleared (result_row.c) */
#define SP_FAIL_SET "u AS (UPDATE {t} AS s SET {fail_set}, "

/* after complete or fail (u: id, at): the rows' old topics and embedding gone; ids and start times */
#define SP_FINISHED_SIDE_ROWS \
	"dt AS (DELETE FROM {topics} WHERE mention_id IN (SELECT u.id FROM u)), " \
	"de AS (DELETE FROM {embeddings} WHERE entry_id IN (SELECT u.id FROM u)){lane_delete} " \
	"SELECT COALESCE(array_agg(u.id), '{}'), COALESCE(array_agg(u.at), '{}') FROM u"

static const SourceStatement statements[] = {
	/* sentiment_queue_status: counts through the partial indexes, estimate */
	{"queue_counts", false, false, NULL,
		"SELECT (SELECT count(*) FROM (SELECT 1 FROM {t} WHERE processing_status = 'pending' "
		"  LIMIT ($1->>'limit')::int8) q), "
		"(SELECT count(*) FROM (SELECT 1 FROM {t} WHERE processing_status = 'processing' "
		"  LIMIT ($1->>'limit')::int8) q), "
		"(SELECT count(*) FROM (SELECT 1 FROM {t} WHERE processing_status = 'failed' "
		"  LIMIT ($1->>'limit')::int8) q), "
		"(SELECT min(processing_started_at)::timestamptz FROM {t} WHERE processing_status = 'processing'), "
		/* the table itself, or every leaf of a partitioned one; -1: never analysed */
		"(SELECT sum(c.reltuples) FILTER (WHERE c.reltuples >= 0)::float8 FROM pg_class c "
		"  WHERE c.relkind = 'r' AND (c.oid = $2 OR c.oid IN (SELECT t.relid FROM pg_partition_tree($2) t WHERE t.isleaf))), "
		"(SELECT bool_or(c.reltuples < 0) FROM pg_class c "
		"  WHERE c.relkind = 'r' AND (c.oid = $2 OR c.oid IN (SELECT t.relid FROM pg_partition_tree($2) t WHERE t.isleaf)))"},
	{"oldest_pending", false, false, "created_at",
		"SELECT created_at::timestamptz FROM {t} WHERE processing_status = 'pending' ORDER BY {id} LIMIT 1"},
	/* sentiment_failures */
	{"failures", false, false, NULL,
		"SELECT processing_error::text, count(*), min(processing_completed_at)::timestamptz, "
		"max(processing_completed_at)::timestamptz, max(processing_attempts)::int4, min({id})::int8 "
		"FROM {t} WHERE processing_status = 'failed' "
		"GROUP BY processing_error ORDER BY count(*) DESC, processing_error"},
	/* sentiment_stuck */
	{"stuck", false, false, NULL,
		"SELECT q.id, q.reason, q.claimed_by, q.started_at, q.lease_until, "
		"now() - CASE WHEN q.reason = 'lease expired' THEN q.lease_until "
		"  WHEN q.reason = 'claimed outside sentiment_proc' THEN q.started_at + ($1->>'grace')::interval "
		"  ELSE q.started_at END, q.attempts "
		"FROM (SELECT {id}::int8 AS id, processing_claimed_by::text AS claimed_by, "
		"      processing_started_at::timestamptz AS started_at, "
		"      processing_lease_until::timestamptz AS lease_until, "
		"      processing_attempts::int4 AS attempts, CASE "
		"        WHEN processing_claimed_by IS NULL THEN CASE "
		"          WHEN processing_started_at < now() - ($1->>'grace')::interval "
		"          AND (processing_completed_at IS NULL OR processing_started_at > processing_completed_at) "
		"          THEN 'claimed outside sentiment_proc' END "
		"        WHEN processing_lease_until IS NULL THEN 'no claimant or lease' "
		"        WHEN NOT {ext}.sentiment_claimant_alive(processing_claimed_by::text) THEN 'claimant gone' "
		"        WHEN processing_lease_until < now() THEN 'lease expired' END AS reason "
		"      FROM {t} WHERE processing_status = 'processing') AS q "
		"WHERE q.reason IS NOT NULL "
		"ORDER BY q.lease_until NULLS FIRST, q.started_at LIMIT ($1->>'max_rows')::int4"},
	/* sentiment_cutover: claims of ours and claims made elsewhere */
	{"cutover", false, false, NULL,
		"SELECT count(*) FILTER (WHERE processing_claimed_by IS NOT NULL), "
		"count(*) FILTER (WHERE processing_claimed_by IS NULL), "
		"count(*) FILTER (WHERE processing_claimed_by IS NULL "
		"  AND processing_started_at < now() - ($1->>'grace')::interval "
		"  AND (processing_completed_at IS NULL OR processing_started_at > processing_completed_at)), "
		"(min(processing_started_at) FILTER (WHERE processing_claimed_by IS NULL))::timestamptz "
		"FROM {t} WHERE processing_status = 'processing'"},
	/* sentiment_completions */
	{"completions", false, false, NULL,
		"SELECT CASE WHEN processing_attempts > 0 THEN 'sentiment_proc' ELSE 'other' END, count(*), "
		"min(processing_completed_at)::timestamptz, max(processing_completed_at)::timestamptz "
		"FROM {t} WHERE processing_status = 'completed' "
		"AND ($1->>'since' IS NULL OR processing_completed_at >= ($1->>'since')::timestamptz) "
		"GROUP BY 1 ORDER BY 1"},
	/* sentiment_summary: (item, rows) */
	{"summary_total", false, false, NULL,
		"SELECT NULL::text, count(*) FROM {t}"},
	{"summary_status", false, false, NULL,
		"SELECT processing_status::text, count(*) FROM {t} GROUP BY 1 ORDER BY 2 DESC, 1"},
	{"summary_sentiment", false, false, NULL,
		"SELECT sentiment_label::text, count(*) FROM {t} WHERE processing_status = 'completed' "
		"GROUP BY 1 ORDER BY 2 DESC, 1"},
	{"summary_emotion", false, false, NULL,
		"SELECT emotion_label::text, count(*) FROM {t} WHERE processing_status = 'completed' "
		"GROUP BY 1 ORDER BY 2 DESC, 1"},
	{"summary_language", false, false, NULL,
		"SELECT language::text, count(*) FROM {t} WHERE processing_status = 'completed' "
		"GROUP BY 1 ORDER BY 2 DESC, 1"},
	{"summary_topics", false, false, NULL,
		"SELECT topic_key::text, count(*) FROM {topics} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ($1->>'limit')::int4"},
	/* sentiment_error_history */
	{"error_history", false, false, NULL,
		"SELECT (e ->> 'attempt')::int4, (e ->> 'at')::timestamptz, e ->> 'sqlstate', e ->> 'message' "
		"FROM {t}, jsonb_array_elements(processing_error_history) WITH ORDINALITY AS h(e, n) "
		"WHERE {id} = ($1->>'id')::int8 ORDER BY h.n"},
	/* _sentiment_requeue_for_model: the rows another model analysed */
	{"model_ids", false, false, NULL,
		"SELECT array_agg({id}::int8) FROM {t} "
		"WHERE processing_status = 'completed' AND sentiment_model::text IS DISTINCT FROM $1->>'version'"},
	/* writes, each returning the rows written */
	{"model_pending", true, false, NULL,
		"WITH u AS (UPDATE {t} SET processing_status = 'pending' "
		"  WHERE processing_status = 'completed' AND sentiment_model::text IS DISTINCT FROM $1->>'version' "
		"  RETURNING 1) SELECT count(*) FROM u"},
	{"retry_failed", true, false, NULL,
		"WITH u AS (UPDATE {t} SET processing_status = 'pending', processing_attempts = 0, "
		"  processing_retry_at = NULL, processing_error = NULL "
		"  WHERE processing_status = 'failed' "
		"  AND ($1->'ids' IS NULL OR {id} = ANY (" SP_IDS("ids") ")) "
		"  AND ($1->>'pattern' IS NULL OR processing_error LIKE $1->>'pattern') "
		"  AND ($1->>'sqlstate' IS NULL OR processing_error_history -> -1 ->> 'sqlstate' = $1->>'sqlstate') "
		"  RETURNING 1) SELECT count(*) FROM u"},
	/* sentiment_enqueue of a distributed table (no queue on its nodes, citus.c) */
	{"requeue", true, false, NULL,
		"WITH u AS (UPDATE {t} SET processing_status = 'pending', processing_attempts = 0, "
		"  processing_retry_at = NULL, processing_error = NULL "
		"  WHERE processing_status IN ('completed', 'failed') "
		"  AND ($1->'ids' IS NULL OR {id} = ANY (" SP_IDS("ids") ")) "
		"  RETURNING 1) SELECT count(*) FROM u"},
	/*
	 * The two-phase path (sql/objects/56_claim_api.sql, 58_claim_lease.sql):
	 * rows written as the owner, so the owner's triggers, checks and casts
	 * never run as the analyser.
	 */
	/*
	 * sentiment_claim: the rows a batch would take (sp_claim_sql,
	 * batch_claim.c), returned in the order taken
	 */
	/*
	 * (on a time-partitioned source, {shared_ids}: the rows of ids another
	 * row holds too are failed, not claimed, see shared_ids_sql)
	 */
	/*
	 * (the ids again as an array: the planner then probes each partition's
	 * index with them, where it would hash a partitioned table whole, 75 ms
	 * against 11 ms at 300,000 rows in 12 partitions)
	 */
	{"claim", true, false, NULL,
		"WITH c AS (SELECT k.cid, row_number() OVER () AS ord FROM ({claim_rows}) AS k), {shared_ids}"
		SP_CLAIM_SET
		"FROM c WHERE s.{id} = c.cid AND s.{id} = ANY (ARRAY(SELECT c.cid FROM c)) {not_shared} "
		SP_CLAIM_RETURNING},
	/*
	 * sentiment_complete, first: the rows still claimed by us at the version
	 * read, and their old topics and embedding gone (ids, started at)
	 */
	{"complete", true, false, NULL,
		"WITH u AS (UPDATE {t} AS s SET {complete_set} "
		"  FROM jsonb_to_recordset(" SP_RESULTS ") AS r({complete_record}) "
		"  WHERE s.{id} = r.id AND s.version = r.version "
		SP_STILL_CLAIMED
		"  RETURNING s.{id}::bigint AS id, s.processing_started_at::timestamptz AS at), "
		SP_FINISHED_SIDE_ROWS},
	/*
	 * then the new topics and embeddings of the rows completed ($1->'ids';
	 * real[] into a pgvector column by its assignment cast, or into the
	 * table's embedding lane, as real[], when it has one), and one row
	 * per result: completed, or why not (read afresh: a concurrent edit
	 * shows)
	 */
	{"complete_rest", true, false, NULL,
		"WITH it AS (INSERT INTO {topics} (mention_id, topic_key) SELECT DISTINCT r.id, k.key "
		"  FROM jsonb_to_recordset(" SP_RESULTS ") AS r(id bigint, topics text[]), unnest(r.topics) AS k(key) "
		"  WHERE r.id = ANY (" SP_IDS("ids") ")), "
		"ie AS (INSERT INTO {lane_or_embeddings} (entry_id, embedding) SELECT r.id, r.embedding "
		"  FROM jsonb_to_recordset(" SP_RESULTS ") AS r(id bigint, embedding real[]) "
		"  WHERE r.id = ANY (" SP_IDS("ids") ") AND r.embedding IS NOT NULL) "
		"SELECT r.id, r.id = ANY (" SP_IDS("ids") "), CASE WHEN r.id = ANY (" SP_IDS("ids") ") THEN NULL "
		"  WHEN s.{id} IS NULL THEN 'no such row' "
		"  WHEN s.version <> r.version THEN 'version changed: the text was edited' "
		"  WHEN s.processing_status <> 'processing' OR s.processing_claimed_by IS DISTINCT FROM $1->>'claim' "
		"    THEN 'not claimed by this claimant (lease expired or claim returned)' "
		"  ELSE 'changed concurrently' END "
		"FROM jsonb_to_recordset(" SP_RESULTS ") AS r(id bigint, version integer) "
		"LEFT JOIN {t} AS s ON s.{id} = r.id"},
	/* sentiment_fail: the rows claimed by us, their topics and embedding gone */
	{"fail", true, false, NULL,
		"WITH " SP_FAIL_SET
		"  processing_retry_at = CASE WHEN ($1->>'retry')::boolean THEN clock_timestamp() "
		"    + {ext}.sentiment_retry_delay(s.processing_attempts::integer) END, "
		"  processing_error_history = {ext}.sentiment_error_history_add(s.processing_error_history, "
		"    s.processing_attempts::integer, $1->>'sqlstate', $1->>'error', "
		"    current_setting('sentiment_proc.error_history')::integer) "
		"  WHERE s.{id} = ANY (" SP_IDS("ids") ") " SP_STILL_CLAIMED
		"  RETURNING s.{id}::bigint AS id, s.processing_started_at::timestamptz AS at), "
		SP_FINISHED_SIDE_ROWS},
	/*
	 * The same on a Citus distributed table, through the coordinator
	 * (sp_source_statement picks these; docs/citus.md): Citus locks no rows
	 * of several shards with SKIP LOCKED, so the claim reads its candidates
	 * (due retries, then pending rows by id, which hashing spreads over the
	 * shards) unlocked and takes those still claimable when its UPDATE
	 * reaches them; a concurrent claimant may leave it fewer.  Citus runs
	 * no volatile function in a distributed UPDATE, nor a stable one of a
	 * column: the failure's retry time and history are read first.
	 */
	/*
	 * (on a time-partitioned source, {shared_ids_dist}: the ids another row
	 * holds too are left out, for the nodes' batches to fail; Citus runs no
	 * second UPDATE in the statement)
	 */
	{"claim_dist", true, false, NULL,
		"WITH c AS MATERIALIZED (SELECT k.cid, row_number() OVER () AS ord FROM ("
		"  SELECT s.{id} AS cid FROM {t} AS s WHERE s.processing_status = 'pending' "
		"    OR (s.processing_status = 'failed' AND s.processing_retry_at <= now()) "
		"  ORDER BY s.processing_status = 'pending', s.processing_retry_at, s.{id} "
		"  LIMIT ($1->>'n')::int4) AS k), {shared_ids_dist}"
		SP_CLAIM_SET
		"FROM c WHERE s.{id} = c.cid {not_shared} AND (s.processing_status = 'pending' "
		"  OR (s.processing_status = 'failed' AND s.processing_retry_at <= now())) "
		SP_CLAIM_RETURNING},
	{"fail_dist", true, false, NULL,
		"WITH v AS MATERIALIZED (SELECT s.{id} AS id, "
		"  CASE WHEN ($1->>'retry')::boolean "
		"    THEN clock_timestamp() + {ext}.sentiment_retry_delay(s.processing_attempts::integer) END AS retry_at, "
		"  {ext}.sentiment_error_history_add(s.processing_error_history, "
		"    s.processing_attempts::integer, $1->>'sqlstate', $1->>'error', "
		"    ($1->>'history')::integer) AS history "
		"  FROM {t} AS s WHERE s.{id} = ANY (" SP_IDS("ids") ") " SP_STILL_CLAIMED "), "
		SP_FAIL_SET
		"  processing_retry_at = v.retry_at, processing_error_history = v.history "
		"  FROM v WHERE s.{id} = v.id " SP_STILL_CLAIMED
		"  RETURNING s.{id}::bigint AS id, s.processing_started_at::timestamptz AS at), "
		SP_FINISHED_SIDE_ROWS},
	/* sentiment_renew: the rows whose lease was extended */
	{"renew", true, false, NULL,
		"WITH u AS (UPDATE {t} AS s SET processing_lease_until = clock_timestamp() + ($1->>'lease')::interval "
		"  WHERE s.{id} = ANY (" SP_IDS("ids") ") AND s.processing_status = 'processing' "
		"  AND s.processing_claimed_by = $1->>'claim' "
		"  RETURNING s.{id}::bigint AS id) SELECT COALESCE(array_agg(u.id ORDER BY u.id), '{}') FROM u"},
	/* sentiment_release: back to pending, the claim's attempt taken back */
	{"release", true, false, NULL,
		"WITH u AS (UPDATE {t} AS s SET processing_status = 'pending', "
		"  processing_attempts = greatest(s.processing_attempts - 1, 0), "
		"  processing_lease_until = NULL, processing_claimed_by = NULL "
		"  WHERE s.{id} = ANY (" SP_IDS("ids") ") AND s.processing_status = 'processing' "
		"  AND s.processing_claimed_by = $1->>'claim' "
		"  RETURNING 1) SELECT count(*) FROM u"},
	/*
	 * sentiment_similar (sql/objects/65_similar.sql): $1->'entry' is the
	 * row left out
	 */
	{"similar_entry", false, false, NULL,
		"SELECT COALESCE((SELECT e.embedding::float4[] FROM {embeddings} e WHERE e.entry_id = ($1->>'entry')::int8), "
		/* (processed, its embedding not indexed yet: in the lane) */
		"  (SELECT l.embedding::float4[] FROM {lane_or_embeddings} l WHERE l.entry_id = ($1->>'entry')::int8))"},
	/* _sentiment_embedding_lane_flush: the lane emptied into the embeddings table (only with a lane) */
	{"lane_flush", true, false, NULL,
		"WITH moved AS (DELETE FROM {lane_or_embeddings} RETURNING entry_id, embedding), "
		"ins AS (INSERT INTO {embeddings} (entry_id, embedding) SELECT m.entry_id, m.embedding FROM moved m "
		"  ON CONFLICT (entry_id) DO UPDATE SET embedding = excluded.embedding RETURNING 1) "
		"SELECT count(*) FROM ins"},
	/* (embeddings still in the lane, not searched yet: sentiment_similar says so) */
	{"similar_waiting", false, false, NULL,
		"SELECT EXISTS (SELECT FROM {lane_or_embeddings} ORDER BY entry_id LIMIT 1)"},
	{"similar_real", false, false, NULL,
		"SELECT n.entry_id::bigint, n.similarity, t.{text}::text "
		"  FROM (SELECT e.entry_id, {ext}.sentiment_cosine(e.embedding, " SP_VECTOR ") AS similarity "
		"          FROM {embeddings} e WHERE ($1->>'entry' IS NULL OR e.entry_id <> ($1->>'entry')::int8) "
		"           AND cardinality(e.embedding) = jsonb_array_length($1->'vector') "
		"         ORDER BY 2 DESC NULLS LAST, 1 LIMIT ($1->>'k')::int4) n "
		"  JOIN {t} t ON t.{id} = n.entry_id "
		" WHERE n.similarity IS NOT NULL "
		" ORDER BY n.similarity DESC, n.entry_id"},
	{"similar_vector", false, false, NULL,
		"SELECT n.entry_id::bigint, n.similarity, t.{text}::text "
		"  FROM (SELECT e.entry_id, {ext}.sentiment_cosine(e.embedding::float4[], " SP_VECTOR ") AS similarity "
		"          FROM {embeddings} e WHERE $1->>'entry' IS NULL OR e.entry_id <> ($1->>'entry')::int8 "
		"         ORDER BY e.embedding OPERATOR({vschema}.<=>) (" SP_VECTOR ")::{vtype} "
		"         LIMIT ($1->>'k')::int4) n "
		"  JOIN {t} t ON t.{id} = n.entry_id "
		" WHERE n.similarity IS NOT NULL "
		" ORDER BY n.similarity DESC, n.entry_id"},
	/* (a stored real[] embedding of another length than the query's) */
	{"similar_other_dims", false, false, NULL,
		"SELECT cardinality(e.embedding) FROM {embeddings} e "
		"WHERE cardinality(e.embedding) <> ($1->>'dims')::int4 LIMIT 1"},
	/*
	 * sentiment_prune_side_rows: the side rows of ids no row of the table
	 * holds (a dropped partition's, a Citus time-partitioned table's
	 * deleted rows'); colocated on Citus, so the nodes run it shard by shard
	 */
	{"prune_side_rows", true, false, NULL,
		"WITH dt AS (DELETE FROM {topics} AS x WHERE NOT EXISTS "
		"  (SELECT FROM {t} AS s WHERE s.{id} = x.mention_id) RETURNING 1), "
		"de AS (DELETE FROM {embeddings} AS x WHERE NOT EXISTS "
		"  (SELECT FROM {t} AS s WHERE s.{id} = x.entry_id) RETURNING 1) "
		"SELECT (SELECT count(*) FROM dt) + (SELECT count(*) FROM de)"},
	/* sentiment_attach: the seed's migration rule on existing rows */
	{"attach_results_done", true, true, NULL,
		"WITH u AS (UPDATE {t} SET processing_status = 'completed' WHERE sentiment_label IS NOT NULL "
		"  RETURNING 1) SELECT count(*) FROM u"},
	{"attach_null_status", true, true, NULL,
		"WITH u AS (UPDATE {t} SET processing_status = CASE WHEN sentiment_label IS NOT NULL "
		"  THEN 'completed' ELSE 'pending' END WHERE processing_status IS NULL "
		"  RETURNING 1) SELECT count(*) FROM u"},
};


/* The statement's SQL with its names filled in. */
static char *
statement_sql(const SourceStatement *st, const char *names[][2], int nnames)
{
	StringInfoData buf;
	const char *p = st->sql;

	initStringInfo(&buf);
	while (*p)
	{
		bool		done = false;

		if (*p == '{')
			for (int i = 0; i < nnames && !done; i++)
				if (strncmp(p, names[i][0], strlen(names[i][0])) == 0)
				{
					appendStringInfoString(&buf, names[i][1]);
					p += strlen(names[i][0]);
					done = true;
				}
		if (!done)
			appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}

/* What the statements need of a registration. */
typedef struct SourceRegistration
{
	char	   *id_column;
	char	   *text_column;
	Oid			topics;
	Oid			embeddings;
} SourceRegistration;

/*
 * The catalogue queries of the checks, prepared once per backend (and again
 * when the extension's schema changes): monitoring asks them for every
 * table at every read.
 */
#define PLAN_REGISTRATION 0
#define PLAN_COLUMNS 1
#define PLAN_CREATED_AT 2
#define PLAN_DEFERRED 3
#define NPLANS 4
static SPIPlanPtr plans[NPLANS];
static char *plans_schema = NULL;

static SPIPlanPtr
catalog_plan(int which, const char *schema)
{
	Oid			types[1] = {REGCLASSOID};
	char	   *sql = NULL;

	if (plans_schema == NULL || strcmp(plans_schema, schema) != 0)
	{
		for (int i = 0; i < NPLANS; i++)
			if (plans[i] != NULL)
			{
				SPI_freeplan(plans[i]);
				plans[i] = NULL;
			}
		if (plans_schema != NULL)
			pfree(plans_schema);
		plans_schema = MemoryContextStrdup(TopMemoryContext, schema);
	}
	if (plans[which] != NULL)
		return plans[which];
	switch (which)
	{
		case PLAN_REGISTRATION:
			sql = psprintf("SELECT id_column::pg_catalog.text, topics_table::pg_catalog.oid, "
						   "embeddings_table::pg_catalog.oid, text_column::pg_catalog.text FROM %s.sentiment_sources "
						   "WHERE source_table OPERATOR(pg_catalog.=) $1", quote_identifier(schema));
			break;
		case PLAN_COLUMNS:
			/* ($1 unused: every plan here takes the table) */
			sql = psprintf("SELECT column_name::pg_catalog.text, kind FROM %s.sentiment_status_columns() "
						   "WHERE $1 IS NOT NULL ORDER BY n", quote_identifier(schema));
			break;
		case PLAN_CREATED_AT:
			sql = "SELECT pg_catalog.format('column created_at of %s has type %s', $1, "
				"a.atttypid::pg_catalog.regtype) "
				"FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) $1 "
				"AND a.attname OPERATOR(pg_catalog.=) 'created_at' "
				"AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped "
				"AND a.atttypid NOT IN ('pg_catalog.timestamptz'::pg_catalog.regtype, "
				"'pg_catalog.timestamp'::pg_catalog.regtype)";
			break;
		case PLAN_DEFERRED:
			/* (the partitions from pg_inherits: pg_partition_tree would lock them) */
			sql = "WITH RECURSIVE tree(relid) AS (SELECT $1::pg_catalog.oid UNION "
				"  SELECT i.inhrelid FROM pg_catalog.pg_inherits i "
				"  JOIN tree ON i.inhparent OPERATOR(pg_catalog.=) tree.relid) "
				"SELECT pg_catalog.string_agg(x.what, ', ' ORDER BY x.what) FROM ("
				"  SELECT pg_catalog.format('trigger %I on %s', t.tgname, t.tgrelid::pg_catalog.regclass) AS what "
				"    FROM pg_catalog.pg_trigger t WHERE t.tgdeferrable AND NOT t.tgisinternal "
				"     AND t.tgrelid IN (SELECT relid FROM tree) "
				"  UNION ALL "
				"  SELECT pg_catalog.format('constraint %I on %s', c.conname, c.conrelid::pg_catalog.regclass) "
				"    FROM pg_catalog.pg_constraint c WHERE c.condeferrable AND c.contype IN ('t', 'x') "
				"     AND c.conrelid IN (SELECT relid FROM tree)) x";
			break;
	}
	plans[which] = SPI_prepare(sql, 1, types);
	if (plans[which] == NULL || SPI_keepplan(plans[which]) != 0)
		elog(ERROR, "could not prepare: %s", sql);
	return plans[which];
}

/* Run a catalogue query as the caller with the table's OID as $1. */
static void
catalog_query(int which, Oid relid, const char *schema)
{
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	if (SPI_execute_plan(catalog_plan(which, schema), values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the catalogue");
}

/*
 * Is type a type attach accepts for a column of this kind?  The answer of
 * sentiment_column_type_ok, the one definition of the kinds, remembered per
 * pair for the life of the backend (it is immutable).
 */
typedef struct TypeKindAnswer
{
	Oid			type;
	char		kind[16];
	bool		ok;
} TypeKindAnswer;

static TypeKindAnswer type_answers[64];
static int	ntype_answers = 0;

static bool
type_ok(Oid type, const char *kind, const char *schema)
{
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2];
	bool		isnull;
	bool		ok;

	for (int i = 0; i < ntype_answers; i++)
		if (type_answers[i].type == type && strcmp(type_answers[i].kind, kind) == 0)
			return type_answers[i].ok;
	values[0] = ObjectIdGetDatum(type);
	values[1] = CStringGetTextDatum(kind);
	if (SPI_execute_with_args(psprintf("SELECT %s.sentiment_column_type_ok($1, $2)", quote_identifier(schema)),
							  2, types, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not check a column type");
	ok = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull;
	if (ntype_answers < lengthof(type_answers) && strlen(kind) < sizeof(type_answers[0].kind))
	{
		type_answers[ntype_answers].type = type;
		strlcpy(type_answers[ntype_answers].kind, kind, sizeof(type_answers[0].kind));
		type_answers[ntype_answers++].ok = ok;
	}
	return ok;
}

/* One column's problem, appended to buf: missing, or of a type attach does not accept. */
static void
check_column(StringInfo buf, Oid rel, const char *column, const char *kind, const char *schema)
{
	AttrNumber	attnum = get_attnum(rel, column);
	Oid			type;

	if (attnum == InvalidAttrNumber || attnum < 0)
	{
		appendStringInfo(buf, "%scolumn %s of %s is missing", buf->len ? "; " : "",
						 quote_identifier(column), sp_qualified_name(rel));
		return;
	}
	type = get_atttype(rel, attnum);
	if (!type_ok(type, kind, schema))
		appendStringInfo(buf, "%scolumn %s of %s has type %s", buf->len ? "; " : "",
						 quote_identifier(column), sp_qualified_name(rel), format_type_be(type));
}

/*
 * What keeps a source from being read as its owner (NULL: nothing): a
 * column attach created (sentiment_status_columns), the key or a key of the
 * topics table, missing or of a type attach does not accept.  Catalogue
 * caches only, no query per table.  Needs SPI connected.
 */
static char *
source_problem(Oid source, const char *schema, SourceRegistration *reg)
{
	StringInfoData buf;
	int			ncolumns;
	char	  **columns;
	char	  **kinds;

	initStringInfo(&buf);
	if (reg != NULL)
	{
		check_column(&buf, source, reg->id_column, "integer", schema);
		check_column(&buf, reg->topics, "mention_id", "integer", schema);
		check_column(&buf, reg->topics, "topic_key", "string", schema);
	}
	catalog_query(PLAN_COLUMNS, source, schema);
	ncolumns = (int) SPI_processed;
	columns = palloc(sizeof(char *) * (ncolumns + 1));
	kinds = palloc(sizeof(char *) * (ncolumns + 1));
	for (int i = 0; i < ncolumns; i++)
	{
		columns[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		kinds[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}
	for (int i = 0; i < ncolumns; i++)
		check_column(&buf, source, columns[i], kinds[i], schema);
	return buf.len > 0 ? buf.data : NULL;
}

/* Its one text (NULL: no row, or NULL). */
static char *
catalog_text(int which, Oid relid, const char *schema)
{
	catalog_query(which, relid, schema);
	return SPI_processed == 0 ? NULL : SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * The registration of one source (by its primary key, not the whole
 * registry), NULL when it is not attached.  Needs SPI connected.
 */
static SourceRegistration *
registration(Oid source, const char *schema)
{
	SourceRegistration *reg;
	bool		isnull;

	catalog_query(PLAN_REGISTRATION, source, schema);
	if (SPI_processed == 0)
		return NULL;
	reg = palloc(sizeof(SourceRegistration));
	reg->id_column = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	reg->topics = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	reg->embeddings = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	reg->text_column = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	return reg;
}

/*
 * The deferrable triggers and constraints (with code of their owner's: not
 * foreign keys) of a table and its partitions, NULL when there are none.
 * Needs SPI connected.
 */
char *
sp_deferred_code(Oid relid)
{
	return catalog_text(PLAN_DEFERRED, relid, sp_extension_schema());
}

/* Does the table have FORCE ROW LEVEL SECURITY? */
static bool
forces_row_security(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		force;

	if (!HeapTupleIsValid(tup))
		return false;
	force = ((Form_pg_class) GETSTRUCT(tup))->relforcerowsecurity;
	ReleaseSysCache(tup);
	return force;
}

/*
 * The checks made as the caller (see the head of the file); raises an error
 * naming what is wrong.
 */
static void
check_statement(const SourceStatement *st, Oid source, SourceRegistration *src, const char *schema)
{
	char		kind = get_rel_relkind(source);
	const char *name = get_rel_name(source);
	char	   *problem;

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", name),
				 errdetail("sentiment_proc reads and writes only ordinary and partitioned tables."),
				 errhint("Detach it with SELECT sentiment_detach('%s');", sp_qualified_name(source))));
	if (pg_class_aclcheck(source, GetUserId(), st->write ? ACL_UPDATE : ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", name),
				 errdetail("This takes %s on the table.", st->write ? "UPDATE" : "SELECT"),
				 errhint("GRANT %s ON %s TO the role that does it.",
						 st->write ? "UPDATE" : "SELECT", sp_qualified_name(source))));
	/* as the owner every row is seen: not for a caller the table's policies restrict */
	if (check_enable_rls(source, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("table %s has row-level security for the current user", name),
				 errdetail("sentiment_proc reads and writes attached tables as their owner, who sees every row."),
				 errhint("Run it as the owner of the table or as a role with BYPASSRLS.")));
	/* FORCE ROW LEVEL SECURITY: the owner's policies, the tenant's code, would run */
	if (forces_row_security(source))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s has FORCE ROW LEVEL SECURITY", name),
				 errdetail("sentiment_proc reads and writes attached tables as their owner; the policies "
						   "would apply to the owner and run their code in every caller's statement."),
				 errhint("ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, or detach it.", sp_qualified_name(source))));
	/* a statement on the topics table (summary_topics) reads it too */
	if (src != NULL && strstr(st->sql, "{topics}") != NULL &&
		pg_class_aclcheck(src->topics, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(src->topics) ? get_rel_name(src->topics) : "?"),
				 errdetail("This reads the topics table of %s; it takes SELECT on it.", name),
				 errhint("GRANT SELECT ON %s TO the role that does it.", sp_qualified_name(src->topics))));
	if (src != NULL)
		sp_check_source_tables(source, src->topics, src->embeddings);

	problem = source_problem(source, schema, src);
	if (problem == NULL && st->created_at != NULL)
		problem = catalog_text(PLAN_CREATED_AT, source, schema);
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("table %s has columns sentiment_proc did not create", name),
				 errdetail("%s.", problem),
				 errhint("Give the columns back the types sentiment_attach gives them (see sentiment_attach), or detach the table.")));

	/*
	 * Deferred code runs at commit as whoever commits, long after the switch
	 * back: a write never queues it.
	 */
	if (st->write && (problem = sp_deferred_code(source)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s has deferrable triggers or constraints", name),
				 errdetail("Deferred checks run at commit as the role that commits, not as the owner of the table: %s.",
						   problem),
				 errhint("Make them NOT DEFERRABLE, or have the owner of the table do this.")));
}

/*
 * The same checks for C that reads (or writes) an attached table as its
 * owner itself; needs SPI connected.
 */
void
sp_source_check(Oid source, bool write)
{
	SourceStatement st = {"", write, false, NULL, ""};
	char	   *schema = sp_extension_schema();
	SourceRegistration *src = registration(source, schema);

	if (src == NULL)
		sp_error_not_attached(source);
	check_statement(&st, source, src, schema);
}

/* sentiment_source_problem(source regclass): the check above, NULL when none. */
Datum
sentiment_source_problem(PG_FUNCTION_ARGS)
{
	char	   *schema = sp_extension_schema();
	Oid			source = PG_GETARG_OID(0);
	char	   *problem;
	MemoryContext caller = CurrentMemoryContext;

	if (get_rel_name(source) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	problem = source_problem(source, schema, registration(source, schema));
	if (problem != NULL)
		problem = MemoryContextStrdup(caller, problem);
	SPI_finish();
	if (problem == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(problem));
}

/*
 * A source's own code raised what no EXCEPTION WHEN OTHERS catches
 * (query_canceled, assert_failure), or ran past the source timeout: raised
 * again with this SQLSTATE, so that the monitoring and maintenance
 * functions skip that table like any other broken one.
 */
#define ERRCODE_SP_SOURCE_CANCELED MAKE_SQLSTATE('S','P','0','1','4')

/* One owner-run statement, for sp_in_source_subtransaction. */
typedef struct OwnerRun
{
	Oid			source;
	const char *sql;
	Oid		   *types;
	Datum	   *values;
	char	   *nulls;
	bool		read_only;
	int			ret;
} OwnerRun;

static void
owner_run(void *arg)
{
	OwnerRun   *r = (OwnerRun *) arg;
	SpOwnerSwitch sw;

	sp_as_table_owner(r->source, &sw);
	/*
	 * The owners of partitions and children again, now that they are locked
	 * (with the lock timeout): a child attached or handed to another role
	 * since the check made as the caller does not run its code as the owner.
	 */
	(void) find_all_inheritors(r->source, r->read_only ? AccessShareLock : RowExclusiveLock, NULL);
	sp_check_partition_owners(r->source);
	r->ret = SPI_execute_with_args(r->sql, 3, r->types, r->values, r->nulls, r->read_only, 0);
	sp_restore_user(&sw);
}

/*
 * Lock the source before the checks made as the caller, so that they hold
 * for the statement: the lock the statement takes, waited for no longer
 * than the source lock timeout (a table its owner holds locked is skipped,
 * not waited for).
 */
static void
lock_source(Oid source, bool write)
{
	int			nest = NewGUCNestLevel();
	char		timeout[32];

	snprintf(timeout, sizeof(timeout), "%d", sp_source_lock_timeout());
	(void) set_config_option("lock_timeout", timeout,
							 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	LockRelationOid(source, write ? RowExclusiveLock : AccessShareLock);
	AtEOXact_GUC(true, nest);
}

/*
 * The rights on the side tables a statement needs of the caller: the owner
 * writes (or reads) them, so sentiment_source_sql called directly must not
 * do more than the caller could do itself.
 */
static const struct
{
	const char *name;
	AclMode		rights;
	bool		topics;			/* on the topics table too (else embeddings only) */
}			side_rights[] = {
	{"complete", ACL_DELETE, true},
	{"complete_rest", ACL_INSERT, true},
	{"fail", ACL_DELETE, true},
	{"prune_side_rows", ACL_DELETE, true},
	{"similar_entry", ACL_SELECT, false},
	{"similar_waiting", ACL_SELECT, false},
	{"lane_flush", ACL_INSERT, false},
	{"similar_real", ACL_SELECT, false},
	{"similar_vector", ACL_SELECT, false},
	{"similar_other_dims", ACL_SELECT, false},
};

static void
check_side_rights(const SourceStatement *st, SourceRegistration *src)
{
	for (int i = 0; i < lengthof(side_rights); i++)
	{
		Oid			rels[2];

		if (strcmp(side_rights[i].name, st->name) != 0)
			continue;
		rels[0] = src->embeddings;
		rels[1] = side_rights[i].topics ? src->topics : src->embeddings;
		for (int r = 0; r < lengthof(rels); r++)
			if (pg_class_aclcheck(rels[r], GetUserId(), side_rights[i].rights) != ACLCHECK_OK)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied for table %s", get_rel_name(rels[r])),
						 errdetail("Statement %s reads or writes it as the owner of the table.", st->name),
						 errhint("GRANT the privilege ON %s TO the role that does it.", sp_qualified_name(rels[r]))));
	}
}

/*
 * The type of the embedding column of an embeddings table, schema-qualified,
 * and its schema (for pgvector's operators), both quoted.
 */
static void
embedding_type(Oid embeddings, const char **type, const char **schema)
{
	AttrNumber	attnum = get_attnum(embeddings, "embedding");
	HeapTuple	tup;
	Oid			typid;

	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("table %s has no column \"embedding\"", sp_qualified_name(embeddings))));
	typid = get_atttype(embeddings, attnum);
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	*type = quote_qualified_identifier(get_namespace_name(((Form_pg_type) GETSTRUCT(tup))->typnamespace),
									   NameStr(((Form_pg_type) GETSTRUCT(tup))->typname));
	*schema = quote_identifier(get_namespace_name(((Form_pg_type) GETSTRUCT(tup))->typnamespace));
	ReleaseSysCache(tup);
}

/* The statement of that name; an error when there is none. */
static const SourceStatement *
find_statement(const char *name)
{
	for (int i = 0; i < lengthof(statements); i++)
		if (strcmp(statements[i].name, name) == 0)
			return &statements[i];
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown statement \"%s\"", name),
			 errdetail("sentiment_source_sql runs only the statements of src/source_sql.c.")));
	pg_unreachable();
}

/*
 * Has the id column a unique index of its own?  Not on a time-partitioned
 * source, whose unique key is the id with the partition key columns
 * (sentiment_attach takes the id's uniqueness as a contract there).
 */
static bool
id_alone_unique(Oid relid, const char *id_column)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	AttrNumber	att = get_attnum(relid, id_column);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		unique = false;

	foreach(lc, indexes)
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		Form_pg_index ix;

		if (!HeapTupleIsValid(tup))
			continue;
		ix = (Form_pg_index) GETSTRUCT(tup);
		if (ix->indisunique && ix->indnkeyatts == 1 && ix->indkey.values[0] == att &&
			heap_attisnull(tup, Anum_pg_index_indpred, NULL) && heap_attisnull(tup, Anum_pg_index_indexprs, NULL))
			unique = true;
		ReleaseSysCache(tup);
	}
	list_free(indexes);
	relation_close(rel, AccessShareLock);
	return unique;
}

/*
 * The claim on a source whose id has no unique index of its own: the ids
 * of the rows taken (c) that another row holds too (sh), and those rows
 * failed with the reason (f), all of each id, so that no row is handed out
 * whose result sentiment_complete could not tell from another's.  Not
 * retried: sentiment_retry_failed, once the ids are unique.
 */
static char *
shared_ids_sql(const char *t, const char *id, const char *ext)
{
	char	   *error = psprintf("pg_catalog.format('%s', s.%s, $2)", SP_SHARED_ID_ERROR, id);

	return psprintf("sh AS MATERIALIZED (SELECT x.%s AS id FROM %s AS x WHERE x.%s IN (SELECT c.cid FROM c) "
					"  GROUP BY 1 HAVING count(*) > 1), "
					"f AS (UPDATE %s AS s SET processing_status = 'failed', processing_error = %s, "
					"  processing_completed_at = clock_timestamp(), sentiment_label = NULL, sentiment_score = NULL, "
					"  emotion_label = NULL, emotion_score = NULL, influence_weight = NULL, "
					"  processing_lease_until = NULL, processing_claimed_by = NULL, processing_retry_at = NULL, "
					"  processing_error_history = %s.sentiment_error_history_add(s.processing_error_history, "
					"    s.processing_attempts::integer, '23505', %s, "
					"    current_setting('sentiment_proc.error_history')::integer) "
					"  WHERE s.%s IN (SELECT sh.id FROM sh)), ",
					id, t, id, t, error, ext, error, id);
}

/* The statement's SQL for this table: its names (see SourceStatement) filled in. */
static char *
source_statement_sql(const SourceStatement *st, Oid source, SourceRegistration *src, const char *schema)
{
	const char *vtype = "NULL";
	const char *vschema = "NULL";
	const char *names[17][2];
	bool		shared;
	Oid			lane = src ? sp_embedding_lane(src->embeddings) : InvalidOid;

	/* the embedding column's type, for the statements that name it */
	if (src != NULL && strstr(st->sql, "{vtype}") != NULL)
		embedding_type(src->embeddings, &vtype, &vschema);
	names[0][0] = "{t}";
	names[0][1] = sp_qualified_name(source);
	names[1][0] = "{id}";
	names[1][1] = src ? quote_identifier(src->id_column) : "NULL";
	names[2][0] = "{topics}";
	names[2][1] = src ? sp_qualified_name(src->topics) : "NULL";
	names[3][0] = "{ext}";
	names[3][1] = quote_identifier(schema);
	names[4][0] = "{text}";
	names[4][1] = src ? quote_identifier(src->text_column) : "NULL";
	names[5][0] = "{embeddings}";
	names[5][1] = src ? sp_qualified_name(src->embeddings) : "NULL";
	names[6][0] = "{vtype}";
	names[6][1] = vtype;
	names[7][0] = "{vschema}";
	names[7][1] = vschema;
	/* the embedding lane (embedding_lane.c), where the table has one */
	names[8][0] = "{lane_or_embeddings}";
	names[8][1] = OidIsValid(lane) ? sp_qualified_name(lane) : names[5][1];
	if (!OidIsValid(lane) && strcmp(st->name, "lane_flush") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s has no embedding lane", sp_qualified_name(source))));
	names[9][0] = "{lane_delete}";
	names[9][1] = OidIsValid(lane)
		? psprintf(", dl AS (DELETE FROM %s WHERE entry_id IN (SELECT u.id FROM u))", sp_qualified_name(lane))
		: "";
	/* the result columns sentiment_complete writes (result_row.c) */
	names[10][0] = "{complete_set}";
	names[10][1] = strstr(st->sql, "{complete_set}") ? sp_result_complete_set() : "";
	names[11][0] = "{complete_record}";
	names[11][1] = strstr(st->sql, "{complete_record}") ? sp_result_complete_record(false) : "";
	/* the claim's rows: the batch's statement, with the args' n and queued ids */
	names[12][0] = "{claim_rows}";
	names[12][1] = src == NULL || strstr(st->sql, "{claim_rows}") == NULL ? "NULL"
		: sp_claim_sql(psprintf("s.%s AS cid", names[1][1]), names[0][1], names[1][1],
					   "($1->>'n')::int4", SP_IDS("queued"), true);
	names[13][0] = "{fail_set}";
	names[13][1] = strstr(st->sql, "{fail_set}") ? sp_result_fail_set() : "";
	/* a time-partitioned source's claim fails (on Citus: leaves) the rows of shared ids */
	shared = src != NULL && strstr(st->sql, "{not_shared}") != NULL &&
		!id_alone_unique(source, src->id_column);
	names[14][0] = "{shared_ids}";
	names[14][1] = shared ? shared_ids_sql(names[0][1], names[1][1], names[3][1]) : "";
	names[15][0] = "{not_shared}";
	names[15][1] = shared ? "AND c.cid NOT IN (SELECT sh.id FROM sh)" : "";
	names[16][0] = "{shared_ids_dist}";
	names[16][1] = shared ? psprintf("sh AS MATERIALIZED (SELECT x.%s AS id FROM %s AS x "
									 "WHERE x.%s IN (SELECT c.cid FROM c) GROUP BY 1 HAVING count(*) > 1), ",
									 names[1][1], names[0][1], names[1][1]) : "";
	return statement_sql(st, names, lengthof(names));
}

/*
 * A statement on a Citus distributed table, through the coordinator: its
 * _dist variant where it has one; in the args, the claim naming this node
 * (sp_claim_node_suffix: the nodes judge it by its lease) and the error
 * history's length (a setting the nodes may not share).
 */
static const SourceStatement *
distributed_statement(const SourceStatement *st, Datum *args, bool args_null)
{
	char	   *dist_name = psprintf("%s_dist", st->name);
	const SourceStatement *dist = st;
	Oid			types[3] = {JSONBOID, INT4OID, TEXTOID};
	Datum		values[3] = {*args, Int32GetDatum(sp_error_history_setting()),
	CStringGetTextDatum(sp_claim_node_suffix())};
	bool		isnull;

	for (int i = 0; i < lengthof(statements); i++)
		if (strcmp(statements[i].name, dist_name) == 0)
			dist = &statements[i];
	if (!args_null)
	{
		if (SPI_execute_with_args("SELECT $1 || jsonb_build_object('history', $2) || "
								  "CASE WHEN $1 ? 'claim' AND strpos($1->>'claim', '@') = 0 "
								  "THEN jsonb_build_object('claim', ($1->>'claim') || $3) ELSE '{}' END",
								  3, types, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not name the claim's node");
		*args = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	}
	return dist;
}

/*
 * Every clock_timestamp() of sql as now(): Citus runs no volatile function
 * in a distributed UPDATE, so there the transaction's start, a moment
 * earlier, stands for the time (a lease counts from it).
 */
static char *
distributed_sql(const char *sql)
{
	StringInfoData buf;
	const char *p;

	initStringInfo(&buf);
	while ((p = strstr(sql, "clock_timestamp()")) != NULL)
	{
		appendBinaryStringInfo(&buf, sql, p - sql);
		appendStringInfoString(&buf, "pg_catalog.now()");
		sql = p + strlen("clock_timestamp()");
	}
	appendStringInfoString(&buf, sql);
	return buf.data;
}

/*
 * Run the named statement on an attached table as its owner, after the
 * checks made as the caller (see the head of the file); args is its $1
 * (NULL: none).  Returns its rows, valid until SPI_finish; needs SPI
 * connected.  sentiment_source_sql, and the two-phase writes in C
 * (two_phase.c), run their statements through here.
 */
SPITupleTable *
sp_source_statement(Oid source, const char *name, Datum args, bool args_null, Datum results)
{
	const SourceStatement *st = find_statement(name);
	char	   *schema = sp_extension_schema();
	SourceRegistration *src;
	bool		dist = sp_citus_distributed(source);
	char	   *sql;
	Oid			types[3] = {JSONBOID, REGCLASSOID, JSONBOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	OwnerRun	run;
	ErrorData  *edata;

	/* (only a table the caller may use at all is locked: the checks below say why not) */
	if (get_rel_name(source) != NULL &&
		pg_class_aclcheck(source, GetUserId(), ACL_SELECT | ACL_UPDATE) == ACLCHECK_OK)
		lock_source(source, st->write);

	src = registration(source, schema);
	if (st->attach)
	{
		/* attach's: before the table is registered, and only for its owner */
		if (!has_privs_of_role(GetUserId(), sp_relation_owner(source)))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of table %s", get_rel_name(source))));
	}
	else if (src == NULL)
		sp_error_not_attached(source);
	check_statement(st, source, src, schema);
	if (src != NULL)
		check_side_rights(st, src);

	if (dist)
		st = distributed_statement(st, &args, args_null);
	values[0] = args;
	nulls[0] = args_null ? 'n' : ' ';
	values[1] = ObjectIdGetDatum(source);
	values[2] = results;
	nulls[2] = results == (Datum) 0 ? 'n' : ' ';

	/*
	 * As the owner, in a subtransaction under the source timeout: whatever
	 * the table's code raises is the table's error, raised again as one the
	 * callers' EXCEPTION WHEN OTHERS catches; a cancel of the caller's own
	 * statement (or its statement_timeout) is raised as it is and ends the
	 * call.
	 */
	sql = source_statement_sql(st, source, src, schema);
	run = (OwnerRun) {source, dist ? distributed_sql(sql) : sql, types, values, nulls, !st->write, 0};
	edata = sp_in_source_subtransaction(owner_run, &run);
	if (edata != NULL)
	{
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->sqlerrcode == ERRCODE_ASSERT_FAILURE)
		{
			edata->detail = psprintf("Raised by the code of table %s with SQLSTATE %s.", sp_qualified_name(source),
									 unpack_sql_state(edata->sqlerrcode));
			edata->sqlerrcode = ERRCODE_SP_SOURCE_CANCELED;
		}
		ReThrowError(edata);
	}
	if (run.ret != SPI_OK_SELECT)
		elog(ERROR, "statement %s failed: %s", st->name, SPI_result_code_string(run.ret));
	return SPI_tuptable;
}

/*
 * sentiment_source_sql(source regclass, statement text, args jsonb):
 * run the named statement on an attached table as its owner and return its
 * rows, which must match the caller's column definition list.
 */
Datum
sentiment_source_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	SPITupleTable *rows;
	TupleDesc	got;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source and statement must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	(void) find_statement(name);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rows = sp_source_statement(PG_GETARG_OID(0), name, PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2),
							   PG_ARGISNULL(2), (Datum) 0);

	got = rows->tupdesc;
	if (got->natts != rsinfo->setDesc->natts)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("statement %s returns %d columns, not %d", name, got->natts,
						rsinfo->setDesc->natts)));
	for (int i = 0; i < got->natts; i++)
		if (TupleDescAttr(got, i)->atttypid != TupleDescAttr(rsinfo->setDesc, i)->atttypid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column %d of statement %s has type %s, not %s", i + 1, name,
							format_type_be(TupleDescAttr(got, i)->atttypid),
							format_type_be(TupleDescAttr(rsinfo->setDesc, i)->atttypid))));
	for (uint64 r = 0; r < rows->numvals; r++)
		tuplestore_puttuple(rsinfo->setResult, rows->vals[r]);
	SPI_finish();
	return (Datum) 0;
}
