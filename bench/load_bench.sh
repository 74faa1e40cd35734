#!/usr/bin/env bash
# Sustained load: ingest and processing side by side, for a long while.
#
# On a private temporary instance (scripts/lib/tempdb.sh), with two
# background workers, autovacuum on and the table settings recommended in
# docs/load.md:
#
# 1. Full speed: CLIENTS pgbench clients (default 16) insert single-row
#    mentions as fast as the machine allows for DURATION seconds (default 300)
#    while the two workers process.  Then the inserts stop and the backlog
#    drains.  Target: drained within 60 s of the inserts stopping.
# 2. Fixed rate: the same clients at half the ingest rate phase 1 reached,
#    for DURATION seconds.  Targets: the backlog stays under one second of
#    rows (pending < rate, sampled every second) and insert-to-completed p99
#    under 250 ms.
#
# Reported per phase: ingest and processing rates, the backlog over time
# (sampled every second; PNG via gnuplot), insert-to-completed p50/p99 (a
# row's latency is the commit time of the transaction that completed it,
# track_commit_timestamp, minus clock_timestamp() at its insert), worker
# private memory (RssAnon) at the start and end of each phase.  At the end:
# dead tuples, table and index sizes, autovacuum runs, and the check that
# nothing was lost or done twice (rows = committed pgbench inserts, every
# row completed with one attempt and one embedding).
#
# Inserts commit durably by default (one WAL flush per insert: on a slow
# disk that, not the workers, bounds the ingest rate); SYNC_COMMIT=off runs
# the inserting clients with synchronous_commit = off, so that ingest is
# bound by CPU and the workers have to keep up with more.
#
# Recommended fillfactor: 90 for a busy source (each row is updated once,
# never HOT, since the status moves it between partial indexes; 10% free
# space lets the new version land on the same page).  FILLFACTOR=100 runs
# the comparison.
#
#   DURATION=300 CLIENTS=16 FILLFACTOR=90 SYNC_COMMIT=on bench/load_bench.sh
#
# Writes bench/out/load_samples.csv (t, phase, inserted, completed, pending),
# bench/out/load_summary.csv and bench/out/load_backlog.png.  Not a test:
# it takes 2 x DURATION plus the drain; its figures depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
DURATION=${DURATION:-300}
CLIENTS=${CLIENTS:-16}
FILLFACTOR=${FILLFACTOR:-90}
SYNC_COMMIT=${SYNC_COMMIT:-on}
THREADS=${THREADS:-$(nproc)}

. scripts/lib/tempdb.sh
echo "== build and install"
build_and_install

work=$(mktemp -d)
chmod 755 "$work"
sampler=
trap '[ -n "$sampler" ] && kill "$sampler" 2>/dev/null; tempdb_stop; rm -rf "$work"' EXIT
tempdb_start "shared_buffers = '512MB'" "max_wal_size = '8GB'" "checkpoint_timeout = '15min'" \
	"track_commit_timestamp = on" "autovacuum = on" "max_connections = 60" \
	"sentiment_proc.databases = 'postgres'" "sentiment_proc.workers_per_database = 2"

psql_q() { as_postgres psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_v() { as_postgres psql -X -At -v ON_ERROR_STOP=1 "$@"; }

psql_q -v ff="$FILLFACTOR" <<'SQL'
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('load_mentions', topics_table => 'load_topics', embeddings_table => 'load_embeddings');
-- docs/load.md: settings for a busy source
ALTER TABLE load_mentions SET (
	fillfactor = :ff,
	autovacuum_vacuum_scale_factor = 0.02,
	autovacuum_vacuum_insert_scale_factor = 0.02,
	autovacuum_analyze_scale_factor = 0.02,
	autovacuum_vacuum_cost_limit = 2000);
ALTER TABLE load_embeddings SET (autovacuum_vacuum_insert_scale_factor = 0.05);
SQL
for _ in $(seq 1 100); do
	[ "$(psql_v -c "SELECT count(*) FROM sentiment_workers WHERE kind = 'worker' AND state = 'idle'")" = 2 ] && break
	sleep 0.1
done
batch=$(psql_v -c "SHOW sentiment_proc.worker_batch_size")

cat >"$work/insert.sql" <<'SQL'
INSERT INTO load_mentions (text, likes, created_at)
VALUES ((ARRAY['I love', 'We hate', 'Honestly I like', 'Cannot stand', 'Pretty happy with'])[1 + (random() * 4)::int]
		|| ' the ' || (ARRAY['new phone', 'update', 'service', 'coffee', 'delivery', 'app'])[1 + (random() * 5)::int]
		|| ' ' || (random() * 1000000)::int || (ARRAY['!', ' :)', ' :(', '...', ' lol'])[1 + (random() * 4)::int]
		|| ' #' || (ARRAY['tech', 'food', 'travel', 'music'])[1 + (random() * 3)::int],
		(random() * 100)::int, clock_timestamp());
SQL
chmod 644 "$work/insert.sql"

rss_anon() {
	local p out=""
	for p in $(psql_v -c "SELECT string_agg(pid::text, ' ') FROM sentiment_workers WHERE kind = 'worker'"); do
		out="$out$(awk '/^RssAnon/ {print $2}' "/proc/$p/status")+"
	done
	echo "${out%+}"
}

# The sampler: every second, rows inserted (committed), completed, pending.
samples=$work/samples.csv
echo "t,phase,inserted,completed,pending" >"$samples"
chmod 666 "$samples"
echo idle >"$work/phase"
t_start=$(date +%s.%N)
(
	while :; do
		line=$(psql_v -F , -c "SELECT (SELECT count(*) FROM load_mentions) AS inserted,
				(SELECT coalesce(sum(rows_completed), 0) FROM sentiment_stats WHERE source = 'load_mentions'::regclass),
				(SELECT pending FROM sentiment_queue_status WHERE source = 'load_mentions'::regclass)" 2>/dev/null) || line=
		[ -n "$line" ] && echo "$(awk -v a="$(date +%s.%N)" -v b="$t_start" 'BEGIN { printf "%.1f", a - b }'),$(cat "$work/phase"),$line" >>"$samples"
		sleep 1
	done
) &
sampler=$!

# phase NAME CLIENT_ARGS... -> runs pgbench, echoes "transactions seconds"
run_phase() {
	local name=$1 out
	shift
	echo "$name" >"$work/phase"
	out=$(as_postgres env PGOPTIONS="-c synchronous_commit=$SYNC_COMMIT" pgbench -n -c "$CLIENTS" -j "$THREADS" -T "$DURATION" "$@" -f "$work/insert.sql" 2>&1)
	echo "$out" | awk '/number of transactions actually processed/ { split($NF, a, "/"); n = a[1] }
		/number of failed transactions/ { f = $5 }
		END { print n + 0, f + 0 }'
}

# drain -> seconds until nothing is pending (gives up after 600 s)
drain() {
	local t0 t1
	t0=$(date +%s.%N)
	for _ in $(seq 1 6000); do
		[ "$(psql_v -c "SELECT count(*) FROM load_mentions WHERE processing_status = 'pending'")" = 0 ] && break
		sleep 0.1
	done
	t1=$(date +%s.%N)
	awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }'
}

# latency FROM TO -> "p50 p99 max" in ms for rows FROM < entry_id <= TO
latency() {
	psql_v -F ' ' -c "
		WITH l AS (
			SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin) - created_at) * 1000 AS ms
			  FROM load_mentions WHERE entry_id > $1 AND entry_id <= $2 AND processing_status = 'completed')
		SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
			   round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
			   round(max(ms)::numeric, 1) FROM l"
}

completed_now() { psql_v -c "SELECT coalesce(sum(rows_completed), 0) FROM sentiment_stats WHERE source = 'load_mentions'::regclass"; }
max_id() { psql_v -c "SELECT coalesce(max(entry_id), 0) FROM load_mentions"; }

echo "== phase 1: $CLIENTS clients at full speed for ${DURATION}s, 2 workers, batch size $batch, fillfactor $FILLFACTOR, inserts with synchronous_commit $SYNC_COMMIT"
rss1a=$(rss_anon)
id0=$(max_id); c0=$(completed_now)
read -r n1 f1 <<<"$(run_phase full)"
id1=$(max_id); c1=$(completed_now)
echo drain >"$work/phase"
drain1=$(drain)
c1d=$(completed_now)
rss1b=$(rss_anon)
ingest1=$(awk -v n="$n1" -v d="$DURATION" 'BEGIN { printf "%.0f", n / d }')
proc1=$(awk -v n="$((c1 - c0))" -v d="$DURATION" 'BEGIN { printf "%.0f", n / d }')
backlog1=$(awk -F, -v p=full '$2 == p && $5 > m { m = $5 } END { print m + 0 }' "$samples")
read -r l1_50 l1_99 l1_max <<<"$(latency "$id0" "$id1")"
echo "ingest $ingest1 rows/s ($n1 inserts, $f1 failed); processed $proc1 rows/s during the inserts;"
echo "backlog at most $backlog1 rows; drained ${drain1}s after the inserts stopped (target < 60 s)"
echo "insert to completed: p50 $l1_50 ms, p99 $l1_99 ms, max $l1_max ms; worker memory $rss1a -> $rss1b kB"

rate=$(( ingest1 / 2 ))
[ "$rate" -gt 0 ] || rate=1
echo "== phase 2: $CLIENTS clients at a fixed $rate rows/s (half of phase 1) for ${DURATION}s"
rss2a=$(rss_anon)
id2=$(max_id); c2=$(completed_now)
read -r n2 f2 <<<"$(run_phase fixed -R "$rate")"
id3=$(max_id); c3=$(completed_now)
echo drain >"$work/phase"
drain2=$(drain)
rss2b=$(rss_anon)
ingest2=$(awk -v n="$n2" -v d="$DURATION" 'BEGIN { printf "%.0f", n / d }')
proc2=$(awk -v n="$((c3 - c2))" -v d="$DURATION" 'BEGIN { printf "%.0f", n / d }')
backlog2=$(awk -F, -v p=fixed '$2 == p && $5 > m { m = $5 } END { print m + 0 }' "$samples")
read -r l2_50 l2_99 l2_max <<<"$(latency "$id2" "$id3")"
echo "ingest $ingest2 rows/s ($n2 inserts, $f2 failed); processed $proc2 rows/s"
echo "backlog at most $backlog2 rows (target < $rate, one second of rows); drained ${drain2}s after"
echo "insert to completed: p50 $l2_50 ms, p99 $l2_99 ms, max $l2_max ms (target p99 < 250 ms); worker memory $rss2a -> $rss2b kB"
echo idle >"$work/phase"
sleep 2
kill "$sampler" 2>/dev/null || true
sampler=

echo "== the table at the end"
psql_q -c "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1 || true
sleep 1
read -r live dead vacs autovacs analyzes <<<"$(psql_v -F ' ' -c "
	SELECT n_live_tup, n_dead_tup, vacuum_count, autovacuum_count, autoanalyze_count
	  FROM pg_stat_user_tables WHERE relid = 'load_mentions'::regclass")"
IFS='|' read -r heap idx total emb <<<"$(psql_v -F '|' -c "
	SELECT pg_size_pretty(pg_relation_size('load_mentions')), pg_size_pretty(pg_indexes_size('load_mentions')),
		   pg_size_pretty(pg_total_relation_size('load_mentions')), pg_size_pretty(pg_total_relation_size('load_embeddings'))")"
echo "live rows $live, dead rows $dead, autovacuum runs $autovacs, autoanalyze runs $analyzes"
echo "sizes: heap $heap, indexes $idx, total $total; embeddings table $emb"

echo "== nothing lost or done twice"
read -r rows completed once emb_rows emb_distinct <<<"$(psql_v -F ' ' -c "
	SELECT (SELECT count(*) FROM load_mentions),
		   (SELECT count(*) FROM load_mentions WHERE processing_status = 'completed'),
		   (SELECT count(*) FROM load_mentions WHERE processing_attempts = 1),
		   (SELECT count(*) FROM load_embeddings), (SELECT count(DISTINCT entry_id) FROM load_embeddings)")"
expected=$((n1 + n2))
verdict=ok
[ "$rows" -eq "$expected" ] && [ "$completed" -eq "$rows" ] && [ "$once" -eq "$rows" ] &&
	[ "$emb_rows" -eq "$rows" ] && [ "$emb_distinct" -eq "$rows" ] || verdict=FAILED
echo "rows $rows (committed inserts $expected), completed $completed, with one attempt $once, embeddings $emb_rows ($emb_distinct distinct): $verdict"

echo "== results"
met() { awk -v v="$1" -v t="$2" 'BEGIN { print (v + 0 < t + 0 ? "met" : "MISSED") }'; }
echo "full speed: ingest $ingest1 rows/s, processing $proc1 rows/s, drained in ${drain1} s: $(met "$drain1" 60)"
echo "fixed rate $rate rows/s: max backlog $backlog2 rows: $(met "$backlog2" "$rate"); p99 $l2_99 ms: $(met "$l2_99" 250)"
echo "nothing lost or doubled: $verdict"

mkdir -p "$root/bench/out"
cp "$samples" "$root/bench/out/load_samples.csv"
{
	echo "duration_s,clients,fillfactor,sync_commit,batch,phase1_ingest_rows_s,phase1_processed_rows_s,phase1_max_backlog,phase1_drain_s,phase1_p50_ms,phase1_p99_ms,phase2_rate,phase2_ingest_rows_s,phase2_processed_rows_s,phase2_max_backlog,phase2_p50_ms,phase2_p99_ms,phase2_max_ms,live_rows,dead_rows,autovacuum_runs,heap,indexes,total,worker_rss_kb_start,worker_rss_kb_end,verdict"
	echo "$DURATION,$CLIENTS,$FILLFACTOR,$SYNC_COMMIT,$batch,$ingest1,$proc1,$backlog1,$drain1,$l1_50,$l1_99,$rate,$ingest2,$proc2,$backlog2,$l2_50,$l2_99,$l2_max,$live,$dead,$autovacs,$heap,$idx,$total,$rss1a,$rss2b,$verdict"
} >"$root/bench/out/load_summary.csv"
echo "figures written to bench/out/load_summary.csv and bench/out/load_samples.csv"

# the picture: backlog and the rates between samples, against time
awk -F, 'NR > 2 { dt = $1 - t; if (dt > 0) printf "%s %s %.0f %.0f\n", $1, $5, ($3 - i) / dt, ($4 - c) / dt }
	NR > 1 { t = $1; i = $3; c = $4 }' "$samples" >"$work/plot.dat"
if command -v gnuplot >/dev/null && [ -s "$work/plot.dat" ]; then
	gnuplot <<GP
set terminal pngcairo size 1000,600 font "DejaVu Sans,11" noenhanced
set output "$root/bench/out/load_backlog.png"
set title "Sustained load: $CLIENTS clients at full speed, then $rate rows/s; 2 workers, fillfactor $FILLFACTOR"
set xlabel "seconds"
set ylabel "pending rows (backlog)"
set y2label "rows per second"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set grid
set key top right
plot "$work/plot.dat" using 1:2 with lines lw 2 title "backlog (pending rows)", \
     "" using 1:3 axes x1y2 with lines title "inserted per second", \
     "" using 1:4 axes x1y2 with lines title "completed per second"
GP
	echo "picture written to bench/out/load_backlog.png"
fi
[ "$verdict" = ok ]
