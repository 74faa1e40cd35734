-- The two-phase lease: renew the rows still held, release rows untried.
\set SHOW_CONTEXT never
SELECT sentiment_attach('l_mentions', topics_table => 'l_topics', embeddings_table => 'l_embeddings');
INSERT INTO l_mentions (text) SELECT 'leased ' || g FROM generate_series(1, 5) g;
SELECT id, attempts FROM sentiment_claim(4, interval '1 second', 'l_mentions') ORDER BY id;

-- Renew: rows still held get the new lease; a row whose claim was returned
-- (here by force) and a row never claimed are not in the answer.
SELECT sentiment_reset_stuck('l_mentions', force => true) AS returned_all;
SELECT id FROM sentiment_claim(3, interval '1 second', 'l_mentions') ORDER BY id;
UPDATE l_mentions SET processing_claimed_by = '999999:1' WHERE entry_id = 3;
SELECT sentiment_renew('l_mentions', ARRAY[1, 2, 3, 5], interval '1 hour') AS renewed;
SELECT entry_id, processing_status,
	   processing_lease_until > now() + interval '59 minutes' AS renewed
  FROM l_mentions ORDER BY 1;
-- From another session: pass the claim.
SELECT sentiment_renew('l_mentions', ARRAY[3], interval '1 hour', claim => '999999:1') AS renewed;

-- Release: untried rows back to pending, their attempt taken back; rows
-- held by someone else are left alone.
SELECT sentiment_release('l_mentions', ARRAY[1, 3]) AS released;
SELECT entry_id, processing_status, processing_attempts, processing_claimed_by IS NULL AS unclaimed,
	   processing_lease_until IS NULL AS no_lease
  FROM l_mentions ORDER BY 1;
SELECT sentiment_renew('l_mentions', ARRAY[1], interval '1 hour') AS renewed_after_release;

-- Bad arguments.
\i test/sql/helpers/try.sql
SELECT q, pg_temp.try(q) FROM (VALUES
	('SELECT sentiment_renew(''l_mentions'', ARRAY[2], interval ''0'')'),
	('SELECT sentiment_renew(''l_mentions'', ARRAY[2], NULL)'),
	('SELECT sentiment_renew(''l_topics'', ARRAY[2], interval ''1 minute'')'),
	('SELECT sentiment_release(''l_topics'', ARRAY[2])')
) t(q);
SELECT sentiment_release('l_mentions', NULL) AS nothing;

SELECT sentiment_detach('l_mentions');
DROP TABLE l_mentions CASCADE;
DROP TABLE l_topics, l_embeddings;
