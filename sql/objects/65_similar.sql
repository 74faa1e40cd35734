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
CREATE FUNCTION @extschema@._sentiment_similar_check_dims(p_embeddings regclass, p_dims integer)
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
CREATE FUNCTION @extschema@._sentiment_similar_source(p_source regclass,
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
	  FROM @extschema@._sentiment_registration(v_candidates[1]) r;
END
$body$;

-- The k rows of a source most similar, by cosine of their stored
-- embeddings, to a text (p_query) or to a stored row (p_entry, itself left
-- out); NULL for both gives no rows.  Embeddings stored as real[]: a full
-- scan of the embeddings table with a C dot product per row and a top-k
-- sort (exact, fine up to a few million rows).  Stored as pgvector's vector
-- or halfvec: the k nearest by cosine distance through the HNSW index
-- (approximate; hnsw.ef_search is raised to at least
-- sentiment_proc's floor of 100 and to k + 1 for the call), their similarity
-- computed as for real[]; rows whose embeddings still wait in the lane are
-- not searched, with a notice.  The caller needs SELECT on the source and
-- its embeddings table; both (and the lane) are read as the source's owner
-- (sentiment_source_sql, statements similar_* in src/source_sql.c), so the
-- owner's casts and operators never run as the caller.  Ties in similarity go to the lower
-- entry_id.  Stored real[] embeddings of another length (from an external
-- analyser before 1.2 refused them) are left out, with a notice.
--
-- In C (src/similar.c), no longer plpgsql: the wrapper cost more than the
-- index scan at 100,000 rows.  It pins search_path and raises
-- hnsw.ef_search at a GUC nest level of its own, as a function-level SET
-- clause would (without that clause's cost per call): PostgreSQL's
-- (sub)transaction abort undoes both when the call fails, and the call puts
-- them back when it returns, so the raised value never outlives the call.
CREATE FUNCTION @extschema@._sentiment_similar_internal(
	p_source regclass, p_query text, p_entry bigint, p_k integer)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'sentiment_similar_internal';

-- The k rows of a source most similar to a text (the source: the given
-- one, else the attached sentiment_data on the caller's search_path, else
-- the only attached table, else the one attached table named
-- sentiment_data; the C function looks the name up on the caller's
-- search_path before it pins its own).  No SET clause on the two wrappers:
-- without one PostgreSQL inlines them into the caller's query (with it,
-- every call ran an SQL function of its own).
CREATE FUNCTION @extschema@.sentiment_similar(
	query text,
	k integer DEFAULT 10,
	source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE sql STABLE
AS $$
	SELECT * FROM @extschema@._sentiment_similar_internal(source, query, NULL, k)
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
	SELECT * FROM @extschema@._sentiment_similar_internal(source, NULL, entry, k)
$$;

COMMENT ON FUNCTION @extschema@.sentiment_similar(bigint, integer, regclass) IS
	'The k rows most similar to a stored row (itself excluded) by cosine of their embeddings';
