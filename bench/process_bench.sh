#!/usr/bin/env bash
# End-to-end throughput of sentiment_process_batch(1000) on a 1M-row table,
# against the raw SQL ceiling measured in the same run: the same claim (FOR
# NO KEY UPDATE SKIP LOCKED in claim order) and the same writes (result and
# status columns, one topic row, one 256-dimension embedding per row) with
# constant values, in one plain SQL statement per batch, prepared once as the
# function's statements are.  Each figure is taken with 1 and 2 concurrent
# sessions on a private temporary instance.
#
# Targets: the function reaches at least 60% of the ceiling with one
# session; two sessions reach at least 1.5x one.
#
#   bench/process_bench.sh [ROWS]      (default 1000000; ROWS a multiple of 2000)
#   REPEAT=N bench/process_bench.sh    rounds; the best figure of each kind counts
#                                      (default 2; the machine may be shared)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
ROWS=${1:-1000000}
REPEAT=${REPEAT:-2}
BATCH=1000
[ $((ROWS % (2 * BATCH))) -eq 0 ] || { echo "ROWS must be a multiple of $((2 * BATCH))" >&2; exit 2; }

. scripts/lib/tempdb.sh
echo "== build and install"
build_and_install

work=$(mktemp -d)
chmod 755 "$work"
trap 'tempdb_stop; rm -rf "$work"' EXIT
# Settings for a write-heavy run: checkpoints out of the way of the
# measurement (one is taken before each run), autovacuum off on the tables.
tempdb_start "shared_buffers = '2GB'" "max_wal_size = '16GB'" "checkpoint_timeout = '30min'" \
	"wal_buffers = '64MB'" "autovacuum = off"

psql_q() { as_pg psql -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "== load $ROWS generated mentions"
psql_q -v rows="$ROWS" <<'SQL'
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('bench_mentions');
ALTER TABLE bench_mentions SET (autovacuum_enabled = off);
ALTER TABLE mention_topics SET (autovacuum_enabled = off);
ALTER TABLE sentiment_embeddings SET (autovacuum_enabled = off);
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
SQL

# The ceiling's statement: the claim and every write the function makes, with
# constants in place of the analysis.
embedding=$(awk 'BEGIN { printf "{"; for (i = 1; i <= 256; i++) printf "%s0.0625", (i > 1 ? "," : ""); printf "}" }')
cat >"$work/ceiling.sql" <<SQL
WITH claimed AS (
	SELECT entry_id FROM bench_mentions
	 WHERE processing_status = 'pending'
	 ORDER BY entry_id LIMIT $BATCH
	 FOR NO KEY UPDATE SKIP LOCKED
), written AS (
	UPDATE bench_mentions m
	   SET sentiment_label = 'positive', sentiment_score = 0.5, emotion_label = 'joy',
		   emotion_score = 0.5, influence_weight = 1.0, processing_status = 'completed',
		   processing_started_at = now(), processing_completed_at = clock_timestamp(),
		   processing_error = NULL, processing_attempts = m.processing_attempts + 1
	  FROM claimed c
	 WHERE m.entry_id = c.entry_id
	RETURNING m.entry_id
), topics AS (
	INSERT INTO mention_topics (mention_id, topic_key, weight, sentiment)
	SELECT entry_id, 'tech', 1, 0.5 FROM written
	ON CONFLICT (mention_id, topic_key) DO UPDATE SET weight = excluded.weight, sentiment = excluded.sentiment
)
INSERT INTO sentiment_embeddings (entry_id, embedding)
SELECT entry_id, '$embedding'::real[] FROM written
ON CONFLICT (entry_id) DO UPDATE SET embedding = excluded.embedding;
SQL
echo "SELECT sentiment_process_batch($BATCH, 'bench_mentions');" >"$work/process.sql"
chmod 644 "$work"/*.sql

reset_table() {
	psql_q <<SQL
TRUNCATE bench_mentions, mention_topics, sentiment_embeddings;
INSERT INTO bench_mentions (entry_id, text, author_followers, likes, shares, replies)
	SELECT entry_id, text, author_followers, likes, shares, replies FROM bench_source;
VACUUM ANALYZE bench_mentions;
VACUUM ANALYZE mention_topics;
VACUUM ANALYZE sentiment_embeddings;
CHECKPOINT;
SQL
}

# run NAME SCRIPT CLIENTS -> prints rows/s; checks every row was done once.
run() {
	local name=$1 script=$2 clients=$3 tx out tps done once topics
	reset_table
	tx=$((ROWS / BATCH / clients))
	out=$(as_pg pgbench -n -M prepared -c "$clients" -j "$clients" -t "$tx" -f "$script" 2>&1) ||
		{ echo "$out" >&2; return 1; }
	tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
	read -r done once topics <<<"$(as_pg psql -X -At -F ' ' -c "
		SELECT count(*) FILTER (WHERE processing_status = 'completed'),
			   count(*) FILTER (WHERE processing_attempts = 1),
			   (SELECT count(*) FROM mention_topics)
		  FROM bench_mentions")"
	if [ "$done" -ne "$ROWS" ] || [ "$once" -ne "$ROWS" ] || [ "$topics" -ne "$ROWS" ]; then
		echo "$name: expected $ROWS rows completed once with one topic each, got $done / $once / $topics" >&2
		return 1
	fi
	awk -v t="$tps" -v b="$BATCH" 'BEGIN { printf "%.0f\n", t * b }'
}

echo "== runs ($ROWS rows, batches of $BATCH, each run on a freshly loaded table, best of $REPEAT)"
best() { [ -z "$1" ] || [ "$2" -gt "$1" ] && echo "$2" || echo "$1"; }
c1= p1= c2= p2=
# Interleaved, so that a slow spell on a shared machine hits both sides.
for r in $(seq "$REPEAT"); do
	x=$(run "ceiling, 1 session" "$work/ceiling.sql" 1); c1=$(best "$c1" "$x")
	echo "  round $r: raw SQL ceiling, 1 session:                 $x rows/s"
	x=$(run "process, 1 session" "$work/process.sql" 1); p1=$(best "$p1" "$x")
	echo "  round $r: sentiment_process_batch($BATCH), 1 session:  $x rows/s"
	x=$(run "ceiling, 2 sessions" "$work/ceiling.sql" 2); c2=$(best "$c2" "$x")
	echo "  round $r: raw SQL ceiling, 2 sessions:                $x rows/s"
	x=$(run "process, 2 sessions" "$work/process.sql" 2); p2=$(best "$p2" "$x")
	echo "  round $r: sentiment_process_batch($BATCH), 2 sessions: $x rows/s"
done

echo "== results"
awk -v c1="$c1" -v p1="$p1" -v c2="$c2" -v p2="$p2" 'BEGIN {
	r1 = p1 / c1; r2 = p2 / c2; s = p2 / p1; sc = c2 / c1
	printf "1 session:  %d rows/s = %.0f%% of the ceiling (%d rows/s); target >= 60%%: %s\n", p1, 100 * r1, c1, (r1 >= 0.6 ? "met" : "MISSED")
	printf "2 sessions: %d rows/s = %.2fx one session; target >= 1.5x: %s\n", p2, s, (s >= 1.5 ? "met" : "MISSED")
	printf "2 sessions: %.0f%% of the 2-session ceiling (%d rows/s, itself %.2fx its 1-session figure)\n", 100 * r2, c2, sc
}'
mkdir -p "$root/bench/out"
printf 'rows,batch,rounds,ceiling_1,process_1,ceiling_2,process_2\n%s,%s,%s,%s,%s,%s,%s\n' \
	"$ROWS" "$BATCH" "$REPEAT" "$c1" "$p1" "$c2" "$p2" >"$root/bench/out/process_bench.csv"
echo "figures written to bench/out/process_bench.csv"
