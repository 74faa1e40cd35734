#!/usr/bin/env bash
# The README's main-job command.  On a fresh machine: install what is needed,
# build and install the extension, start a private temporary PostgreSQL
# (its own directory and port, preloaded with pg_cron and sentiment_proc),
# attach a mentions table, load our sample mentions (scripts/demo_mentions.tsv,
# invented for this project), process them in batches, show the results and
# statistics, and stop the instance again.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== dependencies"
scripts/deps.sh
. scripts/lib/tempdb.sh
echo "== build and install sentiment_proc"
build_and_install
echo "== start a private PostgreSQL"
trap tempdb_stop EXIT
tempdb_start
echo "   data directory $TEMPDB_DIR/data, port $PGPORT (Unix socket only)"

psql_q() { as_pg psql -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "== CREATE EXTENSION, attach sentiment_data, load the sample"
psql_q -c "CREATE EXTENSION sentiment_proc" -c "SELECT sentiment_attach('sentiment_data')" >/dev/null
tail -n +2 scripts/demo_mentions.tsv |
	psql_q -c "\\copy sentiment_data (text, author_followers, likes, shares, replies) FROM STDIN"
psql_q -c "SELECT count(*) AS mentions_loaded, count(*) FILTER (WHERE processing_status = 'pending') AS pending FROM sentiment_data"

echo "== process: SELECT sentiment_process_batch(50) until nothing is pending"
psql_q <<'SQL'
CREATE TEMP TABLE demo_run AS SELECT clock_timestamp() AS started, 0 AS batches, 0 AS done;
DO $$
DECLARE
	n int;
BEGIN
	LOOP
		n := sentiment_process_batch(50);
		EXIT WHEN n = 0;
		UPDATE demo_run SET batches = batches + 1, done = done + n;
	END LOOP;
END $$;
SELECT batches, done AS rows_processed,
	   round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 1) AS elapsed_ms,
	   round(done / greatest(extract(epoch FROM clock_timestamp() - started), 1e-6)::numeric) AS rows_per_second
  FROM demo_run;
SQL

echo "== a sample of the analysed mentions"
psql_q <<'SQL'
\pset format aligned
SELECT d.entry_id AS id,
	   left(d.text, 60) AS text,
	   d.sentiment_label AS sentiment,
	   round(d.sentiment_score::numeric, 3) AS score,
	   d.emotion_label AS emotion,
	   round(d.influence_weight::numeric, 2) AS influence,
	   (SELECT string_agg(t.topic_key, ', ' ORDER BY t.topic_key) FROM mention_topics t
		 WHERE t.mention_id = d.entry_id) AS topics
  FROM sentiment_data d
 WHERE d.entry_id % 12 = 1
 ORDER BY d.entry_id;
SQL

echo "== statistics"
psql_q <<'SQL'
SELECT processing_status AS status, count(*), max(processing_attempts) AS max_attempts,
	   string_agg(DISTINCT processing_error, '; ') AS errors
  FROM sentiment_data GROUP BY 1 ORDER BY 1;

SELECT sentiment_label AS sentiment, count(*),
	   round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS percent,
	   round(avg(sentiment_score)::numeric, 3) AS avg_score
  FROM sentiment_data WHERE processing_status = 'completed'
 GROUP BY 1 ORDER BY 2 DESC;

SELECT emotion_label AS emotion, count(*),
	   round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS percent
  FROM sentiment_data WHERE processing_status = 'completed'
 GROUP BY 1 ORDER BY 2 DESC;

SELECT t.topic_key AS topic, count(*) AS mentions,
	   round(avg(d.sentiment_score)::numeric, 3) AS avg_sentiment,
	   round(sum(d.influence_weight)::numeric, 1) AS total_influence
  FROM mention_topics t JOIN sentiment_data d ON d.entry_id = t.mention_id
 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10;

SELECT count(*) AS embeddings, min(array_length(embedding, 1)) AS dimensions
  FROM sentiment_embeddings;

-- The most and least similar pair of mentions by embedding (cosine; the
-- vectors are unit length, so the dot product is the cosine).
WITH pairs AS (
	SELECT a.entry_id AS a, b.entry_id AS b,
		   (SELECT sum(x * y) FROM unnest(a.embedding, b.embedding) u(x, y)) AS cosine
	  FROM sentiment_embeddings a JOIN sentiment_embeddings b ON a.entry_id < b.entry_id
)
SELECT round(p.cosine::numeric, 3) AS cosine, left(da.text, 50) AS mention_a, left(db.text, 50) AS mention_b
  FROM (SELECT * FROM pairs ORDER BY cosine DESC LIMIT 1) p
  JOIN sentiment_data da ON da.entry_id = p.a JOIN sentiment_data db ON db.entry_id = p.b;

-- Analysis on the spot, without a table.
SELECT * FROM sentiment_scores('The demo worked and I love it! :)');
SQL

echo "== summary (sentiment_summary; the monitoring views are in the README)"
psql_q -c "SELECT section, item, rows, value FROM sentiment_summary()"

echo "== stop the private PostgreSQL"
