#!/usr/bin/env bash
# The embedding lane (docs/pgvector.md): with pgvector's default vector type,
# do results reach 'completed' as fast as with real[], and how long do the
# embeddings then take to reach the HNSW index?  On a private temporary
# instance with two background workers, in one run:
#
#  1. ROWS mentions (bench/gen_mentions.py) pending in a table whose side table
#     is real[], then the same texts in a table attached as a new user would
#     (vector(256) with its HNSW index, and its embedding lane); for each, the
#     two workers are started and the time taken from their start to the
#     commit of the last batch (track_commit_timestamp): rows/s to completed,
#     and the ratio vector / real[] (goal at least 0.8x).
#  2. For vector: the time from that last batch to the commit of the last
#     drain into the HNSW table (goal: 30,000 rows within 90 s on 2 cores),
#     and the steady HNSW ingest rate of the two draining workers (rows over
#     the time between the first and the last drain's commit).
#
# The HNSW index has pgvector's defaults, m = 16 and ef_construction = 64
# (the settings the recall of docs/pgvector.md was measured with).
#
#   bench/pgvector_lane_bench.sh [ROWS]     (default 30000)
#
# Needs pgvector in the PostgreSQL of PG_CONFIG (../shared/pgvector/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-30000}

. scripts/lib/tempdb.sh
[ -f "$("$PG_CONFIG" --sharedir)/extension/vector.control" ] ||
	{ echo "pgvector is not installed for $PG_CONFIG: run ../shared/pgvector/install.sh" >&2; exit 2; }
echo "== build and install"
build_and_install

trap tempdb_stop EXIT
tempdb_start "shared_buffers = '1GB'" "max_wal_size = '16GB'" "checkpoint_timeout = '1h'" \
	"track_commit_timestamp = on" "autovacuum = off" \
	"sentiment_proc.databases = 'postgres'" "sentiment_proc.workers_per_database = 0"

sec() { date +%s.%N; }
set_workers() {
	psql_q -c "ALTER SYSTEM SET sentiment_proc.workers_per_database = $1" -c "SELECT pg_reload_conf()" >/dev/null
}
wait_for() {	# SQL that returns t, timeout in s
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ "$(psql_v -c "$1")" = t ] && return 0
		sleep 0.1
	done
	echo "timed out waiting for: $1" >&2
	return 1
}

echo "== generate $ROWS mentions"
psql_q -c "CREATE TABLE texts (id bigint PRIMARY KEY, text text NOT NULL)"
python3 bench/gen_mentions.py "$ROWS" --seed 1 | psql_q -c "COPY texts FROM STDIN"
psql_q <<'SQL' >/dev/null
CREATE EXTENSION sentiment_proc;
CREATE EXTENSION vector;
SQL
batch=$(psql_v -c "SHOW sentiment_proc.worker_batch_size")

# run TABLE: the workers process TABLE's pending rows; prints
# "seconds-to-completed rows/s"
run() {
	local t0
	psql_q -c "VACUUM ANALYZE $1" -c CHECKPOINT
	t0=$(psql_v -c "SELECT extract(epoch FROM clock_timestamp())")
	set_workers 2
	wait_for "SELECT NOT EXISTS (SELECT FROM $1 WHERE processing_status = 'pending')" 600
	psql_v -F ' ' -c "
		SELECT round(extract(epoch FROM max(pg_xact_commit_timestamp(xmin))) - $t0, 3),
			   round($ROWS / (extract(epoch FROM max(pg_xact_commit_timestamp(xmin))) - $t0))
		  FROM $1"
}

echo "== real[]: $ROWS rows, 2 workers, batches of $batch"
psql_q -c "SELECT sentiment_attach('t_real', topics_table => 't_real_topics', embeddings_table => 't_real_emb')" \
	-c "SELECT sentiment_convert_embeddings('t_real', 'real[]')" \
	-c "INSERT INTO t_real (entry_id, text) SELECT id, text FROM texts" >/dev/null
read -r real_s real_rate <<<"$(run t_real)"
echo "completed in $real_s s: $real_rate rows/s"
set_workers 0
wait_for "SELECT count(*) = 0 FROM sentiment_workers WHERE kind = 'worker'" 60

echo "== vector (the default, with its HNSW index and lane): $ROWS rows"
psql_q -c "SELECT sentiment_attach('t_vec', topics_table => 't_vec_topics', embeddings_table => 't_vec_emb')" \
	-c "INSERT INTO t_vec (entry_id, text) SELECT id, text FROM texts" >/dev/null
psql_v -c "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'hnsw'" | sed 's/^/index: /'
read -r vec_s vec_rate <<<"$(run t_vec)"
echo "completed in $vec_s s: $vec_rate rows/s"
t_done=$(sec)
wait_for "SELECT NOT EXISTS (SELECT FROM t_vec_emb_lane)" 1800
echo "lane empty $(echo "$(sec) - $t_done" | bc) s later (polled)"
read -r lag_s ingest_s ingest_rate <<<"$(psql_v -F ' ' -c "
	WITH c AS (SELECT max(pg_xact_commit_timestamp(xmin)) AS done FROM t_vec),
		 e AS (SELECT min(pg_xact_commit_timestamp(xmin)) AS first, max(pg_xact_commit_timestamp(xmin)) AS last,
					  count(*) AS n FROM t_vec_emb)
	SELECT round(extract(epoch FROM e.last - c.done), 1), round(extract(epoch FROM e.last - e.first), 1),
		   round((e.n - 1000) / extract(epoch FROM e.last - e.first))
	  FROM c, e")"
check=$(psql_v -c "SELECT (SELECT count(*) FROM t_vec_emb) || ' indexed, ' ||
		(SELECT count(*) FROM t_vec_emb e JOIN t_real_emb r USING (entry_id) WHERE e.embedding::real[] = r.embedding) ||
		' equal to the real[] ones'")

echo
echo "== results ($ROWS mentions, 2 workers, batches of $batch, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "to completed, real[]:  $real_s s  $real_rate rows/s"
echo "to completed, vector:  $vec_s s  $vec_rate rows/s  ($(echo "scale=2; $vec_rate / $real_rate" | bc)x real[])"
echo "embeddings indexed:    $lag_s s after the last result (goal 90 s for 30,000); $check"
echo "HNSW ingest (2 workers draining, m 16, ef_construction 64): $(echo "$ROWS / $lag_s" | bc) rows/s overall," \
	"$ingest_rate rows/s between the first and the last drain's commit ($ingest_s s)"
