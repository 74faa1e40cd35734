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
-- passes the claim column it got, as the same role (sentiment_own_claim).  Claims whose lease expired or whose
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
CREATE FUNCTION @extschema@.sentiment_own_claim(claim text)
RETURNS text
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_own_claim';

-- The side tables of a source are written as its owner: the caller must
-- hold the privileges (as when it wrote them itself), else 42501.
CREATE FUNCTION @extschema@.sentiment_side_table_check(p_source regclass, p_privileges text)
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
	PERFORM @extschema@.sentiment_registration(sentiment_claim.source);
	IF @extschema@.sentiment_citus_distributed(sentiment_claim.source) THEN
		RAISE EXCEPTION 'table % is distributed: its rows cannot be claimed through the coordinator',
			sentiment_claim.source
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'A claim locks rows across every shard with SKIP LOCKED, which Citus does not run.',
				  HINT = 'Distributed tables are processed by the background workers of the nodes that hold them, '
						 'or by SELECT sentiment_process_batch(n) on the coordinator.';
	END IF;

	-- (distributed tables are left to the nodes that hold them; a
	-- registration whose table is gone, a temporary table's from before
	-- 1.3, is no source)
	FOR v_src IN
		SELECT s.source_table, s.id_column, s.text_column FROM @extschema@.sentiment_sources s
		  JOIN pg_class c ON c.oid = s.source_table
		 WHERE (sentiment_claim.source IS NULL OR s.source_table = sentiment_claim.source)
		   AND NOT @extschema@.sentiment_citus_distributed(s.source_table)
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
			v_queued := @extschema@.sentiment_queue_take(v_src.source_table, v_left, sentiment_claim.lease);
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
	PERFORM @extschema@.sentiment_report_denied('sentiment_claim', v_denied);
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
CREATE FUNCTION @extschema@.sentiment_complete(
	source regclass,
	results jsonb,
	claim text DEFAULT NULL)
RETURNS TABLE (id bigint, completed boolean, reason text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_claim		text := @extschema@.sentiment_own_claim(sentiment_complete.claim);
	v_src		record;
	v_emb		record;
	v_bad		record;
	v_done		bigint[];
	v_at		timestamptz[];
	v_dims		integer := @extschema@.sentiment_embedding_dims();
	c_rows CONSTANT text := 'jsonb_to_recordset($1) AS r(id bigint, version integer, sentiment_label text, '
		'sentiment_score double precision, emotion_label text, emotion_score double precision, '
		'influence_weight double precision, topics text[], embedding real[], language text)';
BEGIN
	v_src := @extschema@.sentiment_registration(sentiment_complete.source);
	IF jsonb_typeof(sentiment_complete.results) IS DISTINCT FROM 'array'
		OR EXISTS (SELECT FROM jsonb_array_elements(sentiment_complete.results) e WHERE jsonb_typeof(e) <> 'object') THEN
		RAISE EXCEPTION 'results must be a JSON array of objects'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass [{"id": 1, "version": 0, "sentiment_label": "positive", "sentiment_score": 0.8}, ...].';
	END IF;

	-- The embeddings table's type (real[], or pgvector's with a dimension).
	SELECT * INTO v_emb FROM @extschema@.sentiment_embedding_column(v_src.embeddings_table);

	-- Check every row before writing any.
	EXECUTE 'SELECT * FROM (SELECT r.id, CASE '
		'WHEN r.id IS NULL OR r.version IS NULL THEN ''id and version are required'' '
		'WHEN count(*) OVER (PARTITION BY r.id) > 1 THEN ''the id appears more than once'' '
		'WHEN r.sentiment_label IS NULL OR r.sentiment_label NOT IN (''negative'', ''neutral'', ''positive'') '
		'  THEN ''sentiment_label must be negative, neutral or positive'' '
		'WHEN r.sentiment_score IS NULL OR NOT r.sentiment_score BETWEEN -1 AND 1 '
		'  THEN ''sentiment_score must be between -1 and 1'' '
		'WHEN r.emotion_score IS NOT NULL AND NOT r.emotion_score BETWEEN 0 AND 1 '
		'  THEN ''emotion_score must be between 0 and 1'' '
		'WHEN r.influence_weight = ''NaN'' OR r.influence_weight IN (''Infinity'', ''-Infinity'') '
		'  THEN ''influence_weight must be a finite number'' '
		'WHEN r.language IS NOT NULL AND r.language !~ ''^([a-z]{2}|und)$'' '
		'  THEN ''language must be an ISO 639-1 code or und'' '
		'WHEN array_position(r.topics, NULL) IS NOT NULL THEN ''topics must not contain null'' '
		'WHEN cardinality(r.embedding) = 0 OR array_position(r.embedding, NULL) IS NOT NULL '
		'  OR EXISTS (SELECT FROM unnest(r.embedding) x WHERE x IN (''NaN'', ''Infinity'', ''-Infinity'')) '
		'  THEN ''embedding must be a non-empty array of finite numbers'' '
		'WHEN cardinality(r.embedding) <> $2 THEN ''embedding must have '' || $2 || '' numbers'' '
		'END AS problem FROM ' || c_rows || ') AS p ORDER BY p.problem IS NULL, p.id LIMIT 1'
		INTO v_bad USING sentiment_complete.results, v_emb.dims;
	IF v_bad.problem IS NOT NULL THEN
		RAISE EXCEPTION 'invalid result for id %: %', v_bad.id, v_bad.problem
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Nothing was written; correct the result and call sentiment_complete again.';
	END IF;
	-- Embeddings are compared with each other (sentiment_similar): one length.
	EXECUTE 'SELECT r.id, cardinality(r.embedding) AS dims FROM ' || c_rows
		|| ' WHERE cardinality(r.embedding) <> $2 ORDER BY r.id LIMIT 1'
		INTO v_bad USING sentiment_complete.results, v_dims;
	IF v_bad.id IS NOT NULL THEN
		RAISE EXCEPTION 'invalid result for id %: embedding has % dimensions, expected %',
			v_bad.id, v_bad.dims, v_dims
			USING ERRCODE = 'data_exception',
				  DETAIL = 'Stored embeddings are compared with each other and with those of sentiment_analyze().',
				  HINT = format('Send embeddings of %s dimensions (as sentiment_analyze(text).embedding has), '
								'or leave "embedding" out; nothing was written.', v_dims);
	END IF;

	-- (the side tables are written as the source's owner; the caller still
	-- needs the rights, as when it wrote them itself)
	PERFORM @extschema@.sentiment_side_table_check(v_src.source_table, 'INSERT, DELETE');

	-- The rows still claimed by us at the version we read, their old topics
	-- and embedding gone; every statement on the tables runs as their
	-- owner (sentiment_source_sql, statements complete and complete_rest in
	-- src/source_sql.c).
	SELECT u.ids, u.ats INTO v_done, v_at
	  FROM @extschema@.sentiment_source_sql(v_src.source_table, 'complete',
			jsonb_build_object('results', sentiment_complete.results, 'claim', v_claim)) AS u(ids bigint[], ats timestamptz[]);
	IF cardinality(v_done) > 0 THEN
		PERFORM @extschema@.sentiment_queue_finish(v_src.source_table, v_done, v_at, false);
	END IF;

	-- The new topics and embeddings; the others, and why (read afresh: a
	-- concurrent edit shows).
	RETURN QUERY SELECT * FROM @extschema@.sentiment_source_sql(v_src.source_table, 'complete_rest',
		jsonb_build_object('results', sentiment_complete.results, 'claim', v_claim, 'ids', to_jsonb(v_done)))
		AS r(id bigint, completed boolean, reason text);
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_complete(regclass, jsonb, text) IS
	'Two-phase path: store results of claimed rows whose version and claim still hold; one row per result with the outcome';

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
CREATE FUNCTION @extschema@.sentiment_fail(
	source regclass,
	ids bigint[],
	error text,
	sqlstate text DEFAULT NULL,
	retry boolean DEFAULT true,
	claim text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_claim		text := @extschema@.sentiment_own_claim(sentiment_fail.claim);
	v_src		record;
	v_done		bigint[];
	v_at		timestamptz[];
BEGIN
	v_src := @extschema@.sentiment_registration(sentiment_fail.source);
	IF sentiment_fail.error IS NULL OR btrim(sentiment_fail.error) = '' THEN
		RAISE EXCEPTION 'error must not be null or empty'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Say what went wrong; it is shown in sentiment_failures.';
	END IF;
	IF sentiment_fail.sqlstate IS NOT NULL AND sentiment_fail.sqlstate !~ '^[0-9A-Z]{5}$' THEN
		RAISE EXCEPTION 'invalid SQLSTATE "%"', sentiment_fail.sqlstate
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A SQLSTATE is five digits or upper-case letters, for example 22000.';
	END IF;

	PERFORM @extschema@.sentiment_side_table_check(v_src.source_table, 'DELETE');

	-- (as the table's owner: sentiment_source_sql, statement fail)
	SELECT u.ids, u.ats INTO v_done, v_at
	  FROM @extschema@.sentiment_source_sql(v_src.source_table, 'fail',
			jsonb_strip_nulls(jsonb_build_object('ids', to_jsonb(sentiment_fail.ids), 'error', sentiment_fail.error,
							   'sqlstate', sentiment_fail.sqlstate, 'retry', COALESCE(sentiment_fail.retry, true),
							   'claim', v_claim))) AS u(ids bigint[], ats timestamptz[]);
	IF cardinality(v_done) > 0 THEN
		PERFORM @extschema@.sentiment_queue_finish(v_src.source_table, v_done, v_at, true, sentiment_fail.error);
	END IF;
	RETURN cardinality(v_done);
END
$body$;

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
