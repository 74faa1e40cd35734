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
	v_claim		text := @extschema@._sentiment_own_claim(sentiment_renew.claim);
	v_src		record;
	v_done		bigint[];
BEGIN
	IF sentiment_renew.lease IS NULL OR sentiment_renew.lease <= interval '0'
		OR sentiment_renew.lease > interval '7 days' THEN
		RAISE EXCEPTION 'lease must be a positive interval of at most 7 days'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the time the analyser still needs for the rows, for example interval ''5 minutes''.';
	END IF;
	v_src := @extschema@._sentiment_registration(sentiment_renew.source);
	-- (as the table's owner: sentiment_source_sql, statement renew)
	SELECT u.ids INTO v_done
	  FROM @extschema@.sentiment_source_sql(v_src.source_table, 'renew',
			jsonb_strip_nulls(jsonb_build_object('ids', to_jsonb(sentiment_renew.ids), 'lease', sentiment_renew.lease,
							   'claim', v_claim))) AS u(ids bigint[]);
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
	v_claim		text := @extschema@._sentiment_own_claim(sentiment_release.claim);
	v_src		record;
	v_n			bigint;
BEGIN
	v_src := @extschema@._sentiment_registration(sentiment_release.source);
	-- (as the table's owner: sentiment_source_sql, statement release)
	SELECT u.n INTO v_n
	  FROM @extschema@.sentiment_source_sql(v_src.source_table, 'release',
			jsonb_strip_nulls(jsonb_build_object('ids', to_jsonb(sentiment_release.ids), 'claim', v_claim))) AS u(n bigint);
	RETURN v_n;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_release(regclass, bigint[], text) IS
	'Two-phase path: give rows the caller holds back to pending, untried (their attempt is not counted); returns how many';

REVOKE ALL ON FUNCTION @extschema@.sentiment_renew(regclass, bigint[], interval, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_release(regclass, bigint[], text) FROM PUBLIC;
