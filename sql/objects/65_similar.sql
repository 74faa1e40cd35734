-- Similarity search over the stored embeddings (sentiment_embeddings,
-- filled by processing): the cosine of two embeddings, and the k rows of a
-- source nearest to a text or to a stored row.

-- Cosine of two embeddings (real[]): their dot product when both are
-- L2-normalised, as the analyser's are; NULL for an all-zero vector.  It
-- runs no SQL, so no search_path is pinned (that would cost a setting
-- change per row of a scan).
CREATE FUNCTION @extschema@.sentiment_cosine(a real[], b real[])
RETURNS double precision
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_cosine';

COMMENT ON FUNCTION @extschema@.sentiment_cosine(real[], real[]) IS
	'Cosine similarity (-1..1) of two embeddings of equal dimension; NULL when one is all zeros';

-- The length of the analyser's embeddings (256): sentiment_complete
-- accepts no other, sentiment_similar compares only those.
CREATE FUNCTION @extschema@.sentiment_embedding_dims()
RETURNS integer
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_embedding_dims';

COMMENT ON FUNCTION @extschema@.sentiment_embedding_dims() IS
	'Number of dimensions of the analyser''s embeddings, the length sentiment_complete accepts';

-- After a search: a notice when the embeddings table holds embeddings of
-- another length than the query's, which the search left out.  Reads only
-- the first such row, through a scan the search has just warmed, as the
-- owner of the source (sentiment_source_sql, statement similar_other_dims).
CREATE FUNCTION @extschema@.sentiment_similar_check_dims(p_embeddings regclass, p_dims integer)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_source regclass;
	v_other integer;
BEGIN
	SELECT s.source_table INTO v_source FROM @extschema@.sentiment_sources s
	 WHERE s.embeddings_table = p_embeddings;
	IF v_source IS NULL THEN
		RETURN;
	END IF;
	SELECT d.n INTO v_other
	  FROM @extschema@.sentiment_source_sql(v_source, 'similar_other_dims',
			jsonb_build_object('dims', p_dims)) AS d(n integer);
	IF v_other IS NOT NULL THEN
		RAISE NOTICE 'rows of % whose embedding has another length than % (for example %) were left out',
			p_embeddings, p_dims, v_other
			USING HINT = 'Only embeddings of sentiment_embedding_dims() dimensions are compared; '
						 're-analyse the others with sentiment_enqueue().';
	END IF;
END
$body$;

-- The source table sentiment_similar searches: the given one, else the
-- only attached table, else the attached table named sentiment_data (the
-- wrappers below pass the one on the caller's search_path as the given
-- one; several elsewhere are ambiguous).
CREATE FUNCTION @extschema@.sentiment_similar_source(p_source regclass,
	OUT source_table regclass, OUT id_column name, OUT text_column name, OUT embeddings_table regclass)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_candidates regclass[];
BEGIN
	IF p_source IS NOT NULL THEN
		v_candidates := ARRAY[p_source];
	ELSE
		SELECT array_agg(s.source_table ORDER BY s.source_table::oid) INTO v_candidates
		  FROM @extschema@.sentiment_sources s;
		IF cardinality(v_candidates) > 1 THEN
			SELECT array_agg(s.source_table ORDER BY s.source_table::oid) INTO v_candidates
			  FROM @extschema@.sentiment_sources s JOIN pg_class c ON c.oid = s.source_table
			 WHERE c.relname = 'sentiment_data';
		END IF;
		IF cardinality(v_candidates) > 1 THEN
			RAISE EXCEPTION 'no source table given and several attached tables are named sentiment_data'
				USING ERRCODE = 'ambiguous_parameter',
					  DETAIL = format('They are %s; none of them is on the search_path.',
									  array_to_string(v_candidates::text[], ', ')),
					  HINT = 'Pass source => ''schema.sentiment_data'', or put the schema of yours on the search_path.';
		END IF;
		IF cardinality(v_candidates) IS DISTINCT FROM 1 THEN
			RAISE EXCEPTION 'no source table given and none to choose by default'
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  HINT = 'Pass source => ''table'' naming an attached table (see sentiment_sources).';
		END IF;
	END IF;
	SELECT r.source_table, r.id_column, r.text_column, r.embeddings_table
	  INTO source_table, id_column, text_column, embeddings_table
	  FROM @extschema@.sentiment_registration(v_candidates[1]) r;
END
$body$;

-- The k rows of a source most similar, by cosine of their stored
-- embeddings, to a text (p_query) or to a stored row (p_entry, itself left
-- out); NULL for both gives no rows.  Embeddings stored as real[]: a full
-- scan of the embeddings table with a C dot product per row and a top-k
-- sort (exact, fine up to a few million rows).  Stored as pgvector's vector
-- or halfvec: the k nearest by cosine distance through the HNSW index
-- (approximate; hnsw.ef_search is raised to at least
-- sentiment_proc's floor of 100 and to k for the call), their similarity
-- computed as for real[]; rows whose embeddings still wait in the lane are
-- not searched, with a notice.  The caller needs SELECT on the source and
-- its embeddings table; both (and the lane) are read as the source's owner
-- (sentiment_source_sql, statements similar_* in src/source_sql.c), so the
-- owner's casts and operators never run as the caller.  Ties in similarity go to the lower
-- entry_id.  Stored real[] embeddings of another length (from an external
-- analyser before 1.2 refused them) are left out, with a notice.
--
-- hnsw.ef_search: the SET clause gives the setting a level of its own in
-- this function, so PostgreSQL puts the caller's value back when the call
-- returns, and an error undoes it with the (sub)transaction: the raised
-- value can never outlive the call (set_config in a function without that
-- clause would last until the end of the caller's transaction).  The
-- caller's value (p_caller_ef) is read by the wrappers, inlined into the
-- caller's query, before the clause applies.
CREATE FUNCTION @extschema@.sentiment_similar_internal(
	p_source regclass, p_query text, p_entry bigint, p_k integer, p_caller_ef text)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET hnsw.ef_search = 100
AS $body$
DECLARE
	v_src		record;
	v_col		record;
	v_vector	real[];
	v_lane		regclass;
	v_waiting	boolean;
	v_args		jsonb;
	v_denied	name;
BEGIN
	IF p_k IS NULL OR p_k < 1 OR p_k > 10000 THEN
		RAISE EXCEPTION 'k must be between 1 and 10000'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Ask for the number of neighbours wanted, 10 by default.';
	END IF;
	SELECT * INTO v_src FROM @extschema@.sentiment_similar_source(p_source);
	-- (the owner reads both tables: the caller must be able to, as when
	-- it read them itself)
	SELECT c.relname INTO v_denied FROM pg_class c
	 WHERE c.oid IN (v_src.source_table, v_src.embeddings_table) AND NOT has_table_privilege(c.oid, 'SELECT')
	 ORDER BY c.oid <> v_src.source_table LIMIT 1;
	IF v_denied IS NOT NULL THEN
		RAISE EXCEPTION 'permission denied for table %', v_denied
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF p_entry IS NOT NULL THEN
		-- (a row processed whose embedding is not indexed yet is found in the lane)
		SELECT e.v INTO v_vector
		  FROM @extschema@.sentiment_source_sql(v_src.source_table, 'similar_entry',
				jsonb_build_object('entry', p_entry)) AS e(v real[]);
		IF v_vector IS NULL THEN
			RAISE EXCEPTION 'row % of % has no embedding', p_entry, v_src.source_table
				USING ERRCODE = 'no_data_found',
					  HINT = 'A row gets its embedding when it is processed; check that it exists and is completed.';
		END IF;
		IF cardinality(v_vector) IS DISTINCT FROM @extschema@.sentiment_embedding_dims() THEN
			RAISE EXCEPTION 'the embedding of row % of % has % dimensions, expected %', p_entry,
				v_src.source_table, COALESCE(cardinality(v_vector), 0), @extschema@.sentiment_embedding_dims()
				USING ERRCODE = 'data_exception',
					  HINT = 'It was stored by an external analyser; re-analyse the row with sentiment_enqueue().';
		END IF;
	ELSIF p_query IS NOT NULL THEN
		v_vector := (@extschema@.sentiment_analyze(p_query)).embedding;
	ELSE
		RETURN;
	END IF;
	v_args := jsonb_strip_nulls(jsonb_build_object('vector', to_jsonb(v_vector), 'k', p_k, 'entry', p_entry));
	SELECT * INTO v_col FROM @extschema@.sentiment_embedding_column(v_src.embeddings_table);
	IF v_col.type_sql IS NOT NULL THEN
		-- an all-zero query has no direction: nothing is similar to it
		IF @extschema@.sentiment_cosine(v_vector, v_vector) IS NULL THEN
			RETURN;
		END IF;
		-- An HNSW scan returns at most hnsw.ef_search rows, and recall
		-- grows with it: at least k + 1 and 100 for this query, or the
		-- caller's higher value (undone at return, see above).
		PERFORM set_config('hnsw.ef_search',
			greatest(p_k + 1, 100, COALESCE(NULLIF(p_caller_ef, '')::integer, 0))::text, true);
		RETURN QUERY SELECT * FROM @extschema@.sentiment_source_sql(v_src.source_table, 'similar_vector', v_args)
			AS n(entry_id bigint, similarity double precision, text text);
		-- Embeddings still in the lane (67_embedding_lane.sql) are not in
		-- the index yet: say so.  (A lane without pages, as vacuum leaves
		-- an empty one, holds nothing: no query.)
		v_lane := @extschema@.sentiment_embedding_lane(v_src.embeddings_table);
		IF v_lane IS NOT NULL AND pg_relation_size(v_lane) > 0 THEN
			SELECT w.waiting INTO v_waiting
			  FROM @extschema@.sentiment_source_sql(v_src.source_table, 'similar_waiting') AS w(waiting boolean);
			IF v_waiting THEN
				RAISE NOTICE 'some rows of % were left out: their embeddings are waiting for the HNSW index',
					v_src.source_table
					USING HINT = 'The workers index them when they have no rows to process; '
								 'sentiment_embedding_lag shows how many wait and since when.';
			END IF;
		END IF;
		RETURN;
	END IF;
	RETURN QUERY SELECT * FROM @extschema@.sentiment_source_sql(v_src.source_table, 'similar_real', v_args)
		AS n(entry_id bigint, similarity double precision, text text);
	PERFORM @extschema@.sentiment_similar_check_dims(v_src.embeddings_table, cardinality(v_vector));
END
$body$;

-- The k rows of a source most similar to a text (the source: the given
-- one, else the attached sentiment_data on the caller's search_path, else
-- the only attached table, else the one attached table named
-- sentiment_data).  No pinned search_path in the two wrappers: they resolve
-- the name sentiment_data as the caller would and name everything else
-- fully, and without a SET clause PostgreSQL inlines them into the
-- caller's query (with it, every call ran an SQL function of its own),
-- where they also read the caller's hnsw.ef_search for
-- sentiment_similar_internal.
CREATE FUNCTION @extschema@.sentiment_similar(
	query text,
	k integer DEFAULT 10,
	source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE sql STABLE
AS $$
	SELECT * FROM @extschema@.sentiment_similar_internal(
		COALESCE(source, (SELECT s.source_table FROM @extschema@.sentiment_sources s
						   WHERE s.source_table OPERATOR(pg_catalog.=) pg_catalog.to_regclass('sentiment_data'))), query, NULL, k,
		pg_catalog.current_setting('hnsw.ef_search', true))
$$;

COMMENT ON FUNCTION @extschema@.sentiment_similar(text, integer, regclass) IS
	'The k rows most similar to a text by cosine of their stored embeddings (HNSW index for vector/halfvec, else an exact scan)';

-- The same for a stored row: its neighbours, itself excluded.
CREATE FUNCTION @extschema@.sentiment_similar(
	entry bigint,
	k integer DEFAULT 10,
	source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE sql STABLE
AS $$
	SELECT * FROM @extschema@.sentiment_similar_internal(
		COALESCE(source, (SELECT s.source_table FROM @extschema@.sentiment_sources s
						   WHERE s.source_table OPERATOR(pg_catalog.=) pg_catalog.to_regclass('sentiment_data'))), NULL, entry, k,
		pg_catalog.current_setting('hnsw.ef_search', true))
$$;

COMMENT ON FUNCTION @extschema@.sentiment_similar(bigint, integer, regclass) IS
	'The k rows most similar to a stored row (itself excluded) by cosine of their embeddings';
