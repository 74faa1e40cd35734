-- The embedding lane (src/embedding_lane.c, docs/pgvector.md): a source
-- whose embeddings are pgvector's vector or halfvec, with an HNSW index, has
-- a plain table beside its embeddings table, <embeddings table>_lane, that
-- processing writes the embeddings into (at the cost of real[]); the
-- workers move them into the indexed table in large chunks, each embedding
-- exactly once.  sentiment_similar searches the indexed table only.

-- The lane of an embeddings table (the table named after it with "_lane",
-- of the same owner, embedding real[]), NULL when it has none.  It runs no
-- SQL (catalogue caches only), so no search_path is pinned: that would cost
-- a setting change at every sentiment_similar call.
CREATE FUNCTION @extschema@._sentiment_embedding_lane(embeddings_table regclass)
RETURNS regclass
LANGUAGE C STABLE STRICT
AS 'MODULE_PATHNAME', 'sentiment_embedding_lane';

COMMENT ON FUNCTION @extschema@._sentiment_embedding_lane(regclass) IS
	'The lane of an embeddings table (embeddings waiting for its HNSW index), NULL when it has none';

-- Give an embeddings table of type vector or halfvec its lane (nothing for
-- real[], nor when it has one).  Runs as the caller, who owns the table
-- (attach, convert) or is the superuser updating the extension: the lane gets the table's owner, its foreign key to the
-- source (so a deleted row's staged embedding goes too) and the SELECT
-- grants of the embeddings table (readers of sentiment_similar and the
-- monitoring see the lag).  Not on Citus yet: the nodes process shard by
-- shard and would need the lane's colocated shard beside each embeddings
-- shard (src/citus.c); a distributed table's embeddings go straight into
-- its indexed shards, as before.
CREATE FUNCTION @extschema@._sentiment_embedding_lane_create(p_table regclass)
RETURNS regclass
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_col		record;
	v_lane		regclass := @extschema@._sentiment_embedding_lane(p_table);
	v_schema	name;
	v_base		text;
	v_fk		text;
	v_role		text;
BEGIN
	SELECT * INTO v_col FROM @extschema@._sentiment_embedding_column(p_table);
	IF v_col.type_sql IS NULL OR v_lane IS NOT NULL OR @extschema@._sentiment_citus_distributed(p_table) THEN
		RETURN v_lane;
	END IF;
	SELECT n.nspname, c.relname INTO v_schema, v_base
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_table;
	-- the name embedding_lane.c looks for: cut to leave room for "_lane"
	WHILE octet_length(v_base) > 58 LOOP
		v_base := left(v_base, -1);
	END LOOP;
	IF to_regclass(format('%I.%I', v_schema, v_base || '_lane')) IS NOT NULL THEN
		RAISE EXCEPTION 'relation %.% exists and is not the embedding lane of %', quote_ident(v_schema),
			quote_ident(v_base || '_lane'), p_table
			USING ERRCODE = 'duplicate_table',
				  DETAIL = 'An embedding lane is a table of the same owner with columns entry_id and embedding real[].',
				  HINT = 'Rename or drop that relation, then run sentiment_convert_embeddings again.';
	END IF;
	SELECT format(' REFERENCES %s (%I) ON DELETE CASCADE', c.confrelid::regclass, a.attname) INTO v_fk
	  FROM pg_constraint c
	  JOIN pg_attribute e ON e.attrelid = c.conrelid AND e.attnum = c.conkey[1]
	  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = c.confkey[1]
	 WHERE c.conrelid = p_table AND c.contype = 'f' AND cardinality(c.conkey) = 1 AND e.attname = 'entry_id'
	 LIMIT 1;
	EXECUTE format('CREATE TABLE %I.%I (entry_id bigint PRIMARY KEY%s, embedding real[] NOT NULL, '
				   'staged_at timestamptz NOT NULL DEFAULT pg_catalog.now())',
				   v_schema, v_base || '_lane', COALESCE(v_fk, ''));
	v_lane := format('%I.%I', v_schema, v_base || '_lane')::regclass;
	EXECUTE format('COMMENT ON TABLE %s IS %L', v_lane,
				   format('sentiment_proc: embeddings of %s waiting for its HNSW index (moved by the workers)', p_table));
	PERFORM @extschema@._sentiment_side_table_owner(v_lane, p_table);
	FOR v_role IN
		SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
		  FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
		 WHERE c.oid = p_table AND a.privilege_type = 'SELECT' AND a.grantee <> c.relowner
	LOOP
		EXECUTE format('GRANT SELECT ON %s TO %s', v_lane, v_role);
	END LOOP;
	RETURN v_lane;
END
$body$;

-- Move every staged embedding of an attached table's embeddings table into
-- it at once, and with p_drop drop the lane: before a conversion to real[]
-- and at detach, so that nothing stays behind in a lane that no worker
-- drains.  The rows are moved as the table's owner (sentiment_source_sql,
-- statement lane_flush), so the owner's triggers on the embeddings table
-- never run as a superuser who detaches.  Returns the rows moved.
CREATE FUNCTION @extschema@._sentiment_embedding_lane_flush(p_source regclass, p_drop boolean)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_lane	regclass := @extschema@._sentiment_embedding_lane(
				(SELECT s.embeddings_table FROM @extschema@.sentiment_sources s WHERE s.source_table = p_source));
	v_n		bigint;
BEGIN
	IF v_lane IS NULL THEN
		RETURN 0;
	END IF;
	SELECT f.n INTO v_n FROM @extschema@.sentiment_source_sql(p_source, 'lane_flush') AS f(n bigint);
	IF p_drop THEN
		EXECUTE format('DROP TABLE %s', v_lane);
	END IF;
	RETURN v_n;
END
$body$;

-- The workers' drain on demand: up to max_rows staged embeddings of one
-- source (NULL: of every source the caller may process) moved into the
-- indexed tables, in the caller's transaction.  Returns the rows moved.
CREATE FUNCTION @extschema@.sentiment_drain_embeddings(
	source regclass DEFAULT NULL,
	max_rows integer DEFAULT 10000)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_drain_embeddings';

COMMENT ON FUNCTION @extschema@.sentiment_drain_embeddings(regclass, integer) IS
	'Move staged embeddings into their HNSW-indexed tables now (the workers do it by themselves); returns how many';

REVOKE ALL ON FUNCTION @extschema@.sentiment_drain_embeddings(regclass, integer) FROM PUBLIC;

-- The lag of each lane the caller may read: rows waiting for their
-- embedding to be indexed, and since when.  Reads the lane (a small table
-- while the workers keep up).
CREATE FUNCTION @extschema@._sentiment_embedding_lag_internal(
	OUT source regclass,
	OUT lane regclass,
	OUT waiting bigint,
	OUT oldest_staged_at timestamptz,
	OUT oldest_waiting_age interval)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src	record;
BEGIN
	FOR v_src IN
		SELECT r.source_table, s.embeddings_table
		  FROM @extschema@._sentiment_readable_sources() r
		  JOIN @extschema@.sentiment_sources s ON s.source_table = r.source_table
	LOOP
		source := v_src.source_table;
		lane := @extschema@._sentiment_embedding_lane(v_src.embeddings_table);
		CONTINUE WHEN lane IS NULL OR NOT has_table_privilege(lane, 'SELECT');
		EXECUTE format('SELECT count(*), min(staged_at) FROM %s', lane) INTO waiting, oldest_staged_at;
		oldest_waiting_age := now() - oldest_staged_at;
		RETURN NEXT;
	END LOOP;
END
$body$;

CREATE VIEW @extschema@.sentiment_embedding_lag AS
	SELECT * FROM @extschema@._sentiment_embedding_lag_internal();

COMMENT ON VIEW @extschema@.sentiment_embedding_lag IS
	'Per source with an embedding lane (vector/halfvec): rows whose embedding waits for the HNSW index, and the oldest one''s age';

REVOKE ALL ON FUNCTION @extschema@._sentiment_embedding_lag_internal() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._sentiment_embedding_lag_internal() TO pg_monitor;
GRANT SELECT ON @extschema@.sentiment_embedding_lag TO pg_monitor;

-- Whoever may process may drain (on an update from 1.2, the roles a DBA
-- granted sentiment_process_batch to; on a fresh install nobody yet).
SELECT @extschema@._sentiment_grant_like('@extschema@.sentiment_process_batch(integer, regclass)',
										  '@extschema@.sentiment_drain_embeddings(regclass, integer)');

-- On an update from 1.2: every attached table whose embeddings table stores
-- vector or halfvec gets its lane now, as attach would give it (owned by the
-- table's owner, with the embeddings table's SELECT grants; nothing of the
-- tenant's runs: DDL only, no row written).  A table made in this script
-- would become a member of the extension (dropped with it, left out of
-- pg_dump, its grants taken for the extension's initial ones): ALTER
-- EXTENSION ... DROP TABLE makes it the user's table attach makes.  A
-- relation already holding the lane's name, or an embeddings table without
-- its column, is passed over with a warning: that table keeps writing into
-- its index directly until sentiment_convert_embeddings adds the lane.  On
-- a fresh install there is no source yet.
DO $lanes$
DECLARE
	v_emb	regclass;
	v_lane	regclass;
BEGIN
	FOR v_emb IN
		SELECT s.embeddings_table FROM @extschema@.sentiment_sources s
		  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) s.embeddings_table::pg_catalog.oid
		 ORDER BY s.source_table::pg_catalog.oid
	LOOP
		CONTINUE WHEN @extschema@._sentiment_embedding_lane(v_emb) IS NOT NULL;
		BEGIN
			v_lane := @extschema@._sentiment_embedding_lane_create(v_emb);
		EXCEPTION WHEN duplicate_table OR undefined_column THEN
			RAISE WARNING 'no embedding lane for %: %', v_emb, SQLERRM
				USING HINT = 'Its embeddings go into the HNSW index in each batch, as in 1.2; fix the cause, then run sentiment_convert_embeddings as the owner to add the lane.';
			CONTINUE;
		END;
		IF v_lane IS NOT NULL THEN
			EXECUTE pg_catalog.format('ALTER EXTENSION sentiment_proc DROP TABLE %s', v_lane);
		END IF;
	END LOOP;
END
$lanes$;
