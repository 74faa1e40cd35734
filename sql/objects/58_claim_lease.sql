-- The two-phase path's lease, for long analyses and clean shutdowns of an
-- external analyser (examples/python/):
--
--   sentiment_renew(source, ids, lease)  extends the lease of rows the caller
--                                         still holds; returns those ids, so
--                                         the caller drops the others (their
--                                         claim was returned: a result for
--                                         them would be refused);
--   sentiment_release(source, ids)       gives rows the caller holds back to
--                                         pending at once, untried: the
--                                         claim's attempt is taken back.

CREATE FUNCTION @extschema@.sentiment_renew(
	source regclass,
	ids bigint[],
	lease interval,
	claim text DEFAULT NULL)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_claim		text := @extschema@.sentiment_own_claim(sentiment_renew.claim);
	v_src		record;
	v_done		bigint[];
BEGIN
	IF sentiment_renew.lease IS NULL OR sentiment_renew.lease <= interval '0'
		OR sentiment_renew.lease > interval '7 days' THEN
		RAISE EXCEPTION 'lease must be a positive interval of at most 7 days'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the time the analyser still needs for the rows, for example interval ''5 minutes''.';
	END IF;
	v_src := @extschema@.sentiment_registration(sentiment_renew.source);
	EXECUTE format(
		'WITH u AS (UPDATE %1$s AS s SET processing_lease_until = clock_timestamp() + $2 '
		'WHERE s.%2$I = ANY ($1) AND s.processing_status = ''processing'' AND s.processing_claimed_by = $3 '
		'RETURNING s.%2$I::bigint AS id) SELECT COALESCE(array_agg(u.id ORDER BY u.id), ''{}'') FROM u',
		v_src.source_table, v_src.id_column)
		INTO v_done USING sentiment_renew.ids, sentiment_renew.lease, v_claim;
	RETURN v_done;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_renew(regclass, bigint[], interval, text) IS
	'Two-phase path: extend the lease of rows the caller still holds; returns their ids';

CREATE FUNCTION @extschema@.sentiment_release(
	source regclass,
	ids bigint[],
	claim text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_claim		text := @extschema@.sentiment_own_claim(sentiment_release.claim);
	v_src		record;
	v_n			bigint;
BEGIN
	v_src := @extschema@.sentiment_registration(sentiment_release.source);
	EXECUTE format(
		'UPDATE %1$s AS s SET processing_status = ''pending'', '
		'  processing_attempts = greatest(s.processing_attempts - 1, 0), '
		'  processing_lease_until = NULL, processing_claimed_by = NULL '
		'WHERE s.%2$I = ANY ($1) AND s.processing_status = ''processing'' AND s.processing_claimed_by = $2',
		v_src.source_table, v_src.id_column)
		USING sentiment_release.ids, v_claim;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	RETURN v_n;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_release(regclass, bigint[], text) IS
	'Two-phase path: give rows the caller holds back to pending, untried (their attempt is not counted); returns how many';

REVOKE ALL ON FUNCTION @extschema@.sentiment_renew(regclass, bigint[], interval, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_release(regclass, bigint[], text) FROM PUBLIC;
