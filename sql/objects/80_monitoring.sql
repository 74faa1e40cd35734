-- Monitoring: statistics and batches in flight from shared memory
-- (src/stats.c), queue status, failures and stuck rows from the source
-- tables, and a summary for people.
--
-- Who may see what (docs/settings-and-roles.md has the GRANTs):
--   * pg_monitor members read every view here.  The views that read the
--     source tables (sentiment_queue_status, sentiment_failures,
--     sentiment_stuck) run as the caller and list only the sources the
--     caller may SELECT from; nothing here reads a user's table with the
--     extension owner's rights.  The shared-memory views need no table
--     access at all.
--   * sentiment_stats_reset is revoked from PUBLIC: an administrator grants it
--     to the operators.

-- The attached sources the caller may read, tables only: a registered
-- relation turned into a view could run its owner's code for whoever reads
-- it.  Every view below that reads sources goes through here.
CREATE FUNCTION @extschema@._sentiment_readable_sources(
	OUT source_table regclass, OUT id_column name, OUT topics_table regclass)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.source_table, s.id_column, s.topics_table
	  FROM @extschema@.sentiment_sources s JOIN pg_class c ON c.oid = s.source_table
	 WHERE c.relkind IN ('r', 'p') AND has_table_privilege(s.source_table, 'SELECT')
	 ORDER BY s.source_table::oid
$$;

-- ---- statistics (shared memory; needs shared_preload_libraries) ----------

CREATE FUNCTION @extschema@._sentiment_stats_internal(
	OUT source regclass,
	OUT batches bigint,
	OUT rows_completed bigint,
	OUT rows_failed bigint,
	OUT batches_rolled_back bigint,
	OUT rows_rolled_back bigint,
	OUT claim_time double precision,
	OUT analyse_time double precision,
	OUT write_time double precision,
	OUT last_batch_at timestamptz,
	OUT last_batch_rows bigint,
	OUT last_batch_time double precision,
	OUT stats_since timestamptz)
RETURNS SETOF record
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_stats_internal';

-- Of the rows counted, those an external analyser finished through the
-- two-phase API (sentiment_complete, sentiment_fail): per source since its
-- statistics began (minute NULL), and per minute of the last hour.
CREATE FUNCTION @extschema@._sentiment_external_internal(
	OUT source regclass,
	OUT minute timestamptz,
	OUT rows_completed bigint,
	OUT rows_failed bigint)
RETURNS SETOF record
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_external_internal';

-- Times are milliseconds, spent in committed batches.  rows_per_second is
-- the rate while busy (rows over the time spent in batches), not over
-- wall-clock time: see sentiment_throughput for that.  rows_completed and
-- rows_failed count every row finished, by the workers and
-- sentiment_process_batch (in the server) and by external analysers
-- (sentiment_complete, sentiment_fail); external_rows_completed and
-- external_rows_failed are the external share.  Batches, times and
-- rows_per_second are the in-server work's.
CREATE VIEW @extschema@.sentiment_stats AS
	SELECT s.source,
		   s.batches,
		   s.rows_completed,
		   s.rows_failed,
		   s.batches_rolled_back,
		   s.rows_rolled_back,
		   s.claim_time,
		   s.analyse_time,
		   s.write_time,
		   CASE WHEN s.batches > 0
				THEN (s.claim_time + s.analyse_time + s.write_time) / s.batches END AS mean_batch_time,
		   CASE WHEN s.claim_time + s.analyse_time + s.write_time > 0
				THEN pg_catalog.round(((s.rows_completed + s.rows_failed
						 - COALESCE(e.rows_completed + e.rows_failed, 0))
					 / ((s.claim_time + s.analyse_time + s.write_time) / 1000.0))::numeric, 1) END
				AS rows_per_second,
		   s.last_batch_at,
		   s.last_batch_rows,
		   s.last_batch_time,
		   s.stats_since,
		   COALESCE(e.rows_completed, 0) AS external_rows_completed,
		   COALESCE(e.rows_failed, 0) AS external_rows_failed
	  FROM @extschema@._sentiment_stats_internal() s
	  LEFT JOIN @extschema@._sentiment_external_internal() e
		ON e.source IS NOT DISTINCT FROM s.source AND e.minute IS NULL
	 ORDER BY s.source NULLS FIRST;

COMMENT ON VIEW @extschema@.sentiment_stats IS
	'Committed batches per attached source of this database (source NULL: the database total), from shared memory; times in ms';

CREATE FUNCTION @extschema@.sentiment_stats_reset(source regclass DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_stats_reset';

COMMENT ON FUNCTION @extschema@.sentiment_stats_reset(regclass) IS
	'Forget the statistics of one source, or (NULL) of every source and the total of this database; returns the rows removed';

-- Per source and minute, the last hour, one row for every minute of it
-- (zeros included) since the source's statistics began, for each source
-- that did anything in that hour.  The current minute is still filling up.
CREATE FUNCTION @extschema@._sentiment_throughput_internal(
	OUT source regclass,
	OUT minute timestamptz,
	OUT rows_completed bigint,
	OUT rows_failed bigint,
	OUT batches bigint)
RETURNS SETOF record
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_throughput_internal';

CREATE VIEW @extschema@.sentiment_throughput AS
	WITH t AS (
		SELECT * FROM @extschema@._sentiment_throughput_internal()
	), sources AS (
		SELECT DISTINCT t.source, st.stats_since FROM t
		  LEFT JOIN @extschema@._sentiment_stats_internal() st ON st.source IS NOT DISTINCT FROM t.source
	), minutes AS (
		SELECT pg_catalog.generate_series(
				   pg_catalog.date_trunc('minute', pg_catalog.now()) - interval '59 minutes',
				   pg_catalog.date_trunc('minute', pg_catalog.now()),
				   interval '1 minute') AS minute
	)
	SELECT s.source,
		   m.minute,
		   COALESCE(t.rows_completed, 0) AS rows_completed,
		   COALESCE(t.rows_failed, 0) AS rows_failed,
		   COALESCE(t.batches, 0) AS batches,
		   pg_catalog.round(COALESCE(t.rows_completed + t.rows_failed, 0) / 60.0, 2) AS rows_per_second,
		   COALESCE(e.rows_completed, 0) AS external_rows_completed,
		   COALESCE(e.rows_failed, 0) AS external_rows_failed
	  FROM sources s
	  JOIN minutes m ON m.minute >= pg_catalog.date_trunc('minute', COALESCE(s.stats_since, '-infinity'))
	  LEFT JOIN t ON t.source IS NOT DISTINCT FROM s.source AND t.minute = m.minute
	  LEFT JOIN @extschema@._sentiment_external_internal() e
		ON e.source IS NOT DISTINCT FROM s.source AND e.minute = m.minute
	 ORDER BY s.source NULLS FIRST, m.minute;

COMMENT ON VIEW @extschema@.sentiment_throughput IS
	'Rows finished per minute over the last hour, in the server and externally (external_*), per source (source NULL: the database total)';

-- Batches in flight, in every database, with their phase.
CREATE FUNCTION @extschema@._sentiment_batch_progress_internal(
	OUT pid integer,
	OUT dboid oid,
	OUT relid oid,
	OUT phase text,
	OUT batch_size integer,
	OUT rows_claimed integer,
	OUT batch_started_at timestamptz,
	OUT phase_started_at timestamptz)
RETURNS SETOF record
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_batch_progress_internal';

CREATE VIEW @extschema@.sentiment_batch_progress AS
	SELECT p.pid,
		   d.datname AS database,
		   -- a table of another database cannot be named from here
		   CASE WHEN d.datname = pg_catalog.current_database() THEN p.relid::regclass END AS source,
		   p.relid AS source_oid,
		   a.backend_type,
		   p.phase,
		   p.batch_size,
		   p.rows_claimed,
		   p.batch_started_at,
		   p.phase_started_at,
		   pg_catalog.clock_timestamp() - p.batch_started_at AS elapsed
	  FROM @extschema@._sentiment_batch_progress_internal() p
	  LEFT JOIN pg_catalog.pg_database d ON d.oid = p.dboid
	  LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = p.pid
	 ORDER BY p.batch_started_at;

COMMENT ON VIEW @extschema@.sentiment_batch_progress IS
	'Batches in flight (workers and sentiment_process_batch callers): phase claim, analyse or write';

-- ---- queue status, failures and stuck rows (SQL; no preload needed) ------

-- Counting is cheap because attach builds partial indexes that hold only
-- pending rows (the claim index) and only processing and failed rows (the
-- status index): each count reads those rows' index entries, never the
-- table.  count_limit caps each count for a backlog of many millions (the
-- count then says "at least").  Completed rows are not counted: that would
-- read the whole table; completed_estimate comes from pg_class.reltuples
-- (kept by VACUUM, ANALYZE and autovacuum) less the counted rows, and is
-- NULL until the table was first vacuumed or analysed.  Each table is read
-- as its owner (sentiment_source_sql); one that is locked past
-- sentiment_proc.source_lock_timeout, or whose columns were changed, is
-- left out with a warning.
CREATE FUNCTION @extschema@.sentiment_queue_status_internal(
	count_limit bigint DEFAULT 1000000,
	OUT source regclass,
	OUT pending bigint,
	OUT processing bigint,
	OUT failed bigint,
	OUT counts_capped boolean,
	OUT completed_estimate bigint,
	OUT oldest_pending_at timestamptz,
	OUT oldest_pending_age interval,
	OUT oldest_processing_started_at timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		record;
	v_reltuples double precision;
	v_unknown	boolean;
	v_has_created boolean;
BEGIN
	IF count_limit IS NULL OR count_limit < 1 THEN
		RAISE EXCEPTION 'count_limit must be a positive number'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Leave it out for 1000000.';
	END IF;
	FOR v_src IN SELECT * FROM @extschema@._sentiment_readable_sources() LOOP
		source := v_src.source_table;
		BEGIN
			SELECT q.pending, q.processing, q.failed, q.oldest_processing, q.reltuples, q.unknown
			  INTO pending, processing, failed, oldest_processing_started_at, v_reltuples, v_unknown
			  FROM @extschema@.sentiment_source_sql(v_src.source_table, 'queue_counts',
					   jsonb_build_object('limit', count_limit))
				AS q(pending bigint, processing bigint, failed bigint, oldest_processing timestamptz,
					 reltuples double precision, unknown boolean);
			counts_capped := pending >= count_limit OR processing >= count_limit OR failed >= count_limit;
			-- (a distributed table's rows are in its shards, on other nodes)
			completed_estimate := CASE WHEN v_unknown IS FALSE
										AND NOT @extschema@._sentiment_citus_distributed(v_src.source_table)
				THEN greatest(0, v_reltuples::bigint - pending - processing - failed) END;

			-- The first pending row in claim order is the oldest waiting
			-- one (ids grow with inserts); its created_at, where the table
			-- has one.
			SELECT EXISTS (SELECT FROM pg_attribute a
							WHERE a.attrelid = v_src.source_table AND a.attname = 'created_at'
							  AND NOT a.attisdropped
							  AND a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype))
			  INTO v_has_created;
			oldest_pending_at := NULL;
			IF v_has_created AND pending > 0 THEN
				SELECT q.at INTO oldest_pending_at
				  FROM @extschema@.sentiment_source_sql(v_src.source_table, 'oldest_pending') AS q(at timestamptz);
			END IF;
			oldest_pending_age := now() - oldest_pending_at;
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING 'sentiment_queue_status skipped table %: %', v_src.source_table, SQLERRM;
			CONTINUE;
		END;
		RETURN NEXT;
	END LOOP;
END
$body$;

CREATE VIEW @extschema@.sentiment_queue_status AS
	SELECT * FROM @extschema@.sentiment_queue_status_internal();

COMMENT ON VIEW @extschema@.sentiment_queue_status IS
	'Per attached source: pending, processing and failed rows (counted through partial indexes), an estimate of completed rows, and the age of the oldest pending row';

-- Failed rows grouped by error, for the sources the caller may read (each
-- read as its owner; one that cannot be read is left out with a warning).
CREATE FUNCTION @extschema@._sentiment_failures_internal(
	OUT source regclass,
	OUT error text,
	OUT rows bigint,
	OUT first_failed_at timestamptz,
	OUT last_failed_at timestamptz,
	OUT max_attempts integer,
	OUT example_id bigint)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM @extschema@._sentiment_readable_rows('sentiment_failures', 'failures', NULL,
			'error text, rows bigint, first_failed_at timestamptz, last_failed_at timestamptz, '
			'max_attempts integer, example_id bigint')
		AS f(source regclass, error text, rows bigint, first_failed_at timestamptz, last_failed_at timestamptz,
			 max_attempts integer, example_id bigint)
$$;

CREATE VIEW @extschema@.sentiment_failures AS
	SELECT * FROM @extschema@._sentiment_failures_internal();

COMMENT ON VIEW @extschema@.sentiment_failures IS
	'Failed rows grouped by error text, per attached source the caller may read';

-- Rows committed as 'processing' whose claim is abandoned.  Batches never
-- commit that state (a claim and its results are one transaction), only the
-- two-phase path for analysers outside the server does, with a lease and
-- its claimant, and another system that claims rows itself (no
-- claimant: 57_foreign_claims.sql).  A claim is stuck when its lease
-- expired, its claimant's session is gone, it has a claimant but no lease,
-- or, claimed elsewhere, its grace period is over; the workers' reaper and
-- sentiment_reset_stuck() return such rows to pending.
CREATE FUNCTION @extschema@._sentiment_stuck_internal(
	max_rows integer DEFAULT 1000,
	OUT source regclass,
	OUT id bigint,
	OUT reason text,
	OUT claimed_by text,
	OUT processing_started_at timestamptz,
	OUT lease_until timestamptz,
	OUT stuck_for interval,
	OUT processing_attempts integer)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src	record;
BEGIN
	IF max_rows IS NULL OR max_rows < 1 THEN
		RAISE EXCEPTION 'max_rows must be a positive number'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Leave it out for 1000.';
	END IF;
	FOR v_src IN SELECT * FROM @extschema@._sentiment_readable_sources() LOOP
		BEGIN
			RETURN QUERY
				SELECT v_src.source_table, q.*
				  FROM @extschema@.sentiment_source_sql(v_src.source_table, 'stuck',
						   jsonb_build_object('max_rows', max_rows,
											  'grace', @extschema@.sentiment_foreign_grace(v_src.source_table)))
					AS q(id bigint, reason text, claimed_by text, started_at timestamptz, lease_until timestamptz,
						 stuck_for interval, attempts integer);
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING 'sentiment_stuck skipped table %: %', v_src.source_table, SQLERRM;
		END;
	END LOOP;
END
$body$;

CREATE VIEW @extschema@.sentiment_stuck AS
	SELECT * FROM @extschema@._sentiment_stuck_internal();

COMMENT ON VIEW @extschema@.sentiment_stuck IS
	'Two-phase claims whose lease expired or whose claimant is gone, and rows claimed elsewhere past their grace, per source the caller may read';

-- ---- a summary for people (the demo ends with it) --------------------------

-- Reads every row of the sources: for a demo or a report, not for polling.
-- Each table is read as its owner (sentiment_source_sql); one that cannot
-- be read is left out with a warning.
CREATE FUNCTION @extschema@.sentiment_summary(
	source regclass DEFAULT NULL,
	top_topics integer DEFAULT 5,
	OUT section text,
	OUT item text,
	OUT rows bigint,
	OUT value text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src	record;
	v_total bigint;
	v_stats record;
	v_parts jsonb;
BEGIN
	FOR v_src IN
		SELECT s.source_table FROM @extschema@._sentiment_readable_sources() s
		 WHERE sentiment_summary.source IS NULL OR s.source_table = sentiment_summary.source
	LOOP
		-- every part read before any is returned, so a table is all or nothing
		BEGIN
			SELECT u.n INTO v_total
			  FROM @extschema@.sentiment_source_sql(v_src.source_table, 'summary_total') AS u(item text, n bigint);
			SELECT jsonb_object_agg(p.statement, p.parts) INTO v_parts
			  FROM (SELECT x.statement,
						   (SELECT COALESCE(jsonb_agg(jsonb_build_object(
									   'item', u.item, 'rows', u.n,
									   'value', round(100.0 * u.n / CASE WHEN x.statement IN ('summary_status', 'summary_topics')
																		 THEN greatest(v_total, 1)
																		 ELSE greatest(u.all_rows, 1) END, 1) || ' %')
								   ORDER BY u.o), '[]')
							  FROM (SELECT r.*, sum(r.n) OVER () AS all_rows
									  FROM ROWS FROM (@extschema@.sentiment_source_sql(v_src.source_table, x.statement,
											   jsonb_build_object('limit', top_topics)) AS (item text, n bigint))
										   WITH ORDINALITY AS r(item, n, o)) u) AS parts
					  FROM unnest(ARRAY['summary_status', 'summary_sentiment', 'summary_emotion', 'summary_language', 'summary_topics'])
						   AS x(statement)) p;
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING 'sentiment_summary skipped table %: %', v_src.source_table, SQLERRM;
			CONTINUE;
		END;

		section := 'source';
		item := v_src.source_table::text;
		rows := v_total;
		value := NULL;
		RETURN NEXT;

		RETURN QUERY SELECT 'status', r.item, r.rows, r.value
					   FROM jsonb_to_recordset(v_parts -> 'summary_status') AS r(item text, rows bigint, value text);

		-- rates from shared memory, when the library is preloaded
		BEGIN
			SELECT s.batches, s.rows_completed, s.rows_failed, s.rows_per_second, s.mean_batch_time
			  INTO v_stats
			  FROM @extschema@.sentiment_stats s WHERE s.source = v_src.source_table;
			IF FOUND THEN
				section := 'rate';
				item := 'rows finished';
				rows := v_stats.rows_completed + v_stats.rows_failed;
				value := v_stats.rows_per_second::text || ' rows/s while processing';
				RETURN NEXT;
				item := 'batches';
				rows := v_stats.batches;
				value := round(v_stats.mean_batch_time::numeric, 1)::text || ' ms each on average';
				RETURN NEXT;
			END IF;
		EXCEPTION WHEN object_not_in_prerequisite_state OR insufficient_privilege THEN
			NULL;				-- not preloaded, or not a pg_monitor member: no rates
		END;

		RETURN QUERY SELECT 'sentiment', r.item, r.rows, r.value
					   FROM jsonb_to_recordset(v_parts -> 'summary_sentiment') AS r(item text, rows bigint, value text);
		RETURN QUERY SELECT 'emotion', r.item, r.rows, r.value
					   FROM jsonb_to_recordset(v_parts -> 'summary_emotion') AS r(item text, rows bigint, value text);
		RETURN QUERY SELECT 'language', r.item, r.rows, r.value
					   FROM jsonb_to_recordset(v_parts -> 'summary_language') AS r(item text, rows bigint, value text);
		RETURN QUERY SELECT 'topic', r.item, r.rows, r.value
					   FROM jsonb_to_recordset(v_parts -> 'summary_topics') AS r(item text, rows bigint, value text);
	END LOOP;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_summary(regclass, integer) IS
	'Rows by status, rates, sentiment, emotion and language distribution and top topics of attached sources (reads every row)';

-- ---- privileges ------------------------------------------------------------

REVOKE ALL ON FUNCTION @extschema@._sentiment_stats_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._sentiment_throughput_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._sentiment_external_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._sentiment_batch_progress_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_queue_status_internal(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._sentiment_failures_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._sentiment_stuck_internal(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_stats_reset(regclass) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION @extschema@._sentiment_stats_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@._sentiment_throughput_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@._sentiment_external_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@._sentiment_batch_progress_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_queue_status_internal(bigint) TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@._sentiment_failures_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@._sentiment_stuck_internal(integer) TO pg_monitor;

GRANT SELECT ON @extschema@.sentiment_stats, @extschema@.sentiment_throughput,
	@extschema@.sentiment_batch_progress, @extschema@.sentiment_queue_status,
	@extschema@.sentiment_failures, @extschema@.sentiment_stuck TO pg_monitor;
