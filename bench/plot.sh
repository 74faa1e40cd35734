#!/usr/bin/env bash
# Benchmark pictures with gnuplot (Debian gnuplot-nox, pngcairo terminal).
#
#   bench/plot.sh workers IN.csv OUT.png [TITLE] [XLABEL]
#                                                  throughput against workers
#   bench/plot.sh batch   IN.csv OUT.png [TITLE]   throughput against batch size
#       IN.csv: header line, then  x,rows_per_s[,series]  (one line per series
#       for each series name, e.g. "sql sessions", "background workers")
#   bench/plot.sh latency IN.csv OUT.png [TITLE]   latency distribution
#       IN.csv: header line, then one latency in ms per line; draws the
#       histogram and the cumulative share, with p50 / p99 marked
#   bench/plot.sh run [ROWS] [SECONDS]             a real run on a private
#       temporary instance (defaults 200000 rows, 15 s of steady inserts):
#       throughput of sentiment_process_batch against batch size (1 session)
#       and against concurrency (SQL sessions and background workers), and
#       insert-to-completed latency with 2 workers.  Writes bench/out/plot_*.csv,
#       bench/out/plot_summary.json and bench/out/plot_*.png.
#
# The other benchmarks (process_bench.sh, worker_bench.sh) can hand their
# own CSV files to the first three forms.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not found (scripts/deps-test.sh installs gnuplot-nox)" >&2; exit 2; }

# throughput KIND IN OUT TITLE XLABEL LOGX
plot_throughput() {
	local in=$1 out=$2 title=$3 xlabel=$4 logx=$5 series
	[ -s "$in" ] || { echo "plot.sh: $in is missing or empty" >&2; exit 2; }
	# one data block per series (third column; "rows/s" when absent)
	local tmp
	tmp=$(mktemp)
	awk -F, 'NR > 1 && NF >= 2 { s = (NF >= 3 && $3 != "") ? $3 : "rows/s"; if (!(s in seen)) { seen[s] = ++n; name[n] = s }
		data[s] = data[s] $1 " " $2 "\n" }
		END { for (i = 1; i <= n; i++) { printf "\"%s\"\n%s\n\n", name[i], data[name[i]] } }' "$in" >"$tmp"
	series=$(grep -c '^"' "$tmp" || true)
	[ "$series" -gt 0 ] || { echo "plot.sh: no data rows in $in" >&2; rm -f "$tmp"; exit 2; }
	gnuplot <<GP
set terminal pngcairo size 900,560 font "DejaVu Sans,11" noenhanced
set output "$out"
set title "$title"
set xlabel "$xlabel"
set ylabel "rows per second"
set grid
set key top left
set yrange [0:*]
set format y "%.0f"
$( [ "$logx" = 1 ] && echo 'set logscale x 10' || echo 'set xtics 1' )
set offsets graph 0.05, graph 0.05, graph 0.08, 0
set style data linespoints
plot for [i=0:$((series - 1))] "$tmp" index i using 1:2 with linespoints lw 2 pt 7 ps 1.2 title columnheader(1), \
     for [i=0:$((series - 1))] "$tmp" index i using 1:2:(sprintf("%.0f", \$2)) with labels offset 0,1 notitle
GP
	rm -f "$tmp"
	echo "plot.sh: wrote $out"
}

plot_latency() {
	local in=$1 out=$2 title=$3 sorted n p50 p99 max bin
	[ -s "$in" ] || { echo "plot.sh: $in is missing or empty" >&2; exit 2; }
	sorted=$(mktemp)
	tail -n +2 "$in" | grep -E '^[0-9.]+' | sort -g >"$sorted"
	n=$(wc -l <"$sorted")
	[ "$n" -gt 0 ] || { echo "plot.sh: no latencies in $in" >&2; rm -f "$sorted"; exit 2; }
	p50=$(awk -v n="$n" 'NR == int((n - 1) * 0.50) + 1 { print; exit }' "$sorted")
	p99=$(awk -v n="$n" 'NR == int((n - 1) * 0.99) + 1 { print; exit }' "$sorted")
	max=$(tail -n 1 "$sorted")
	# about 40 bins up to the p99.9 (the tail would squash the rest)
	bin=$(awk -v n="$n" 'NR == int((n - 1) * 0.999) + 1 { b = $1 / 40; print (b > 0 ? b : 1); exit }' "$sorted")
	gnuplot <<GP
set terminal pngcairo size 900,560 font "DejaVu Sans,11" noenhanced
set output "$out"
set title "$title ($n rows; p50 $p50 ms, p99 $p99 ms, max $max ms)"
set xlabel "insert to completed (ms)"
set ylabel "rows"
set y2label "cumulative share"
set y2range [0:1]
set y2tics ("0%%" 0, "25%%" 0.25, "50%%" 0.5, "75%%" 0.75, "90%%" 0.9, "100%%" 1)
set ytics nomirror
set grid
set key center right
set xrange [0:$bin * 42]
set style fill solid 0.6 border -1
binwidth = $bin
bin(x) = binwidth * floor(x / binwidth) + binwidth / 2
set arrow from $p50, graph 0 to $p50, graph 1 nohead lc rgb "#2a9d8f" lw 2 dt 2
set arrow from $p99, graph 0 to $p99, graph 1 nohead lc rgb "#e76f51" lw 2 dt 2
set label "p50" at $p50, graph 0.95 offset 0.5,0 tc rgb "#2a9d8f"
set label "p99" at $p99, graph 0.95 offset 0.5,0 tc rgb "#e76f51"
plot "$sorted" using (bin(\$1)):(1.0) smooth frequency with boxes lc rgb "#457b9d" title "rows per bin", \
     "$sorted" using 1:(1.0 / $n) smooth cumulative axes x1y2 with lines lw 2 lc rgb "#1d3557" title "cumulative share"
GP
	rm -f "$sorted"
	echo "plot.sh: wrote $out"
}

# ---- a real run --------------------------------------------------------------

run_bench() {
	local rows=${1:-200000} secs=${2:-15} out="$root/bench/out"
	mkdir -p "$out"
	. scripts/lib/tempdb.sh
	echo "== build and install"
	build_and_install
	work=$(mktemp -d)
	chmod 755 "$work"
	trap 'tempdb_stop; rm -rf "$work"' EXIT
	tempdb_start "shared_buffers = '1GB'" "max_wal_size = '8GB'" "checkpoint_timeout = '30min'" \
		"track_commit_timestamp = on" "autovacuum = off" \
		"sentiment_proc.databases = 'postgres'" "sentiment_proc.workers_per_database = 0"

	echo "== load $rows generated mentions"
	psql_q -v rows="$rows" <<'SQL'
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('plot_mentions') AS attached \gset
CREATE TABLE plot_source AS
SELECT (ARRAY['I', 'We', 'My team', 'Everyone here', 'Honestly I'])[1 + g % 5] || ' ' ||
	   (ARRAY['love', 'hate', 'really like', 'am not sure about', 'cannot stand', 'enjoy', 'tried'])[1 + g % 7] || ' ' ||
	   (ARRAY['the new phone', 'this update', 'the service', 'their coffee', 'the delivery', 'the app',
			  'the price', 'the support team', 'the battery', 'the design', 'the concert'])[1 + g % 11] ||
	   (ARRAY['!', '.', '!!!', ' :)', ' :(', '...', ', not great.', ', pretty good.', ' lol'])[1 + g % 9] ||
	   ' #' || (ARRAY['tech', 'food', 'travel', 'music', 'sport', 'retail', 'support', 'gaming'])[1 + g % 8]
	   AS text
  FROM generate_series(1::bigint, :rows) g;
SQL

	reload() {
		psql_q <<'SQL'
TRUNCATE plot_mentions, mention_topics, sentiment_embeddings;
INSERT INTO plot_mentions (text) SELECT text FROM plot_source;
VACUUM ANALYZE plot_mentions;
CHECKPOINT;
SELECT sentiment_stats_reset() AS reset \gset
SQL
	}
	# every row completed exactly once, and the statistics agree
	check() {
		local what=$1 done once counted
		read -r done once counted <<<"$(psql_v -F ' ' -c "
			SELECT count(*) FILTER (WHERE processing_status = 'completed'),
				   count(*) FILTER (WHERE processing_attempts = 1),
				   (SELECT rows_completed FROM sentiment_stats WHERE source IS NULL)
			  FROM plot_mentions")"
		if [ "$done" -ne "$rows" ] || [ "$once" -ne "$rows" ] || [ "$counted" -ne "$rows" ]; then
			echo "$what: expected $rows rows completed once and counted, got $done / $once / $counted" >&2
			exit 1
		fi
	}
	# sessions N BATCH -> rows/s of N pgbench clients calling sentiment_process_batch
	sessions() {
		local n=$1 batch=$2 tx tps
		reload
		echo "SELECT sentiment_process_batch($batch, 'plot_mentions');" >"$work/process.sql"
		chmod 644 "$work/process.sql"
		tx=$(( (rows + batch * n - 1) / (batch * n) ))
		tps=$(as_postgres pgbench -n -M prepared -c "$n" -j "$n" -t "$tx" -f "$work/process.sql" 2>&1 |
			sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
		check "$n sessions, batch $batch"
		# the last transactions find fewer rows: count rows, not batches
		awk -v t="$tps" -v tx="$tx" -v n="$n" -v r="$rows" 'BEGIN { printf "%.0f\n", r / (tx * n / t) }'
	}
	# workers N -> rows/s of N background workers from a reload to the last commit
	workers() {
		local n=$1 secs
		psql_q -c "ALTER SYSTEM SET sentiment_proc.workers_per_database = 0" -c "SELECT pg_reload_conf()" >/dev/null
		for _ in $(seq 1 100); do
			[ "$(psql_v -c "SELECT count(*) FROM sentiment_workers WHERE kind = 'worker'")" = 0 ] && break
			sleep 0.1
		done
		reload
		secs=$(psql_v -c "CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t" \
			-c "ALTER SYSTEM SET sentiment_proc.workers_per_database = $n" -c "SELECT pg_reload_conf()" \
			-c "DO \$\$ BEGIN
					WHILE EXISTS (SELECT 1 FROM plot_mentions WHERE processing_status = 'pending') LOOP
						PERFORM pg_sleep(0.05);
					END LOOP;
				END \$\$" \
			-c "SELECT extract(epoch FROM max(pg_xact_commit_timestamp(xmin)) - (SELECT t FROM t0)) FROM plot_mentions" |
			tail -n 1)
		psql_q -c "ALTER SYSTEM SET sentiment_proc.workers_per_database = 0" -c "SELECT pg_reload_conf()" >/dev/null
		# the statistics are added at commit, a moment after the rows are visible
		for _ in $(seq 1 50); do
			[ "$(psql_v -c "SELECT rows_completed FROM sentiment_stats WHERE source IS NULL")" = "$rows" ] && break
			sleep 0.1
		done
		check "$n workers"
		awk -v r="$rows" -v s="$secs" 'BEGIN { printf "%.0f\n", r / s }'
	}

	echo "== throughput against batch size (1 session, $rows rows each)"
	echo "batch_size,rows_per_s,series" >"$out/plot_batch.csv"
	for b in 10 50 100 500 1000 5000; do
		r=$(sessions 1 "$b")
		echo "batch $b: $r rows/s"
		echo "$b,$r,sentiment_process_batch" >>"$out/plot_batch.csv"
	done

	echo "== throughput against concurrency (batch 500, $rows rows each)"
	echo "workers,rows_per_s,series" >"$out/plot_workers.csv"
	for n in 1 2; do
		r=$(sessions "$n" 500)
		echo "$n SQL sessions: $r rows/s"
		echo "$n,$r,SQL sessions (pgbench)" >>"$out/plot_workers.csv"
	done
	for n in 1 2; do
		r=$(workers "$n")
		echo "$n background workers: $r rows/s"
		echo "$n,$r,background workers" >>"$out/plot_workers.csv"
	done

	echo "== latency: 200 single-row inserts/s for ${secs}s with 2 workers"
	psql_q -c "ALTER SYSTEM SET sentiment_proc.workers_per_database = 2" -c "SELECT pg_reload_conf()" >/dev/null
	for _ in $(seq 1 100); do
		[ "$(psql_v -c "SELECT count(*) FROM sentiment_workers WHERE kind = 'worker' AND state = 'idle'")" = 2 ] && break
		sleep 0.1
	done
	psql_q -c "TRUNCATE plot_mentions, mention_topics, sentiment_embeddings"
	echo "INSERT INTO plot_mentions (text, created_at) VALUES ('steady insert ' || (random() * 1e6)::int || ' is great #latency', clock_timestamp());" \
		>"$work/insert.sql"
	chmod 644 "$work/insert.sql"
	as_postgres pgbench -n -c 2 -j 2 -R 200 -T "$secs" -f "$work/insert.sql" >/dev/null 2>&1
	for _ in $(seq 1 100); do
		[ "$(psql_v -c "SELECT count(*) FROM plot_mentions WHERE processing_status = 'pending'")" = 0 ] && break
		sleep 0.1
	done
	{
		echo "latency_ms"
		psql_v -c "SELECT round((extract(epoch FROM pg_xact_commit_timestamp(xmin) - created_at) * 1000)::numeric, 2)
					 FROM plot_mentions WHERE processing_status = 'completed' ORDER BY 1"
	} >"$out/plot_latency.csv"
	# the figures as JSON as well
	sort -g <(tail -n +2 "$out/plot_latency.csv") | awk -v rows="$rows" -v bf="$out/plot_batch.csv" -v wf="$out/plot_workers.csv" '
		{ ms[++n] = $1 }
		END {
			printf "{\n  \"rows\": %d,\n  \"batch\": [", rows
			sep = ""
			while ((getline l < bf) > 0) { if (l ~ /^batch/) continue; split(l, f, ","); printf "%s{\"batch_size\": %s, \"rows_per_s\": %s}", sep, f[1], f[2]; sep = ", " }
			printf "],\n  \"concurrency\": ["
			sep = ""
			while ((getline l < wf) > 0) { if (l ~ /^workers/) continue; split(l, f, ","); printf "%s{\"n\": %s, \"rows_per_s\": %s, \"series\": \"%s\"}", sep, f[1], f[2], f[3]; sep = ", " }
			printf "],\n  \"latency_ms\": {\"rows\": %d, \"p50\": %s, \"p99\": %s, \"max\": %s}\n}\n",
				n, ms[int((n - 1) * 0.5) + 1], ms[int((n - 1) * 0.99) + 1], ms[n]
		}' >"$out/plot_summary.json"
	echo "figures written to bench/out/plot_batch.csv, plot_workers.csv, plot_latency.csv, plot_summary.json"

	plot_throughput "$out/plot_batch.csv" "$out/plot_batch.png" \
		"sentiment_process_batch: throughput against batch size (1 session, $rows rows)" "rows per batch (log scale)" 1
	plot_throughput "$out/plot_workers.csv" "$out/plot_workers.png" \
		"Throughput against concurrency (batch 500, $rows rows, 2 cores)" "concurrent sessions / workers" 0
	plot_latency "$out/plot_latency.csv" "$out/plot_latency.png" "Insert to completed, 2 workers, 200 inserts/s"
}

case "${1:-}" in
	workers) plot_throughput "$2" "$3" "${4:-Throughput against workers}" "${5:-workers}" 0 ;;
	batch) plot_throughput "$2" "$3" "${4:-Throughput against batch size}" "rows per batch (log scale)" 1 ;;
	latency) plot_latency "$2" "$3" "${4:-Latency distribution}" ;;
	run) shift; run_bench "$@" ;;
	*) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
