\set ECHO none
-- Shared by the regression tests, loaded with \i test/sql/helpers/try.sql
-- (pg_regress runs psql from the top of the tree).  Quiet, then echo is on
-- again as pg_regress has it.
--
-- pg_temp.try(q) runs the statement q and returns 'ok', or the error it
-- raised as 'SQLSTATE: message | hint' (no ' | hint' when there is none).
-- hint => false leaves the hint out; message_max => n keeps the first n
-- characters of the message.
CREATE FUNCTION pg_temp.try(q text, hint boolean DEFAULT true, message_max int DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	s text; m text; h text;
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
	IF message_max IS NOT NULL THEN
		m := left(m, message_max);
	END IF;
	RETURN s || ': ' || m || CASE WHEN hint THEN coalesce(' | ' || nullif(h, ''), '') ELSE '' END;
END $$;
\set ECHO all
