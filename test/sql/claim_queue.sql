-- The two-phase path and the processing queue: claims take queued requests
-- first, by priority, as batches do, and sentiment_complete/sentiment_fail
-- end them; the queue stays private.  sentiment_complete accepts only
-- embeddings of the analyser's length; sentiment_similar leaves other
-- lengths out and says so.
\set SHOW_CONTEXT never
\i test/sql/helpers/try.sql
SELECT sentiment_attach('cq_mentions', topics_table => 'cq_topics', embeddings_table => 'cq_embeddings');
INSERT INTO cq_mentions (text) SELECT 'queued claim ' || g FROM generate_series(1, 8) g;
SELECT sentiment_process_batch(100, 'cq_mentions') AS first_pass;
INSERT INTO cq_mentions (text) VALUES ('fresh nine'), ('fresh ten');

-- Re-analysis requests: 7 (priority 5), 3 (priority 1), 5 (priority 0).
SELECT sentiment_enqueue('cq_mentions', ARRAY[5]::bigint[]) AS low,
	   sentiment_enqueue('cq_mentions', ARRAY[7]::bigint[], 5) AS high,
	   sentiment_enqueue('cq_mentions', ARRAY[3]::bigint[], 1) AS middle;

-- A claim of 2 takes the two highest-priority requests, not the pending rows.
SELECT id, text FROM sentiment_claim(2, interval '1 hour', 'cq_mentions') ORDER BY id;
-- the next claim passes over those: the last request first, then a pending row
SELECT id FROM sentiment_claim(2, interval '1 hour', 'cq_mentions') ORDER BY id;
SELECT entry_id, status, claimed_until > now() AS taken FROM sentiment_processing_queue
 WHERE source_table = 'cq_mentions'::regclass ORDER BY request_id;

-- A request made after the claim asks for another analysis: it stays.
SELECT pg_sleep(0.01);
SELECT sentiment_enqueue('cq_mentions', ARRAY[3]::bigint[], 1) AS again;
-- Complete 7 and 3, fail 5: their requests end like a batch's.
SELECT * FROM sentiment_complete('cq_mentions', (SELECT jsonb_agg(jsonb_build_object(
	'id', entry_id, 'version', version, 'sentiment_label', 'positive', 'sentiment_score', 0.5,
	'embedding', to_jsonb((sentiment_analyze(text)).embedding)))
	FROM cq_mentions WHERE entry_id IN (3, 7)));
SELECT sentiment_fail('cq_mentions', 5, 'model timed out', retry => false);
SELECT entry_id, status, error, started_at IS NOT NULL AS started, completed_at IS NOT NULL AS done
  FROM sentiment_processing_queue WHERE source_table = 'cq_mentions'::regclass ORDER BY request_id;
-- the batch takes the one left
SELECT sentiment_process_batch(100, 'cq_mentions') AS batch;
SELECT entry_id, status, claimed_until > now() AS taken FROM sentiment_processing_queue
 WHERE source_table = 'cq_mentions'::regclass ORDER BY request_id;

-- Embedding length: only the analyser's (sentiment_embedding_dims()).
SELECT sentiment_embedding_dims();
SELECT id FROM sentiment_claim(1, interval '1 hour', 'cq_mentions');
UPDATE cq_mentions SET text = 'a row to claim' WHERE entry_id = 1;
SELECT id FROM sentiment_claim(1, interval '1 hour', 'cq_mentions');
SELECT q, pg_temp.try(q) FROM (VALUES
	('SELECT sentiment_complete(''cq_mentions'', ''[{"id": 1, "version": 1, "sentiment_label": "positive", "sentiment_score": 0.5, "embedding": [0.1, 0.2]}]'')'),
	('SELECT sentiment_complete(''cq_mentions'', 1, 1, ''positive'', 0.5, embedding => array_fill(0.1::real, ARRAY[257]))')
) AS t(q);
SELECT entry_id, processing_status FROM cq_mentions WHERE entry_id = 1;
-- the right length, or none, is stored
SELECT sentiment_complete('cq_mentions', 1, 1, 'positive', 0.5, embedding => array_fill(0.1::real, ARRAY[256]));
SELECT cardinality(embedding) FROM cq_embeddings WHERE entry_id = 1;

-- sentiment_similar: a stored embedding of another length (written before
-- 1.2 refused them) is left out with a notice; asked for by row, an error.
INSERT INTO cq_embeddings (entry_id, embedding) VALUES (2, '{1, 0}')
	ON CONFLICT (entry_id) DO UPDATE SET embedding = excluded.embedding;
SELECT count(*) AS neighbours FROM sentiment_similar('queued claim', 20, 'cq_mentions') WHERE entry_id = 2;
SELECT count(*) AS neighbours FROM sentiment_similar(4::bigint, 20, 'cq_mentions') WHERE entry_id = 2;
SELECT pg_temp.try('SELECT * FROM sentiment_similar(2::bigint, 5, ''cq_mentions'')') AS by_short_row;

-- The helpers check the caller's right to process the source; the queue
-- itself is not writable by a claimant.
CREATE ROLE regress_sp_cq_claimant;
GRANT SELECT ON cq_mentions TO regress_sp_cq_claimant;
SET ROLE regress_sp_cq_claimant;
SELECT q, pg_temp.try(q) FROM (VALUES
	('SELECT sentiment_queue_take(''cq_mentions'', 10, ''1 minute'')'),
	('SELECT sentiment_queue_finish(''cq_mentions'', ARRAY[1]::bigint[], ARRAY[now()], false)'),
	('UPDATE sentiment_processing_queue SET status = ''completed''')
) AS t(q);
RESET ROLE;
SELECT q, pg_temp.try(q) FROM (VALUES
	('SELECT sentiment_queue_take(''pg_class'', 10, ''1 minute'')'),
	('SELECT sentiment_queue_take(''cq_mentions'', 0, ''1 minute'')'),
	('SELECT sentiment_queue_take(NULL, 1, ''1 minute'')')
) AS t(q);
REVOKE ALL ON cq_mentions FROM regress_sp_cq_claimant;
DROP ROLE regress_sp_cq_claimant;

SELECT sentiment_detach('cq_mentions');
DROP TABLE cq_mentions CASCADE;
DROP TABLE cq_topics, cq_embeddings;
