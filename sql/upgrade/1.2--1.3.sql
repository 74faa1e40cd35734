-- sentiment_proc 1.2 -> 1.3, hand-written part.  The Makefile builds
-- sql/sentiment_proc--1.2--1.3.sql from this file followed by the object
-- files new in 1.3 (NEW_OBJECTS).
--
-- Put here every change to an object that 1.2 already had (ALTER TABLE,
-- CREATE OR REPLACE FUNCTION, DROP ...), in the order it must run.  A
-- changed function is one line "-- replace function: NAME" that
-- tools/upgrade-script.awk expands into its current definition.  The
-- regression test test/sql/upgrade.sql compares installations upgraded from
-- 1.0, 1.1 and 1.2 with a fresh one and names whatever differs.

\echo Use "ALTER EXTENSION sentiment_proc UPDATE TO '1.3'" to load this file. \quit

-- DBA first day (issue 28)
-- attach refuses side tables whose foreign key references another table
-- replace function: sentiment_side_table_references_check
-- replace function: sentiment_adopt_side_table
-- attach marks what it adds; sentiment_detach(source, drop_added => true)
-- removes it (a new overload: the one-argument detach is unchanged, and
-- whoever may run it may run the new one)
-- replace function: sentiment_added_mark
-- replace function: sentiment_mark_added
-- replace function: sentiment_attach_internal
-- replace function: sentiment_detach
COMMENT ON FUNCTION @extschema@.sentiment_detach(regclass, boolean) IS
	'Stop processing a table and (drop_added) remove the columns, indexes and side tables attach added';
REVOKE ALL ON FUNCTION @extschema@.sentiment_detach(regclass, boolean) FROM PUBLIC;
DO $$
DECLARE
	v_grantee name;
BEGIN
	FOR v_grantee IN
		SELECT DISTINCT pg_get_userbyid(a.grantee)
		  FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
		 WHERE p.oid = '@extschema@.sentiment_detach(regclass)'::regprocedure
		   AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner
	LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.sentiment_detach(regclass, boolean) TO %I', v_grantee);
	END LOOP;
END
$$;
-- sentiment_throughput: no zero rows for minutes before a source's statistics began
CREATE OR REPLACE VIEW @extschema@.sentiment_throughput AS
	WITH t AS (
		SELECT * FROM @extschema@.sentiment_throughput_internal()
	), sources AS (
		SELECT DISTINCT t.source, st.stats_since FROM t
		  LEFT JOIN @extschema@.sentiment_stats_internal() st ON st.source IS NOT DISTINCT FROM t.source
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
		   pg_catalog.round(COALESCE(t.rows_completed + t.rows_failed, 0) / 60.0, 2) AS rows_per_second
	  FROM sources s
	  JOIN minutes m ON m.minute >= pg_catalog.date_trunc('minute', COALESCE(s.stats_since, '-infinity'))
	  LEFT JOIN t ON t.source IS NOT DISTINCT FROM s.source AND t.minute = m.minute
	 ORDER BY s.source NULLS FIRST, m.minute;
