-- Monitoring: statistics, throughput and batches in flight from shared
-- memory; queue status, failures and stuck rows from the tables; reset and
-- its privileges; the summary.  Runs in a database of its own, so the
-- numbers are exactly those of the work done here.
\set SHOW_CONTEXT never
\set orig_db :DBNAME
CREATE DATABASE regress_sp_monitoring;
\c regress_sp_monitoring
SET client_min_messages = warning;
CREATE EXTENSION sentiment_proc;
RESET client_min_messages;
SELECT sentiment_attach('mentions');

-- Nothing processed yet: no rows at all.
SELECT count(*) AS stats_rows FROM sentiment_stats;
SELECT count(*) AS throughput_rows FROM sentiment_throughput;

-- 10 analysable rows and 2 whose text is NULL (those fail).
INSERT INTO mentions (text)
SELECT CASE WHEN g IN (4, 9) THEN NULL ELSE format('I love #demo number %s', g) END
  FROM generate_series(1, 12) g;

SELECT sentiment_process_batch(5, 'mentions') AS first_call;
SELECT sentiment_process_batch(100) AS second_call;
SELECT sentiment_process_batch(100) AS nothing_left;

-- Two batches; the empty third call is not a batch.  The source row and the
-- database total (source NULL) agree.
SELECT source, batches, rows_completed, rows_failed, batches_rolled_back, rows_rolled_back,
	   last_batch_rows, claim_time >= 0 AND analyse_time > 0 AND write_time > 0 AS timed,
	   rows_per_second > 0 AS rate, mean_batch_time > 0 AS mean,
	   last_batch_at BETWEEN now() - interval '1 minute' AND clock_timestamp() AS last_at,
	   last_batch_time > 0 AS last_time, stats_since <= last_batch_at AS since
  FROM sentiment_stats;

-- A rolled-back batch counts only as rolled back (its time neither); its
-- rows are pending again.
SELECT claim_time + analyse_time + write_time AS time_before FROM sentiment_stats WHERE source IS NULL \gset
INSERT INTO mentions (text) SELECT 'later #demo ' || g FROM generate_series(1, 3) g;
BEGIN;
SELECT sentiment_process_batch(100) AS rolled_back;
ROLLBACK;
SELECT processing_status, count(*) FROM mentions GROUP BY 1 ORDER BY 1;
SELECT batches, batches_rolled_back, claim_time + analyse_time + write_time = :time_before AS same_time
  FROM sentiment_stats WHERE source IS NULL;

-- So does one in a subtransaction that rolls back; the retry counts.
BEGIN;
SAVEPOINT s;
SELECT sentiment_process_batch(2) AS in_savepoint;
ROLLBACK TO SAVEPOINT s;
SAVEPOINT t;
SELECT sentiment_process_batch(100) AS released;
RELEASE SAVEPOINT t;
COMMIT;

SELECT source, batches, rows_completed, rows_failed, batches_rolled_back, rows_rolled_back, last_batch_rows
  FROM sentiment_stats;

-- Throughput: every minute of the last hour since the statistics began, for
-- each source and the total; the minutes hold exactly the committed rows.
SELECT t.source, count(*) = 1 + extract(epoch FROM date_trunc('minute', now())
									   - date_trunc('minute', max(s.stats_since))) / 60 AS every_minute_since,
	   sum(t.rows_completed) AS completed, sum(t.rows_failed) AS failed,
	   sum(t.batches) AS batches, max(t.minute) = date_trunc('minute', now()) AS ends_now
  FROM sentiment_throughput t JOIN sentiment_stats s ON s.source IS NOT DISTINCT FROM t.source
 GROUP BY t.source ORDER BY t.source NULLS FIRST;

-- Batches in flight: none now; during a batch's write phase, this backend's
-- batch with its size and claimed rows (seen from a trigger on the source).
SELECT count(*) AS in_flight FROM sentiment_batch_progress;
CREATE FUNCTION watch_progress() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM public.sentiment_batch_progress LOOP
		RAISE NOTICE 'in flight: source %, phase %, batch size %, claimed %, mine %, database %',
			r.source, r.phase, r.batch_size, r.rows_claimed, r.pid = pg_backend_pid(),
			r.database = current_database();
	END LOOP;
	RETURN NULL;
END
$$;
CREATE TRIGGER watch_progress AFTER UPDATE ON mentions
	FOR EACH STATEMENT EXECUTE FUNCTION watch_progress();
INSERT INTO mentions (text) SELECT 'watched #demo ' || g FROM generate_series(1, 4) g;
SELECT sentiment_process_batch(50) AS watched;
DROP TRIGGER watch_progress ON mentions;
SELECT count(*) AS in_flight_after FROM sentiment_batch_progress;

-- Queue status: pending, processing and failed are counted; completed is an
-- estimate from pg_class.reltuples, so it is NULL before the first ANALYZE.
SELECT source, pending, processing, failed, counts_capped, completed_estimate
  FROM sentiment_queue_status;
INSERT INTO mentions (text, created_at) VALUES
	('waiting one', now() - interval '2 hours'),
	('waiting two', now() - interval '1 hour');
-- Two rows committed as 'processing' as a two-phase claimant leaves them:
-- one whose claimant is gone (lease still running), one with an expired
-- lease held by this very session.
UPDATE mentions SET processing_status = 'processing', processing_started_at = now() - interval '3 hours',
	   processing_lease_until = now() + interval '1 hour', processing_claimed_by = '999999:1'
 WHERE entry_id = 1;
UPDATE mentions SET processing_status = 'processing', processing_started_at = now() - interval '5 minutes',
	   processing_lease_until = now() - interval '1 minute', processing_claimed_by = sentiment_claimant()
 WHERE entry_id = 2;
ANALYZE mentions;
SELECT source, pending, processing, failed, counts_capped, completed_estimate,
	   oldest_pending_at = (SELECT min(created_at) FROM mentions WHERE processing_status = 'pending') AS oldest_at,
	   oldest_pending_age BETWEEN interval '2 hours' AND interval '2 hours 5 minutes' AS oldest_age,
	   oldest_processing_started_at = (SELECT min(processing_started_at) FROM mentions) AS oldest_processing
  FROM sentiment_queue_status;
-- count_limit caps each count and says so.
SELECT pending, processing, failed, counts_capped FROM sentiment_queue_status_internal(1);
SELECT * FROM sentiment_queue_status_internal(0);

-- The counts read the partial indexes, not the table.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM (SELECT FROM mentions WHERE processing_status = 'failed' LIMIT 10) q;
EXPLAIN (COSTS OFF) SELECT count(*) FROM (SELECT FROM mentions WHERE processing_status = 'pending' LIMIT 10) q;
RESET enable_seqscan;

-- Failures grouped by error.
SELECT source, error, rows, first_failed_at <= last_failed_at AS ordered, max_attempts, example_id
  FROM sentiment_failures;

-- Stuck: claims whose claimant is gone or whose lease expired; a claim
-- held by a live session within its lease is not stuck.
SELECT source, id, reason, stuck_for > interval '0' AS stuck, processing_attempts FROM sentiment_stuck ORDER BY id;
UPDATE mentions SET processing_lease_until = now() + interval '1 hour' WHERE entry_id = 2;
SELECT source, id, reason FROM sentiment_stuck ORDER BY id;
SELECT source, id FROM _sentiment_stuck_internal(1);
SELECT * FROM _sentiment_stuck_internal(0);

-- Reset and its privileges: readers (pg_monitor) see the views but cannot
-- reset; an operator granted EXECUTE can; PUBLIC sees nothing.
CREATE ROLE regress_sp_mon_reader IN ROLE pg_monitor;
CREATE ROLE regress_sp_mon_nobody;
CREATE ROLE regress_sp_mon_operator IN ROLE pg_monitor;
GRANT EXECUTE ON FUNCTION sentiment_stats_reset(regclass) TO regress_sp_mon_operator;

SET ROLE regress_sp_mon_nobody;
SELECT count(*) FROM sentiment_stats;
SELECT count(*) FROM sentiment_queue_status;
RESET ROLE;

SET ROLE regress_sp_mon_reader;
-- figures only of the sources it may read (here none: the total only)
SELECT source, rows_completed FROM sentiment_stats;
-- counts only of the sources it may read
SELECT source, pending, processing, failed FROM sentiment_queue_status;
SELECT count(*) AS failures_visible FROM sentiment_failures;
RESET ROLE;
GRANT SELECT ON mentions TO regress_sp_mon_reader;
SET ROLE regress_sp_mon_reader;
-- and its statistics: shared-memory figures too only of readable sources
SELECT source, rows_completed FROM sentiment_stats;
SELECT source, pending, processing, failed FROM sentiment_queue_status;
SELECT count(*) AS failures_visible FROM sentiment_failures;
SELECT sentiment_stats_reset();
RESET ROLE;

SET ROLE regress_sp_mon_operator;
SELECT sentiment_stats_reset('mentions') AS removed_one;
SELECT source, rows_completed FROM sentiment_stats;
SELECT sentiment_stats_reset() AS removed_all;
SELECT count(*) AS after_reset FROM sentiment_stats;
SELECT count(*) AS throughput_after_reset FROM sentiment_throughput;
RESET ROLE;

-- Counting starts again from zero.
SELECT sentiment_process_batch(100) AS after_reset;
SELECT source, batches, rows_completed, rows_failed FROM sentiment_stats;

-- Rows an external analyser finishes through the two-phase API count too,
-- apart as external (issue 28, major 6): no batch, no batch time; a call
-- that rolls back counts nothing.
INSERT INTO mentions (text) SELECT 'external #demo ' || g FROM generate_series(1, 3) g;
CREATE TEMP TABLE ext_claimed AS SELECT id, version FROM sentiment_claim(3, '5 minutes', 'mentions');
CREATE TEMP VIEW ext_results AS
SELECT jsonb_agg(jsonb_build_object('id', id, 'version', version, 'sentiment_label', 'positive',
									'sentiment_score', 0.5)) AS results
  FROM ext_claimed WHERE id < (SELECT max(id) FROM ext_claimed);
BEGIN;
SELECT count(*) FILTER (WHERE completed) AS rolled_back
  FROM sentiment_complete('mentions', (SELECT results FROM ext_results));
ROLLBACK;
SELECT count(*) FILTER (WHERE completed) AS completed
  FROM sentiment_complete('mentions', (SELECT results FROM ext_results));
SELECT sentiment_fail('mentions', ARRAY(SELECT max(id) FROM ext_claimed), 'the analyser gave up',
					  retry => false) AS failed;
SELECT source, batches, rows_completed, rows_failed, external_rows_completed, external_rows_failed,
	   rows_rolled_back, rows_per_second > 0 AS rate
  FROM sentiment_stats;
SELECT source, sum(rows_completed) AS completed, sum(rows_failed) AS failed,
	   sum(external_rows_completed) AS external_completed, sum(external_rows_failed) AS external_failed
  FROM sentiment_throughput GROUP BY source ORDER BY source NULLS FIRST;

-- The summary: every row of the source accounted for by status, the
-- completed ones by sentiment and by emotion, and the top topics.
SELECT section, item, rows, value FROM sentiment_summary() WHERE section IN ('source', 'status', 'topic');
SELECT section, sum(rows) AS rows FROM sentiment_summary()
 WHERE section IN ('sentiment', 'emotion') GROUP BY section ORDER BY section;
SELECT count(*) AS rate_rows FROM sentiment_summary() WHERE section = 'rate';

\c :orig_db
DROP DATABASE regress_sp_monitoring;
DROP ROLE regress_sp_mon_reader, regress_sp_mon_nobody, regress_sp_mon_operator;
