#!/usr/bin/env bash
# Worker memory over millions of rows: one background worker processes ROWS
# mentions in ROUNDS equal rounds (inserted, then drained), and after each
# round its private memory (RssAnon: heap, palloc contexts, the analyser's
# malloc'd lexicon and workspace; shared buffers excluded) is read from
# /proc.  The same backend must serve the whole run (a restart would hide
# growth).  Baseline: the memory after round 1, once the lexicon, plans and
# caches are built; target: the last round at most 1 MB above it, i.e. flat.
#
# A second series does the same for an SQL session calling
# sentiment_process_batch in a loop (one backend kept open all along).
#
#   bench/memory_bench.sh [ROWS] [ROUNDS]   (defaults 2000000 10)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-2000000}
ROUNDS=${2:-10}
per=$((ROWS / ROUNDS))

. scripts/lib/tempdb.sh
echo "== build and install"
build_and_install

work=$(mktemp -d)
chmod 777 "$work"
trap 'tempdb_stop; rm -rf "$work"' EXIT
tempdb_start "shared_buffers = '512MB'" "max_wal_size = '8GB'" "autovacuum = off" \
	"sentiment_proc.databases = 'postgres'" "sentiment_proc.workers_per_database = 1" \
	"sentiment_proc.worker_batch_size = 1000"

psql_q >/dev/null <<'SQL'
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('worker_mentions');
SELECT sentiment_attach('session_mentions', topics_table => 'session_topics',
						embeddings_table => 'session_embeddings');
-- the session's table is left to the session: no worker wake-ups
ALTER TABLE session_mentions DISABLE TRIGGER sentiment_wakeup;
-- Varied text: words, emoji, hashtags (new topic keys all along), numbers.
CREATE FUNCTION mem_texts(first bigint, n bigint) RETURNS SETOF text LANGUAGE sql AS $$
	SELECT (ARRAY['I', 'We', 'Honestly my team', 'Everyone'])[1 + g % 4] || ' ' ||
		   (ARRAY['love', 'hate', 'really like', 'cannot stand', 'am unsure about'])[1 + g % 5] || ' ' ||
		   'item ' || g || (ARRAY[' 😂', ' 👍🏽', '!!!', ' :(', ' not great.', ' #deal' || (g % 5000)])[1 + g % 6] ||
		   ' #tag' || (g % 97)
	  FROM generate_series(first, first + n - 1) g
$$;
-- The session's loop: batches of 1000, each committed, until nothing is left.
CREATE PROCEDURE mem_drain() LANGUAGE plpgsql AS $$
BEGIN
	WHILE sentiment_process_batch(1000, 'session_mentions') > 0 LOOP
		COMMIT;
	END LOOP;
END $$;
SQL

rss() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }

for _ in $(seq 1 100); do
	wpid=$(psql_v -c "SELECT pid FROM sentiment_workers WHERE kind = 'worker' AND pid IS NOT NULL LIMIT 1")
	[ -n "$wpid" ] && break
	sleep 0.1
done
[ -n "$wpid" ] || { echo "no worker started" >&2; exit 1; }

# One session for the whole run, fed through a pipe.
mkfifo "$work/in"
as_postgres psql -X -At -v ON_ERROR_STOP=1 <"$work/in" >"$work/out" 2>&1 &
spsql=$!
exec 3>"$work/in"
echo "SELECT 'session pid ' || pg_backend_pid();" >&3
for _ in $(seq 1 100); do grep -q '^session pid' "$work/out" 2>/dev/null && break; sleep 0.1; done
spid=$(sed -n 's/^session pid //p' "$work/out")

echo "== $ROWS rows in $ROUNDS rounds of $per: worker pid $wpid, session pid $spid"
printf '%-6s %12s %14s %14s\n' round rows_done worker_kB session_kB
declare -a wmem smem
for r in $(seq 1 "$ROUNDS"); do
	first=$(( (r - 1) * per + 1 ))
	psql_q -c "INSERT INTO worker_mentions (text) SELECT mem_texts($first, $per)" \
		-c "INSERT INTO session_mentions (text) SELECT mem_texts($first, $per)"
	# the worker drains its table; the session drains the other
	echo "CALL mem_drain(); SELECT 'round $r done';" >&3
	for _ in $(seq 1 36000); do
		[ "$(psql_v -c "SELECT count(*) FROM (SELECT FROM worker_mentions WHERE processing_status = 'pending' LIMIT 1) q")" = 0 ] &&
			grep -q "^round $r done" "$work/out" && break
		sleep 0.1
	done
	if [ "$(psql_v -c "SELECT pid FROM sentiment_workers WHERE kind = 'worker' AND pid IS NOT NULL LIMIT 1")" != "$wpid" ]; then
		echo "the worker was restarted during the run" >&2
		exit 1
	fi
	wmem[$r]=$(rss "$wpid")
	smem[$r]=$(rss "$spid")
	printf '%-6s %12s %14s %14s\n' "$r" "$((r * per))" "${wmem[$r]}" "${smem[$r]}"
done
exec 3>&-
wait "$spsql" || true

done_w=$(psql_v -c "SELECT count(*) FROM worker_mentions WHERE processing_status = 'completed' AND processing_attempts = 1")
done_s=$(psql_v -c "SELECT count(*) FROM session_mentions WHERE processing_status = 'completed' AND processing_attempts = 1")
if [ "$done_w" -ne "$ROWS" ] || [ "$done_s" -ne "$ROWS" ]; then
	echo "expected $ROWS rows completed once in each table, got $done_w and $done_s" >&2
	exit 1
fi

echo "== results"
awk -v w1="${wmem[1]}" -v wn="${wmem[$ROUNDS]}" -v s1="${smem[1]}" -v sn="${smem[$ROUNDS]}" -v rows="$ROWS" 'BEGIN {
	printf "worker: %d kB after round 1 (baseline), %d kB after %d rows: %+d kB = %.3fx; target <= +1024 kB: %s\n",
		w1, wn, rows, wn - w1, wn / w1, (wn - w1 <= 1024 ? "met" : "MISSED")
	printf "SQL session: %d kB after round 1 (baseline), %d kB after %d rows: %+d kB = %.3fx; target <= +1024 kB: %s\n",
		s1, sn, rows, sn - s1, sn / s1, (sn - s1 <= 1024 ? "met" : "MISSED")
}'
