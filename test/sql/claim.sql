-- The two-phase path for analysers outside the server: claim with
-- a lease, complete only with the claimed version and a held claim, fail
-- with a retry, abandoned claims back to pending; edits win.
\set SHOW_CONTEXT never
SELECT sentiment_attach('c_mentions', topics_table => 'c_topics', embeddings_table => 'c_embeddings');
INSERT INTO c_mentions (text, likes) SELECT 'external ' || g, g FROM generate_series(1, 6) g;

-- Claim 3: committed as processing with a lease and this session as
-- claimant; attempts count the claim.
SELECT source_table, id, text, version, attempts, claim = sentiment_claimant() AS mine,
	   lease_until BETWEEN now() + interval '59 seconds' AND clock_timestamp() + interval '1 minute' AS lease, likes
  FROM sentiment_claim(3, interval '1 minute', 'c_mentions') ORDER BY id;
SELECT entry_id, processing_status, processing_claimed_by = sentiment_claimant() AS mine,
	   processing_attempts FROM c_mentions ORDER BY 1;
-- Claimed rows are not taken again, by a claim or by a batch.
SELECT id FROM sentiment_claim(2, interval '1 minute', 'c_mentions') ORDER BY id;
SELECT sentiment_process_batch(100, 'c_mentions') AS batch_takes;
SELECT entry_id, processing_status FROM c_mentions ORDER BY 1;

-- The fields a result may have: the key, the result columns (from the
-- result row's description), the side rows.
SELECT * FROM sentiment_result_fields();

-- Complete: several rows at once, each with its outcome.
-- (the embedding: 256 dimensions, as the analyser's; see 15_claim_queue)
SELECT * FROM sentiment_complete('c_mentions', replace($$[
	{"id": 1, "version": 0, "sentiment_label": "positive", "sentiment_score": 0.75,
	 "emotion_label": "joy", "emotion_score": 0.5, "influence_weight": 2,
	 "topics": ["gpu", "model", "gpu"], "embedding": EMBEDDING},
	{"id": 2, "version": 7, "sentiment_label": "negative", "sentiment_score": -0.5},
	{"id": 99, "version": 0, "sentiment_label": "neutral", "sentiment_score": 0}
]$$, 'EMBEDDING', to_jsonb(array_fill(0.0625::real, ARRAY[256]))::text)::jsonb) ORDER BY id;
SELECT entry_id, processing_status, sentiment_label, sentiment_score, emotion_label, influence_weight,
	   processing_claimed_by IS NULL AS released, processing_lease_until IS NULL AS no_lease
  FROM c_mentions WHERE entry_id IN (1, 2) ORDER BY 1;
SELECT topic_key FROM c_topics WHERE mention_id = 1 ORDER BY 1;
SELECT cardinality(embedding), embedding[1], embedding[256] FROM c_embeddings WHERE entry_id = 1;
-- Completing again: the claim is no longer held.
SELECT sentiment_complete('c_mentions', 1, 0, 'neutral', 0);
SELECT sentiment_label FROM c_mentions WHERE entry_id = 1;

-- An edit while the row is claimed: version + 1, back to pending; the
-- stale result is refused and nothing is written.
UPDATE c_mentions SET text = 'external 2, edited' WHERE entry_id = 2;
SELECT entry_id, processing_status, version, processing_attempts, processing_claimed_by IS NULL AS released
  FROM c_mentions WHERE entry_id = 2;
SELECT sentiment_complete('c_mentions', 2, 0, 'negative', -0.5);
SELECT sentiment_label, processing_status FROM c_mentions WHERE entry_id = 2;
-- An update that leaves the text as it was changes nothing.
UPDATE c_mentions SET text = text WHERE entry_id = 3;
SELECT processing_status, version FROM c_mentions WHERE entry_id = 3;

-- Another session's claim (another claimant) cannot be completed or failed
-- from here, unless the claim token is passed.
SELECT sentiment_complete('c_mentions', 3, 0, 'positive', 0.1, claim => '1:1') AS wrong_claim;
SELECT sentiment_complete('c_mentions', 3, 0, 'positive', 0.1,
						  claim => (SELECT processing_claimed_by FROM c_mentions WHERE entry_id = 3)) AS passed_claim;

-- Fail: failed with error and SQLSTATE, a retry time, the claim released.
-- Every result a completion wrote is cleared, as a batch's failure clears it
-- (the SET list is built from the result row's description, result_row.c).
SELECT id FROM sentiment_claim(1, interval '1 minute', 'c_mentions');
UPDATE c_mentions SET emotion_label = 'joy', emotion_score = 0.5, influence_weight = 1, language = 'en'
 WHERE entry_id = 2;
SELECT sentiment_fail('c_mentions', 2, 'model timed out', '57014');
SELECT processing_status, processing_error, processing_claimed_by IS NULL AS released,
	   processing_retry_at > now() AS retry_later, processing_error_history -> -1 ->> 'sqlstate' AS sqlstate,
	   num_nonnulls(sentiment_label, sentiment_score, emotion_label, emotion_score, influence_weight,
					language) AS results_left
  FROM c_mentions WHERE entry_id = 2;
SELECT sentiment_fail('c_mentions', 2, 'again') AS not_claimed_any_more;
-- retry => false: no retry time (row 4 was claimed above).
SELECT sentiment_fail('c_mentions', ARRAY[4]::bigint[], 'unsupported language', retry => false) AS failed;
SELECT processing_status, processing_retry_at IS NULL AS no_retry FROM c_mentions WHERE entry_id = 4;
-- A due retry is claimed before pending rows; one not yet due is not.
INSERT INTO c_mentions (text) VALUES ('external 7');
SELECT id, attempts FROM sentiment_claim(1, interval '1 minute', 'c_mentions');
UPDATE c_mentions SET processing_status = 'pending', processing_claimed_by = NULL, processing_lease_until = NULL
 WHERE entry_id = 7;
UPDATE c_mentions SET processing_retry_at = now() - interval '1 second' WHERE entry_id = 2;
SELECT id, attempts FROM sentiment_claim(1, interval '1 minute', 'c_mentions');

-- Abandoned claims: an expired lease, a claimant that is gone.
UPDATE c_mentions SET processing_lease_until = now() - interval '1 second' WHERE entry_id = 2;
UPDATE c_mentions SET processing_status = 'processing', processing_claimed_by = '999999:1',
	   processing_lease_until = now() + interval '1 hour' WHERE entry_id = 5;
SELECT source, id, reason FROM sentiment_stuck WHERE source = 'c_mentions'::regclass ORDER BY id;
SELECT sentiment_claimant_alive(sentiment_claimant()) AS me, sentiment_claimant_alive('999999:1') AS gone,
	   sentiment_claimant_alive('nonsense') AS nonsense;
SELECT sentiment_reset_stuck('c_mentions') AS returned;
SELECT entry_id, processing_status, processing_claimed_by, processing_lease_until
  FROM c_mentions WHERE entry_id IN (2, 5, 6) ORDER BY 1;
SELECT (processing_error_history -> -1 ->> 'message') LIKE 'claim abandoned: claimant 999999:1 is gone' AS recorded
  FROM c_mentions WHERE entry_id = 5;
-- A live claim within its lease is left alone, unless forced.
SELECT id FROM sentiment_claim(1, interval '1 minute', 'c_mentions');
SELECT sentiment_reset_stuck('c_mentions') AS live_left_alone;
SELECT sentiment_reset_stuck('c_mentions', force => true) AS forced;
SELECT count(*) AS still_processing FROM c_mentions WHERE processing_status = 'processing';
-- A claim abandoned on its last attempt fails instead.
SET sentiment_proc.max_attempts = 2;
SELECT id, attempts FROM sentiment_claim(1, interval '1 minute', 'c_mentions') WHERE id = 2;
SELECT sentiment_reset_stuck('c_mentions', force => true) AS forced;
SELECT processing_status, processing_error FROM c_mentions WHERE entry_id = 2;
RESET sentiment_proc.max_attempts;

-- The in-server batch completes what is left, and never a claimed row.
SELECT sentiment_process_batch(100, 'c_mentions') AS batch;
SELECT entry_id, processing_status FROM c_mentions ORDER BY 1;

-- Argument errors: each with SQLSTATE, message and hint; nothing written.
\i test/sql/helpers/try.sql
SELECT q, pg_temp.try(q) FROM (VALUES
	('SELECT sentiment_claim(0, ''1 minute'')'),
	('SELECT sentiment_claim(NULL, ''1 minute'')'),
	('SELECT sentiment_claim(10001, ''1 minute'')'),
	('SELECT sentiment_claim(1, ''0'')'),
	('SELECT sentiment_claim(1, ''-1 minute'')'),
	('SELECT sentiment_claim(1, NULL)'),
	('SELECT sentiment_claim(1, ''8 days'')'),
	('SELECT sentiment_claim(1, ''1 minute'', ''pg_class'')'),
	('SELECT sentiment_complete(''pg_class'', ''[]'')'),
	('SELECT sentiment_complete(''c_mentions'', ''{}'')'),
	('SELECT sentiment_complete(''c_mentions'', NULL)'),
	('SELECT sentiment_complete(''c_mentions'', ''[1]'')'),
	('SELECT sentiment_complete(''c_mentions'', ''[{"id": 1}]'')'),
	('SELECT sentiment_complete(''c_mentions'', ''[{"id": 1, "version": 0, "sentiment_label": "great", "sentiment_score": 0}]'')'),
	('SELECT sentiment_complete(''c_mentions'', ''[{"id": 1, "version": 0, "sentiment_label": "positive", "sentiment_score": 2}]'')'),
	('SELECT sentiment_complete(''c_mentions'', ''[{"id": 1, "version": 0, "sentiment_label": "positive", "sentiment_score": 0}, {"id": 1, "version": 0, "sentiment_label": "positive", "sentiment_score": 0}]'')'),
	('SELECT sentiment_complete(''c_mentions'', ''[{"id": 1, "version": 0, "sentiment_label": "positive", "sentiment_score": 0, "embedding": []}]'')'),
	('SELECT sentiment_complete(''c_mentions'', ''[{"id": 1, "version": 0, "sentiment_label": "positive", "sentiment_score": 0, "embedding": ["NaN"]}]'')'),
	('SELECT sentiment_complete(''c_mentions'', ''[{"id": 1, "version": 0, "sentiment_label": "positive", "sentiment_score": 0, "emotion_score": 3}]'')'),
	('SELECT sentiment_complete(''c_mentions'', ''[{"id": 1, "version": "x", "sentiment_label": "positive", "sentiment_score": 0}]'')'),
	('SELECT sentiment_fail(''c_mentions'', 1, NULL)'),
	('SELECT sentiment_fail(''c_mentions'', 1, ''  '')'),
	('SELECT sentiment_fail(''c_mentions'', 1, ''x'', ''abc'')'),
	('SELECT sentiment_fail(''pg_class'', 1, ''x'')')
) AS t(q);

-- A partitioned source: claims, edits and the reaper work per row, even
-- where two partitions hold rows at the same physical position.
CREATE TABLE p_mentions (entry_id bigint PRIMARY KEY, text text) PARTITION BY RANGE (entry_id);
CREATE TABLE p_mentions_1 PARTITION OF p_mentions FOR VALUES FROM (1) TO (100);
CREATE TABLE p_mentions_2 PARTITION OF p_mentions FOR VALUES FROM (100) TO (200);
SELECT sentiment_attach('p_mentions', topics_table => 'p_topics', embeddings_table => 'p_embeddings');
INSERT INTO p_mentions (entry_id, text) VALUES (1, 'one'), (2, 'two'), (100, 'hundred'), (101, 'hundred one');
SELECT id FROM sentiment_claim(4, interval '1 hour', 'p_mentions') ORDER BY 1;
UPDATE p_mentions SET processing_claimed_by = '999999:1' WHERE entry_id = 1;
UPDATE p_mentions SET processing_lease_until = processing_lease_until WHERE entry_id = 100;
-- row 1 (claimant gone) and row 100 (live claim) sit at the same position
SELECT a.ctid = b.ctid AS same_position FROM p_mentions a, p_mentions b WHERE a.entry_id = 1 AND b.entry_id = 100;
SELECT sentiment_reset_stuck('p_mentions') AS returned;
UPDATE p_mentions SET text = 'two, edited' WHERE entry_id = 2;
SELECT entry_id, processing_status, version FROM p_mentions ORDER BY 1;
SELECT sentiment_process_batch(10, 'p_mentions') AS batch;
SELECT entry_id, processing_status, version FROM p_mentions ORDER BY 1;
SELECT sentiment_detach('p_mentions');
DROP TABLE p_mentions CASCADE;
DROP TABLE p_topics, p_embeddings;

-- Who analyses a table (issue 28): with sentiment_set_processor(t,
-- 'external') the workers and sentiment_process_batch leave the table to
-- the analysers that call sentiment_claim, instead of taking its rows first.
SELECT sentiment_attach('x_mentions', topics_table => 'x_topics', embeddings_table => 'x_embeddings');
SELECT sentiment_attach('s_mentions', topics_table => 's_topics', embeddings_table => 's_embeddings');
INSERT INTO x_mentions (text) SELECT 'external only ' || g FROM generate_series(1, 3) g;
INSERT INTO s_mentions (text) SELECT 'in the server ' || g FROM generate_series(1, 3) g;
SELECT source_table, processor FROM sentiment_sources
 WHERE source_table IN ('x_mentions'::regclass, 's_mentions'::regclass) ORDER BY 1;
SELECT sentiment_set_processor('x_mentions', 'external');
-- a batch without a source takes the other tables' rows, none of these
-- (quiet: other tests' tables are in this database too)
SET client_min_messages = error;
SELECT sentiment_process_batch(10000) >= 3 AS batch;
RESET client_min_messages;
SELECT 'x' AS t, entry_id, processing_status FROM x_mentions
UNION ALL SELECT 's', entry_id, processing_status FROM s_mentions ORDER BY 1, 2;
-- named, it is refused, with the way back
SELECT pg_temp.try('SELECT sentiment_process_batch(10, ''x_mentions'')');
-- sentiment_claim still takes its rows
SELECT id FROM sentiment_claim(2, interval '1 minute', 'x_mentions') ORDER BY id;
-- back to the server: batches take the rest
SELECT sentiment_set_processor('x_mentions', 'server');
SELECT sentiment_process_batch(10, 'x_mentions') AS batch;
SELECT entry_id, processing_status FROM x_mentions ORDER BY 1;
-- Only the table's owner may choose (EXECUTE is not PUBLIC's; the admin
-- role of docs/settings-and-roles.md has it), and only 'server' or 'external'.
CREATE ROLE regress_sp_processor;
SET ROLE regress_sp_processor;
SELECT pg_temp.try('SELECT sentiment_set_processor(''x_mentions'', ''external'')');
RESET ROLE;
GRANT EXECUTE ON FUNCTION sentiment_set_processor(regclass, text) TO regress_sp_processor;
SET ROLE regress_sp_processor;
SELECT pg_temp.try('SELECT sentiment_set_processor(''x_mentions'', ''external'')');
RESET ROLE;
ALTER TABLE x_mentions OWNER TO regress_sp_processor;
ALTER TABLE x_topics OWNER TO regress_sp_processor;
ALTER TABLE x_embeddings OWNER TO regress_sp_processor;
SET ROLE regress_sp_processor;
SELECT sentiment_set_processor('x_mentions', 'external');
RESET ROLE;
SELECT q, pg_temp.try(q) FROM (VALUES
	('SELECT sentiment_set_processor(''x_mentions'', ''both'')'),
	('SELECT sentiment_set_processor(''x_mentions'', NULL)'),
	('SELECT sentiment_set_processor(''pg_class'', ''external'')')
) AS t(q);
SELECT processor FROM sentiment_sources WHERE source_table = 'x_mentions'::regclass;
SELECT sentiment_detach('x_mentions'), sentiment_detach('s_mentions');
DROP TABLE x_mentions, x_topics, x_embeddings, s_mentions, s_topics, s_embeddings;
REVOKE ALL ON FUNCTION sentiment_set_processor(regclass, text) FROM regress_sp_processor;
DROP ROLE regress_sp_processor;
