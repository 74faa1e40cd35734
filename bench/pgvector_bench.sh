#!/usr/bin/env bash
# Embeddings as real[], vector and halfvec (pgvector), on a private temporary
# instance (scripts/lib/tempdb.sh), all in one run:
#
#  1. similarity search: ROWS analysed mentions; sentiment_similar(text, 10)
#     for QUERIES texts by today's exact scan (real[]), then the same side
#     table converted in place to vector(256) with its HNSW index
#     (sentiment_convert_embeddings, timed), the same queries through the
#     index: latency p50/p99 of both, and recall at 10 against the exact
#     answer.  Recall counts a returned row as right when its similarity
#     reaches the exact 10th one (ties at the boundary are equally right).
#     Latency is measured in the server (clock_timestamp around each call,
#     one warm session), so it leaves out the client round trip.
#  2. processing: THROUGHPUT_ROWS fresh mentions per type, processed with
#     sentiment_process_batch(BATCH) one committed batch after another, into
#     a side table of each type (vector and halfvec with their HNSW index, as
#     sentiment_attach makes them): rows/s and WAL bytes per row.
#
# Targets: HNSW at least 100x faster than the exact scan, p99 under
# 20 ms, recall at 10 at least 0.95.
#
#   bench/pgvector_bench.sh [ROWS [QUERIES [THROUGHPUT_ROWS]]]
#       defaults 1000000, 100, 100000; EF_SEARCH=n sets hnsw.ef_search for
#       the indexed run (default: sentiment_similar's floor, 100)
#
# Needs pgvector in the PostgreSQL of PG_CONFIG (../shared/pgvector/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
QUERIES=${2:-100}
THROUGHPUT_ROWS=${3:-100000}
BATCH=1000
EF_SEARCH=${EF_SEARCH:-}

. scripts/lib/tempdb.sh
[ -f "$("$PG_CONFIG" --sharedir)/extension/vector.control" ] ||
	{ echo "pgvector is not installed for $PG_CONFIG: run ../shared/pgvector/install.sh" >&2; exit 2; }
echo "== build and install"
build_and_install

trap tempdb_stop EXIT
# Checkpoints out of the way; enough maintenance_work_mem for the HNSW graph
# of ROWS 256-dimension vectors to be built in memory.
tempdb_start "shared_buffers = '2GB'" "max_wal_size = '16GB'" "checkpoint_timeout = '1h'" \
	"autovacuum = off" "maintenance_work_mem = '3GB'" "max_parallel_maintenance_workers = 1"

sec() { date +%s.%N; }

echo "== load $ROWS generated mentions and $QUERIES queries"
# Varied texts (5-12 words from a mixed vocabulary of real words and made-up
# ones, chosen by a seeded generator), so that the embeddings are spread as
# real mentions' are rather than a few templates repeated.
psql_q -v rows="$ROWS" -v queries="$QUERIES" -v tput="$THROUGHPUT_ROWS" <<'SQL' >/dev/null
CREATE EXTENSION sentiment_proc;
CREATE EXTENSION vector;
CREATE TABLE vocab AS
SELECT row_number() OVER () AS n, w FROM (
	SELECT unnest(string_to_array(
		'love hate great awful good bad terrible amazing fine okay slow fast cheap expensive broken '
		'happy sad angry worried excited bored phone app update service coffee delivery price support '
		'battery design concert team store food pizza train flight hotel game music movie show weather '
		'city school work office laptop camera screen network bank card shop order refund wait queue '
		'not really very so too quite never always again today tomorrow yesterday lol wow meh ugh '
		'#tech #food #travel #music #sport #retail #support #gaming :) :( !!! ...', ' ')) AS w
	UNION ALL
	SELECT s1 || s2 || s3
	  FROM unnest('{ka,lo,mi,ne,ru,ta,vo,zi,be,do,fa,gu,hi,jo,pe,qua,sa,te,wi,xo}'::text[]) s1,
		   unnest('{ran,len,mor,tix,vak,sel,dun,pir,gol,bex}'::text[]) s2,
		   unnest('{a,o,ix,er,um,ly,on,is}'::text[]) s3) v;
SELECT count(*) AS nvocab FROM vocab \gset
CREATE TABLE texts AS
SELECT g AS id, (SELECT string_agg(v.w, ' ') FROM generate_series(1, 5 + (g % 8)) k
				   JOIN vocab v ON v.n = 1 + (abs(hashint8(g * 131 + k)) % :nvocab)) AS text
  FROM generate_series(1::bigint, :rows + :queries + 3 * :tput) g;
SELECT sentiment_attach('search', topics_table => 'search_topics', embeddings_table => 'search_embeddings');
SELECT sentiment_convert_embeddings('search', 'real[]');
INSERT INTO search (entry_id, text) SELECT id, text FROM texts WHERE id <= :rows;
CREATE TABLE queries AS SELECT id - :rows AS q, text FROM texts WHERE id > :rows AND id <= :rows + :queries;
SQL

# Process a table to the end, one committed batch after another.
process_all() {
	psql_q -v src="$1" -v batch="$BATCH" <<'SQL'
DO $$
BEGIN
	LOOP
		EXIT WHEN sentiment_process_batch(current_setting('bench.batch')::integer,
										  current_setting('bench.src')::regclass) = 0;
		COMMIT;
	END LOOP;
END
$$;
SQL
}
export PGOPTIONS="-c bench.batch=$BATCH"

echo "== process the $ROWS mentions (real[])"
t0=$(sec)
PGOPTIONS="$PGOPTIONS -c bench.src=search" process_all search
t1=$(sec)
psql_q -c "VACUUM ANALYZE search_embeddings" -c CHECKPOINT
echo "processed in $(echo "$t1 - $t0" | bc) s"

# Time each query in the server; keep the answers.  $1: result table.
run_queries() {
	psql_q -v tab="$1" -v ef="${EF_SEARCH:-}" <<'SQL'
SELECT CASE WHEN :'ef' <> '' THEN set_config('hnsw.ef_search', :'ef', false) END \gset
CREATE TABLE :tab (q integer, ms double precision, ids bigint[], sims double precision[]);
DO $$
DECLARE
	r record; t0 timestamptz; a record;
BEGIN
	-- one warm-up call (plans, caches)
	PERFORM * FROM sentiment_similar('warm up the cache', 10, 'search');
	FOR r IN SELECT * FROM queries ORDER BY q LOOP
		t0 := clock_timestamp();
		SELECT array_agg(s.entry_id ORDER BY s.similarity DESC, s.entry_id) AS ids,
			   array_agg(s.similarity ORDER BY s.similarity DESC, s.entry_id) AS sims INTO a
		  FROM sentiment_similar(r.text, 10, 'search') s;
		EXECUTE format('INSERT INTO %I VALUES ($1, $2, $3, $4)', current_setting('bench.tab'))
			USING r.q, extract(epoch FROM clock_timestamp() - t0) * 1000, a.ids, a.sims;
	END LOOP;
END
$$;
SQL
}

echo "== $QUERIES queries by exact scan (real[])"
PGOPTIONS="$PGOPTIONS -c bench.tab=exact" run_queries exact

echo "== convert to vector(256) and build the HNSW index"
t0=$(sec)
psql_q -c "SELECT sentiment_convert_embeddings('search', 'vector')" >/dev/null
t1=$(sec)
convert_s=$(echo "$t1 - $t0" | bc)
psql_q -c "VACUUM ANALYZE search_embeddings" -c CHECKPOINT
echo "converted and indexed in $convert_s s"
psql_v -c "EXPLAIN (COSTS OFF) SELECT entry_id FROM search_embeddings ORDER BY embedding <=> (SELECT embedding FROM search_embeddings LIMIT 1) LIMIT 10" | grep -i "index scan" | sed 's/^/plan: /'

echo "== $QUERIES queries through the HNSW index (vector)"
PGOPTIONS="$PGOPTIONS -c bench.tab=hnsw" run_queries hnsw

echo "== processing throughput and WAL per row: $THROUGHPUT_ROWS rows per type"
tput_lines=""
for type in 'real[]' vector halfvec; do
	name=$(echo "t_$type" | tr -d '[]')
	psql_q -v name="$name" -v type="$type" -v rows="$ROWS" -v queries="$QUERIES" -v tput="$THROUGHPUT_ROWS" <<'SQL' >/dev/null
SELECT sentiment_attach(:'name', topics_table => :'name' || '_topics', embeddings_table => :'name' || '_emb');
SELECT sentiment_convert_embeddings(:'name', :'type');
INSERT INTO :name (entry_id, text) SELECT id, text FROM texts
 WHERE id > :rows + :queries AND id <= :rows + :queries + :tput;
VACUUM ANALYZE :name;
CHECKPOINT;
SQL
	lsn0=$(psql_v -c "SELECT pg_current_wal_lsn()")
	t0=$(sec)
	PGOPTIONS="$PGOPTIONS -c bench.src=$name" process_all "$name"
	t1=$(sec)
	lsn1=$(psql_v -c "SELECT pg_current_wal_lsn()")
	line=$(psql_v -v a="$lsn0" -v b="$lsn1" -v n="$THROUGHPUT_ROWS" -v s="$(echo "$t1 - $t0" | bc)" -v type="$type" <<<\
		"SELECT format('%-8s %10s rows/s %10s WAL bytes/row', :'type', round(:n / :s::numeric), round(pg_wal_lsn_diff(:'b', :'a') / :n))")
	echo "$line"
	tput_lines+="$line"$'\n'
done

echo
echo "== results ($ROWS mentions, $QUERIES queries, k = 10, hnsw.ef_search ${EF_SEARCH:-100 (sentiment_similar floor)}, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
psql_v <<'SQL'
WITH lat AS (
	SELECT 'exact scan (real[])' AS how,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
		   percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99 FROM exact
	UNION ALL
	SELECT 'HNSW (vector)',
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),
		   percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) FROM hnsw)
SELECT format('%-22s p50 %9s ms   p99 %9s ms', how, round(p50::numeric, 2), round(p99::numeric, 2)) FROM lat;
SELECT format('speed-up: p50 %sx, p99 %sx',
	round(((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM exact)
		 / (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM hnsw))::numeric),
	round(((SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) FROM exact)
		 / (SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) FROM hnsw))::numeric));
-- a returned row is right when its similarity reaches the exact 10th
SELECT format('recall at 10: %s (by id: %s)',
	round(avg((SELECT count(*) FROM unnest(h.sims) s WHERE s >= e.sims[cardinality(e.sims)] - 1e-6)
			  / cardinality(e.ids)::numeric), 4),
	round(avg((SELECT count(*) FROM unnest(h.ids) i WHERE i = ANY (e.ids)) / cardinality(e.ids)::numeric), 4))
  FROM exact e JOIN hnsw h USING (q);
SQL
echo "convert to vector + HNSW build: $convert_s s"
echo "processing ($THROUGHPUT_ROWS rows each, batches of $BATCH, HNSW index on vector and halfvec):"
printf '%s' "$tput_lines"
