-- The processing queue: explicit requests drained by the batch
-- before plain pending rows, by priority, once; status, timestamps, error;
-- pruned after sentiment_proc.queue_retention.
\set SHOW_CONTEXT never
SELECT sentiment_attach('q_mentions', topics_table => 'q_topics', embeddings_table => 'q_embeddings');
INSERT INTO q_mentions (text) SELECT 'queued mention ' || g FROM generate_series(1, 10) g;
SELECT sentiment_process_batch(100, 'q_mentions') AS first_pass;

-- Re-analysis of completed rows, with priorities; re-enqueueing a queued
-- row keeps one request, with the higher priority.
SELECT sentiment_enqueue('q_mentions', ARRAY[2, 4, 6]::bigint[]) AS low,
	   sentiment_enqueue('q_mentions', ARRAY[8, 9]::bigint[], 10) AS high,
	   sentiment_enqueue('q_mentions', ARRAY[4]::bigint[], 5) AS raised,
	   sentiment_enqueue('q_mentions', ARRAY[2]::bigint[], -1) AS not_lowered,
	   sentiment_enqueue('q_mentions', ARRAY[12345]::bigint[]) AS no_such_row;
SELECT entry_id, priority, status, requested_by = current_user AS by_me, started_at, completed_at, error
  FROM sentiment_processing_queue ORDER BY request_id;

-- New pending rows wait until the queue is drained, highest priority first.
INSERT INTO q_mentions (text) VALUES ('fresh one'), ('fresh two');
SELECT sentiment_process_batch(3, 'q_mentions') AS drained;
SELECT entry_id, priority, status, completed_at IS NOT NULL AS done FROM sentiment_processing_queue ORDER BY request_id;
SELECT entry_id, processing_status, processing_attempts FROM q_mentions WHERE entry_id IN (2, 4, 6, 8, 9, 11, 12) ORDER BY 1;
SELECT sentiment_process_batch(4, 'q_mentions') AS rest;
SELECT entry_id, status FROM sentiment_processing_queue ORDER BY request_id;
SELECT entry_id, processing_status, processing_attempts FROM q_mentions WHERE entry_id IN (2, 4, 6, 8, 9, 11, 12) ORDER BY 1;
-- Finished requests are not taken again.
SELECT sentiment_process_batch(100, 'q_mentions') AS nothing_left;

-- The whole table (ids NULL); a deleted row's request fails with a reason;
-- a failing row's request carries its error.
SELECT sentiment_enqueue('q_mentions') AS all_rows;
DELETE FROM q_mentions WHERE entry_id = 1;
UPDATE q_mentions SET text = NULL WHERE entry_id = 3;
SELECT sentiment_process_batch(100, 'q_mentions') AS drained_all;
SELECT entry_id, status, error FROM sentiment_processing_queue
 WHERE status = 'failed' OR entry_id IN (1, 3) ORDER BY request_id;
SELECT count(*) FILTER (WHERE status = 'queued') AS still_queued FROM sentiment_processing_queue;

-- Retention: finished requests older than the setting go at the next
-- enqueue (and in the workers' upkeep).
SELECT count(*) AS finished FROM sentiment_processing_queue WHERE status <> 'queued';
UPDATE sentiment_processing_queue SET completed_at = now() - interval '8 days' WHERE entry_id IN (2, 4);
SELECT sentiment_prune_queue() AS pruned;
SET sentiment_proc.queue_retention = 0;
SELECT sentiment_enqueue('q_mentions', ARRAY[5]::bigint[]) AS queued;
SELECT entry_id, status FROM sentiment_processing_queue ORDER BY request_id;
RESET sentiment_proc.queue_retention;

-- Requests of a detached table go with the next prune.
SELECT sentiment_detach('q_mentions');
SELECT sentiment_prune_queue() AS pruned_detached;
SELECT sentiment_attach('q_mentions', topics_table => 'q_topics', embeddings_table => 'q_embeddings');

-- Privileges: enqueueing changes data (revoked from PUBLIC); the queue
-- table is read by operators (pg_monitor) and written by nobody directly;
-- a role processing rows needs no privilege on the queue.
CREATE ROLE regress_sp_q_operator;
GRANT SELECT, UPDATE ON q_mentions TO regress_sp_q_operator;
GRANT SELECT, INSERT, UPDATE, DELETE ON q_topics, q_embeddings TO regress_sp_q_operator;
GRANT EXECUTE ON FUNCTION sentiment_process_batch(integer, regclass) TO regress_sp_q_operator;
SELECT sentiment_enqueue('q_mentions', ARRAY[7]::bigint[]) AS queued;
SET ROLE regress_sp_q_operator;
SELECT sentiment_process_batch(10, 'q_mentions') AS by_operator;
\set VERBOSITY terse
SELECT sentiment_enqueue('q_mentions', ARRAY[7]::bigint[]);
SELECT count(*) FROM sentiment_processing_queue;
\set VERBOSITY default
RESET ROLE;
SELECT entry_id, status FROM sentiment_processing_queue WHERE entry_id = 7;
REVOKE ALL ON q_mentions, q_topics, q_embeddings FROM regress_sp_q_operator;
REVOKE ALL ON FUNCTION sentiment_process_batch(integer, regclass) FROM regress_sp_q_operator;
DROP ROLE regress_sp_q_operator;

-- Argument errors.
\set VERBOSITY terse
SELECT sentiment_enqueue(NULL);
SELECT sentiment_enqueue('q_mentions', NULL, NULL);
SELECT sentiment_enqueue('pg_class');
\set VERBOSITY default
