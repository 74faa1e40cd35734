-- The two-phase path, for analysers outside the server.
--
--   sentiment_claim(n, lease)  marks up to n rows 'processing' (rows of
--                              queued requests by priority first, then due
--                              retries, then pending rows) with a lease and the
--                              claimant, commits with the caller, and returns
--                              them with their version;
--   sentiment_complete(...)    stores results only where the version is the
--                              one claimed and the claim is still held;
--                              anything else writes nothing and says why;
--   sentiment_fail(...)        records an error, with a retry after backoff.
--
-- Both end the queued requests of the rows they complete or fail (those
-- made before the claim), as a batch does; the queue itself is written
-- only by the C helpers in src/queue.c.
--
-- A claim is held by the session and role that made it ("pid:start:role",
-- see sentiment_claimant()); a client that completes from another session
-- passes the claim column it got, as the same role (_sentiment_own_claim).  Claims whose lease expired or whose
-- session is gone return to 'pending': by the workers (at start-up and
-- every sentiment_proc.upkeep_interval) and by sentiment_reset_stuck().
-- A text edit (version + 1, back to pending) always wins over a result
-- computed for the old text.

-- This session's claimant identity, and whether a claimant still lives.
CREATE FUNCTION @extschema@.sentiment_claimant()
RETURNS text
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_claimant';

CREATE FUNCTION @extschema@.sentiment_claimant_alive(claimant text)
RETURNS boolean
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_claimant_alive';

-- The claim the caller acts on (src/lease.c): NULL gives the caller's own;
-- a claim passed explicitly must have been made by the current user (or a
-- role whose privileges it has), so a claim string is no bearer token.
CREATE FUNCTION @extschema@._sentiment_own_claim(claim text)
RETURNS text
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_own_claim';

-- The side tables of a source are written as its owner: the caller must
-- hold the privileges (as when it wrote them itself), else 42501.
CREATE FUNCTION @extschema@._sentiment_side_table_check(p_source regclass, p_privileges text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_denied	regclass;
BEGIN
	SELECT t.rel INTO v_denied
	  FROM @extschema@.sentiment_sources s, LATERAL (VALUES (1, s.topics_table), (2, s.embeddings_table)) AS t(n, rel)
	 WHERE s.source_table = p_source AND NOT has_table_privilege(t.rel, p_privileges)
	 ORDER BY t.n LIMIT 1;
	IF v_denied IS NOT NULL THEN
		RAISE EXCEPTION 'permission denied for table %', v_denied
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'sentiment_complete replaces the topics and embeddings of the rows it completes; '
						   'sentiment_fail deletes those of the rows it fails.',
				  HINT = format('GRANT %s ON %s TO the role that does it.', p_privileges, v_denied);
	END IF;
END
$body$;

CREATE FUNCTION @extschema@.sentiment_claim(
	n integer,
	lease interval,
	source regclass DEFAULT NULL)
RETURNS TABLE (
	source_table regclass,
	id bigint,
	text text,
	version integer,
	attempts integer,
	claim text,
	lease_until timestamptz,
	author_followers bigint,
	likes bigint,
	shares bigint,
	replies bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_claimant	text := @extschema@.sentiment_claimant();
	v_left		integer := sentiment_claim.n;
	v_src		record;
	v_n			integer;
	v_queued	bigint[];
	v_denied	text[] := '{}';
BEGIN
	IF sentiment_claim.n IS NULL OR sentiment_claim.n < 1 OR sentiment_claim.n > 10000 THEN
		RAISE EXCEPTION 'n must be between 1 and 10000'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Claim at most 10000 rows per call.';
	END IF;
	IF sentiment_claim.lease IS NULL OR sentiment_claim.lease <= interval '0'
		OR sentiment_claim.lease > interval '7 days' THEN
		RAISE EXCEPTION 'lease must be a positive interval of at most 7 days'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the time the analyser needs for the rows, for example interval ''5 minutes''.';
	END IF;
	PERFORM @extschema@._sentiment_registration(sentiment_claim.source);

	-- (a registration whose table is gone, a temporary table's from before
	-- 1.3, is no source; a distributed table is claimed through Citus, its
	-- claims naming this node: src/source_sql.c, statement claim_dist)
	FOR v_src IN
		SELECT s.source_table, s.id_column, s.text_column FROM @extschema@.sentiment_sources s
		  JOIN pg_class c ON c.oid = s.source_table
		 WHERE (sentiment_claim.source IS NULL OR s.source_table = sentiment_claim.source)
		 ORDER BY s.source_table::oid
	LOOP
		EXIT WHEN v_left <= 0;
		-- without a source, the tables the caller may not update are left
		-- alone (and named below)
		IF sentiment_claim.source IS NULL AND NOT has_table_privilege(v_src.source_table, 'UPDATE') THEN
			v_denied := v_denied || v_src.source_table::text;
			CONTINUE;
		END IF;
		-- the rows a batch would take, in its order: queued requests first,
		-- by priority (passed over by other claims and batches for the
		-- lease; rows another claimant holds wait for it), due retries,
		-- pending rows (sp_claim_sql in src/batch_claim.c, run as the
		-- table's owner: sentiment_source_sql, statement claim)
		BEGIN
			-- (a distributed table has no queue: sentiment_enqueue sets its rows pending)
			v_queued := CASE WHEN NOT @extschema@._sentiment_citus_distributed(v_src.source_table)
				THEN @extschema@.sentiment_queue_take(v_src.source_table, v_left, sentiment_claim.lease) END;
			RETURN QUERY SELECT * FROM @extschema@.sentiment_source_sql(v_src.source_table, 'claim',
				jsonb_strip_nulls(jsonb_build_object('n', v_left, 'lease', sentiment_claim.lease, 'claim', v_claimant,
								   'queued', to_jsonb(v_queued))))
				AS c(source_table regclass, id bigint, text text, version integer, attempts integer, claim text,
					 lease_until timestamptz, author_followers bigint, likes bigint, shares bigint, replies bigint);
			GET DIAGNOSTICS v_n = ROW_COUNT;
		EXCEPTION WHEN insufficient_privilege OR datatype_mismatch OR object_not_in_prerequisite_state
			OR wrong_object_type OR lock_not_available THEN
			-- without a source, a table that cannot be claimed as its owner
			-- (columns changed, row-level security, deferrable triggers, a
			-- lock held) is left alone with a warning, not the others
			IF sentiment_claim.source IS NOT NULL THEN
				RAISE;
			END IF;
			RAISE WARNING 'sentiment_claim skipped table %: %', v_src.source_table, SQLERRM
				USING HINT = 'Claim from it with sentiment_claim(n, lease, source) to see the error in full.';
			v_n := 0;
		END;
		v_left := v_left - v_n;
	END LOOP;
	PERFORM @extschema@._sentiment_report_denied('sentiment_claim', v_denied);
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_claim(integer, interval, regclass) IS
	'Two-phase path: claim up to n rows for an external analyser with a lease; returns them with version and claim';

-- Who analyses a table (src/registry.c): 'server', the default (the
-- background workers and sentiment_process_batch; sentiment_claim may take
-- rows too), or 'external' (only analysers calling sentiment_claim: the
-- workers and sentiment_process_batch leave the table alone).  Only the
-- table's owner may set it; returns the processor now in force.
CREATE FUNCTION @extschema@.sentiment_set_processor(source regclass, processor text)
RETURNS text
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_set_processor';

COMMENT ON FUNCTION @extschema@.sentiment_set_processor(regclass, text) IS
	'Choose who analyses an attached table: server (workers and sentiment_process_batch) or external (sentiment_claim only)';

-- Store results of claimed rows.  results is a JSON array of objects with
-- id, version, sentiment_label (negative, neutral, positive),
-- sentiment_score (-1..1) and optionally emotion_label, emotion_score,
-- influence_weight, topics (array of keys) and embedding (array of
-- numbers).  Returns one row per input row: completed, or why not.
-- (src/two_phase.c: checked as the caller, written as the table's owner,
-- counted in the statistics as external work)
CREATE FUNCTION @extschema@.sentiment_complete(
	source regclass,
	results jsonb,
	claim text DEFAULT NULL)
RETURNS TABLE (id bigint, completed boolean, reason text)
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_complete';

COMMENT ON FUNCTION @extschema@.sentiment_complete(regclass, jsonb, text) IS
	'Two-phase path: store results of claimed rows whose version and claim still hold; one row per result with the outcome';

-- The fields of a result sentiment_complete takes, with their types: the
-- key (id, version), the result columns (the result row's description,
-- src/result_row.c) and the side rows (topics, embedding); it ignores
-- others.  Clients build their results from it (examples/python/).
CREATE FUNCTION @extschema@.sentiment_result_fields(OUT field text, OUT field_type text)
RETURNS SETOF record
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_result_fields';

COMMENT ON FUNCTION @extschema@.sentiment_result_fields() IS
	'Two-phase path: the fields of a result sentiment_complete takes, with their SQL types';

-- One row: true when stored; false, with a notice saying why, when not.
CREATE FUNCTION @extschema@.sentiment_complete(
	source regclass,
	id bigint,
	version integer,
	sentiment_label text,
	sentiment_score double precision,
	emotion_label text DEFAULT NULL,
	emotion_score double precision DEFAULT NULL,
	influence_weight double precision DEFAULT NULL,
	topics text[] DEFAULT NULL,
	embedding real[] DEFAULT NULL,
	claim text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_out record;
BEGIN
	SELECT * INTO v_out FROM @extschema@.sentiment_complete(sentiment_complete.source,
		jsonb_build_array(jsonb_build_object(
			'id', sentiment_complete.id, 'version', sentiment_complete.version,
			'sentiment_label', sentiment_complete.sentiment_label,
			'sentiment_score', sentiment_complete.sentiment_score,
			'emotion_label', sentiment_complete.emotion_label,
			'emotion_score', sentiment_complete.emotion_score,
			'influence_weight', sentiment_complete.influence_weight,
			'topics', to_jsonb(sentiment_complete.topics),
			'embedding', to_jsonb(sentiment_complete.embedding))),
		sentiment_complete.claim) AS o;
	IF NOT v_out.completed THEN
		RAISE NOTICE 'result for id % not stored: %', sentiment_complete.id, v_out.reason;
	END IF;
	RETURN v_out.completed;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_complete(regclass, bigint, integer, text, double precision, text, double precision, double precision, text[], real[], text) IS
	'Two-phase path: store the result of one claimed row; false (with a notice) when its version or claim no longer holds';

-- Record a failure of claimed rows: 'failed' with the error and, unless
-- retry is false or the attempts are used up, a retry time.  Returns the
-- rows recorded (rows no longer claimed by the caller are left alone).
-- (src/two_phase.c, as sentiment_complete)
CREATE FUNCTION @extschema@.sentiment_fail(
	source regclass,
	ids bigint[],
	error text,
	sqlstate text DEFAULT NULL,
	retry boolean DEFAULT true,
	claim text DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_fail';

COMMENT ON FUNCTION @extschema@.sentiment_fail(regclass, bigint[], text, text, boolean, text) IS
	'Two-phase path: record a failure of claimed rows (retried after a backoff unless retry is false); returns rows recorded';

CREATE FUNCTION @extschema@.sentiment_fail(
	source regclass,
	id bigint,
	error text,
	sqlstate text DEFAULT NULL,
	retry boolean DEFAULT true,
	claim text DEFAULT NULL)
RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.sentiment_fail(source, ARRAY[id], error, sqlstate, retry, claim) = 1
$$;

COMMENT ON FUNCTION @extschema@.sentiment_fail(regclass, bigint, text, text, boolean, text) IS
	'Two-phase path: record a failure of one claimed row; false when the caller no longer holds its claim';

-- Return claims whose lease expired or whose session is gone (force: every
-- claim) to 'pending' (to 'failed' once their attempts are used up), of one
-- source or all.  The workers do the same by themselves.
CREATE FUNCTION @extschema@.sentiment_reset_stuck(
	source regclass DEFAULT NULL,
	force boolean DEFAULT false)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_reset_stuck';

COMMENT ON FUNCTION @extschema@.sentiment_reset_stuck(regclass, boolean) IS
	'Return expired or orphaned two-phase claims (force: all claims) to pending; returns how many';

REVOKE ALL ON FUNCTION @extschema@.sentiment_claim(integer, interval, regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_set_processor(regclass, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_complete(regclass, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_complete(regclass, bigint, integer, text, double precision, text, double precision, double precision, text[], real[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_fail(regclass, bigint[], text, text, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_fail(regclass, bigint, text, text, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_reset_stuck(regclass, boolean) FROM PUBLIC;
