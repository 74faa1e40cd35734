-- sentiment_proc 1.1 -> 1.2, hand-written part.  The Makefile builds
-- sql/sentiment_proc--1.1--1.2.sql from this file followed by the object
-- files new in 1.2 (NEW_OBJECTS).
--
-- Put here every change to an object that 1.1 already had (ALTER TABLE,
-- CREATE OR REPLACE FUNCTION, DROP ...), in the order it must run.  The
-- regression test test/sql/upgrade.sql compares an installation upgraded
-- from 1.0 and one upgraded from 1.1 with a fresh one and names whatever
-- differs.

\echo Use "ALTER EXTENSION sentiment_proc UPDATE TO '1.2'" to load this file. \quit

-- Rows claimed outside sentiment_proc (57_foreign_claims.sql): a per-table
-- grace period in the registry, and sentiment_stuck lists such rows only
-- once their grace is over.
ALTER TABLE @extschema@.sentiment_sources
	ADD COLUMN foreign_claim_grace interval CHECK (foreign_claim_grace BETWEEN interval '0' AND interval '7 days');

CREATE OR REPLACE FUNCTION @extschema@.sentiment_stuck_internal(
	max_rows integer DEFAULT 1000,
	OUT source regclass,
	OUT id bigint,
	OUT reason text,
	OUT claimed_by text,
	OUT processing_started_at timestamptz,
	OUT lease_until timestamptz,
	OUT stuck_for interval,
	OUT processing_attempts integer)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src	record;
BEGIN
	IF max_rows IS NULL OR max_rows < 1 THEN
		RAISE EXCEPTION 'max_rows must be a positive number'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Leave it out for 1000.';
	END IF;
	FOR v_src IN
		SELECT s.source_table, s.id_column FROM @extschema@.sentiment_sources s
		 WHERE has_table_privilege(s.source_table, 'SELECT')
		 ORDER BY s.source_table::oid
	LOOP
		RETURN QUERY EXECUTE format(
			'SELECT $1, q.id, q.reason, q.claimed_by, q.started_at, q.lease_until, '
			'now() - CASE WHEN q.reason = ''lease expired'' THEN q.lease_until '
			'  WHEN q.reason = ''claimed outside sentiment_proc'' THEN q.started_at + $3 ELSE q.started_at END, q.attempts '
			'FROM (SELECT %I::bigint AS id, processing_claimed_by AS claimed_by, '
			'      processing_started_at::timestamptz AS started_at, processing_lease_until AS lease_until, '
			'      processing_attempts::integer AS attempts, CASE '
			'        WHEN processing_claimed_by IS NULL THEN CASE WHEN processing_started_at < now() - $3 '
			'          AND (processing_completed_at IS NULL OR processing_started_at > processing_completed_at) '
			'          THEN ''claimed outside sentiment_proc'' END '
			'        WHEN processing_lease_until IS NULL THEN ''no claimant or lease'' '
			'        WHEN NOT @extschema@.sentiment_claimant_alive(processing_claimed_by) THEN ''claimant gone'' '
			'        WHEN processing_lease_until < now() THEN ''lease expired'' END AS reason '
			'      FROM %s WHERE processing_status = ''processing'') AS q '
			'WHERE q.reason IS NOT NULL '
			'ORDER BY q.lease_until NULLS FIRST, q.started_at LIMIT $2',
			v_src.id_column, v_src.source_table)
			USING v_src.source_table, max_rows, @extschema@.sentiment_foreign_grace(v_src.source_table);
	END LOOP;
END
$body$;

COMMENT ON VIEW @extschema@.sentiment_stuck IS
	'Two-phase claims whose lease expired or whose claimant is gone, and rows claimed elsewhere past their grace, per source the caller may read';
