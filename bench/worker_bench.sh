#!/usr/bin/env bash
# Background workers: insert-to-completed latency and throughput.
#
# 1. Latency: single-row inserts at a steady rate (pgbench --rate) while two
#    workers run.  A row's latency is the commit time of the batch that
#    completed it (track_commit_timestamp) minus the time it was inserted
#    (clock_timestamp() in the insert, which commits at once).  Baseline in
#    the same run: the same load with the wake-up trigger disabled, so rows
#    are found only by the idle poll (sentiment_proc.worker_poll_interval).
#    Target: p99 under 50 ms with the wake-up.
# 2. Idle cost: CPU time the idle workers use over 10 seconds.
# 3. Throughput: a table of ROWS pending mentions, processed by 1 worker and
#    then (reloaded afresh) by 2 workers, at the default batch size; from the
#    reload that starts the workers to the commit of the last batch.
#    Target: 2 workers at least 1.5x one.
#
#   bench/worker_bench.sh [ROWS] [RATE] [SECONDS]   (defaults 1000000 200 30;
#       IDLE_SECONDS=n, default 10, the idle-cost window)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
ROWS=${1:-1000000}
RATE=${2:-200}
SECS=${3:-30}
IDLE_SECONDS=${IDLE_SECONDS:-10}

. scripts/lib/tempdb.sh
echo "== build and install"
build_and_install

work=$(mktemp -d)
chmod 755 "$work"
trap 'tempdb_stop; rm -rf "$work"' EXIT
tempdb_start "shared_buffers = '1GB'" "max_wal_size = '16GB'" "checkpoint_timeout = '30min'" \
	"track_commit_timestamp = on" "autovacuum = off" \
	"sentiment_proc.databases = 'postgres'" "sentiment_proc.workers_per_database = 2"

# Wait until the workers match the setting (the launcher starts them).
wait_workers() {
	local want=$1 i
	for i in $(seq 1 100); do
		[ "$(psql_v -c "SELECT count(*) FROM sentiment_workers WHERE kind = 'worker' AND state = 'idle'")" = "$want" ] && return 0
		sleep 0.1
	done
	echo "workers did not reach $want" >&2
	return 1
}

set_workers() {
	psql_q -c "ALTER SYSTEM SET sentiment_proc.workers_per_database = $1" -c "SELECT pg_reload_conf()" >/dev/null
}

psql_q <<'SQL'
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('latency_mentions');
SQL
wait_workers 2
batch=$(psql_v -c "SHOW sentiment_proc.worker_batch_size")
poll=$(psql_v -c "SHOW sentiment_proc.worker_poll_interval")

cat >"$work/insert.sql" <<'SQL'
INSERT INTO latency_mentions (text, created_at)
VALUES ('steady insert ' || (random() * 1000000)::int || ' is really good #latency', clock_timestamp());
SQL
chmod 644 "$work/insert.sql"

# latency NAME SECONDS -> "p50 p99 max n" in ms over the rows inserted in it
latency() {
	local secs=$1 from
	from=$(psql_v -c "SELECT coalesce(max(entry_id), 0) FROM latency_mentions")
	as_postgres pgbench -n -c 2 -j 2 -R "$RATE" -T "$secs" -f "$work/insert.sql" >/dev/null 2>&1
	# let the last rows finish (the poll-only run needs up to one interval)
	for _ in $(seq 1 100); do
		[ "$(psql_v -c "SELECT count(*) FROM latency_mentions WHERE processing_status = 'pending'")" = 0 ] && break
		sleep 0.1
	done
	psql_v -F ' ' -c "
		WITH l AS (
			SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin) - created_at) * 1000 AS ms
			  FROM latency_mentions
			 WHERE entry_id > $from AND processing_status = 'completed')
		SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
			   round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
			   round(max(ms)::numeric, 1), count(*)
		  FROM l"
}

echo "== latency: $RATE single-row inserts/s for ${SECS}s, 2 workers, batch size $batch"
lat_from=$(psql_v -c "SELECT coalesce(max(entry_id), 0) FROM latency_mentions")	# for the picture
read -r w50 w99 wmax wn <<<"$(latency "$SECS")"
lat_to=$(psql_v -c "SELECT coalesce(max(entry_id), 0) FROM latency_mentions")	# for the picture
echo "wake-up at commit:  p50 $w50 ms  p99 $w99 ms  max $wmax ms  ($wn rows)"
psql_q -c "ALTER TABLE latency_mentions DISABLE TRIGGER sentiment_wakeup"
read -r b50 b99 bmax bn <<<"$(latency 10)"
psql_q -c "ALTER TABLE latency_mentions ENABLE ALWAYS TRIGGER sentiment_wakeup"
echo "poll only ($poll):  p50 $b50 ms  p99 $b99 ms  max $bmax ms  ($bn rows, baseline)"

# private (non-shared) memory of the workers, kB each: flat over millions of rows?
rss_anon() {
	local p out=""
	for p in $(psql_v -c "SELECT string_agg(pid::text, ' ') FROM sentiment_workers WHERE kind = 'worker'"); do
		out="$out$(awk '/^RssAnon/ {print $2}' "/proc/$p/status") "
	done
	echo "${out% }"
}
rss_latency=$(rss_anon)
echo "worker private memory after the latency runs: $rss_latency kB"

echo "== idle cost: 2 idle workers over $IDLE_SECONDS s"
pids=$(psql_v -c "SELECT string_agg(pid::text, ' ') FROM sentiment_workers WHERE kind = 'worker'")
ticks() { local t=0 p; for p in $pids; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
t0=$(ticks); sleep "$IDLE_SECONDS"; t1=$(ticks)
hz=$(getconf CLK_TCK)
idle_ms=$(( (t1 - t0) * 1000 / hz ))
echo "idle workers used ${idle_ms} ms CPU in $IDLE_SECONDS s (poll interval $poll)"

echo "== throughput: $ROWS rows"
set_workers 0
psql_q -v rows="$ROWS" <<'SQL'
SELECT sentiment_attach('bench_mentions', topics_table => 'bench_topics', embeddings_table => 'bench_embeddings');
ALTER TABLE bench_mentions SET (autovacuum_enabled = off);
CREATE TABLE bench_source AS
SELECT (ARRAY['I', 'We', 'My team', 'Everyone here', 'Honestly I'])[1 + g % 5] || ' ' ||
	   (ARRAY['love', 'hate', 'really like', 'am not sure about', 'cannot stand', 'enjoy', 'tried'])[1 + g % 7] || ' ' ||
	   (ARRAY['the new phone', 'this update', 'the service', 'their coffee', 'the delivery', 'the app',
			  'the price', 'the support team', 'the battery', 'the design', 'the concert'])[1 + g % 11] ||
	   (ARRAY['!', '.', '!!!', ' :)', ' :(', '...', ', not great.', ', pretty good.', ' lol'])[1 + g % 9] ||
	   ' #' || (ARRAY['tech', 'food', 'travel', 'music', 'sport', 'retail', 'support', 'gaming'])[1 + g % 8]
	   AS text
  FROM generate_series(1::bigint, :rows) g;
CREATE TABLE bench_result (workers int, secs float8);
SQL

# throughput N -> rows/s with N workers on a freshly loaded table
throughput() {
	local n=$1 secs done once
	wait_workers 0 >/dev/null 2>&1 || true
	psql_q <<'SQL'
TRUNCATE bench_mentions, bench_topics, bench_embeddings;
-- no wake-up while loading: the workers are off, and the timing starts below
INSERT INTO bench_mentions (text) SELECT text FROM bench_source;
VACUUM ANALYZE bench_mentions;
CHECKPOINT;
SQL
	psql_q -c "CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t" \
		-c "ALTER SYSTEM SET sentiment_proc.workers_per_database = $n" -c "SELECT pg_reload_conf()" \
		-c "DO \$\$ BEGIN
				WHILE EXISTS (SELECT 1 FROM bench_mentions WHERE processing_status = 'pending') LOOP
					PERFORM pg_sleep(0.05);
				END LOOP;
			END \$\$" \
		-c "INSERT INTO bench_result SELECT $n, extract(epoch FROM max(pg_xact_commit_timestamp(xmin)) - (SELECT t FROM t0)) FROM bench_mentions" >/dev/null
	split=$(psql_v -c "SELECT string_agg(rows_processed::text, ' + ' ORDER BY worker_index) FROM sentiment_workers WHERE kind = 'worker'")
	rss_after=$(rss_anon)
	set_workers 0
	read -r secs done once <<<"$(psql_v -F ' ' -c "
		SELECT (SELECT secs FROM bench_result WHERE workers = $n ORDER BY secs DESC LIMIT 1),
			   count(*) FILTER (WHERE processing_status = 'completed'),
			   count(*) FILTER (WHERE processing_attempts = 1)
		  FROM bench_mentions")"
	if [ "$done" -ne "$ROWS" ] || [ "$once" -ne "$ROWS" ]; then
		echo "$n workers: expected $ROWS rows completed once, got $done / $once" >&2
		return 1
	fi
	echo "$n workers: private memory at the end: $rss_after kB" >&2
	awk -v r="$ROWS" -v s="$secs" -v sp="$split" 'BEGIN { printf "%.0f %.2f %s\n", r / s, s, sp }'
}

read -r t1 s1 split1 <<<"$(throughput 1)"
echo "1 worker:  $t1 rows/s (${s1}s; rows by worker: $split1)"
read -r t2 s2 split2 <<<"$(throughput 2)"
echo "2 workers: $t2 rows/s (${s2}s; rows by worker: $split2)"

echo "== results"
awk -v w99="$w99" -v w50="$w50" -v b99="$b99" -v t1="$t1" -v t2="$t2" -v idle="$idle_ms" -v isecs="$IDLE_SECONDS" 'BEGIN {
	printf "latency p99 %.1f ms (p50 %.1f ms); target < 50 ms: %s; poll-only baseline p99 %.1f ms = %.0fx slower\n",
		w99, w50, (w99 < 50 ? "met" : "MISSED"), b99, (w99 > 0 ? b99 / w99 : 0)
	printf "throughput 1 worker %d rows/s, 2 workers %d rows/s = %.2fx; target >= 1.5x: %s\n",
		t1, t2, t2 / t1, (t2 / t1 >= 1.5 ? "met" : "MISSED")
	printf "idle: %d ms CPU for 2 workers in %d s\n", idle, isecs
}'
mkdir -p "$root/bench/out"
printf 'rate,p50_ms,p99_ms,max_ms,poll_p50_ms,poll_p99_ms,idle_cpu_ms_10s,rows,batch,workers1_rows_s,workers2_rows_s\n%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' \
	"$RATE" "$w50" "$w99" "$wmax" "$b50" "$b99" "$idle_ms" "$ROWS" "$batch" "$t1" "$t2" >"$root/bench/out/worker_bench.csv"
echo "figures written to bench/out/worker_bench.csv"

# pictures (bench/plot.sh): the wake-up run's latency distribution,
# throughput against workers
{ echo latency_ms; psql_v -c "SELECT round((extract(epoch FROM pg_xact_commit_timestamp(xmin) - created_at) * 1000)::numeric, 2)
	FROM latency_mentions WHERE entry_id > $lat_from AND entry_id <= $lat_to AND processing_status = 'completed'"; } >"$root/bench/out/worker_latency.csv"
printf 'workers,rows_per_s,series\n1,%s,background workers\n2,%s,background workers\n' "$t1" "$t2" >"$root/bench/out/worker_throughput.csv"
bench/plot.sh latency bench/out/worker_latency.csv bench/out/worker_latency.png "Insert to completed, 2 workers, $RATE inserts/s"
bench/plot.sh workers bench/out/worker_throughput.csv bench/out/worker_throughput.png "Throughput against workers ($ROWS rows)"
