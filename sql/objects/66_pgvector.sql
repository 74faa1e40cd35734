-- Embeddings as pgvector types: the embeddings side table's column may be
-- real[] (always available), or vector(256) / halfvec(256) with an HNSW
-- index (cosine) when the pgvector extension ("vector") is installed in the
-- database.  pgvector is optional: nothing here needs it unless one of its
-- types is asked for.  Every pgvector type, operator class and operator is
-- qualified with the schema pgvector was installed in, read from
-- pg_extension, since processing runs with search_path = pg_catalog, pg_temp.

-- The schema of the pgvector extension in this database, NULL without it.
CREATE FUNCTION @extschema@._sentiment_vector_schema()
RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT n.nspname
	  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
	 WHERE e.extname = 'vector'
$$;

-- What the embedding column of an embeddings table holds: kind ('real[]',
-- 'vector', 'halfvec', or the type's name for anything else), the type
-- qualified for use in SQL (NULL for real[], which needs no cast), its
-- dimension when the type fixes one, and pgvector's schema.
CREATE FUNCTION @extschema@._sentiment_embedding_column(p_table regclass,
	OUT kind text, OUT type_sql text, OUT dims integer, OUT vector_schema name)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_type	oid;
	v_mod	integer;
BEGIN
	SELECT a.atttypid, a.atttypmod INTO v_type, v_mod
	  FROM pg_attribute a
	 WHERE a.attrelid = p_table AND a.attname = 'embedding' AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % has no column "embedding"', p_table
			USING ERRCODE = 'undefined_column',
				  HINT = 'Attach the source again to add it: sentiment_attach(...).';
	END IF;
	vector_schema := @extschema@._sentiment_vector_schema();
	IF v_type = 'real[]'::regtype THEN
		kind := 'real[]';
	ELSIF vector_schema IS NOT NULL AND v_type IN (to_regtype(format('%I.vector', vector_schema)),
												  to_regtype(format('%I.halfvec', vector_schema))) THEN
		SELECT t.typname INTO kind FROM pg_type t WHERE t.oid = v_type;
		type_sql := format('%I.%I', vector_schema, kind);
		dims := CASE WHEN v_mod > 0 THEN v_mod END;
	ELSE
		kind := format_type(v_type, v_mod);
	END IF;
END
$body$;

-- The column type for an embedding type asked for by name ('vector',
-- 'halfvec', 'real[]'; NULL: the default, vector when pgvector is installed
-- in the database, else real[]), as it goes into CREATE or ALTER TABLE.
CREATE FUNCTION @extschema@._sentiment_embedding_type_sql(p_type text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_schema	name := @extschema@._sentiment_vector_schema();
	v_type		text := lower(btrim(p_type));
BEGIN
	IF v_type IS NULL THEN
		v_type := CASE WHEN v_schema IS NOT NULL AND EXISTS (SELECT FROM pg_am WHERE amname = 'hnsw')
					   THEN 'vector' ELSE 'real[]' END;
	END IF;
	IF v_type IN ('real[]', 'float4[]') THEN
		RETURN 'real[]';
	END IF;
	IF v_type NOT IN ('vector', 'halfvec') THEN
		RAISE EXCEPTION 'unknown embedding type "%"', p_type
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''vector'', ''halfvec'' (both need pgvector) or ''real[]''.';
	END IF;
	IF v_schema IS NULL THEN
		RAISE EXCEPTION 'embedding type "%" needs the pgvector extension', v_type
			USING ERRCODE = 'undefined_object',
				  HINT = 'Install pgvector 0.5 or later and run CREATE EXTENSION vector in this database, or use ''real[]''.';
	END IF;
	IF to_regtype(format('%I.%I', v_schema, v_type)) IS NULL
		OR NOT EXISTS (SELECT FROM pg_am WHERE amname = 'hnsw') THEN
		RAISE EXCEPTION 'the installed pgvector has no % type with HNSW indexes', v_type
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'Update pgvector (HNSW: 0.5 or later, halfvec: 0.7 or later) and run ALTER EXTENSION vector UPDATE.';
	END IF;
	-- the analyser's embeddings have 256 dimensions (src/analyzer/analyzer.h)
	RETURN format('%I.%I(256)', v_schema, v_type);
END
$body$;

-- The HNSW index (cosine distance) on the embedding column of an
-- embeddings table holding vector or halfvec, and its embedding lane;
-- nothing for real[] or when they are there already.
CREATE FUNCTION @extschema@._sentiment_embedding_index(p_table regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_col	record;
	v_name	name;
BEGIN
	SELECT * INTO v_col FROM @extschema@._sentiment_embedding_column(p_table);
	IF v_col.type_sql IS NULL THEN
		RETURN;
	END IF;
	-- processing writes embeddings into a lane of their own (67_embedding_lane.sql)
	PERFORM @extschema@._sentiment_embedding_lane_create(p_table);
	PERFORM 1
	  FROM pg_index i
	  JOIN pg_class c ON c.oid = i.indexrelid
	  JOIN pg_am am ON am.oid = c.relam
	  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	 WHERE i.indrelid = p_table AND am.amname = 'hnsw' AND a.attname = 'embedding';
	IF FOUND THEN
		RETURN;
	END IF;
	v_name := left((SELECT c.relname FROM pg_class c WHERE c.oid = p_table), 40) || '_embedding_hnsw_idx';
	EXECUTE format('CREATE INDEX %I ON %s USING hnsw (embedding %I.%I)',
				   v_name, p_table, v_col.vector_schema, v_col.kind || '_cosine_ops');
END
$body$;

-- Change the type of an attached source's embeddings in place (also the
-- way to choose the type right after sentiment_attach, instant while the
-- table is empty): ALTER COLUMN TYPE with USING, then the HNSW index for
-- vector and halfvec.  Rewrites the side table under an ACCESS EXCLUSIVE
-- lock (processing of that source waits); the index build then takes a
-- while on large tables (maintenance_work_mem helps).
CREATE FUNCTION @extschema@.sentiment_convert_embeddings(
	source regclass,
	embedding_type text DEFAULT 'vector')
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		record;
	v_old		record;
	v_new		text;
	v_kind		text;
	v_bad		bigint;
	v_idx		text;
	v_owner		oid;
BEGIN
	PERFORM @extschema@._sentiment_check_attach_privilege();
	IF embedding_type IS NULL THEN
		RAISE EXCEPTION 'embedding type must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Use ''vector'', ''halfvec'' (both need pgvector) or ''real[]''.';
	END IF;
	v_src := @extschema@._sentiment_registration(source);
	-- The conversion runs the table's own code (casts, domain and CHECK
	-- constraints, index expressions) as the role converting: only the owner
	-- or a member of the owning role, and a superuser only as the owner.
	SELECT c.relowner INTO v_owner FROM pg_class c WHERE c.oid = v_src.embeddings_table;
	IF v_owner IS DISTINCT FROM (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)
	   AND ((SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) OR NOT pg_has_role(v_owner, 'USAGE')) THEN
		RAISE EXCEPTION 'must be owner of table %', v_src.embeddings_table
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Converting runs the code of the table''s owner (casts, constraints, index expressions) as the role converting.',
				  HINT = format('Run it as the owner of the table: SET ROLE %I;', pg_get_userbyid(v_owner));
	END IF;
	SELECT * INTO v_old FROM @extschema@._sentiment_embedding_column(v_src.embeddings_table);
	IF v_old.kind NOT IN ('real[]', 'vector', 'halfvec') THEN
		RAISE EXCEPTION 'column embedding of % has type %', v_src.embeddings_table, v_old.kind
			USING ERRCODE = 'datatype_mismatch',
				  HINT = 'Give it back the type real[], vector or halfvec, then convert.';
	END IF;
	PERFORM 1
	  FROM pg_constraint c
	  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
	 WHERE c.conrelid = v_src.embeddings_table AND c.contype = 'c' AND a.attname = 'embedding';
	IF FOUND THEN
		RAISE EXCEPTION 'column embedding of % has CHECK constraints', v_src.embeddings_table
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Drop them, convert, and add them back.';
	END IF;
	v_new := @extschema@._sentiment_embedding_type_sql(embedding_type);
	v_kind := CASE WHEN v_new = 'real[]' THEN 'real[]'
				   ELSE (SELECT t.typname FROM pg_type t WHERE t.oid = v_new::regtype) END;

	IF v_old.kind <> v_kind OR (v_kind <> 'real[]' AND v_old.dims IS DISTINCT FROM 256) THEN
		EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', v_src.embeddings_table);
		-- Every stored embedding must fit the new type; say which does not.
		IF v_new <> 'real[]' AND v_old.kind = 'real[]' THEN
			EXECUTE format('SELECT e.entry_id FROM %s e WHERE pg_catalog.cardinality(e.embedding) <> 256 '
						   'OR pg_catalog.array_position(e.embedding, NULL) IS NOT NULL LIMIT 1',
						   v_src.embeddings_table) INTO v_bad;
			IF v_bad IS NOT NULL THEN
				RAISE EXCEPTION 'the embedding of row % of % does not have 256 numbers', v_bad, v_src.source_table
					USING ERRCODE = 'data_exception',
						  HINT = 'Reprocess that row (sentiment_reanalyze) or delete its embedding, then convert again.';
			END IF;
		END IF;
		-- An HNSW index is for one type: drop it, rebuild after.
		FOR v_idx IN
			SELECT format('%I.%I', n.nspname, c.relname)
			  FROM pg_index i
			  JOIN pg_class c ON c.oid = i.indexrelid
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			  JOIN pg_am am ON am.oid = c.relam
			  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
			 WHERE i.indrelid = v_src.embeddings_table AND am.amname IN ('hnsw', 'ivfflat')
			   AND a.attname = 'embedding'
		LOOP
			EXECUTE format('DROP INDEX %s', v_idx);
		END LOOP;
		-- Embeddings staged in the lane go in first (no index to feed now);
		-- real[] needs no lane.
		PERFORM @extschema@._sentiment_embedding_lane_flush(v_src.source_table, v_new = 'real[]');
		-- vector and halfvec go through real[]: pgvector casts both ways.
		EXECUTE format('ALTER TABLE %s ALTER COLUMN embedding TYPE %s USING embedding::pg_catalog.float4[]%s',
					   v_src.embeddings_table, v_new,
					   CASE WHEN v_new = 'real[]' THEN '' ELSE '::' || v_new END);
	END IF;
	PERFORM @extschema@._sentiment_embedding_index(v_src.embeddings_table);
	RETURN (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
			 WHERE a.attrelid = v_src.embeddings_table AND a.attname = 'embedding');
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_convert_embeddings(regclass, text) IS
	'Store an attached table''s embeddings as vector, halfvec (pgvector, with an HNSW index) or real[], converting them in place';

REVOKE ALL ON FUNCTION @extschema@.sentiment_convert_embeddings(regclass, text) FROM PUBLIC;

-- Whoever may attach may also convert (on an update from 1.1, the roles a
-- DBA granted attach to; on a fresh install nobody yet).
SELECT @extschema@._sentiment_grant_like('@extschema@.sentiment_attach(text, name, name, name, name, text)',
										  '@extschema@.sentiment_convert_embeddings(regclass, text)');
