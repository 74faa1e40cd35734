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
	v_src	record;
	v_n		bigint;
	v_total bigint := 0;
BEGIN
	IF sentiment_retry_failed.ids IS NOT NULL AND sentiment_retry_failed.source IS NULL THEN
		RAISE EXCEPTION 'ids need a source table'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the table the ids belong to, for example sentiment_retry_failed(''sentiment_data'', ARRAY[1, 2]).';
	END IF;
	PERFORM @extschema@.sentiment_registration(sentiment_retry_failed.source);
	FOR v_src IN
		SELECT s.source_table, s.id_column FROM @extschema@.sentiment_sources s
		 WHERE sentiment_retry_failed.source IS NULL OR s.source_table = sentiment_retry_failed.source
		 ORDER BY s.source_table::oid
	LOOP
		EXECUTE format(
			'UPDATE %s SET processing_status = ''pending'', processing_attempts = 0, '
			'processing_retry_at = NULL, processing_error = NULL '
			'WHERE processing_status = ''failed'' '
			'AND ($1 IS NULL OR %I = ANY ($1)) '
			'AND ($2 IS NULL OR processing_error LIKE $2) '
			'AND ($3 IS NULL OR processing_error_history -> -1 ->> ''sqlstate'' = $3)',
			v_src.source_table, v_src.id_column)
			USING sentiment_retry_failed.ids, error_pattern, sentiment_retry_failed.sqlstate;
		GET DIAGNOSTICS v_n = ROW_COUNT;
		v_total := v_total + v_n;
	END LOOP;
	-- the wake-up trigger fires only for new or edited text
	IF v_total > 0 THEN
		PERFORM @extschema@.sentiment_wake_workers();
	END IF;
	RETURN v_total;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_retry_failed(regclass, bigint[], text, text) IS
	'Re-queue failed rows (all, or by source, ids, error LIKE pattern, SQLSTATE); returns the rows re-queued';

-- A row's error history as rows, oldest first.
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
DECLARE
	v_id_column name;
BEGIN
	v_id_column := (@extschema@.sentiment_registration(sentiment_error_history.source)).id_column;
	RETURN QUERY EXECUTE format(
		'SELECT (e ->> ''attempt'')::integer, (e ->> ''at'')::timestamptz, e ->> ''sqlstate'', e ->> ''message'' '
		'FROM %s, jsonb_array_elements(processing_error_history) WITH ORDINALITY AS h(e, n) '
		'WHERE %I = $1 ORDER BY h.n', sentiment_error_history.source, v_id_column)
		USING sentiment_error_history.id;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_error_history(regclass, bigint) IS
	'The latest errors of one row (attempt, time, SQLSTATE, message), oldest first';

REVOKE ALL ON FUNCTION @extschema@.sentiment_retry_failed(regclass, bigint[], text, text) FROM PUBLIC;
