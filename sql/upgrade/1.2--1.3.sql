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

-- multilingual
COMMENT ON FUNCTION @extschema@.sentiment_analyze(text, text) IS
	'Sentiment with the chosen model (vader, social or multilingual), emotion, topics and embedding of a text';
-- replace function: sentiment_set_model
COMMENT ON FUNCTION @extschema@.sentiment_set_model(regclass, text) IS
	'Choose the sentiment model of an attached table (vader, social or multilingual) and queue the rows another model analysed';
-- replace function: sentiment_attach_status_columns
-- Attached tables get the column of each text's language, filled by every
-- batch from now on (a plain ADD COLUMN: no rewrite, no code of the table's
-- owner runs).
DO $$
DECLARE
	v_source regclass;
BEGIN
	FOR v_source IN SELECT s.source_table FROM @extschema@.sentiment_sources s JOIN pg_class c ON c.oid = s.source_table
					 WHERE c.relkind IN ('r', 'p') LOOP
		EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS language text', v_source);
	END LOOP;
END
$$;
-- replace function: sentiment_summary
COMMENT ON FUNCTION @extschema@.sentiment_summary(regclass, integer) IS
	'Rows by status, rates, sentiment, emotion and language distribution and top topics of attached sources (reads every row)';
-- replace function: sentiment_complete
