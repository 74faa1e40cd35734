#!/usr/bin/env bash
# End-to-end throughput of sentiment_process_batch(1000) on a 1M-row table,
# against the raw SQL ceiling measured in the same run: the same claim (FOR
# NO KEY UPDATE SKIP LOCKED in claim order) and the same writes (result and
# status columns, one topic row, one 256-dimension embedding per row) with
# constant values, in one plain SQL statement per batch, prepared once as the
# function's statements are.  Both are measured with 1 and 2 concurrent
# sessions (pgbench) on a private temporary instance.
#
# The two sides work on two identical 1M-row tables, and the four kinds of
# run (ceiling/function x 1/2 sessions) take turns in short slices until both
# tables are done: a busy spell on a shared machine then hits every kind
# alike instead of spoiling one of them.
#
# Targets: the function reaches at least 60% of the ceiling with one
# session; two sessions reach at least 1.5x one.
#
# Each PostgreSQL major given is measured in turn, in the same run, against
# its own ceiling (each builds in build/pgNN).  By default: PG_CONFIG (or the
# pg_config in PATH), then PostgreSQL 18 when /usr/local/pgsql-18 has it
# (SP_PG18_CONFIG names another; empty: none).
#
#   bench/process_bench.sh [ROWS [PG_CONFIG...]]   (ROWS: default 1000000; a multiple of 100000)
#       BATCH=n (default 1000) rows per call, SLICE=n (default 50) batches
#       per turn (even: two sessions share a slice): ROWS must be a
#       multiple of 2 x SLICE x BATCH
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
ROWS=${1:-1000000}
[ $# -gt 0 ] && shift
if [ $# -eq 0 ]; then
	set -- "${PG_CONFIG:-pg_config}"
	pg18=${SP_PG18_CONFIG-/usr/local/pgsql-18/bin/pg_config}
	[ -n "$pg18" ] && [ -x "$pg18" ] && set -- "$@" "$pg18"
fi
BATCH=${BATCH:-1000}
SLICE=${SLICE:-50}	# batches per slice and kind (a new connection each: per-backend set-up is amortised)
[ $((ROWS % (2 * SLICE * BATCH))) -eq 0 ] && [ $((SLICE % 2)) -eq 0 ] ||
	{ echo "SLICE must be even and ROWS a multiple of $((2 * SLICE * BATCH))" >&2; exit 2; }

. scripts/lib/tempdb.sh
work=$(mktemp -d)
chmod 755 "$work"
trap 'tempdb_stop; rm -rf "$work"' EXIT
: >"$work/csv"

# One major: build, a private instance, the runs, its figures.
bench_major() {
PG_CONFIG=$1
export PG_CONFIG
SP_ROOT=$SP_SRC
major=$(pg_major)
echo "==== PostgreSQL $major ($("$PG_CONFIG" --version), $PG_CONFIG)"
echo "== build and install"
use_build_dir
build_and_install
# Settings for a write-heavy run: checkpoints out of the way of the
# measurement, autovacuum off (the tables are analysed after loading).
tempdb_start "shared_buffers = '2GB'" "max_wal_size = '16GB'" "checkpoint_timeout = '1h'" \
	"wal_buffers = '64MB'" "autovacuum = off"

# As root, give the instance (every backend inherits it) a higher priority,
# so that other work on a shared machine disturbs the figures less; on an
# idle machine this changes nothing.  pgbench only sends one call per batch.
if [ "$(id -u)" -eq 0 ]; then
	pm=$(head -1 "$TEMPDB_DIR/data/postmaster.pid")
	renice -n -10 -p "$pm" $(pgrep -P "$pm") >/dev/null
fi

echo "== load 2 x $ROWS generated mentions"
psql_q -v rows="$ROWS" <<'SQL' >/dev/null
CREATE EXTENSION sentiment_proc;
-- Short invented mentions, each with exactly one hashtag, so the function
-- writes one topic row per mention, as the ceiling does.
CREATE TABLE bench_source AS
SELECT g AS entry_id,
	   (ARRAY['I', 'We', 'My team', 'Everyone here', 'Honestly I'])[1 + g % 5] || ' ' ||
	   (ARRAY['love', 'hate', 'really like', 'am not sure about', 'cannot stand', 'enjoy', 'tried'])[1 + g % 7] || ' ' ||
	   (ARRAY['the new phone', 'this update', 'the service', 'their coffee', 'the delivery', 'the app',
			  'the price', 'the support team', 'the battery', 'the design', 'the concert'])[1 + g % 11] ||
	   (ARRAY['!', '.', '!!!', ' :)', ' :(', '...', ', not great.', ', pretty good.', ' lol'])[1 + g % 9] ||
	   ' #' || (ARRAY['tech', 'food', 'travel', 'music', 'sport', 'retail', 'support', 'gaming'])[1 + g % 8]
	   AS text,
	   (g * 7919) % 100000 AS author_followers, (g * 31) % 500 AS likes,
	   (g * 17) % 50 AS shares, (g * 13) % 40 AS replies
  FROM generate_series(1::bigint, :rows) g;
-- bench_c for the ceiling, bench_f for the function: same shape, same rows.
SELECT sentiment_attach('bench_c', topics_table => 'bench_c_topics', embeddings_table => 'bench_c_embeddings');
SELECT sentiment_attach('bench_f', topics_table => 'bench_f_topics', embeddings_table => 'bench_f_embeddings');
INSERT INTO bench_c (entry_id, text, author_followers, likes, shares, replies)
	SELECT entry_id, text, author_followers, likes, shares, replies FROM bench_source;
INSERT INTO bench_f (entry_id, text, author_followers, likes, shares, replies)
	SELECT entry_id, text, author_followers, likes, shares, replies FROM bench_source;
VACUUM ANALYZE bench_c;
VACUUM ANALYZE bench_f;
VACUUM ANALYZE bench_c_topics;
VACUUM ANALYZE bench_f_topics;
VACUUM ANALYZE bench_c_embeddings;
VACUUM ANALYZE bench_f_embeddings;
CHECKPOINT;
SQL

# The ceiling's statement: the claim and every write the function makes, with
# constants in place of the analysis.
embedding=$(awk 'BEGIN { printf "{"; for (i = 1; i <= 256; i++) printf "%s0.0625", (i > 1 ? "," : ""); printf "}" }')
cat >"$work/ceiling.sql" <<SQL
WITH claimed AS (
	SELECT entry_id FROM bench_c
	 WHERE processing_status = 'pending'
	 ORDER BY entry_id LIMIT $BATCH
	 FOR NO KEY UPDATE SKIP LOCKED
), written AS (
	UPDATE bench_c m
	   SET sentiment_label = 'positive', sentiment_score = 0.5, emotion_label = 'joy',
		   emotion_score = 0.5, influence_weight = 1.0, processing_status = 'completed',
		   processing_started_at = now(), processing_completed_at = clock_timestamp(),
		   processing_error = NULL, processing_attempts = m.processing_attempts + 1
	  FROM claimed c
	 WHERE m.entry_id = c.entry_id
	RETURNING m.entry_id
), topics AS (
	INSERT INTO bench_c_topics (mention_id, topic_key, weight, sentiment)
	SELECT entry_id, 'tech', 1, 0.5 FROM written
	ON CONFLICT (mention_id, topic_key) DO UPDATE SET weight = excluded.weight, sentiment = excluded.sentiment
)
INSERT INTO bench_c_embeddings (entry_id, embedding)
SELECT entry_id, '$embedding'::real[] FROM written
ON CONFLICT (entry_id) DO UPDATE SET embedding = excluded.embedding;
SQL
echo "SELECT sentiment_process_batch($BATCH, 'bench_f');" >"$work/function.sql"
chmod 644 "$work"/*.sql

# slice SCRIPT CLIENTS BATCHES -> seconds the slice took (BATCHES in all).
slice() {
	local out tps
	out=$(as_postgres pgbench -n -M prepared -c "$2" -j "$2" -t $(($3 / $2)) -f "$1" 2>&1) ||
		{ echo "$out" >&2; return 1; }
	tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
	awk -v t="$tps" -v n="$3" 'BEGIN { printf "%.6f\n", n / t }'
}

echo "   load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
echo "== runs: $ROWS rows per side, batches of $BATCH, the four kinds in turns of $SLICE batches"
tc1=0 tf1=0 tc2=0 tf2=0
turns=$((ROWS / BATCH / (2 * SLICE)))
for turn in $(seq "$turns"); do
	tc1=$(awk -v a="$tc1" -v b="$(slice "$work/ceiling.sql" 1 $SLICE)" 'BEGIN { print a + b }')
	tf1=$(awk -v a="$tf1" -v b="$(slice "$work/function.sql" 1 $SLICE)" 'BEGIN { print a + b }')
	tc2=$(awk -v a="$tc2" -v b="$(slice "$work/ceiling.sql" 2 $SLICE)" 'BEGIN { print a + b }')
	tf2=$(awk -v a="$tf2" -v b="$(slice "$work/function.sql" 2 $SLICE)" 'BEGIN { print a + b }')
	if [ $((turn % 2)) -eq 0 ]; then echo "  $turn/$turns turns"; fi
done

# Every row done exactly once, with its topic and embedding, on both sides.
for t in bench_c bench_f; do
	read -r done once topics embeddings <<<"$(as_postgres psql -X -At -F ' ' -c "
		SELECT count(*) FILTER (WHERE processing_status = 'completed'),
			   count(*) FILTER (WHERE processing_attempts = 1),
			   (SELECT count(*) FROM ${t}_topics), (SELECT count(*) FROM ${t}_embeddings)
		  FROM $t")"
	if [ "$done" -ne "$ROWS" ] || [ "$once" -ne "$ROWS" ] || [ "$topics" -ne "$ROWS" ] || [ "$embeddings" -ne "$ROWS" ]; then
		echo "$t: expected $ROWS rows completed once with a topic and an embedding each;" \
			"got $done / $once / $topics / $embeddings" >&2
		exit 1
	fi
done
echo "   load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  checked: on both sides all $ROWS rows completed exactly once, each with one topic row and one embedding"

half=$((ROWS / 2))
echo "== results, PostgreSQL $major"
awk -v n="$half" -v tc1="$tc1" -v tf1="$tf1" -v tc2="$tc2" -v tf2="$tf2" -v b="$BATCH" -v major="$major" 'BEGIN {
	c1 = n / tc1; f1 = n / tf1; c2 = n / tc2; f2 = n / tf2
	printf "raw SQL ceiling, 1 session:                 %8.0f rows/s\n", c1
	printf "sentiment_process_batch(%d), 1 session:  %8.0f rows/s\n", b, f1
	printf "raw SQL ceiling, 2 sessions:                %8.0f rows/s\n", c2
	printf "sentiment_process_batch(%d), 2 sessions: %8.0f rows/s\n", b, f2
	printf "1 session:  function at %.0f%% of the ceiling; target >= 60%%: %s\n", 100 * f1 / c1, (f1 / c1 >= 0.6 ? "met" : "MISSED")
	printf "2 sessions: function at %.2fx its 1-session rate; target >= 1.5x: %s\n", f2 / f1, (f2 / f1 >= 1.5 ? "met" : "MISSED")
	printf "2 sessions: function at %.0f%% of the 2-session ceiling (the ceiling scales %.2fx)\n", 100 * f2 / c2, c2 / c1
	printf "%d,%d,%d,%.0f,%.0f,%.0f,%.0f\n", major, n * 2, b, c1, f1, c2, f2 > "/dev/stderr"
}' 2>>"$work/csv"
tempdb_stop
}

for pg in "$@"; do
	bench_major "$pg"
done
mkdir -p "$root/bench/out"
{ echo "major,rows,batch,ceiling_1,process_1,ceiling_2,process_2"; cat "$work/csv"; } >"$root/bench/out/process_bench.csv"
echo "== each major's share of its own ceiling"
awk -F, 'NR > 1 { printf "PostgreSQL %s: 1 session %.0f%% of its ceiling (%s of %s rows/s), 2 sessions %.0f%% (%s of %s rows/s)\n", $1, 100 * $5 / $4, $5, $4, 100 * $7 / $6, $7, $6 }' \
	"$root/bench/out/process_bench.csv"
echo "figures written to bench/out/process_bench.csv"

# picture (bench/plot.sh): the function against the ceiling, by sessions
awk -F, 'NR == 2 { print "sessions,rows_per_s,series" }
	NR > 1 { printf "1,%s,raw SQL ceiling (%s)\n2,%s,raw SQL ceiling (%s)\n1,%s,sentiment_process_batch (%s)\n2,%s,sentiment_process_batch (%s)\n", $4, $1, $6, $1, $5, $1, $7, $1 }' \
	"$root/bench/out/process_bench.csv" >"$root/bench/out/process_sessions.csv"
bench/plot.sh workers bench/out/process_sessions.csv bench/out/process_sessions.png \
	"sentiment_process_batch against the raw SQL ceiling ($(awk -F, 'NR == 2 { print $2 " rows, batches of " $3 }' "$root/bench/out/process_bench.csv"))" \
	"concurrent sessions"
