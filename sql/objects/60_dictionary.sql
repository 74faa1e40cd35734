
-- ---- user dictionaries and similarity search (issues 2 and 6) ----

-- Entry checks: each applies the entry to a scratch lexicon or dictionary
-- of the analyser, so a row the analyser would refuse is refused on write,
-- with an error that says why (they never return false).
CREATE FUNCTION @extschema@.sentiment_lexicon_entry_check(term text, valence double precision)
RETURNS boolean
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_lexicon_entry_check';

CREATE FUNCTION @extschema@.sentiment_topic_entry_check(topic_key text, phrase text, weight double precision)
RETURNS boolean
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_topic_entry_check';

-- Statement trigger of both tables: backends read them again after the
-- change commits (a relcache invalidation; see src/dictionary.c).
CREATE FUNCTION @extschema@.sentiment_dictionary_changed()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_dictionary_changed';

-- Domain words: add a term, change a VADER valence, or remove a term from
-- the lexicon (valence NULL).  Terms match case-insensitively, like VADER's
-- own; lower(term) is unique so one word cannot carry two valences.
CREATE TABLE @extschema@.sentiment_lexicon_overrides (
	term		text PRIMARY KEY,
	valence		double precision,
	note		text,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT sentiment_lexicon_overrides_entry_check
		CHECK (@extschema@.sentiment_lexicon_entry_check(term, valence))
);

CREATE UNIQUE INDEX sentiment_lexicon_overrides_lower_term_key
	ON @extschema@.sentiment_lexicon_overrides (pg_catalog.lower(term));

COMMENT ON TABLE @extschema@.sentiment_lexicon_overrides IS
	'Lexicon overrides: term -> valence (VADER scale, -4..+4 typical; NULL removes the term), applied by every analysis';

-- The topic dictionary: topic_key -> keywords and phrases, each with a
-- weight.  A mention's topics are its hashtags plus every key with a
-- phrase in the text (matched in one pass, case-insensitively, word by
-- word).
CREATE TABLE @extschema@.sentiment_topic_keywords (
	topic_key	text NOT NULL,
	phrase		text NOT NULL,
	weight		double precision NOT NULL DEFAULT 1,
	note		text,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (topic_key, phrase),
	CONSTRAINT sentiment_topic_keywords_entry_check
		CHECK (@extschema@.sentiment_topic_entry_check(topic_key, phrase, weight))
);

COMMENT ON TABLE @extschema@.sentiment_topic_keywords IS
	'Topic dictionary: topic_key -> keyword or phrase with a weight, matched by every analysis besides hashtags';

-- ENABLE ALWAYS: changes applied by logical replication count too.
CREATE TRIGGER sentiment_dictionary_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.sentiment_lexicon_overrides
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.sentiment_dictionary_changed();
ALTER TABLE @extschema@.sentiment_lexicon_overrides ENABLE ALWAYS TRIGGER sentiment_dictionary_changed;
CREATE TRIGGER sentiment_dictionary_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.sentiment_topic_keywords
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.sentiment_dictionary_changed();
ALTER TABLE @extschema@.sentiment_topic_keywords ENABLE ALWAYS TRIGGER sentiment_dictionary_changed;

-- Configuration: pg_dump keeps both.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_lexicon_overrides', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_topic_keywords', '');

-- Everyone may read them (analysis results reveal them anyway); writing is
-- for the roles a DBA grants it to:
--   GRANT INSERT, UPDATE, DELETE, TRUNCATE
--     ON sentiment_lexicon_overrides, sentiment_topic_keywords TO admin_role;
REVOKE ALL ON @extschema@.sentiment_lexicon_overrides, @extschema@.sentiment_topic_keywords FROM PUBLIC;
GRANT SELECT ON @extschema@.sentiment_lexicon_overrides, @extschema@.sentiment_topic_keywords TO PUBLIC;

-- After a dictionary change, completed rows keep their old results until
-- analysed again: queue them (every attached table, or one) through the
-- processing queue.  Runs with the caller's rights, so the caller needs
-- EXECUTE on sentiment_enqueue as well.  Returns the requests queued.
CREATE FUNCTION @extschema@.sentiment_reanalyze(
	source regclass DEFAULT NULL,
	priority integer DEFAULT 0)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_source	regclass;
	v_n			bigint := 0;
BEGIN
	IF sentiment_reanalyze.source IS NOT NULL AND NOT EXISTS (
		SELECT 1 FROM @extschema@.sentiment_sources s WHERE s.source_table = sentiment_reanalyze.source) THEN
		RAISE EXCEPTION 'table % is not attached to sentiment_proc', sentiment_reanalyze.source
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Pass an attached table (see sentiment_sources), or leave source out for all of them.';
	END IF;
	FOR v_source IN
		SELECT s.source_table FROM @extschema@.sentiment_sources s
		 WHERE sentiment_reanalyze.source IS NULL OR s.source_table = sentiment_reanalyze.source
		 ORDER BY s.source_table::oid
	LOOP
		v_n := v_n + @extschema@.sentiment_enqueue(v_source, NULL, COALESCE(sentiment_reanalyze.priority, 0));
	END LOOP;
	RETURN v_n;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_reanalyze(regclass, integer) IS
	'Queue every row of one attached table (NULL: all of them) for analysis again, say after a dictionary change; returns requests queued';

REVOKE ALL ON FUNCTION @extschema@.sentiment_reanalyze(regclass, integer) FROM PUBLIC;

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

-- The source table sentiment_similar searches: the given one, else the
-- only attached table, else the attached table named sentiment_data.
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
			SELECT array_agg(s.source_table) INTO v_candidates
			  FROM @extschema@.sentiment_sources s JOIN pg_class c ON c.oid = s.source_table
			 WHERE c.relname = 'sentiment_data';
		END IF;
		IF cardinality(v_candidates) IS DISTINCT FROM 1 THEN
			RAISE EXCEPTION 'no source table given and none to choose by default'
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  HINT = 'Pass source => ''table'' naming an attached table (see sentiment_sources).';
		END IF;
	END IF;
	SELECT s.source_table, s.id_column, s.text_column, s.embeddings_table
	  INTO source_table, id_column, text_column, embeddings_table
	  FROM @extschema@.sentiment_sources s WHERE s.source_table = v_candidates[1];
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % is not attached to sentiment_proc', p_source
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Search an attached table (see sentiment_sources).';
	END IF;
END
$body$;

-- After a search: a notice when the embeddings table holds embeddings of
-- another length than the query's, which the search left out.  Reads only
-- the first such row, through a scan the search has just warmed.
CREATE FUNCTION @extschema@.sentiment_similar_check_dims(p_embeddings regclass, p_dims integer)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_other integer;
BEGIN
	EXECUTE format('SELECT cardinality(e.embedding) FROM %s e WHERE cardinality(e.embedding) <> $1 LIMIT 1',
				   p_embeddings)
		INTO v_other USING p_dims;
	IF v_other IS NOT NULL THEN
		RAISE NOTICE 'rows of % whose embedding has another length than % (for example %) were left out',
			p_embeddings, p_dims, v_other
			USING HINT = 'Only embeddings of sentiment_embedding_dims() dimensions are compared; '
						 're-analyse the others with sentiment_enqueue().';
	END IF;
END
$body$;

-- The k rows of a source most similar to a text, by cosine of the stored
-- embeddings (sentiment_embeddings, filled by processing).  A full scan of
-- the embeddings table with a C dot product per row and a top-k sort:
-- fine for up to a few million rows; beyond that, copy the embeddings into
-- a pgvector column with an HNSW index.  Runs with the caller's rights: the
-- caller reads the source and its embeddings table.  Ties in similarity
-- go to the lower entry_id.  Stored embeddings of another length (from an
-- external analyser before 1.2 refused them) are left out, with a notice.
CREATE FUNCTION @extschema@.sentiment_similar(
	query text,
	k integer DEFAULT 10,
	source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		record;
	v_query		real[];
BEGIN
	IF sentiment_similar.k IS NULL OR sentiment_similar.k < 1 OR sentiment_similar.k > 10000 THEN
		RAISE EXCEPTION 'k must be between 1 and 10000'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Ask for the number of neighbours wanted, 10 by default.';
	END IF;
	SELECT * INTO v_src FROM @extschema@.sentiment_similar_source(sentiment_similar.source);
	IF sentiment_similar.query IS NULL THEN
		RETURN;
	END IF;
	v_query := (@extschema@.sentiment_analyze(sentiment_similar.query)).embedding;
	RETURN QUERY EXECUTE format(
		'SELECT n.entry_id::bigint, n.similarity, t.%I::text '
		'  FROM (SELECT e.entry_id, @extschema@.sentiment_cosine(e.embedding, $1) AS similarity '
		'          FROM %s e WHERE cardinality(e.embedding) = cardinality($1) '
		'         ORDER BY 2 DESC NULLS LAST, 1 LIMIT $2) n '
		'  JOIN %s t ON t.%I = n.entry_id '
		' WHERE n.similarity IS NOT NULL '
		' ORDER BY n.similarity DESC, n.entry_id',
		v_src.text_column, v_src.embeddings_table, v_src.source_table, v_src.id_column)
		USING v_query, sentiment_similar.k;
	PERFORM @extschema@.sentiment_similar_check_dims(v_src.embeddings_table, cardinality(v_query));
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_similar(text, integer, regclass) IS
	'The k rows most similar to a text by cosine of their stored embeddings (full scan; see pgvector for an index)';

-- The same for a stored row: its neighbours, itself excluded.
CREATE FUNCTION @extschema@.sentiment_similar(
	entry bigint,
	k integer DEFAULT 10,
	source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		record;
	v_query		real[];
BEGIN
	IF sentiment_similar.k IS NULL OR sentiment_similar.k < 1 OR sentiment_similar.k > 10000 THEN
		RAISE EXCEPTION 'k must be between 1 and 10000'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Ask for the number of neighbours wanted, 10 by default.';
	END IF;
	SELECT * INTO v_src FROM @extschema@.sentiment_similar_source(sentiment_similar.source);
	IF sentiment_similar.entry IS NULL THEN
		RETURN;
	END IF;
	EXECUTE format('SELECT e.embedding FROM %s e WHERE e.entry_id = $1', v_src.embeddings_table)
		INTO v_query USING sentiment_similar.entry;
	IF v_query IS NULL THEN
		RAISE EXCEPTION 'row % of % has no embedding', sentiment_similar.entry, v_src.source_table
			USING ERRCODE = 'no_data_found',
				  HINT = 'A row gets its embedding when it is processed; check that it exists and is completed.';
	END IF;
	IF cardinality(v_query) IS DISTINCT FROM @extschema@.sentiment_embedding_dims() THEN
		RAISE EXCEPTION 'the embedding of row % of % has % dimensions, expected %', sentiment_similar.entry,
			v_src.source_table, COALESCE(cardinality(v_query), 0), @extschema@.sentiment_embedding_dims()
			USING ERRCODE = 'data_exception',
				  HINT = 'It was stored by an external analyser; re-analyse the row with sentiment_enqueue().';
	END IF;
	RETURN QUERY EXECUTE format(
		'SELECT n.entry_id::bigint, n.similarity, t.%I::text '
		'  FROM (SELECT e.entry_id, @extschema@.sentiment_cosine(e.embedding, $1) AS similarity '
		'          FROM %s e WHERE e.entry_id <> $3 AND cardinality(e.embedding) = cardinality($1) '
		'         ORDER BY 2 DESC NULLS LAST, 1 LIMIT $2) n '
		'  JOIN %s t ON t.%I = n.entry_id '
		' WHERE n.similarity IS NOT NULL '
		' ORDER BY n.similarity DESC, n.entry_id',
		v_src.text_column, v_src.embeddings_table, v_src.source_table, v_src.id_column)
		USING v_query, sentiment_similar.k, sentiment_similar.entry;
	PERFORM @extschema@.sentiment_similar_check_dims(v_src.embeddings_table, cardinality(v_query));
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_similar(bigint, integer, regclass) IS
	'The k rows most similar to a stored row (itself excluded) by cosine of their embeddings';

-- sentiment_analyze (1.0) now reports dictionary topics too.
COMMENT ON FUNCTION @extschema@.sentiment_analyze(text) IS
	'Sentiment (VADER with the lexicon overrides), emotion, topics (hashtags and the topic dictionary) and a 256-dimension embedding of a text';
