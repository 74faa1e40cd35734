-- Retries and poison isolation: a row whose write fails is found
-- by bisecting the batch in a few subtransactions; the others complete; the
-- culprit is failed with SQLSTATE and message, retried after an
-- exponential backoff up to sentiment_proc.max_attempts, then left failed
-- until sentiment_retry_failed() re-queues it.
\set SHOW_CONTEXT never
SELECT sentiment_attach('r_mentions', topics_table => 'r_topics', embeddings_table => 'r_embeddings');
SHOW sentiment_proc.max_attempts;
SHOW sentiment_proc.retry_delay;
SHOW sentiment_proc.retry_max_delay;
SHOW sentiment_proc.error_history;

INSERT INTO r_mentions (text) SELECT 'mention ' || g || ' is great #retry' FROM generate_series(1, 1000) g;
UPDATE r_mentions SET text = 'poison marker' WHERE entry_id = 500;

-- A user trigger that refuses the result of one row, and a count of the
-- UPDATE statements the batch runs on the table (a sequence is not rolled
-- back with the subtransactions).
CREATE SEQUENCE r_writes;
CREATE FUNCTION r_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.text LIKE 'poison%' AND NEW.processing_status = 'completed' THEN
		RAISE EXCEPTION 'refused row %', NEW.entry_id USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END $$;
CREATE FUNCTION r_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM nextval('public.r_writes'); RETURN NULL; END $$;
CREATE TRIGGER r_refuse BEFORE UPDATE ON r_mentions FOR EACH ROW EXECUTE FUNCTION r_refuse();
CREATE TRIGGER r_count BEFORE UPDATE ON r_mentions FOR EACH STATEMENT EXECUTE FUNCTION r_count();

-- 999 completed, 1 failed, in one call, with few subtransactions (about
-- 2 * log2(1000), not one per row).
SELECT sentiment_process_batch(1000) AS finished;
SELECT processing_status, count(*), sum(processing_attempts) AS attempts FROM r_mentions GROUP BY 1 ORDER BY 1;
SELECT nextval('r_writes') - 1 BETWEEN 2 AND 30 AS few_writes;
SELECT entry_id, processing_error, processing_error_history -> -1 ->> 'sqlstate' AS sqlstate,
	   processing_error_history -> -1 ->> 'attempt' AS attempt,
	   -- measured from the batch's own finishing time (processing_completed_at),
	   -- which the retry time is computed from, so the check holds at any speed
	   processing_retry_at - processing_completed_at
		   BETWEEN interval '5 seconds' AND interval '10 seconds' AS backoff,
	   sentiment_label IS NULL AS no_result
  FROM r_mentions WHERE processing_status = 'failed';
-- the good rows have their side rows, the culprit none
SELECT (SELECT count(*) FROM r_embeddings) AS embeddings,
	   (SELECT count(DISTINCT mention_id) FROM r_topics) AS topic_rows,
	   (SELECT count(*) FROM r_embeddings WHERE entry_id = 500) AS culprit_embeddings;

-- Not picked again before its backoff.
SELECT sentiment_process_batch(100) AS before_backoff;
SELECT processing_status, processing_attempts FROM r_mentions WHERE entry_id = 500;

-- The claim reaches due retries through the retry index.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT entry_id FROM r_mentions
 WHERE processing_status = 'failed' AND processing_retry_at <= now() ORDER BY processing_retry_at LIMIT 10;
RESET enable_seqscan;

-- Once due, it is retried (and fails again): the delay doubles.
UPDATE r_mentions SET processing_retry_at = now() - interval '1 second' WHERE entry_id = 500;
SELECT sentiment_process_batch(100) AS retried;
SELECT processing_status, processing_attempts,
	   processing_retry_at - (processing_error_history -> -1 ->> 'at')::timestamptz
		   BETWEEN interval '9 seconds' AND interval '20 seconds' AS doubled
  FROM r_mentions WHERE entry_id = 500;

-- The last attempt: no retry time, the row stays failed.
SET sentiment_proc.max_attempts = 3;
UPDATE r_mentions SET processing_retry_at = now() - interval '1 second' WHERE entry_id = 500;
SELECT sentiment_process_batch(100) AS last_attempt;
SELECT processing_status, processing_attempts, processing_retry_at IS NULL AS given_up
  FROM r_mentions WHERE entry_id = 500;
SELECT sentiment_process_batch(100) AS not_again;
SELECT attempt, sqlstate, message FROM sentiment_error_history('r_mentions', 500);
SELECT source, error, rows, max_attempts, example_id FROM sentiment_failures WHERE source = 'r_mentions'::regclass;

-- The delays: doubling from retry_delay, capped by retry_max_delay, none at
-- the maximum; jittered into [delay / 2, delay].
SET sentiment_proc.retry_max_delay = '15s';
SELECT a, d BETWEEN lo AND hi AS in_range
  FROM (VALUES (1, interval '5 s', interval '10 s'), (2, interval '7.5 s', interval '15 s'),
			   (3, NULL, NULL)) AS v(a, lo, hi),
	   LATERAL (SELECT sentiment_retry_delay(a) AS d) x
 ORDER BY a;
SELECT sentiment_retry_delay(3) IS NULL AS none_at_max;
RESET sentiment_proc.retry_max_delay;

-- The history is bounded: only the latest entries stay.
SET sentiment_proc.error_history = 2;
SELECT sentiment_retry_failed('r_mentions', ARRAY[500]::bigint[]) AS requeued;
SELECT sentiment_process_batch(100) AS again;
SELECT array_agg(attempt ORDER BY attempt) AS kept FROM sentiment_error_history('r_mentions', 500);
RESET sentiment_proc.error_history;

-- sentiment_retry_failed filters: by error pattern, by SQLSTATE, by ids.
SELECT sentiment_retry_failed('r_mentions', error_pattern => '%no such error%') AS by_other_pattern,
	   sentiment_retry_failed('r_mentions', sqlstate => '22000') AS by_other_sqlstate,
	   sentiment_retry_failed('r_mentions', ARRAY[1, 2]::bigint[]) AS by_completed_ids;
SELECT sentiment_retry_failed(sqlstate => '23514') AS requeued;
SELECT processing_status, processing_attempts, processing_error, processing_retry_at IS NULL AS no_retry_time
  FROM r_mentions WHERE entry_id = 500;

-- Fixed: the trigger goes and the row completes.
DROP TRIGGER r_refuse ON r_mentions;
SELECT sentiment_process_batch(100) AS fixed;
SELECT processing_status, count(*) FROM r_mentions GROUP BY 1 ORDER BY 1;
RESET sentiment_proc.max_attempts;

-- Analyser failures (no text) cannot pass by themselves: no retry time.
INSERT INTO r_mentions (text) VALUES (NULL);
SELECT sentiment_process_batch(10) AS null_text;
SELECT processing_status, processing_error, processing_retry_at IS NULL AS no_retry,
	   processing_error_history -> -1 ->> 'sqlstate' AS sqlstate
  FROM r_mentions WHERE text IS NULL;

-- Many failing rows: only the failing rows fail, each with its own error;
-- what a batch's subtransaction budget cannot resolve is released (left
-- pending, no attempt counted) for the next batch; no row is lost or
-- doubled.  (test/sql/blame.sql tries many more patterns.)
INSERT INTO r_mentions (text)
SELECT CASE WHEN g % 4 = 0 THEN 'poison ' ELSE 'fine ' END || g FROM generate_series(1, 400) g;
CREATE TRIGGER r_refuse BEFORE UPDATE ON r_mentions FOR EACH ROW EXECUTE FUNCTION r_refuse();
SELECT sentiment_process_batch(400) BETWEEN 1 AND 399 AS first_batch_partial;
SELECT count(*) > 0 AS some_released FROM r_mentions WHERE entry_id > 1001 AND processing_status = 'pending';
DO $$
BEGIN
	FOR i IN 1 .. 50 LOOP
		EXIT WHEN NOT EXISTS (SELECT FROM r_mentions WHERE processing_status = 'pending');
		PERFORM sentiment_process_batch(400);
	END LOOP;
END $$;
SELECT text LIKE 'poison%' AS poison, processing_status, count(*), max(processing_attempts) AS attempts,
	   bool_and(processing_error IS NOT DISTINCT FROM
				CASE WHEN text LIKE 'poison%' THEN 'refused row ' || entry_id END) AS own_error
  FROM r_mentions WHERE entry_id > 1001 GROUP BY 1, 2 ORDER BY 1, 2;
DROP TRIGGER r_refuse ON r_mentions;

-- Argument errors.
\i test/sql/helpers/try.sql
SELECT q, pg_temp.try(q) FROM (VALUES
	('SELECT sentiment_retry_failed(ids => ARRAY[1]::bigint[])'),
	('SELECT sentiment_retry_failed(''pg_class'')'),
	('SELECT sentiment_error_history(''pg_class'', 1)')
) AS t(q);
DROP TRIGGER r_count ON r_mentions;
