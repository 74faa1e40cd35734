-- Completed rows per language of each attached source the caller may read
-- (new in 1.3; the language column is filled by every batch).  Reads each
-- table as its owner through sentiment_source_sql (statement
-- summary_language), like sentiment_summary; a table that cannot be read
-- so (locked, columns changed) is left out with a warning.  Reads every
-- completed row, so it is for reports, not for polling.
CREATE FUNCTION @extschema@._sentiment_languages_internal(
	OUT source regclass,
	OUT language text,
	OUT rows bigint)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM @extschema@._sentiment_readable_rows('sentiment_languages', 'summary_language', NULL,
													   'item text, n bigint')
		AS u(source regclass, item text, n bigint)
$$;

CREATE VIEW @extschema@.sentiment_languages AS
	SELECT * FROM @extschema@._sentiment_languages_internal();

COMMENT ON VIEW @extschema@.sentiment_languages IS
	'Completed rows per language (ISO 639-1 or und) of each attached source the caller may read';

REVOKE ALL ON FUNCTION @extschema@._sentiment_languages_internal() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._sentiment_languages_internal() TO pg_monitor;
GRANT SELECT ON @extschema@.sentiment_languages TO pg_monitor;
