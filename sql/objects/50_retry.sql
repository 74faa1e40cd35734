-- Retries.  A row whose processing fails becomes 'failed' with
-- processing_error, one more processing_attempts and an entry in its
-- bounded processing_error_history (attempt, time, SQLSTATE, message).
-- Failures that may pass (a trigger or constraint refusing the write, an
-- external analyser's sentiment_fail) get a retry time, processing_retry_at,
-- after an exponential backoff with jitter (sentiment_proc.retry_delay,
-- doubling up to sentiment_proc.retry_max_delay); the claim takes failed
-- rows whose time has come before pending rows.  After
-- sentiment_proc.max_attempts, or for failures that cannot pass by
-- themselves (no text, text too long), processing_retry_at stays NULL and
-- the row stays failed until sentiment_retry_failed() re-queues it or its
-- text changes.

-- The delay before the attempt after attempt number attempt (jittered),
-- NULL when attempt has reached sentiment_proc.max_attempts.
CREATE FUNCTION @extschema@.sentiment_retry_delay(attempt integer)
RETURNS interval
LANGUAGE C VOLATILE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_retry_delay';

COMMENT ON FUNCTION @extschema@.sentiment_retry_delay(integer) IS
	'Backoff after a failed attempt (jittered, doubling from sentiment_proc.retry_delay); NULL past sentiment_proc.max_attempts';

-- Re-queue failed rows: of one source or all, optionally only the given
-- ids, only errors matching a LIKE pattern, only a SQLSTATE (of the last
-- error).  Attempts start again from zero.  Returns the rows re-queued.
-- Each table is written as its owner (sentiment_source_sql): its triggers
-- and constraints run with the owner's rights, never the caller's; the
-- caller needs UPDATE on it.  Without a source, the tables the caller may
-- not update are left alone (a notice names them), and a table that cannot
-- be written (locked, changed columns, a trigger refusing) is skipped with
-- a warning; with one, those are errors.
CREATE FUNCTION @extschema@.sentiment_retry_failed(
	source regclass DEFAULT NULL,
	ids bigint[] DEFAULT NULL,
	error_pattern text DEFAULT NULL,
	sqlstate text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_args		jsonb;
	v_total		bigint := 0;
BEGIN
	IF sentiment_retry_failed.ids IS NOT NULL AND sentiment_retry_failed.source IS NULL THEN
		RAISE EXCEPTION 'ids need a source table'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the table the ids belong to, for example sentiment_retry_failed(''sentiment_data'', ARRAY[1, 2]).';
	END IF;
	PERFORM @extschema@._sentiment_registration(sentiment_retry_failed.source);
	v_args := jsonb_strip_nulls(jsonb_build_object('ids', to_jsonb(sentiment_retry_failed.ids),
		'pattern', error_pattern, 'sqlstate', sentiment_retry_failed.sqlstate));
	IF sentiment_retry_failed.source IS NOT NULL THEN
		SELECT u.n INTO v_total
		  FROM @extschema@.sentiment_source_sql(sentiment_retry_failed.source, 'retry_failed', v_args) AS u(n bigint);
	ELSE
		v_total := @extschema@._sentiment_for_each_updatable('sentiment_retry_failed',
			'SELECT u.n FROM @extschema@.sentiment_source_sql($1, ''retry_failed'', $2) AS u(n bigint)', v_args,
			'Its failed rows stay failed; sentiment_retry_failed(%L) shows the error.');
	END IF;
	-- the wake-up trigger fires only for new or edited text; on Citus the
	-- rows of distributed tables wait on the worker nodes
	IF v_total > 0 THEN
		PERFORM @extschema@.sentiment_wake_workers();
		PERFORM @extschema@.sentiment_citus_wake_nodes(sentiment_retry_failed.source);
	END IF;
	RETURN v_total;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_retry_failed(regclass, bigint[], text, text) IS
	'Re-queue failed rows (all, or by source, ids, error LIKE pattern, SQLSTATE); returns the rows re-queued';

-- A row's error history as rows, oldest first (read as the table's owner:
-- sentiment_source_sql; the caller needs SELECT on the table).
CREATE FUNCTION @extschema@.sentiment_error_history(
	source regclass,
	id bigint,
	OUT attempt integer,
	OUT failed_at timestamptz,
	OUT sqlstate text,
	OUT message text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	PERFORM @extschema@._sentiment_registration(sentiment_error_history.source);
	RETURN QUERY
		SELECT h.* FROM @extschema@.sentiment_source_sql(sentiment_error_history.source, 'error_history',
				jsonb_build_object('id', sentiment_error_history.id))
			AS h(attempt integer, failed_at timestamptz, sqlstate text, message text);
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_error_history(regclass, bigint) IS
	'The latest errors of one row (attempt, time, SQLSTATE, message), oldest first';

REVOKE ALL ON FUNCTION @extschema@.sentiment_retry_failed(regclass, bigint[], text, text) FROM PUBLIC;
