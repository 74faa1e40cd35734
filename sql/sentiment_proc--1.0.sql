-- sentiment_proc install script, built by the Makefile from sql/objects/*.sql
-- (one file per group of objects, concatenated in name order).

\echo Use "CREATE EXTENSION sentiment_proc" to load this file. \quit

-- Every function below either executes no SQL (the pure analysis functions)
-- or pins search_path to pg_catalog, pg_temp and names the extension's own
-- objects as @extschema@.name.  The extension's schema (often public) is
-- deliberately left out of the path: an overload created there could
-- otherwise win over a built-in by matching argument types better (say a
-- non-variadic format(text, text, text)), whatever the path order.  Table
-- names given by callers are resolved with the caller's own search_path
-- before they reach us (see sentiment_attach).
-- The registry of attached source tables.  Kept by pg_dump (it is
-- configuration, not derived data): a restored database processes the same
-- tables.  regclass survives renames, and pg_dump writes it as a qualified
-- name that resolves again on restore.
CREATE TABLE @extschema@.sentiment_sources (
	source_table		regclass PRIMARY KEY,
	id_column			name NOT NULL,
	text_column			name NOT NULL,
	topics_table		regclass NOT NULL,
	embeddings_table	regclass NOT NULL,
	attached_at			timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE @extschema@.sentiment_sources IS
	'Tables processed by sentiment_proc; maintained by sentiment_attach() and sentiment_detach()';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_sources', '');

-- Readable by everyone (it names tables, as pg_class does); changed only
-- through sentiment_attach/sentiment_detach by those allowed to call them.
GRANT SELECT ON @extschema@.sentiment_sources TO PUBLIC;

-- A dropped table stops being processed: its registration goes with it (and
-- so does a source's whose side table was dropped, with a notice), so the
-- registry never names a table that is not there.  SECURITY DEFINER because
-- the owner of a dropped table need not be allowed to write the registry;
-- it only ever deletes the rows of objects that this very command dropped.
CREATE FUNCTION @extschema@.sentiment_forget_dropped()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_source regclass;
BEGIN
	FOR v_source IN
		DELETE FROM @extschema@.sentiment_sources s
		 USING pg_event_trigger_dropped_objects() o
		 WHERE o.classid = 'pg_class'::regclass AND o.objsubid = 0
		   AND o.objid IN (s.source_table::oid, s.topics_table::oid, s.embeddings_table::oid)
		RETURNING s.source_table
	LOOP
		IF v_source::oid IN (SELECT o.objid FROM pg_event_trigger_dropped_objects() o) THEN
			CONTINUE;	-- the source itself went: nothing left to say
		END IF;
		RAISE NOTICE 'table % is no longer processed by sentiment_proc: a side table was dropped', v_source
			USING HINT = 'Run sentiment_attach again to recreate the side tables.';
	END LOOP;
END
$body$;

REVOKE ALL ON FUNCTION @extschema@.sentiment_forget_dropped() FROM PUBLIC;

CREATE EVENT TRIGGER sentiment_forget_dropped ON sql_drop
	EXECUTE FUNCTION @extschema@.sentiment_forget_dropped();
-- sentiment_attach / sentiment_detach: make a table processable, or stop.
--
-- The work is done by sentiment_attach_internal, which pins its search_path.
-- The public entry points are thin SQL wrappers without a pinned path, only
-- so that the caller's own search_path resolves the table name they pass;
-- every name inside the wrappers is qualified.

-- Is an existing column of a usable type?  kind: 'string', 'number',
-- 'integer', 'timestamp'.
CREATE FUNCTION @extschema@.sentiment_column_type_ok(p_type oid, p_kind text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE p_kind
		WHEN 'string' THEN p_type IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype)
		WHEN 'integer' THEN p_type IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
		WHEN 'number' THEN p_type IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype,
									  'float4'::regtype, 'float8'::regtype, 'numeric'::regtype)
		WHEN 'timestamp' THEN p_type IN ('timestamptz'::regtype, 'timestamp'::regtype)
		ELSE false
	END
$$;

-- Attaching is allowed to whoever may execute sentiment_attach(text, ...),
-- the one privilege a DBA grants; it also needs ownership of the table.
CREATE FUNCTION @extschema@.sentiment_check_attach_privilege()
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF NOT has_function_privilege('@extschema@.sentiment_attach(text, name, name, name, name)', 'EXECUTE') THEN
		RAISE EXCEPTION 'permission denied for function sentiment_attach'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'A superuser or the extension owner can GRANT EXECUTE ON FUNCTION sentiment_attach(text, name, name, name, name).';
	END IF;
END
$body$;

CREATE FUNCTION @extschema@.sentiment_attach_internal(
	p_relid regclass,
	p_name text,
	p_default_schema name,
	p_id_column name,
	p_text_column name,
	p_topics_table name,
	p_embeddings_table name)
RETURNS regclass
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_rel		regclass := p_relid;
	v_schema	name;
	v_table		name;
	v_parts		text[];
	v_relkind	"char";
	v_col		record;
	v_type		oid;
	v_adds		text[] := '{}';
	v_had_status boolean := true;
	v_had_label boolean := true;
	v_topics	regclass;
	v_embed		regclass;
	v_other		regclass;
	v_idx		name;
	-- Status and result columns every source carries: name, type, clause
	-- used when adding it, kind for checking an existing one.  Constant
	-- defaults only: adding them is a catalogue change, never a rewrite.
	c_columns CONSTANT text[][] := ARRAY[
		['sentiment_label',			'text',				'',						'string'],
		['sentiment_score',			'double precision',	'',						'number'],
		['emotion_label',			'text',				'',						'string'],
		['emotion_score',			'double precision',	'',						'number'],
		['influence_weight',		'double precision',	'',						'number'],
		['author_followers',		'bigint',			'',						'integer'],
		['likes',					'bigint',			'',						'integer'],
		['shares',					'bigint',			'',						'integer'],
		['replies',					'bigint',			'',						'integer'],
		['processing_status',		'text',				' NOT NULL DEFAULT ''pending''', 'string'],
		['processing_started_at',	'timestamptz',		'',						'timestamp'],
		['processing_completed_at', 'timestamptz',		'',						'timestamp'],
		['processing_error',		'text',				'',						'string'],
		['processing_attempts',		'integer',			' NOT NULL DEFAULT 0',	'integer'],
		['version',					'integer',			' NOT NULL DEFAULT 0',	'integer']];
BEGIN
	-- The public entry points carry the privilege; this helper is callable
	-- by all only because the wrappers run as the caller.
	PERFORM @extschema@.sentiment_check_attach_privilege();

	IF p_id_column IS NULL OR p_text_column IS NULL
		OR p_topics_table IS NULL OR p_embeddings_table IS NULL THEN
		RAISE EXCEPTION 'column and side table names must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Leave them out to use the defaults entry_id, text, mention_topics and sentiment_embeddings.';
	END IF;

	IF p_topics_table = p_embeddings_table THEN
		RAISE EXCEPTION 'topics and embeddings need two different tables'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass different names for topics_table and embeddings_table.';
	END IF;

	IF v_rel IS NULL THEN
		-- No such table: create the canonical one under the given name.
		IF p_name IS NULL OR btrim(p_name) = '' THEN
			RAISE EXCEPTION 'source table must not be null or empty'
				USING ERRCODE = 'null_value_not_allowed',
					  HINT = 'Pass a table name, for example sentiment_attach(''sentiment_data'').';
		END IF;
		v_parts := parse_ident(p_name);
		IF cardinality(v_parts) = 1 THEN
			v_schema := p_default_schema;
			v_table := v_parts[1];
		ELSIF cardinality(v_parts) = 2 THEN
			v_schema := v_parts[1];
			v_table := v_parts[2];
		ELSE
			RAISE EXCEPTION 'improper table name "%"', p_name
				USING ERRCODE = 'invalid_name',
					  HINT = 'Use table or schema.table.';
		END IF;
		IF v_schema IS NULL THEN
			RAISE EXCEPTION 'no schema has been selected to create table "%" in', v_table
				USING ERRCODE = 'invalid_schema_name',
					  HINT = 'Qualify the name, for example sentiment_attach(''myschema.sentiment_data'').';
		END IF;
		IF to_regnamespace(quote_ident(v_schema)) IS NULL THEN
			RAISE EXCEPTION 'schema "%" does not exist', v_schema
				USING ERRCODE = 'invalid_schema_name',
					  HINT = 'Create the schema first or attach a table in an existing schema.';
		END IF;
		EXECUTE format(
			'CREATE TABLE %I.%I ('
			'%I bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, '
			'%I text, '
			'created_at timestamptz NOT NULL DEFAULT pg_catalog.now())',
			v_schema, v_table, p_id_column, p_text_column);
		v_rel := format('%I.%I', v_schema, v_table)::regclass;
	END IF;

	SELECT c.relkind, n.nspname, c.relname INTO v_relkind, v_schema, v_table
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE c.oid = v_rel;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with OID % does not exist', v_rel::oid
			USING ERRCODE = 'undefined_table',
				  HINT = 'Pass the name of an existing table, or a new name to create one.';
	END IF;
	IF v_relkind NOT IN ('r', 'p') THEN
		RAISE EXCEPTION '"%" is not a table', v_rel
			USING ERRCODE = 'wrong_object_type',
				  HINT = 'Only ordinary and partitioned tables can be attached.';
	END IF;

	-- Serialise attaches of one table without blocking its readers and
	-- writers; the ALTER below takes its stronger lock only when needed.
	EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE', v_rel);

	-- The key: an integer column with a single-column unique index.
	SELECT a.atttypid INTO v_type
	  FROM pg_attribute a
	 WHERE a.attrelid = v_rel AND a.attname = p_id_column AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % has no column "%"', v_rel, p_id_column
			USING ERRCODE = 'undefined_column',
				  HINT = 'Name the key column with sentiment_attach(..., id_column => ''...'').';
	END IF;
	IF NOT @extschema@.sentiment_column_type_ok(v_type, 'integer') THEN
		RAISE EXCEPTION 'key column "%" of % has type %, not an integer type', p_id_column, v_rel, v_type::regtype
			USING ERRCODE = 'datatype_mismatch',
				  HINT = 'The key column must be smallint, integer or bigint.';
	END IF;
	PERFORM 1
	  FROM pg_index i
	  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	 WHERE i.indrelid = v_rel AND i.indisunique AND i.indnkeyatts = 1
	   AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attname = p_id_column;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'key column "%" of % is not unique', p_id_column, v_rel
			USING ERRCODE = 'invalid_table_definition',
				  HINT = 'Add a primary key or a unique constraint on that column first.';
	END IF;

	SELECT a.atttypid INTO v_type
	  FROM pg_attribute a
	 WHERE a.attrelid = v_rel AND a.attname = p_text_column AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % has no column "%"', v_rel, p_text_column
			USING ERRCODE = 'undefined_column',
				  HINT = 'Name the text column with sentiment_attach(..., text_column => ''...'').';
	END IF;
	IF NOT @extschema@.sentiment_column_type_ok(v_type, 'string') THEN
		RAISE EXCEPTION 'text column "%" of % has type %, not a string type', p_text_column, v_rel, v_type::regtype
			USING ERRCODE = 'datatype_mismatch',
				  HINT = 'The text column must be text, varchar or char.';
	END IF;

	-- Status and result columns: check the existing ones, add the others in
	-- one ALTER TABLE.
	FOR i IN 1 .. array_length(c_columns, 1) LOOP
		SELECT a.atttypid INTO v_type
		  FROM pg_attribute a
		 WHERE a.attrelid = v_rel AND a.attname = c_columns[i][1] AND a.attnum > 0 AND NOT a.attisdropped;
		IF FOUND THEN
			IF NOT @extschema@.sentiment_column_type_ok(v_type, c_columns[i][4]) THEN
				RAISE EXCEPTION 'column "%" of % has type %, which sentiment_proc cannot use',
					c_columns[i][1], v_rel, v_type::regtype
					USING ERRCODE = 'datatype_mismatch',
						  HINT = format('Change it to %s, or rename it so that it can be added.', c_columns[i][2]);
			END IF;
		ELSE
			v_adds := v_adds || format('ADD COLUMN %I %s%s', c_columns[i][1], c_columns[i][2], c_columns[i][3]);
			IF c_columns[i][1] = 'processing_status' THEN
				v_had_status := false;
			ELSIF c_columns[i][1] = 'sentiment_label' THEN
				v_had_label := false;
			END IF;
		END IF;
	END LOOP;

	IF cardinality(v_adds) > 0 THEN
		IF NOT v_had_status THEN
			-- NOT VALID: every existing row gets the constant default, so a
			-- validating scan would only hold the lock longer.
			v_adds := v_adds || format(
				'ADD CONSTRAINT %I CHECK (processing_status IN (''pending'', ''processing'', ''completed'', ''failed'')) NOT VALID',
				left(v_table, 40) || '_processing_status_check');
		END IF;
		EXECUTE format('ALTER TABLE %s %s', v_rel, array_to_string(v_adds, ', '));
	END IF;

	-- The seed's migration rule: rows that already carry results are done,
	-- the rest wait.  Only rows that need it are touched.
	IF NOT v_had_status AND v_had_label THEN
		EXECUTE format('UPDATE %s SET processing_status = ''completed'' WHERE sentiment_label IS NOT NULL', v_rel);
	ELSIF v_had_status THEN
		-- An adopted status column may allow NULL: such rows would never be
		-- claimed, so give them a state by the same rule.
		EXECUTE format(
			'UPDATE %s SET processing_status = CASE WHEN sentiment_label IS NOT NULL '
			'THEN ''completed'' ELSE ''pending'' END WHERE processing_status IS NULL', v_rel);
		PERFORM 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
		 WHERE d.adrelid = v_rel AND a.attname = 'processing_status';
		IF NOT FOUND THEN
			EXECUTE format('ALTER TABLE %s ALTER COLUMN processing_status SET DEFAULT ''pending''', v_rel);
		END IF;
	END IF;

	-- The claim index: pending rows in claim order, and nothing else, so it
	-- stays small however large the table grows.
	PERFORM 1
	  FROM pg_index i
	  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	 WHERE i.indrelid = v_rel AND a.attname = p_id_column
	   AND pg_get_expr(i.indpred, i.indrelid) IN ('(processing_status = ''pending''::text)',
												  '((processing_status)::text = ''pending''::text)');
	IF NOT FOUND THEN
		v_idx := left(v_table, 40) || '_sentiment_claim_idx';
		EXECUTE format('CREATE INDEX %I ON %s (%I) WHERE processing_status = ''pending''',
					   v_idx, v_rel, p_id_column);
	END IF;

	-- Monitoring (issue 7: sentiment_queue_status, sentiment_stuck): rows
	-- processing or failed, by state and start time.  Partial, so it holds
	-- only those rows and counting them never scans the table.
	v_idx := left(v_table, 40) || '_sentiment_status_idx';
	IF to_regclass(format('%I.%I', v_schema, v_idx)) IS NULL THEN
		EXECUTE format('CREATE INDEX %I ON %s (processing_status, processing_started_at) '
					   'WHERE processing_status IN (''processing'', ''failed'')',
					   v_idx, v_rel);
	END IF;

	-- Side tables, in the source's schema.
	v_topics := to_regclass(format('%I.%I', v_schema, p_topics_table));
	IF v_topics IS NULL THEN
		EXECUTE format(
			'CREATE TABLE %I.%I ('
			'mention_id bigint NOT NULL REFERENCES %s (%I) ON DELETE CASCADE, '
			'topic_key text NOT NULL, '
			'weight real, '
			'sentiment real, '
			'PRIMARY KEY (mention_id, topic_key))',
			v_schema, p_topics_table, v_rel, p_id_column);
		v_topics := format('%I.%I', v_schema, p_topics_table)::regclass;
	ELSE
		PERFORM @extschema@.sentiment_adopt_side_table(v_topics, v_rel, 'topics_table',
			ARRAY['mention_id', 'topic_key'], ARRAY['weight real', 'sentiment real']);
	END IF;

	v_embed := to_regclass(format('%I.%I', v_schema, p_embeddings_table));
	IF v_embed IS NULL THEN
		EXECUTE format(
			'CREATE TABLE %I.%I ('
			'entry_id bigint PRIMARY KEY REFERENCES %s (%I) ON DELETE CASCADE, '
			'embedding real[] NOT NULL)',
			v_schema, p_embeddings_table, v_rel, p_id_column);
		v_embed := format('%I.%I', v_schema, p_embeddings_table)::regclass;
	ELSE
		PERFORM @extschema@.sentiment_adopt_side_table(v_embed, v_rel, 'embeddings_table',
			ARRAY['entry_id'], ARRAY['embedding real[]']);
	END IF;

	-- Background workers (src/worker.c): wake one when new or re-queued rows
	-- commit.  A statement trigger arms the wake-up; nothing runs per row.
	-- ENABLE ALWAYS: rows applied by logical replication wake workers too.
	EXECUTE format(
		'CREATE OR REPLACE TRIGGER sentiment_wakeup '
		'AFTER INSERT OR UPDATE OF %I, processing_status ON %s '
		'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.sentiment_wakeup_trigger()',
		p_text_column, v_rel);
	EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER sentiment_wakeup', v_rel);
	-- adopted pending rows need no insert to be noticed
	PERFORM @extschema@.sentiment_wake_workers();

	INSERT INTO @extschema@.sentiment_sources AS s
		(source_table, id_column, text_column, topics_table, embeddings_table)
	VALUES (v_rel, p_id_column, p_text_column, v_topics, v_embed)
	ON CONFLICT (source_table) DO UPDATE
		SET id_column = excluded.id_column,
			text_column = excluded.text_column,
			topics_table = excluded.topics_table,
			embeddings_table = excluded.embeddings_table;

	RETURN v_rel;
END
$body$;

-- Adopt an existing side table: it must not serve another source, must have
-- the key columns; optional columns are added, and the unique index the
-- batch upserts rely on is created when missing.
CREATE FUNCTION @extschema@.sentiment_adopt_side_table(
	p_side regclass, p_source regclass, p_role text, p_keys text[], p_optional text[])
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_other regclass;
	v_def	text;
	v_adds	text[] := '{}';
	v_key	text;
BEGIN
	PERFORM @extschema@.sentiment_check_attach_privilege();

	SELECT s.source_table INTO v_other
	  FROM @extschema@.sentiment_sources s
	 WHERE s.source_table <> p_source
	   AND (s.topics_table = p_side OR s.embeddings_table = p_side OR s.source_table = p_side)
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'table % already serves attached table %', p_side, v_other
			USING ERRCODE = 'duplicate_object',
				  HINT = format('Pass another name with sentiment_attach(..., %s => ''...'').', p_role);
	END IF;
	IF p_side = p_source THEN
		RAISE EXCEPTION 'table % cannot be its own side table', p_side
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Pass another name with sentiment_attach(..., %s => ''...'').', p_role);
	END IF;

	FOREACH v_key IN ARRAY p_keys LOOP
		PERFORM 1 FROM pg_attribute a
		 WHERE a.attrelid = p_side AND a.attname = v_key AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'existing table % has no column "%"', p_side, v_key
				USING ERRCODE = 'undefined_column',
					  HINT = format('Pass another name with sentiment_attach(..., %s => ''...'') to create a new one.', p_role);
		END IF;
	END LOOP;

	FOREACH v_def IN ARRAY p_optional LOOP
		PERFORM 1 FROM pg_attribute a
		 WHERE a.attrelid = p_side AND a.attname = split_part(v_def, ' ', 1)
		   AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			v_adds := v_adds || format('ADD COLUMN %I %s', split_part(v_def, ' ', 1),
									   substr(v_def, strpos(v_def, ' ') + 1));
		END IF;
	END LOOP;
	IF cardinality(v_adds) > 0 THEN
		EXECUTE format('ALTER TABLE %s %s', p_side, array_to_string(v_adds, ', '));
	END IF;

	-- A unique index on exactly the key columns (any order) for ON CONFLICT.
	PERFORM 1 FROM pg_index i
	 WHERE i.indrelid = p_side AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
	   AND i.indnkeyatts = cardinality(p_keys)
	   AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
			  FROM pg_attribute a
			 WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[]))
		   = (SELECT array_agg(k ORDER BY k) FROM unnest(p_keys) k);
	IF NOT FOUND THEN
		EXECUTE format('CREATE UNIQUE INDEX ON %s (%s)', p_side,
					   (SELECT string_agg(quote_ident(k), ', ') FROM unnest(p_keys) k));
	END IF;
END
$body$;

CREATE FUNCTION @extschema@.sentiment_attach(
	source text,
	id_column name DEFAULT 'entry_id',
	text_column name DEFAULT 'text',
	topics_table name DEFAULT 'mention_topics',
	embeddings_table name DEFAULT 'sentiment_embeddings')
RETURNS regclass
LANGUAGE sql VOLATILE
AS $$
	SELECT @extschema@.sentiment_attach_internal(
		pg_catalog.to_regclass(source), source, pg_catalog.current_schema(),
		id_column, text_column, topics_table, embeddings_table)
$$;

CREATE FUNCTION @extschema@.sentiment_attach(
	source regclass,
	id_column name DEFAULT 'entry_id',
	text_column name DEFAULT 'text',
	topics_table name DEFAULT 'mention_topics',
	embeddings_table name DEFAULT 'sentiment_embeddings')
RETURNS regclass
LANGUAGE sql VOLATILE
AS $$
	SELECT @extschema@.sentiment_attach_internal(
		source, NULL::pg_catalog.text, NULL::pg_catalog.name,
		id_column, text_column, topics_table, embeddings_table)
$$;

COMMENT ON FUNCTION @extschema@.sentiment_attach(text, name, name, name, name) IS
	'Create or adopt a mentions table for processing (idempotent)';
COMMENT ON FUNCTION @extschema@.sentiment_attach(regclass, name, name, name, name) IS
	'Adopt an existing mentions table for processing (idempotent)';

-- Stop processing a table.  Its rows, result columns and side tables stay.
CREATE FUNCTION @extschema@.sentiment_detach(source regclass)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source table must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass an attached table, see the sentiment_sources table.';
	END IF;
	DELETE FROM @extschema@.sentiment_sources s WHERE s.source_table = source;
	IF NOT FOUND THEN
		RAISE NOTICE 'table % is not attached, nothing to do', source;
		RETURN false;
	END IF;
	-- the workers' wake-up trigger (src/worker.c) goes with the registration
	EXECUTE format('DROP TRIGGER IF EXISTS sentiment_wakeup ON %s', source);
	RETURN true;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_detach(regclass) IS
	'Stop processing a table; its data, result columns and side tables are kept';

REVOKE ALL ON FUNCTION @extschema@.sentiment_attach(text, name, name, name, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_attach(regclass, name, name, name, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_detach(regclass) FROM PUBLIC;
-- Batch processing: claim pending rows, analyse them in C, write the results
-- set-based, all in the caller's transaction (see src/batch.c).
CREATE FUNCTION @extschema@.sentiment_process_batch(
	batch_size integer DEFAULT 100,
	source regclass DEFAULT NULL)
RETURNS integer
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_process_batch';

COMMENT ON FUNCTION @extschema@.sentiment_process_batch(integer, regclass) IS
	'Analyse up to batch_size pending rows (1..10000) of one attached table, or of all; returns rows completed or failed';

REVOKE ALL ON FUNCTION @extschema@.sentiment_process_batch(integer, regclass) FROM PUBLIC;
-- Direct analysis, usable on any text.  These run no SQL and resolve no
-- names, so there is nothing for a search_path to protect; leaving it
-- unpinned keeps them cheap enough to call once per row of a large query.
CREATE FUNCTION @extschema@.sentiment_analyze(
	input text,
	OUT sentiment_label text,
	OUT sentiment_score double precision,
	OUT pos double precision,
	OUT neu double precision,
	OUT neg double precision,
	OUT emotion_label text,
	OUT emotion_score double precision,
	OUT topics text[],
	OUT embedding real[])
RETURNS record
LANGUAGE C STRICT STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_analyze';

COMMENT ON FUNCTION @extschema@.sentiment_analyze(text) IS
	'Sentiment (VADER), emotion, topics (hashtags) and a 256-dimension embedding of a text';

CREATE FUNCTION @extschema@.sentiment_scores(
	input text,
	OUT compound double precision,
	OUT pos double precision,
	OUT neu double precision,
	OUT neg double precision)
RETURNS record
LANGUAGE C STRICT STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_scores';

COMMENT ON FUNCTION @extschema@.sentiment_scores(text) IS
	'VADER scores of a text: compound (-1..1), pos, neu, neg';
-- Background workers (src/worker.c): the wake-up trigger function that
-- sentiment_attach() puts on every source, and the sentiment_workers view.

-- Fired AFTER INSERT OR UPDATE OF text, processing_status ... FOR EACH
-- STATEMENT: arms a wake-up of one idle worker of this database at commit.
-- It writes nothing, so PUBLIC may keep EXECUTE (needed to create the trigger).
CREATE FUNCTION @extschema@.sentiment_wakeup_trigger()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_wakeup_trigger';

-- One row for the launcher and one per worker slot, from shared memory.
-- Raises an error with a hint when the library is not preloaded.
CREATE FUNCTION @extschema@.sentiment_worker_status(
	OUT kind text,
	OUT pid integer,
	OUT database text,
	OUT worker_index integer,
	OUT state text,
	OUT batch_size integer,
	OUT batches bigint,
	OUT rows_processed bigint,
	OUT wakeups bigint,
	OUT claims_recovered bigint,
	OUT started_at timestamptz,
	OUT last_batch_at timestamptz,
	OUT last_error text)
RETURNS SETOF record
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_worker_status';

CREATE VIEW @extschema@.sentiment_workers AS
	SELECT * FROM @extschema@.sentiment_worker_status();

COMMENT ON VIEW @extschema@.sentiment_workers IS
	'sentiment_proc launcher and background workers: state, batch size in effect, batches, rows, wake-ups, last error';

-- Worker pids and error texts are for operators, as in pg_stat_activity.
REVOKE ALL ON FUNCTION @extschema@.sentiment_worker_status() FROM PUBLIC;
REVOKE ALL ON @extschema@.sentiment_workers FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_worker_status() TO pg_monitor;
GRANT SELECT ON @extschema@.sentiment_workers TO pg_monitor;

-- Wake an idle worker of this database when the calling transaction commits
-- (sentiment_attach calls it for adopted pending rows).  Does nothing when
-- the workers are not loaded.
CREATE FUNCTION @extschema@.sentiment_wake_workers()
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_wake_workers';
