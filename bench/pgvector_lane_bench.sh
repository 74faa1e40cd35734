#!/usr/bin/env bash
# The embedding lane (docs/pgvector.md): with pgvector's default vector type,
# do results reach 'completed' as fast as with real[], and how long do the
# embeddings then take to reach the HNSW index?  On a private temporary
# instance with two background workers, in one run:
#
#  1. ROWS mentions (bench/gen_mentions.py) pending in a table whose side table
#     is real[], and the same texts in a table attached as a new user would
#     (vector(256) with its HNSW index, and its embedding lane), ROUNDS times
#     in turn (the order swapped every round, new tables each time); for
#     each, the two workers are started and the time taken from the start of
#     the first batch (processing_started_at) to the commit of the last
#     (track_commit_timestamp): rows/s to completed, and the ratio vector /
#     real[] over all rounds (goal at least 0.8x).
#  2. For vector: the time from that last batch to the commit of the last
#     drain into the HNSW table (goal: 30,000 rows within 90 s on 2 cores),
#     and the steady HNSW ingest rate of the two draining workers (rows over
#     the time between the first and the last drain's commit, less the first
#     chunk of each).
#
# The HNSW index has pgvector's defaults, m = 16 and ef_construction = 64
# (the settings the recall of docs/pgvector.md was measured with).
#
#   bench/pgvector_lane_bench.sh [ROWS]     (default 30000; ROUNDS=n, default 3)
#
# Needs pgvector in the PostgreSQL of PG_CONFIG (../shared/pgvector/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-30000}
ROUNDS=${ROUNDS:-3}

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

# run TABLE: the workers process TABLE's pending rows; prints the seconds
# from the start of the first batch to the commit of the last
run() {
	psql_q -c "VACUUM ANALYZE $1" -c CHECKPOINT
	set_workers 2
	wait_for "SELECT NOT EXISTS (SELECT FROM $1 WHERE processing_status = 'pending')" 600
	psql_v -c "SELECT round(extract(epoch FROM max(pg_xact_commit_timestamp(xmin)) - min(processing_started_at)), 3)
				 FROM $1"
}
stop_workers() {
	set_workers 0
	wait_for "SELECT count(*) = 0 FROM sentiment_workers WHERE kind = 'worker'" 60
}

# real[] and vector in turn, the order swapped every round; each vector table
# new (its HNSW graph starts empty), its lane drained before the next run.
# Each table is detached after its run: with several attached, a batch
# shares its rows among them (fair shares), which would cost the later
# tables of the run more statements per row.
real_total=0; vec_total=0; lines=""
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then order="real vec"; else order="vec real"; fi
	for kind in $order; do
		t="t_${kind}_$round"
		psql_q -c "SELECT sentiment_attach('$t', topics_table => '${t}_topics', embeddings_table => '${t}_emb')" >/dev/null
		[ "$kind" = real ] && psql_q -c "SELECT sentiment_convert_embeddings('$t', 'real[]')" >/dev/null
		psql_q -c "INSERT INTO $t (entry_id, text) SELECT id, text FROM texts" >/dev/null
		s=$(run "$t")
		line="round $round, $kind: $ROWS rows to completed in $s s ($(echo "$ROWS / $s" | bc) rows/s)"
		if [ "$kind" = real ]; then
			real_total=$(echo "$real_total + $s" | bc)
		else
			vec_total=$(echo "$vec_total + $s" | bc)
			# the workers, still running, drain the lane
			wait_for "SELECT NOT EXISTS (SELECT FROM ${t}_emb_lane)" 1800
			read -r lag_s ingest_s ingest_rate <<<"$(psql_v -F ' ' -c "
				WITH c AS (SELECT max(pg_xact_commit_timestamp(xmin)) AS done FROM $t),
					 e AS (SELECT min(pg_xact_commit_timestamp(xmin)) AS first,
								  max(pg_xact_commit_timestamp(xmin)) AS last, count(*) AS n FROM ${t}_emb)
				SELECT round(extract(epoch FROM e.last - c.done), 1), round(extract(epoch FROM e.last - e.first), 1),
					   round((e.n - 2000) / extract(epoch FROM e.last - e.first))
				  FROM c, e")"
			line="$line; indexed $lag_s s after its last result, HNSW ingest $ingest_rate rows/s"
			[ "$round" = 1 ] && psql_v -c "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
				WHERE i.indrelid = '${t}_emb'::regclass AND pg_get_indexdef(i.indexrelid) LIKE '%hnsw%'" | sed 's/^/index: /'
		fi
		stop_workers
		# one attached table at a time: a batch splits its rows among them
		psql_q -c "SELECT sentiment_detach('$t')" >/dev/null
		echo "$line"
		lines+="$line"$'\n'
	done
done
check=$(psql_v -c "SELECT (SELECT count(*) FROM t_vec_1_emb) || ' indexed, ' ||
		(SELECT count(*) FROM t_vec_1_emb e JOIN t_real_1_emb r USING (entry_id) WHERE e.embedding::real[] = r.embedding) ||
		' equal to the real[] ones'")

echo
echo "== results ($ROWS mentions, $ROUNDS rounds, 2 workers, batches of $batch, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s' "$lines"
echo "to completed, all rounds: real[] $(echo "$ROWS * $ROUNDS / $real_total" | bc) rows/s," \
	"vector $(echo "$ROWS * $ROUNDS / $vec_total" | bc) rows/s: $(echo "scale=2; $real_total / $vec_total" | bc)x"
echo "round 1 vector table: $check"
