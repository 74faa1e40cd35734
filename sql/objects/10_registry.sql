-- The registry of attached source tables.  Kept by pg_dump (it is
-- configuration, not derived data): a restored database processes the same
-- tables.  regclass survives renames, and pg_dump writes it as a qualified
-- name that resolves again on restore.
CREATE TABLE @extschema@.sentiment_sources (
	source_table		regclass PRIMARY KEY,
	id_column			name NOT NULL,
	text_column			name NOT NULL,
	topics_table		regclass NOT NULL,
	embeddings_table	regclass NOT NULL,
	attached_at			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	-- how long a row claimed outside sentiment_proc is left to its claimant
	-- (NULL: sentiment_proc.foreign_claim_grace); see 57_foreign_claims.sql
	foreign_claim_grace interval CHECK (foreign_claim_grace BETWEEN interval '0' AND interval '7 days')
);

COMMENT ON TABLE @extschema@.sentiment_sources IS
	'Tables processed by sentiment_proc; maintained by sentiment_attach() and sentiment_detach()';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_sources', '');

-- Readable by everyone (it names tables, as pg_class does); changed only
-- through sentiment_attach/sentiment_detach by those allowed to call them.
GRANT SELECT ON @extschema@.sentiment_sources TO PUBLIC;

-- A dropped table stops being processed: its registration goes with it (and
-- so does a source's whose side table was dropped, with a notice), so the
-- registry never names a table that is not there.  SECURITY DEFINER because
-- the owner of a dropped table need not be allowed to write the registry;
-- it only ever deletes the rows of objects that this very command dropped.
CREATE FUNCTION @extschema@.sentiment_forget_dropped()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_source regclass;
BEGIN
	FOR v_source IN
		DELETE FROM @extschema@.sentiment_sources s
		 USING pg_event_trigger_dropped_objects() o
		 WHERE o.classid = 'pg_class'::regclass AND o.objsubid = 0
		   AND o.objid IN (s.source_table::oid, s.topics_table::oid, s.embeddings_table::oid)
		RETURNING s.source_table
	LOOP
		IF v_source::oid IN (SELECT o.objid FROM pg_event_trigger_dropped_objects() o) THEN
			CONTINUE;	-- the source itself went: nothing left to say
		END IF;
		RAISE NOTICE 'table % is no longer processed by sentiment_proc: a side table was dropped', v_source
			USING HINT = 'Run sentiment_attach again to recreate the side tables.';
	END LOOP;
END
$body$;

REVOKE ALL ON FUNCTION @extschema@.sentiment_forget_dropped() FROM PUBLIC;

CREATE EVENT TRIGGER sentiment_forget_dropped ON sql_drop
	EXECUTE FUNCTION @extschema@.sentiment_forget_dropped();
