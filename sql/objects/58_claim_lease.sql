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
--
-- (src/two_phase.c, beside sentiment_complete and sentiment_fail: the claim
-- and registration checked as the caller, the rows written as the table's
-- owner by the statements renew and release of src/source_sql.c)

CREATE FUNCTION @extschema@.sentiment_renew(
	source regclass,
	ids bigint[],
	lease interval,
	claim text DEFAULT NULL)
RETURNS bigint[]
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_renew';

COMMENT ON FUNCTION @extschema@.sentiment_renew(regclass, bigint[], interval, text) IS
	'Two-phase path: extend the lease of rows the caller still holds; returns their ids';

CREATE FUNCTION @extschema@.sentiment_release(
	source regclass,
	ids bigint[],
	claim text DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_release';

COMMENT ON FUNCTION @extschema@.sentiment_release(regclass, bigint[], text) IS
	'Two-phase path: give rows the caller holds back to pending, untried (their attempt is not counted); returns how many';

REVOKE ALL ON FUNCTION @extschema@.sentiment_renew(regclass, bigint[], interval, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_release(regclass, bigint[], text) FROM PUBLIC;
