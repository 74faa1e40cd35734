-- Rows claimed outside sentiment_proc, for migrating from another pipeline
-- while it still runs (docs/migration.md).
--
-- Another system that claims rows the way the original design does
-- (SELECT ... FOR UPDATE SKIP LOCKED, commit 'processing', analyse, write
-- 'completed') leaves 'processing' rows that carry no claimant of ours.
-- Such a foreign claim is left to its owner for a grace period counted from
-- its processing_started_at: sentiment_proc.foreign_claim_grace (10 min),
-- or the table's own value set here.  Only then does the reaper (src/lease.c,
-- run by the workers and sentiment_reset_stuck) return the row to pending,
-- counting the abandoned claim as an attempt (failed once the attempts are
-- used up).  A claim whose start is unknown (NULL, or not later than the
-- row's last completion: a worker that never sets it) is dated by the reaper
-- when it first sees it.  Results the other system writes meanwhile are
-- kept: batches and sentiment_claim take only pending and due failed rows,
-- and sentiment_complete only rows claimed by its caller.
--
-- Telling the two systems apart: sentiment_proc counts every attempt it
-- makes on a row (processing_attempts, which a system that does not know
-- the column leaves at 0), so a completed row with no attempts was
-- completed elsewhere.

-- The grace period in force for a source's foreign claims.
CREATE FUNCTION @extschema@.sentiment_foreign_grace(source regclass)
RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT COALESCE(
		(SELECT s.foreign_claim_grace FROM @extschema@.sentiment_sources s WHERE s.source_table = source),
		NULLIF(current_setting('sentiment_proc.foreign_claim_grace', true), '')::interval,
		interval '10 minutes')
$$;

COMMENT ON FUNCTION @extschema@.sentiment_foreign_grace(regclass) IS
	'Grace period of rows claimed outside sentiment_proc in this table (its own, or sentiment_proc.foreign_claim_grace)';

-- Written only by sentiment_set_foreign_grace (src/registry.c: the caller
-- must own the table).
CREATE FUNCTION @extschema@.sentiment_register_grace(source regclass, grace interval)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_register_grace';

-- Set a table's own grace period (NULL: back to the setting); returns the
-- period now in force.  The caller must own the table.
CREATE FUNCTION @extschema@.sentiment_set_foreign_grace(source regclass, grace interval)
RETURNS interval
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source table must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass an attached table, see the sentiment_sources table.';
	END IF;
	IF grace < interval '0' OR grace > interval '7 days' THEN
		RAISE EXCEPTION 'grace must be between 0 and 7 days'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the longest time the other system takes from claiming a row to storing its result, with a margin; NULL restores sentiment_proc.foreign_claim_grace.';
	END IF;
	PERFORM @extschema@._sentiment_registration(source);
	-- the registry is written only in C, after the ownership check
	PERFORM @extschema@.sentiment_register_grace(source, grace);
	RETURN @extschema@.sentiment_foreign_grace(source);
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_set_foreign_grace(regclass, interval) IS
	'Set how long rows claimed outside sentiment_proc in this table are left to their claimant (NULL: the setting)';

-- Both systems at a glance, per source the caller may read: claims held
-- through sentiment_claim and claims made elsewhere ('processing' rows,
-- counted through the status index), foreign claims past their grace (the
-- next upkeep returns them), and what sentiment_proc completed from shared
-- memory (NULL without the preloaded library or pg_monitor).
CREATE FUNCTION @extschema@._sentiment_cutover_internal(
	OUT source regclass,
	OUT foreign_claim_grace interval,
	OUT processing_ours bigint,
	OUT processing_foreign bigint,
	OUT foreign_overdue bigint,
	OUT oldest_foreign_started_at timestamptz,
	OUT completed_by_us bigint,
	OUT failed_by_us bigint,
	OUT last_batch_at timestamptz,
	OUT stats_since timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src	record;
BEGIN
	FOR v_src IN SELECT * FROM @extschema@._sentiment_readable_sources() LOOP
		source := v_src.source_table;
		foreign_claim_grace := @extschema@.sentiment_foreign_grace(v_src.source_table);
		BEGIN
			SELECT q.ours, q.foreign_claims, q.overdue, q.oldest
			  INTO processing_ours, processing_foreign, foreign_overdue, oldest_foreign_started_at
			  FROM @extschema@.sentiment_source_sql(v_src.source_table, 'cutover',
					   jsonb_build_object('grace', foreign_claim_grace))
				AS q(ours bigint, foreign_claims bigint, overdue bigint, oldest timestamptz);
		EXCEPTION WHEN OTHERS THEN
			-- read as the owner; locked or with changed columns: left out
			RAISE WARNING 'sentiment_cutover skipped table %: %', v_src.source_table, SQLERRM;
			CONTINUE;
		END;
		completed_by_us := NULL;
		failed_by_us := NULL;
		last_batch_at := NULL;
		stats_since := NULL;
		BEGIN
			SELECT st.rows_completed, st.rows_failed, st.last_batch_at, st.stats_since
			  INTO completed_by_us, failed_by_us, last_batch_at, stats_since
			  FROM @extschema@.sentiment_stats st WHERE st.source = v_src.source_table;
		EXCEPTION WHEN object_not_in_prerequisite_state OR insufficient_privilege THEN
			NULL;				-- not preloaded, or not a pg_monitor member
		END;
		RETURN NEXT;
	END LOOP;
END
$body$;

CREATE VIEW @extschema@.sentiment_cutover AS
	SELECT * FROM @extschema@._sentiment_cutover_internal();

COMMENT ON VIEW @extschema@.sentiment_cutover IS
	'Per attached source: rows processing under a claim of ours and claimed elsewhere, foreign claims past their grace, rows completed by sentiment_proc';

-- Completed rows by who completed them (sentiment_proc: at least one
-- attempt of ours; other: none), optionally only those completed since a
-- time.  Reads every row of the sources: for checking a cutover, not for
-- polling.
CREATE FUNCTION @extschema@.sentiment_completions(
	source regclass DEFAULT NULL,
	since timestamptz DEFAULT NULL,
	OUT source_table regclass,
	OUT completed_by text,
	OUT rows bigint,
	OUT first_completed_at timestamptz,
	OUT last_completed_at timestamptz)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	-- read as the owner; locked or with changed columns: left out
	SELECT * FROM @extschema@._sentiment_readable_rows('sentiment_completions', 'completions',
			jsonb_strip_nulls(jsonb_build_object('since', sentiment_completions.since)),
			'completed_by text, rows bigint, first_completed_at timestamptz, last_completed_at timestamptz',
			sentiment_completions.source)
		AS c(source_table regclass, completed_by text, rows bigint, first_completed_at timestamptz,
			 last_completed_at timestamptz)
$$;

COMMENT ON FUNCTION @extschema@.sentiment_completions(regclass, timestamptz) IS
	'Completed rows per source by who completed them (sentiment_proc or other), optionally since a time; reads every row';

REVOKE ALL ON FUNCTION @extschema@.sentiment_set_foreign_grace(regclass, interval) FROM PUBLIC;
-- (or anyone owning a table would get around the REVOKE above: those
-- granted sentiment_set_foreign_grace are granted this too)
REVOKE ALL ON FUNCTION @extschema@.sentiment_register_grace(regclass, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._sentiment_cutover_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_completions(regclass, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._sentiment_cutover_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_completions(regclass, timestamptz) TO pg_monitor;
GRANT SELECT ON @extschema@.sentiment_cutover TO pg_monitor;
