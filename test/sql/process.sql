-- sentiment_process_batch: claim order, results equal to the analyser's,
\set SHOW_CONTEXT never
-- per-row failures, nothing processed twice, re-processing, sources.
TRUNCATE sentiment_data CASCADE;
ALTER TABLE sentiment_data ALTER COLUMN entry_id RESTART WITH 1;
INSERT INTO sentiment_data (text, author_followers, likes, shares, replies) VALUES
	('I love this phone, the camera is amazing! #tech #photography', 1200, 45, 3, 7),
	('Worst customer service ever. Never buying again. #fail', 80, 2, 0, 1),
	('The package arrived on Tuesday.', NULL, NULL, NULL, NULL),
	('', 5, 0, 0, 0),
	('   ', NULL, 1, NULL, NULL),
	(NULL, 10, 1, 1, 1),
	('Not bad at all :) #weekend #Weekend', 300, 12, 1, 0),
	('I am SO angry about the delay!!! #travel', 50, 3, 0, 9),
	(repeat('long ', 900000), 1, 1, 1, 1),
	('Meh. It is fine, I guess. #tech', 0, 0, 0, 0);

-- A batch takes the first pending rows in claim order.
SELECT sentiment_process_batch(3, 'sentiment_data');
SELECT entry_id, processing_status, processing_attempts FROM sentiment_data ORDER BY 1;

-- The rest; the row with no text and the one over the size cap fail
-- (with their reason); the others complete.
SELECT sentiment_process_batch(100, 'sentiment_data');
SELECT entry_id, processing_status, processing_error, processing_attempts,
	   sentiment_label IS NOT NULL AS has_label
  FROM sentiment_data ORDER BY 1;

-- Nothing is processed twice: a further call finds no work.
SELECT sentiment_process_batch(100, 'sentiment_data');
SELECT max(processing_attempts) AS max_attempts FROM sentiment_data;

-- Stored results are exactly what the analyser computes for the text.
SELECT count(*) AS completed,
	   count(*) FILTER (WHERE d.sentiment_label IS DISTINCT FROM a.sentiment_label
						   OR d.sentiment_score IS DISTINCT FROM a.sentiment_score
						   OR d.emotion_label IS DISTINCT FROM a.emotion_label
						   OR d.emotion_score IS DISTINCT FROM a.emotion_score) AS mismatched
  FROM sentiment_data d, sentiment_analyze(d.text) a
 WHERE d.processing_status = 'completed';

-- Topics: one row per distinct key, as the analyser finds them.
SELECT count(*) AS rows_with_topic_mismatch
  FROM sentiment_data d, sentiment_analyze(d.text) a
 WHERE d.processing_status = 'completed'
   AND ARRAY(SELECT DISTINCT k FROM unnest(a.topics) k ORDER BY 1)
	   IS DISTINCT FROM ARRAY(SELECT t.topic_key FROM mention_topics t WHERE t.mention_id = d.entry_id ORDER BY 1);
SELECT count(*) AS topic_rows, count(DISTINCT mention_id) AS mentions FROM mention_topics;

-- Embeddings: one per completed row, equal to the analyser's, unit length.
SELECT count(*) AS embeddings,
	   count(*) FILTER (WHERE e.embedding IS DISTINCT FROM a.embedding) AS mismatched,
	   count(*) FILTER (WHERE array_length(e.embedding, 1) <> 256) AS wrong_length,
	   count(*) FILTER (WHERE abs((SELECT sum(x * x) FROM unnest(e.embedding) x) - 1) > 1e-4) AS not_unit
  FROM sentiment_embeddings e
  JOIN sentiment_data d ON d.entry_id = e.entry_id,
	   sentiment_analyze(d.text) a
 WHERE d.processing_status = 'completed';
SELECT count(*) AS failed_rows_with_side_rows
  FROM sentiment_data d
 WHERE d.processing_status = 'failed'
   AND (EXISTS (SELECT 1 FROM mention_topics t WHERE t.mention_id = d.entry_id)
		OR EXISTS (SELECT 1 FROM sentiment_embeddings e WHERE e.entry_id = d.entry_id));

-- Influence is filled for completed rows; more engagement weighs more.
SELECT count(*) FILTER (WHERE influence_weight IS NULL) AS missing_influence
  FROM sentiment_data WHERE processing_status = 'completed';
SELECT (SELECT influence_weight FROM sentiment_data WHERE entry_id = 1)
	 > (SELECT influence_weight FROM sentiment_data WHERE entry_id = 10) AS engagement_counts;

-- Timestamps: started before completed, both set by the batch.
SELECT count(*) FILTER (WHERE processing_started_at IS NULL OR processing_completed_at IS NULL
						   OR processing_started_at > processing_completed_at) AS bad_timestamps
  FROM sentiment_data;

-- Re-processing a row replaces its topics and embedding.
UPDATE sentiment_data SET text = 'Now it is about #music only', processing_status = 'pending'
 WHERE entry_id = 1;
SELECT sentiment_process_batch(10, 'sentiment_data');
SELECT entry_id, processing_status, processing_attempts FROM sentiment_data WHERE entry_id = 1;
SELECT topic_key FROM mention_topics WHERE mention_id = 1 ORDER BY 1;
SELECT e.embedding = a.embedding AS embedding_replaced
  FROM sentiment_embeddings e, sentiment_analyze('Now it is about #music only') a
 WHERE e.entry_id = 1;

-- A failed row that is re-queued and fails again loses its old side rows.
UPDATE sentiment_data SET text = NULL, processing_status = 'pending' WHERE entry_id = 1;
SELECT sentiment_process_batch(10, 'sentiment_data');
SELECT processing_status, processing_error, sentiment_label,
	   (SELECT count(*) FROM mention_topics WHERE mention_id = 1) AS topics,
	   (SELECT count(*) FROM sentiment_embeddings WHERE entry_id = 1) AS embeddings
  FROM sentiment_data WHERE entry_id = 1;

-- Deleting a mention removes its side rows.
DELETE FROM sentiment_data WHERE entry_id = 2;
SELECT count(*) AS orphans FROM mention_topics WHERE mention_id = 2;

-- Several sources: a named source only...
INSERT INTO sentiment_data (text) SELECT 'fresh mention ' || g FROM generate_series(1, 5) g;
SELECT sentiment_process_batch(1000, 'legacy');
SELECT processing_status, count(*) FROM legacy GROUP BY 1 ORDER BY 1;
SELECT count(*) AS still_pending FROM sentiment_data WHERE processing_status = 'pending';
-- ...or all of them, in fair shares, up to the batch size.
SELECT sentiment_process_batch(1003);
SELECT (SELECT count(*) FROM sentiment_data WHERE processing_status = 'pending') AS sentiment_data_pending,
	   (SELECT count(*) FROM legacy WHERE processing_status = 'pending') AS legacy_pending,
	   (SELECT count(*) FROM seed.sentiment_data WHERE processing_status = 'pending') AS seed_pending;
SELECT sentiment_process_batch(10000);
SELECT (SELECT count(*) FROM sentiment_data WHERE processing_status = 'pending') AS sentiment_data_pending,
	   (SELECT count(*) FROM legacy WHERE processing_status = 'pending') AS legacy_pending,
	   (SELECT count(*) FROM seed.sentiment_data WHERE processing_status = 'pending') AS seed_pending;
SELECT sentiment_process_batch(10000);

-- The adopted varchar/int table and the seed-shaped side tables work too.
SELECT count(*) AS legacy_embeddings, count(*) FILTER (WHERE array_length(embedding, 1) = 256) AS full_length
  FROM legacy_embeddings;
SELECT entry_id, processing_status, sentiment_label IS NOT NULL AS has_label
  FROM seed.sentiment_data ORDER BY 1;
SELECT entry_id FROM seed.sentiment_embeddings ORDER BY 1;

-- The default batch size is 100.
INSERT INTO sentiment_data (text) SELECT 'bulk ' || g FROM generate_series(1, 150) g;
SELECT sentiment_process_batch();
SELECT sentiment_process_batch();
