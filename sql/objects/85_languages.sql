-- Completed rows per language of each attached source the caller may read
-- (new in 1.3; the language column is filled by every batch).  Runs as the
-- caller, like sentiment_queue_status; reads every completed row, so it is
-- for reports, not for polling.  A source without the column (attached by
-- another version and not upgraded) is left out.
CREATE FUNCTION @extschema@.sentiment_languages_internal(
	OUT source regclass,
	OUT language text,
	OUT rows bigint)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		record;
BEGIN
	FOR v_src IN SELECT * FROM @extschema@.sentiment_readable_sources() LOOP
		IF EXISTS (SELECT FROM pg_attribute a
					WHERE a.attrelid = v_src.source_table AND a.attname = 'language'
					  AND a.attnum > 0 AND NOT a.attisdropped) THEN
			RETURN QUERY EXECUTE format(
				'SELECT $1, language::text, count(*) FROM %s WHERE processing_status = ''completed'' '
				'GROUP BY language ORDER BY count(*) DESC, 2', v_src.source_table)
				USING v_src.source_table;
		END IF;
	END LOOP;
END
$body$;

CREATE VIEW @extschema@.sentiment_languages AS
	SELECT * FROM @extschema@.sentiment_languages_internal();

COMMENT ON VIEW @extschema@.sentiment_languages IS
	'Completed rows per language (ISO 639-1 or und) of each attached source the caller may read';

REVOKE ALL ON FUNCTION @extschema@.sentiment_languages_internal() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_languages_internal() TO pg_monitor;
GRANT SELECT ON @extschema@.sentiment_languages TO pg_monitor;
