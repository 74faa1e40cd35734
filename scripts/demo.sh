#!/usr/bin/env bash
# The README's main-job command.  On a fresh machine: install what is needed,
# build and install the extension, start a private temporary PostgreSQL
# (its own directory and port, preloaded with pg_cron and sentiment_proc,
# two background workers), attach a mentions table, add a few domain words
# and topics, load our sample mentions (scripts/demo_mentions.tsv, invented
# for this project), let the workers process them as they arrive, show the
# results and statistics, and stop the instance again.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== dependencies"
# the server and pg_cron too: a test-machine script (see its header); skipped
# when the test command, which ran it, says all is installed (SP_INSTALLED=1)
[ "${SP_INSTALLED:-}" = 1 ] || scripts/deps-test.sh
. scripts/lib/tempdb.sh
echo "== build and install sentiment_proc"
build_and_install
echo "== start a private PostgreSQL with two sentiment_proc workers"
trap tempdb_stop EXIT
tempdb_start "sentiment_proc.databases = 'postgres'" "sentiment_proc.workers_per_database = 2" \
	"sentiment_proc.worker_batch_size = 50"
echo "   data directory $TEMPDB_DIR/data, port $PGPORT (Unix socket only)"

echo "== CREATE EXTENSION, attach sentiment_data, domain words and topics"
psql_q <<'SQL' >/dev/null
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
-- Domain words: in our sample "sick" is praise and a "bug" report is bad news.
INSERT INTO sentiment_lexicon_overrides (term, valence, note) VALUES
	('sick', 2.5, 'slang: great'), ('bug', -1.5, 'software defect');
INSERT INTO sentiment_topic_keywords (topic_key, phrase, weight) VALUES
	('battery', 'battery', 1), ('battery', 'charge', 1), ('battery', 'charging', 1),
	('support', 'customer support', 2), ('support', 'on hold', 1),
	('delivery', 'delivery', 1), ('delivery', 'shipping', 1), ('delivery', 'parcel', 1),
	('price', 'price', 1), ('price', 'expensive', 1), ('price', 'cheap', 1);
SQL

echo "== insert the sample; the workers are woken at each commit"
start_ns=$(date +%s%N)
tail -n +2 scripts/demo_mentions.tsv |
	psql_q -c "\\copy sentiment_data (text, author_followers, likes, shares, replies) FROM STDIN"
for _ in $(seq 1 600); do
	left=$(psql_q -At -c "SELECT count(*) FROM sentiment_data WHERE processing_status IN ('pending', 'processing')")
	[ "$left" = 0 ] && break
	sleep 0.05
done
elapsed_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
[ "$left" = 0 ] || { echo "demo: the workers left $left rows pending"; exit 1; }
psql_q <<SQL
SELECT count(*) AS mentions, count(*) FILTER (WHERE processing_status = 'completed') AS completed,
	   count(*) FILTER (WHERE processing_status = 'failed') AS failed,
	   $elapsed_ms AS ms_from_insert_to_all_done
  FROM sentiment_data;
SELECT kind, worker_index, state, batches, rows_processed, wakeups FROM sentiment_workers ORDER BY kind, worker_index;
SQL

echo "== processing by hand: insert and SELECT sentiment_process_batch(100) in one transaction"
psql_q <<'SQL'
BEGIN;
INSERT INTO sentiment_data (text, likes) VALUES ('The new firmware fixed the charging bug, battery life is sick now!', 3);
SELECT sentiment_process_batch(100) AS rows_finished;
COMMIT;
SELECT sentiment_label, sentiment_score, emotion_label,
	   (SELECT array_agg(topic_key ORDER BY topic_key) FROM mention_topics WHERE mention_id = entry_id) AS topics
  FROM sentiment_data ORDER BY entry_id DESC LIMIT 1;
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

-- The mentions most like a new text, by embedding cosine.
SELECT entry_id, round(similarity::numeric, 3) AS similarity, left(text, 60) AS text
  FROM sentiment_similar('my phone battery will not charge', 3);

-- Analysis on the spot, without a table.
SELECT * FROM sentiment_scores('The demo worked and I love it! :)');

-- The two sentiment models side by side (VADER is the default; social is
-- trained on tweets), and why VADER read the first text as it did.
SELECT t.text, v.sentiment_label AS vader, s.sentiment_label AS social,
	   round(s.sentiment_score::numeric, 3) AS social_score
  FROM (VALUES ('no refund, terrible support'), ('can''t wait for the weekend!'), ('meh, it was ok')) t(text),
	   sentiment_analyze(t.text, 'vader') v, sentiment_analyze(t.text, 'social') s;
SELECT term, round(contribution::numeric, 3) AS contribution
  FROM sentiment_explain('no refund, terrible support', 'vader', 5);

-- Mentions in several languages: the language of each, and the multilingual
-- model beside VADER (which reads every text as English).  Emotion is only
-- judged for English: NULL for the others.
SELECT sentiment_language(t.text) AS lang, v.sentiment_label AS vader, m.sentiment_label AS multilingual,
	   m.emotion_label AS emotion, left(t.text, 45) AS text
  FROM (VALUES ('Das Essen war wirklich ausgezeichnet'), ('El servicio fue terrible, nunca más'),
			   ('Le service client est vraiment nul, je suis déçu'), ('Adorei o novo app, muito bom!'),
			   ('La batteria dura pochissimo, che delusione'), ('الخدمة كانت سيئة جدا'),
			   ('can''t wait for the weekend!')) t(text),
	   sentiment_analyze(t.text, 'vader') v, sentiment_analyze(t.text, 'multilingual') m;
SQL

echo "== summary (sentiment_summary; the monitoring views are in docs/monitoring.md)"
psql_q -c "SELECT section, item, rows, value FROM sentiment_summary()"

echo "== stop the private PostgreSQL"
