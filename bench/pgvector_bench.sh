#!/usr/bin/env bash
# Embeddings as real[], vector and halfvec (pgvector), on a private temporary
# instance (scripts/lib/tempdb.sh), all in one run:
#
#  0. the corpus: ROWS + THROUGHPUT_ROWS mentions from bench/gen_mentions.py
#     (topics, brands, Zipf word frequencies, retweets and near-duplicates,
#     deterministic) and QUERIES new mentions from another seed.
#  1. similarity search: ROWS analysed mentions, processed into a real[] side
#     table (the bulk-load recipe of docs/pgvector.md: no HNSW index while
#     processing); sentiment_similar(text, 10) for QUERIES texts by the exact
#     scan (real[]), then the same side table converted in place to
#     vector(256) and its HNSW index built once (sentiment_convert_embeddings,
#     timed), the same queries through the index: latency p50/p99 of both,
#     and recall at 10 against the exact answer, at sentiment_similar's
#     hnsw.ef_search and at each of EF_SWEEP.  Recall counts a returned row as right when its similarity
#     reaches the exact 10th one (ties at the boundary are equally right).
#     Latency is measured in the server (clock_timestamp around each call,
#     one warm session), so it leaves out the client round trip.
#  2. processing: THROUGHPUT_ROWS fresh mentions per type, processed with
#     sentiment_process_batch(BATCH) one committed batch after another, into
#     a side table of each type (vector and halfvec with their HNSW index, as
#     sentiment_attach makes them): rows/s and WAL bytes per row.  Since 1.3
#     vector and halfvec embeddings go to their embedding lane, drained into
#     the index later: bench/pgvector_lane_bench.sh measures the lane and the
#     index's ingest rate.
#
# Targets: HNSW at least 100x faster than the exact scan, p99 under
# 20 ms, recall at 10 at least 0.95.
#
#   bench/pgvector_bench.sh [ROWS [QUERIES [THROUGHPUT_ROWS]]]
#       defaults 1000000, 100, 50000; EF_SEARCH=n sets hnsw.ef_search for
#       the first indexed run (default: sentiment_similar's floor, 100);
#       EF_SWEEP="200 400" (the default) the values of the runs after it.
#
# With the defaults it took 23 minutes on a shared 2-core machine (load 4-6;
# most of it the index build and the HNSW inserts): docs/pgvector.md.
#
# Needs pgvector in the PostgreSQL of PG_CONFIG (../shared/pgvector/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
QUERIES=${2:-100}
THROUGHPUT_ROWS=${3:-50000}
BATCH=1000
EF_SEARCH=${EF_SEARCH:-}
EF_SWEEP=${EF_SWEEP-200 400}

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

echo "== generate and load $ROWS mentions, $QUERIES queries and $THROUGHPUT_ROWS for throughput"
# A realistic, deterministic corpus (bench/gen_mentions.py: topics and
# brands that cluster, Zipf word frequencies, retweets and near-duplicates);
# the queries are new mentions from another seed, originals only.
psql_q -c "CREATE TABLE texts (id bigint PRIMARY KEY, text text NOT NULL)" \
	-c "CREATE TABLE queries (q integer PRIMARY KEY, text text NOT NULL)"
t0=$(sec)
python3 bench/gen_mentions.py $((ROWS + THROUGHPUT_ROWS)) --seed 1 | psql_q -c "COPY texts FROM STDIN"
python3 bench/gen_mentions.py "$QUERIES" --seed 2 --originals-only | psql_q -c "COPY queries FROM STDIN"
echo "generated and loaded in $(echo "$(sec) - $t0" | bc) s"
psql_q -v rows="$ROWS" <<'SQL' >/dev/null
CREATE EXTENSION sentiment_proc;
CREATE EXTENSION vector;
SELECT sentiment_attach('search', topics_table => 'search_topics', embeddings_table => 'search_embeddings');
SELECT sentiment_convert_embeddings('search', 'real[]');
INSERT INTO search (entry_id, text) SELECT id, text FROM texts WHERE id <= :rows;
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

# Time each query in the server; keep the answers.  $1: result table, $2:
# hnsw.ef_search to set first (empty: leave the default).
run_queries() {
	PGOPTIONS="$PGOPTIONS -c bench.tab=$1" psql_q -v tab="$1" -v ef="${2:-}" <<'SQL'
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
run_queries exact

echo "== convert to vector(256) and build the HNSW index"
t0=$(sec)
psql_q -c "SELECT sentiment_convert_embeddings('search', 'vector')" >/dev/null
t1=$(sec)
convert_s=$(echo "$t1 - $t0" | bc)
psql_q -c "VACUUM ANALYZE search_embeddings" -c CHECKPOINT
echo "converted and indexed in $convert_s s"
psql_v -c "EXPLAIN (COSTS OFF) SELECT entry_id FROM search_embeddings ORDER BY embedding <=> (SELECT embedding FROM search_embeddings LIMIT 1) LIMIT 10" | grep -i "index scan" | sed 's/^/plan: /'

echo "== $QUERIES queries through the HNSW index (vector), hnsw.ef_search ${EF_SEARCH:-default}"
run_queries hnsw "$EF_SEARCH"
for ef in $EF_SWEEP; do
	echo "== $QUERIES queries through the HNSW index, hnsw.ef_search $ef"
	run_queries "hnsw_ef$ef" "$ef"
done

echo "== processing throughput and WAL per row: $THROUGHPUT_ROWS rows per type"
tput_lines=""
for type in 'real[]' vector halfvec; do
	name=$(echo "t_$type" | tr -d '[]')
	psql_q -v name="$name" -v type="$type" -v rows="$ROWS" -v queries="$QUERIES" -v tput="$THROUGHPUT_ROWS" <<'SQL' >/dev/null
SELECT sentiment_attach(:'name', topics_table => :'name' || '_topics', embeddings_table => :'name' || '_emb');
SELECT sentiment_convert_embeddings(:'name', :'type');
INSERT INTO :name (entry_id, text) SELECT id, text FROM texts WHERE id > :rows AND id <= :rows + :tput;
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
echo "== results ($ROWS mentions, $QUERIES queries, k = 10, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
psql_v -q -v sweep="$EF_SWEEP" -v ef="${EF_SEARCH:-default}" <<'SQL'
CREATE FUNCTION pg_temp.lat(tab text, OUT p50 numeric, OUT p99 numeric) LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) FROM %I', tab)
		INTO p50, p99;
END $$;
-- A returned row is right when its similarity reaches the exact 10th (ties
-- at the boundary are equally right); "by id" counts the exact ids only.
CREATE FUNCTION pg_temp.recall(tab text, OUT by_sim numeric, OUT by_id numeric) LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($q$
		SELECT avg((SELECT count(*) FROM unnest(h.sims) s WHERE s >= e.sims[cardinality(e.sims)] - 1e-6)
				   / cardinality(e.ids)::numeric),
			   avg((SELECT count(*) FROM unnest(h.ids) i WHERE i = ANY (e.ids)) / cardinality(e.ids)::numeric)
		  FROM exact e JOIN %I h USING (q)$q$, tab) INTO by_sim, by_id;
END $$;
SELECT format('%-28s p50 %9s ms   p99 %9s ms', 'exact scan (real[])', round(p50, 2), round(p99, 2))
  FROM pg_temp.lat('exact');
SELECT format('%-28s p50 %9s ms   p99 %9s ms   speed-up p50 %sx, p99 %sx   recall at 10 %s (by id %s)',
			  'HNSW, ef_search ' || x.ef, round(h.p50, 2), round(h.p99, 2), round(e.p50 / h.p50), round(e.p99 / h.p99),
			  round(r.by_sim, 4), round(r.by_id, 4))
  FROM (SELECT 0 AS o, 'hnsw' AS tab, :'ef' AS ef
		UNION ALL SELECT o, 'hnsw_ef' || v, v FROM unnest(string_to_array(:'sweep', ' ')) WITH ORDINALITY u(v, o)
		 WHERE v <> '') x,
	   pg_temp.lat('exact') e, pg_temp.lat(x.tab) h, pg_temp.recall(x.tab) r
 ORDER BY x.o;
SELECT format('exact neighbourhood: similarity of the 1st %s, of the 10th %s (mean over the queries)',
			  round(avg(sims[1])::numeric, 3), round(avg(sims[cardinality(sims)])::numeric, 3)) FROM exact;
SQL
echo "convert to vector + HNSW build: $convert_s s"
echo "processing ($THROUGHPUT_ROWS rows each, batches of $BATCH, HNSW index on vector and halfvec):"
printf '%s' "$tput_lines"
