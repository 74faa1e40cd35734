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
-- True for the name of a sentiment model, an error with a hint otherwise
-- (src/analyze.c): the check of the registry's sentiment_model.
CREATE FUNCTION @extschema@.sentiment_model_check(model text)
RETURNS boolean
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_model_check';

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
	attached_at			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	-- how long a row claimed outside sentiment_proc is left to its claimant
	-- (NULL: sentiment_proc.foreign_claim_grace); see 57_foreign_claims.sql
	foreign_claim_grace interval CHECK (foreign_claim_grace BETWEEN interval '0' AND interval '7 days'),
	-- the sentiment model the table's rows are analysed with
	sentiment_model		text NOT NULL DEFAULT 'vader'
						CONSTRAINT sentiment_sources_model_check CHECK (@extschema@.sentiment_model_check(sentiment_model))
);

COMMENT ON TABLE @extschema@.sentiment_sources IS
	'Tables processed by sentiment_proc; maintained by sentiment_attach() and sentiment_detach()';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_sources', '');

-- Readable by everyone (it names tables, as pg_class does); written only by
-- the two functions below, which attach and detach call.
GRANT SELECT ON @extschema@.sentiment_sources TO PUBLIC;

-- The registration of an attached table: the one "is it attached" check of
-- the SQL functions, raising an error with a hint when it is not.  A NULL
-- source passes (NULL: every attached table, for the callers that allow it).
CREATE FUNCTION @extschema@.sentiment_registration(p_source regclass)
RETURNS @extschema@.sentiment_sources
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_row	@extschema@.sentiment_sources;
BEGIN
	IF p_source IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT * INTO v_row FROM @extschema@.sentiment_sources s WHERE s.source_table = p_source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % is not attached to sentiment_proc', p_source
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = format('Attach it first with SELECT sentiment_attach(%L); see sentiment_sources for the attached tables.',
								p_source::text);
	END IF;
	RETURN v_row;
END
$body$;

-- Record or remove a registration (src/registry.c).  They check, as the
-- caller, EXECUTE on sentiment_attach / sentiment_detach and ownership of
-- the source and its side tables, then write the registry as the
-- extension's owner; so they need no grant of their own.
CREATE FUNCTION @extschema@.sentiment_register(
	source regclass, id_column name, text_column name, topics_table regclass, embeddings_table regclass,
	sentiment_model text)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_register';

CREATE FUNCTION @extschema@.sentiment_unregister(source regclass)
RETURNS boolean
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_unregister';

-- A registration that goes (detach, drop) takes the source's statistics in
-- shared memory with it, at commit (src/registry.c, src/stats.c).
CREATE FUNCTION @extschema@.sentiment_registry_forget_trigger()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_registry_forget_trigger';

REVOKE ALL ON FUNCTION @extschema@.sentiment_registry_forget_trigger() FROM PUBLIC;

CREATE TRIGGER sentiment_forget_stats AFTER DELETE ON @extschema@.sentiment_sources
	FOR EACH ROW EXECUTE FUNCTION @extschema@.sentiment_registry_forget_trigger();

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
-- 'integer', 'timestamp', 'jsonb'.
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
		WHEN 'jsonb' THEN p_type = 'jsonb'::regtype
		ELSE false
	END
$$;

-- The row trigger sentiment_attach puts on every source (BEFORE UPDATE OF
-- the text column): a changed text bumps version and re-queues the row.
CREATE FUNCTION @extschema@.sentiment_text_edit_trigger()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_text_edit_trigger';

-- Trigger functions are for the triggers attach creates: only those who may
-- attach need EXECUTE (to create them), nobody else.
REVOKE ALL ON FUNCTION @extschema@.sentiment_text_edit_trigger() FROM PUBLIC;

-- A row's bounded error history: the entry for this attempt appended, only
-- the latest keep entries kept.
CREATE FUNCTION @extschema@.sentiment_error_history_add(
	history jsonb, attempt integer, sqlstate text, message text, keep integer)
RETURNS jsonb
LANGUAGE sql VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN keep > 0 THEN
		(SELECT jsonb_agg(e.entry ORDER BY e.n)
		   FROM jsonb_array_elements(
					COALESCE(history, '[]'::jsonb)
					|| jsonb_build_array(jsonb_build_object(
						   'attempt', attempt, 'at', clock_timestamp(),
						   'sqlstate', sqlstate, 'message', message)))
				WITH ORDINALITY AS e(entry, n)
		  WHERE e.n > jsonb_array_length(COALESCE(history, '[]'::jsonb)) + 1 - keep)
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
	IF NOT has_function_privilege('@extschema@.sentiment_attach(text, name, name, name, name, text)', 'EXECUTE') THEN
		RAISE EXCEPTION 'permission denied for function sentiment_attach'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'A superuser or the extension owner can GRANT EXECUTE ON FUNCTION sentiment_attach(text, name, name, name, name, text).';
	END IF;
	-- attach creates its triggers as the caller
	IF NOT has_function_privilege('@extschema@.sentiment_text_edit_trigger()', 'EXECUTE')
		OR NOT has_function_privilege('@extschema@.sentiment_wakeup_trigger()', 'EXECUTE') THEN
		RAISE EXCEPTION 'permission denied for the trigger functions of sentiment_proc'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Those who may attach also need GRANT EXECUTE ON FUNCTION sentiment_text_edit_trigger(), sentiment_wakeup_trigger().';
	END IF;
END
$body$;

-- The table attach works on: the existing one, or (no such table) the
-- canonical one created under the given name.
CREATE FUNCTION @extschema@.sentiment_attach_table(
	p_relid regclass, p_name text, p_default_schema name, p_id_column name, p_text_column name)
RETURNS regclass
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_rel		regclass := p_relid;
	v_schema	name;
	v_table		name;
	v_parts		text[];
BEGIN
	IF v_rel IS NOT NULL THEN
		RETURN v_rel;
	END IF;

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
	RETURN format('%I.%I', v_schema, v_table)::regclass;
END
$body$;

-- An existing column of a source that must be there with a usable type
-- (kind as for sentiment_column_type_ok); role names it in messages.
CREATE FUNCTION @extschema@.sentiment_attach_column(
	p_rel regclass, p_column name, p_kind text, p_role text, p_types text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_type		oid;
BEGIN
	SELECT a.atttypid INTO v_type
	  FROM pg_attribute a
	 WHERE a.attrelid = p_rel AND a.attname = p_column AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % has no column "%"', p_rel, p_column
			USING ERRCODE = 'undefined_column',
				  HINT = format('Name the %s column with sentiment_attach(..., %s_column => ''...'').',
								p_role, CASE p_role WHEN 'key' THEN 'id' ELSE p_role END);
	END IF;
	IF NOT @extschema@.sentiment_column_type_ok(v_type, p_kind) THEN
		RAISE EXCEPTION '% column "%" of % has type %, not %', p_role, p_column, p_rel, v_type::regtype,
			CASE p_kind WHEN 'integer' THEN 'an integer type' ELSE 'a string type' END
			USING ERRCODE = 'datatype_mismatch',
				  HINT = format('The %s column must be %s.', p_role, p_types);
	END IF;
END
$body$;

-- Status and result columns: check the existing ones, add the others in
-- one ALTER TABLE, and give existing rows a state by the seed's migration
-- rule (rows that already carry results are done, the rest wait).
CREATE FUNCTION @extschema@.sentiment_attach_status_columns(p_rel regclass, p_table name)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_rel		regclass := p_rel;
	v_table		name := p_table;
	v_type		oid;
	v_adds		text[] := '{}';
	v_had_status boolean := true;
	v_had_label boolean := true;
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
		['version',					'integer',			' NOT NULL DEFAULT 0',	'integer'],
		['processing_retry_at',		'timestamptz',		'',						'timestamp'],
		['processing_lease_until',	'timestamptz',		'',						'timestamp'],
		['processing_claimed_by',	'text',				'',						'string'],
		['processing_error_history', 'jsonb',			'',						'jsonb'],
		-- which model (and version) wrote the row's result
		['sentiment_model',			'text',				'',						'string']];
BEGIN
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
		EXECUTE format('ALTER TABLE %s %s', v_rel, array_to_string(v_adds, ', '));
	END IF;
	IF NOT v_had_status THEN
		-- NOT VALID: every existing row gets the constant default, so a
		-- validating scan would only hold the lock longer.  A statement of
		-- its own: Citus refuses ADD CONSTRAINT beside ADD COLUMN.
		EXECUTE format(
			'ALTER TABLE %s ADD CONSTRAINT %I CHECK (processing_status IN (''pending'', ''processing'', ''completed'', ''failed'')) NOT VALID',
			v_rel, left(v_table, 40) || '_processing_status_check');
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

END
$body$;

-- The partial indexes processing and monitoring read through.
CREATE FUNCTION @extschema@.sentiment_attach_indexes(
	p_rel regclass, p_schema name, p_table name, p_id_column name)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_rel		regclass := p_rel;
	v_schema	name := p_schema;
	v_table		name := p_table;
	v_idx		name;
BEGIN
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

	-- Failed rows waiting for their retry, by retry time: the batch claims
	-- the due ones through it before pending rows.
	v_idx := left(v_table, 40) || '_sentiment_retry_idx';
	IF to_regclass(format('%I.%I', v_schema, v_idx)) IS NULL THEN
		EXECUTE format('CREATE INDEX %I ON %s (processing_retry_at) '
					   'WHERE processing_status = ''failed'' AND processing_retry_at IS NOT NULL',
					   v_idx, v_rel);
	END IF;

	-- Monitoring (sentiment_queue_status, sentiment_stuck): rows
	-- processing or failed, by state and start time.  Partial, so it holds
	-- only those rows and counting them never scans the table.
	v_idx := left(v_table, 40) || '_sentiment_status_idx';
	IF to_regclass(format('%I.%I', v_schema, v_idx)) IS NULL THEN
		EXECUTE format('CREATE INDEX %I ON %s (processing_status, processing_started_at) '
					   'WHERE processing_status IN (''processing'', ''failed'')',
					   v_idx, v_rel);
	END IF;

END
$body$;

-- The wake-up and text edit triggers on a source.
CREATE FUNCTION @extschema@.sentiment_attach_triggers(p_rel regclass, p_text_column name)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_rel		regclass := p_rel;
BEGIN
	PERFORM @extschema@.sentiment_citus_allow_triggers(v_rel);
	-- Background workers (src/worker.c): wake one when new or edited rows
	-- commit, on the table and on each of its partitions.
	PERFORM @extschema@.sentiment_wakeup_install(v_rel, p_text_column);

	-- Edits win over stale results: a changed text bumps version and puts
	-- the row back to pending (src/edit_trigger.c).
	EXECUTE format(
		'CREATE OR REPLACE TRIGGER sentiment_text_edit '
		'BEFORE UPDATE OF %I ON %s '
		'FOR EACH ROW EXECUTE FUNCTION @extschema@.sentiment_text_edit_trigger(%L)',
		p_text_column, v_rel, p_text_column);
	EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER sentiment_text_edit', v_rel);
	-- adopted pending rows need no insert to be noticed
	PERFORM @extschema@.sentiment_wake_workers();
END
$body$;

CREATE FUNCTION @extschema@.sentiment_attach_internal(
	p_relid regclass,
	p_name text,
	p_default_schema name,
	p_id_column name,
	p_text_column name,
	p_topics_table name,
	p_embeddings_table name,
	p_model text)
RETURNS regclass
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_rel		regclass;
	v_old_model text;
	v_schema	name;
	v_table		name;
	v_relkind	"char";
	v_topics	regclass;
	v_embed		regclass;
	v_distributed boolean;
	v_references text;
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

	v_rel := @extschema@.sentiment_attach_table(p_relid, p_name, p_default_schema, p_id_column, p_text_column);

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

	-- Attached tables are processed as their owner: only the owner (or a
	-- member of the owning role) may attach one.
	IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = v_rel), 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of table %', v_rel
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Ask the owner of the table to attach it.';
	END IF;

	-- Serialise attaches of one table without blocking its readers and
	-- writers; the ALTER below takes its stronger lock only when needed.
	EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE', v_rel);

	-- The key: an integer column with a single-column unique index; the text.
	PERFORM @extschema@.sentiment_attach_column(v_rel, p_id_column, 'integer', 'key', 'smallint, integer or bigint');
	-- On Citus: distributed by the key (else no unique index on it alone can
	-- exist), side tables colocated (25_citus.sql)
	v_distributed := @extschema@.sentiment_citus_check_source(v_rel, p_id_column);
	v_references := CASE WHEN NOT v_distributed
		THEN format(' REFERENCES %s (%I) ON DELETE CASCADE', v_rel, p_id_column) ELSE '' END;
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

	PERFORM @extschema@.sentiment_attach_column(v_rel, p_text_column, 'string', 'text', 'text, varchar or char');

	PERFORM @extschema@.sentiment_attach_status_columns(v_rel, v_table);
	PERFORM @extschema@.sentiment_attach_indexes(v_rel, v_schema, v_table, p_id_column);

	-- Side tables, in the source's schema.
	v_topics := to_regclass(format('%I.%I', v_schema, p_topics_table));
	IF v_topics IS NULL THEN
		EXECUTE format(
			'CREATE TABLE %I.%I ('
			'mention_id bigint NOT NULL%s, '
			'topic_key text NOT NULL, '
			'weight real, '
			'sentiment real, '
			'PRIMARY KEY (mention_id, topic_key))',
			v_schema, p_topics_table, v_references);
		v_topics := format('%I.%I', v_schema, p_topics_table)::regclass;
		PERFORM @extschema@.sentiment_side_table_owner(v_topics, v_rel);
	ELSE
		PERFORM @extschema@.sentiment_adopt_side_table(v_topics, v_rel, 'topics_table',
			ARRAY['mention_id', 'topic_key'], ARRAY['weight real', 'sentiment real']);
	END IF;

	v_embed := to_regclass(format('%I.%I', v_schema, p_embeddings_table));
	IF v_embed IS NULL THEN
		EXECUTE format(
			'CREATE TABLE %I.%I ('
			'entry_id bigint PRIMARY KEY%s, '
			'embedding %s NOT NULL)',
			v_schema, p_embeddings_table, v_references,
			-- vector(256) when pgvector is installed here, else real[]
			@extschema@.sentiment_embedding_type_sql(NULL));
		v_embed := format('%I.%I', v_schema, p_embeddings_table)::regclass;
		PERFORM @extschema@.sentiment_side_table_owner(v_embed, v_rel);
	ELSE
		PERFORM @extschema@.sentiment_adopt_side_table(v_embed, v_rel, 'embeddings_table',
			ARRAY['entry_id'], ARRAY['embedding real[]']);
	END IF;
	IF v_distributed THEN
		PERFORM @extschema@.sentiment_citus_colocate(v_topics, 'mention_id', v_rel, p_id_column);
		PERFORM @extschema@.sentiment_citus_colocate(v_embed, 'entry_id', v_rel, p_id_column);
	END IF;
	-- vector or halfvec embeddings are searched through an HNSW index
	PERFORM @extschema@.sentiment_embedding_index(v_embed);

	PERFORM @extschema@.sentiment_attach_triggers(v_rel, p_text_column);

	-- the registry is written only there, after its own checks
	v_old_model := (SELECT s.sentiment_model FROM @extschema@.sentiment_sources s WHERE s.source_table = v_rel);
	PERFORM @extschema@.sentiment_register(v_rel, p_id_column, p_text_column, v_topics, v_embed, p_model);
	-- another model for a table already attached: its results are redone
	IF v_old_model IS DISTINCT FROM COALESCE(p_model, v_old_model) THEN
		PERFORM @extschema@.sentiment_requeue_for_model(v_rel);
	END IF;
	-- the worker nodes of a distributed source learn of it
	PERFORM @extschema@.sentiment_citus_publish(v_rel);

	RETURN v_rel;
END
$body$;

-- A side table attach just created belongs to the caller; processing runs
-- as the source's owner and needs the side tables to be that owner's too.
CREATE FUNCTION @extschema@.sentiment_side_table_owner(p_side regclass, p_source regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_owner oid := (SELECT c.relowner FROM pg_class c WHERE c.oid = p_source);
BEGIN
	IF (SELECT c.relowner FROM pg_class c WHERE c.oid = p_side) <> v_owner THEN
		EXECUTE format('ALTER TABLE %s OWNER TO %I', p_side, pg_get_userbyid(v_owner));
	END IF;
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
	-- Processing writes side tables as the source's owner: a table someone
	-- else owns (and may have put a trigger on) is never adopted.
	IF (SELECT c.relowner FROM pg_class c WHERE c.oid = p_side)
	   IS DISTINCT FROM (SELECT c.relowner FROM pg_class c WHERE c.oid = p_source)
	   OR (SELECT c.relkind FROM pg_class c WHERE c.oid = p_side) NOT IN ('r', 'p') THEN
		RAISE EXCEPTION 'existing table % cannot serve as the % of %: it is not a table owned by the owner of %',
			p_side, p_role, p_source, p_source
			USING ERRCODE = 'insufficient_privilege',
				  HINT = format('Pass another name with sentiment_attach(..., %s => ''...''), or have the owner of %s own it.',
								p_role, p_source);
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
	embeddings_table name DEFAULT 'sentiment_embeddings',
	sentiment_model text DEFAULT NULL)
RETURNS regclass
LANGUAGE sql VOLATILE
AS $$
	SELECT @extschema@.sentiment_attach_internal(
		pg_catalog.to_regclass(source), source, pg_catalog.current_schema(),
		id_column, text_column, topics_table, embeddings_table, sentiment_model)
$$;

CREATE FUNCTION @extschema@.sentiment_attach(
	source regclass,
	id_column name DEFAULT 'entry_id',
	text_column name DEFAULT 'text',
	topics_table name DEFAULT 'mention_topics',
	embeddings_table name DEFAULT 'sentiment_embeddings',
	sentiment_model text DEFAULT NULL)
RETURNS regclass
LANGUAGE sql VOLATILE
AS $$
	SELECT @extschema@.sentiment_attach_internal(
		source, NULL::pg_catalog.text, NULL::pg_catalog.name,
		id_column, text_column, topics_table, embeddings_table, sentiment_model)
$$;

COMMENT ON FUNCTION @extschema@.sentiment_attach(text, name, name, name, name, text) IS
	'Create or adopt a mentions table for processing (idempotent)';
COMMENT ON FUNCTION @extschema@.sentiment_attach(regclass, name, name, name, name, text) IS
	'Adopt an existing mentions table for processing (idempotent)';

-- The wake-up trigger (src/worker.c) on a source and on each of its
-- partitions: AFTER INSERT OR UPDATE OF the text column, FOR EACH
-- STATEMENT, so nothing runs per row.  A statement trigger of a
-- partitioned table does not fire for rows inserted straight into a
-- partition, hence one per partition (a statement on the parent fires only
-- the parent's).  Only new or edited text wakes a worker: a batch or a
-- two-phase completion moving rows to completed or failed does not;
-- sentiment_retry_failed and sentiment_reset_stuck wake workers themselves.
-- ENABLE ALWAYS: rows applied by logical replication wake workers too.
-- p_missing_only: leave existing triggers alone (the DDL event trigger).
-- Runs as the caller, who must own the tables (as CREATE TRIGGER requires).
CREATE FUNCTION @extschema@.sentiment_wakeup_install(
	p_source regclass, p_text_column name, p_missing_only boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_rel	regclass;
	v_n		integer := 0;
BEGIN
	PERFORM @extschema@.sentiment_citus_allow_triggers(p_source);
	FOR v_rel IN
		-- (a table that is neither partitioned nor a partition has no tree)
		SELECT p.relid FROM (SELECT p_source AS relid, 0 AS level
							 UNION SELECT t.relid, t.level FROM pg_partition_tree(p_source) t) p
		  JOIN pg_class c ON c.oid = p.relid
		 WHERE c.relkind IN ('r', 'p')
		   AND NOT (p_missing_only AND EXISTS (SELECT FROM pg_trigger t
						WHERE t.tgrelid = p.relid AND t.tgname = 'sentiment_wakeup'))
		 ORDER BY p.level, p.relid
	LOOP
		EXECUTE format(
			'CREATE OR REPLACE TRIGGER sentiment_wakeup '
			'AFTER INSERT OR UPDATE OF %I ON %s '
			'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.sentiment_wakeup_trigger()',
			p_text_column, v_rel);
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER sentiment_wakeup', v_rel);
		v_n := v_n + 1;
	END LOOP;
	RETURN v_n;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_wakeup_install(regclass, name, boolean) IS
	'Put the workers'' wake-up trigger on an attached table and each of its partitions; returns how many';

-- Partitions created or attached later get the wake-up trigger too: after
-- CREATE TABLE ... PARTITION OF and ALTER TABLE ... ATTACH PARTITION of a
-- table in an attached source's partition tree.  The event trigger (C,
-- src/partitions.c) lets only those two statements through to this, which
-- runs as the user of the command (who owns the partition).  A partition
-- the trigger cannot be put on still gets its rows processed, after the poll
-- interval: a warning says so and the command goes through.
CREATE FUNCTION @extschema@.sentiment_wakeup_partitions_added()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src	record;
BEGIN
	FOR v_src IN
		SELECT DISTINCT s.source_table, s.text_column
		  FROM pg_event_trigger_ddl_commands() d
		  JOIN pg_class c ON c.oid = d.objid AND d.classid = 'pg_class'::regclass
		  JOIN @extschema@.sentiment_sources s
			ON s.source_table = COALESCE(pg_partition_root(c.oid), c.oid)
		 WHERE (d.command_tag = 'CREATE TABLE' AND c.relispartition AND c.relkind IN ('r', 'p'))
			OR (d.command_tag = 'ALTER TABLE' AND c.relkind = 'p')
	LOOP
		BEGIN
			PERFORM @extschema@.sentiment_wakeup_install(v_src.source_table, v_src.text_column, true);
		EXCEPTION WHEN insufficient_privilege OR undefined_column OR wrong_object_type THEN
			RAISE WARNING 'new partitions of % get no wake-up trigger: %', v_src.source_table, SQLERRM
				USING HINT = 'Their rows are processed after sentiment_proc.worker_poll_interval; '
							 'the owner of the table can run SELECT sentiment_attach(...) again.';
		END;
	END LOOP;
END
$body$;

CREATE FUNCTION @extschema@.sentiment_wakeup_new_partitions()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_wakeup_new_partitions';

CREATE EVENT TRIGGER sentiment_wakeup_new_partitions ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
	EXECUTE FUNCTION @extschema@.sentiment_wakeup_new_partitions();

-- Stop processing a table.  Its rows, result columns and side tables stay.
CREATE FUNCTION @extschema@.sentiment_detach(source regclass)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_part regclass;
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source table must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass an attached table, see the sentiment_sources table.';
	END IF;
	IF NOT @extschema@.sentiment_unregister(source) THEN
		RAISE NOTICE 'table % is not attached, nothing to do', source;
		RETURN false;
	END IF;
	PERFORM @extschema@.sentiment_citus_allow_triggers(source);
	-- the workers' wake-up triggers (src/worker.c) go with the registration,
	-- the table's and its partitions'
	FOR v_part IN
		SELECT t.tgrelid::regclass FROM (SELECT source AS relid, 0 AS level
										 UNION SELECT r.relid, r.level FROM pg_partition_tree(source) r) p
		  JOIN pg_trigger t ON t.tgrelid = p.relid AND t.tgname = 'sentiment_wakeup'
		 ORDER BY p.level, p.relid
	LOOP
		EXECUTE format('DROP TRIGGER sentiment_wakeup ON %s', v_part);
	END LOOP;
	-- and so does the text edit trigger (gone already if the text column was)
	IF EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = source AND t.tgname = 'sentiment_text_edit') THEN
		EXECUTE format('DROP TRIGGER sentiment_text_edit ON %s', source);
	END IF;
	RETURN true;
END
$body$;

-- Queue the completed rows of a source whose result another model (or
-- another version of its model) wrote, so that they are analysed again by
-- the table's model.  Needs EXECUTE on sentiment_enqueue and UPDATE on the
-- table.  Returns the requests queued.
CREATE FUNCTION @extschema@.sentiment_requeue_for_model(p_source regclass)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		@extschema@.sentiment_sources := @extschema@.sentiment_registration(p_source);
	v_version	text;
	v_ids		bigint[];
	v_n			bigint;
BEGIN
	SELECT m.version INTO v_version FROM @extschema@.sentiment_models() m
	 WHERE m.kind = 'sentiment' AND m.name = v_src.sentiment_model;
	-- a distributed table has no queue on its nodes: its rows wait as pending
	IF @extschema@.sentiment_citus_distributed(p_source) THEN
		EXECUTE format('UPDATE %s SET processing_status = ''pending'' '
					   'WHERE processing_status = ''completed'' AND sentiment_model IS DISTINCT FROM $1',
					   v_src.source_table)
			USING v_version;
		GET DIAGNOSTICS v_n = ROW_COUNT;
		RETURN v_n;
	END IF;
	EXECUTE format('SELECT array_agg(%I::bigint) FROM %s '
				   'WHERE processing_status = ''completed'' AND sentiment_model IS DISTINCT FROM $1',
				   v_src.id_column, v_src.source_table)
		INTO v_ids USING v_version;
	IF v_ids IS NULL THEN
		RETURN 0;
	END IF;
	RETURN @extschema@.sentiment_enqueue(p_source, v_ids);
END
$body$;

-- Choose the sentiment model of an attached table ('vader' or 'social'):
-- the rows it already analysed with another model are queued for analysis
-- again.  The same checks as attach (ownership, the attach grant).
CREATE FUNCTION @extschema@.sentiment_set_model(source regclass, model text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		@extschema@.sentiment_sources := @extschema@.sentiment_registration(sentiment_set_model.source);
BEGIN
	IF sentiment_set_model.source IS NULL OR model IS NULL THEN
		RAISE EXCEPTION 'source and model must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass an attached table and vader or social.';
	END IF;
	PERFORM @extschema@.sentiment_register(v_src.source_table, v_src.id_column, v_src.text_column,
		v_src.topics_table, v_src.embeddings_table, model);
	PERFORM @extschema@.sentiment_citus_publish(v_src.source_table);
	RETURN @extschema@.sentiment_requeue_for_model(v_src.source_table);
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_set_model(regclass, text) IS
	'Choose the sentiment model of an attached table (vader or social) and queue the rows another model analysed';

COMMENT ON FUNCTION @extschema@.sentiment_detach(regclass) IS
	'Stop processing a table; its data, result columns and side tables are kept';

REVOKE ALL ON FUNCTION @extschema@.sentiment_attach(text, name, name, name, name, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_attach(regclass, name, name, name, name, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_detach(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_set_model(regclass, text) FROM PUBLIC;
-- Citus (docs/citus.md): attached tables that are hash-distributed.  Nothing
-- here needs Citus: without it (or for a table that is not distributed)
-- these do nothing.  The worker nodes process the shards they hold
-- (src/citus.c); attach, detach and the settings run on the coordinator.

-- Is the table a hash-distributed Citus table?  false without Citus.
CREATE FUNCTION @extschema@.sentiment_citus_distributed(p_rel regclass)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_distributed boolean;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition '
			'WHERE logicalrelid = $1 AND partmethod = ''h'')'
		INTO v_distributed USING p_rel;
	RETURN v_distributed;
END
$body$;

-- A source Citus manages must be hash-distributed by its key, so that each
-- row and its side rows (distributed by the same key, colocated) live on
-- one node.  Reference tables (a copy on every node) and single-shard
-- tables are refused.  Returns whether the source is distributed.
CREATE FUNCTION @extschema@.sentiment_citus_check_source(p_rel regclass, p_id_column name)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_method	"char";
	v_column	text;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT partmethod, CASE WHEN partkey IS NOT NULL '
			'THEN pg_catalog.column_to_column_name(logicalrelid, partkey) END '
			'FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1'
		INTO v_method, v_column USING p_rel;
	IF v_method IS NULL THEN
		RETURN false;
	END IF;
	IF v_method <> 'h' OR v_column IS DISTINCT FROM p_id_column THEN
		RAISE EXCEPTION 'table % is managed by Citus but not hash-distributed by its key column "%"',
			p_rel, p_id_column
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Each row is processed on the node that holds it, with its topics and embedding beside it.',
				  HINT = format('Distribute it by its key: SELECT create_distributed_table(%L, %L);',
								p_rel::text, p_id_column);
	END IF;
	RETURN true;
END
$body$;

-- Triggers on a distributed table need citus.enable_unsafe_triggers (Citus
-- then puts them on every shard).  Set for the rest of the transaction only,
-- and only for a distributed table.
CREATE FUNCTION @extschema@.sentiment_citus_allow_triggers(p_rel regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF @extschema@.sentiment_citus_distributed(p_rel) THEN
		PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
	END IF;
END
$body$;

-- A side table of a distributed source: distributed by its mention key,
-- colocated with the source, with its foreign key to the source (Citus
-- refuses one between a local and a distributed table, so a local side
-- table's key goes first and comes back once both are distributed).  Rows
-- it already had move into its shards.
CREATE FUNCTION @extschema@.sentiment_citus_colocate(
	p_side regclass, p_side_column name, p_source regclass, p_id_column name)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_constraint	name;
	v_colocated		boolean;
BEGIN
	IF NOT @extschema@.sentiment_citus_distributed(p_side) THEN
		FOR v_constraint IN
			SELECT c.conname FROM pg_constraint c WHERE c.conrelid = p_side AND c.contype = 'f'
		LOOP
			EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', p_side, v_constraint);
		END LOOP;
		EXECUTE 'SELECT pg_catalog.create_distributed_table($1, $2, colocate_with => $3)'
			USING p_side, p_side_column::text, p_source::text;
		EXECUTE 'SELECT pg_catalog.truncate_local_data_after_distributing_table($1)' USING p_side;
	END IF;
	EXECUTE 'SELECT s.colocationid = t.colocationid '
			'AND pg_catalog.column_to_column_name(s.logicalrelid, s.partkey) = $3 '
			'FROM pg_catalog.pg_dist_partition s, pg_catalog.pg_dist_partition t '
			'WHERE s.logicalrelid = $1 AND t.logicalrelid = $2'
		INTO v_colocated USING p_side, p_source, p_side_column::text;
	IF v_colocated IS NOT TRUE THEN
		RAISE EXCEPTION 'side table % is not distributed by "%" colocated with %', p_side, p_side_column, p_source
			USING ERRCODE = 'invalid_table_definition',
				  HINT = format('Use another side table name, or colocate it: SELECT update_distributed_table_colocation(%L, colocate_with => %L);',
								p_side::text, p_source::text);
	END IF;
	IF NOT EXISTS (SELECT FROM pg_constraint c
					WHERE c.conrelid = p_side AND c.contype = 'f' AND c.confrelid = p_source) THEN
		EXECUTE format('ALTER TABLE %s ADD FOREIGN KEY (%I) REFERENCES %s (%I) ON DELETE CASCADE',
					   p_side, p_side_column, p_source, p_id_column);
	END IF;
END
$body$;

-- The registry of the coordinator is not on the worker nodes.  What their
-- background workers need of an attached distributed table is published as
-- the arguments of its edit trigger, which Citus copies to every node (and
-- to nodes added later) in the same transaction: text column, key column,
-- side tables and sentiment model (src/citus.c reads them).
CREATE FUNCTION @extschema@.sentiment_citus_publish(p_source regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src	@extschema@.sentiment_sources := @extschema@.sentiment_registration(p_source);
BEGIN
	IF NOT @extschema@.sentiment_citus_distributed(p_source) THEN
		RETURN;
	END IF;
	PERFORM @extschema@.sentiment_citus_allow_triggers(p_source);
	EXECUTE format(
		'CREATE OR REPLACE TRIGGER sentiment_text_edit '
		'BEFORE UPDATE OF %I ON %s '
		'FOR EACH ROW EXECUTE FUNCTION @extschema@.sentiment_text_edit_trigger(%L, %L, %L, %L, %L)',
		v_src.text_column, p_source, v_src.text_column, v_src.id_column,
		v_src.topics_table::text, v_src.embeddings_table::text, v_src.sentiment_model);
	EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER sentiment_text_edit', p_source);
END
$body$;

-- ---- cluster-wide monitoring, from the coordinator -------------------------

-- The background workers of every node: this node's, then each worker
-- node's (gathered with Citus's run_command_on_workers, as the caller).  A
-- node that cannot be asked shows as one row with its error.
CREATE FUNCTION @extschema@.sentiment_cluster_workers(
	OUT node text,
	OUT kind text,
	OUT pid integer,
	OUT state text,
	OUT batches bigint,
	OUT rows_processed bigint,
	OUT wakeups bigint,
	OUT last_batch_at timestamptz,
	OUT last_error text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	RETURN QUERY
		SELECT 'local'::text, w.kind, w.pid, w.state, w.batches, w.rows_processed, w.wakeups,
			   w.last_batch_at, w.last_error
		  FROM @extschema@.sentiment_worker_status() w;
	IF to_regproc('pg_catalog.run_command_on_workers') IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE
		'SELECT r.nodename || '':'' || r.nodeport, x.kind, x.pid, x.state, x.batches, x.rows_processed, '
		'       x.wakeups, x.last_batch_at, CASE WHEN r.success THEN x.last_error ELSE r.result END '
		'  FROM pg_catalog.run_command_on_workers($1) r '
		'  LEFT JOIN LATERAL pg_catalog.json_to_recordset(CASE WHEN r.success THEN r.result::json END) '
		'       AS x(kind text, pid integer, state text, batches bigint, rows_processed bigint, '
		'            wakeups bigint, last_batch_at timestamptz, last_error text) ON true '
		' ORDER BY 1, 2, 3'
		USING 'SELECT COALESCE(pg_catalog.json_agg(w), ''[]'') FROM @extschema@.sentiment_worker_status() w';
END
$body$;

-- Batch statistics of every node per attached table (this node's
-- sentiment_stats, then each worker node's): the rows each node processed.
CREATE FUNCTION @extschema@.sentiment_cluster_stats(
	OUT node text,
	OUT source text,
	OUT batches bigint,
	OUT rows_completed bigint,
	OUT rows_failed bigint,
	OUT last_batch_at timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	RETURN QUERY
		SELECT 'local'::text, s.source::text, s.batches, s.rows_completed, s.rows_failed, s.last_batch_at
		  FROM @extschema@.sentiment_stats s;
	IF to_regproc('pg_catalog.run_command_on_workers') IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE
		'SELECT r.nodename || '':'' || r.nodeport, CASE WHEN r.success THEN x.source ELSE r.result END, '
		'       x.batches, x.rows_completed, x.rows_failed, x.last_batch_at '
		'  FROM pg_catalog.run_command_on_workers($1) r '
		'  LEFT JOIN LATERAL pg_catalog.json_to_recordset(CASE WHEN r.success THEN r.result::json END) '
		'       AS x(source text, batches bigint, rows_completed bigint, rows_failed bigint, '
		'            last_batch_at timestamptz) ON true '
		' ORDER BY 1, 2'
		USING 'SELECT COALESCE(pg_catalog.json_agg(s), ''[]'') FROM @extschema@.sentiment_stats s';
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_cluster_workers() IS
	'Background workers of this node and, on a Citus coordinator, of every worker node';
COMMENT ON FUNCTION @extschema@.sentiment_cluster_stats() IS
	'Batch statistics per attached table of this node and, on a Citus coordinator, of every worker node';

-- Like sentiment_workers: for operators.
REVOKE ALL ON FUNCTION @extschema@.sentiment_cluster_workers() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_cluster_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_cluster_workers() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_cluster_stats() TO pg_monitor;
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

-- The same with the sentiment model chosen (model => 'vader' | 'social'):
-- for social, sentiment_score is P(positive) - P(negative) and pos, neu,
-- neg are the three probabilities; topic clauses use the model too.
CREATE FUNCTION @extschema@.sentiment_analyze(
	input text,
	model text,
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
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_analyze';

COMMENT ON FUNCTION @extschema@.sentiment_analyze(text, text) IS
	'Sentiment with the chosen model (vader or social), emotion, topics and embedding of a text';

-- The three class probabilities of a text (model social by default).
CREATE FUNCTION @extschema@.sentiment_probabilities(
	input text,
	model text DEFAULT 'social',
	OUT negative double precision,
	OUT neutral double precision,
	OUT positive double precision,
	OUT sentiment_label text)
RETURNS record
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_probabilities';

COMMENT ON FUNCTION @extschema@.sentiment_probabilities(text, text) IS
	'P(negative), P(neutral), P(positive) of a text by the model (social by default; vader gives its proportions)';

-- The terms that moved a text's sentiment most, strongest first.
CREATE FUNCTION @extschema@.sentiment_explain(
	input text,
	model text DEFAULT 'vader',
	k integer DEFAULT 10)
RETURNS TABLE (rank integer, term text, contribution double precision)
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_explain';

COMMENT ON FUNCTION @extschema@.sentiment_explain(text, text, integer) IS
	'The k terms that moved the sentiment most with their contributions (VADER valences after rules, or the social model''s weights)';

-- The models built into the library, with the version each result records.
CREATE FUNCTION @extschema@.sentiment_models()
RETURNS TABLE (name text, kind text, version text, file_bytes bigint, is_default boolean)
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_models';

COMMENT ON FUNCTION @extschema@.sentiment_models() IS
	'The sentiment and emotion models of the library: name, version recorded with each result, model file size';

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
-- Retries.  A row whose processing fails becomes 'failed' with
-- processing_error, one more processing_attempts and an entry in its
-- bounded processing_error_history (attempt, time, SQLSTATE, message).
-- Failures that may pass (a trigger or constraint refusing the write, an
-- external analyser's sentiment_fail) get a retry time, processing_retry_at,
-- after an exponential backoff with jitter (sentiment_proc.retry_delay,
-- doubling up to sentiment_proc.retry_max_delay); the claim takes failed
-- rows whose time has come before pending rows.  After
-- sentiment_proc.max_attempts, or for failures that cannot pass by
-- themselves (no text, text too long), processing_retry_at stays NULL and
-- the row stays failed until sentiment_retry_failed() re-queues it or its
-- text changes.

-- The delay before the attempt after attempt number attempt (jittered),
-- NULL when attempt has reached sentiment_proc.max_attempts.
CREATE FUNCTION @extschema@.sentiment_retry_delay(attempt integer)
RETURNS interval
LANGUAGE C VOLATILE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_retry_delay';

COMMENT ON FUNCTION @extschema@.sentiment_retry_delay(integer) IS
	'Backoff after a failed attempt (jittered, doubling from sentiment_proc.retry_delay); NULL past sentiment_proc.max_attempts';

-- Re-queue failed rows: of one source or all, optionally only the given
-- ids, only errors matching a LIKE pattern, only a SQLSTATE (of the last
-- error).  Attempts start again from zero.  Returns the rows re-queued.
CREATE FUNCTION @extschema@.sentiment_retry_failed(
	source regclass DEFAULT NULL,
	ids bigint[] DEFAULT NULL,
	error_pattern text DEFAULT NULL,
	sqlstate text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src	record;
	v_n		bigint;
	v_total bigint := 0;
BEGIN
	IF sentiment_retry_failed.ids IS NOT NULL AND sentiment_retry_failed.source IS NULL THEN
		RAISE EXCEPTION 'ids need a source table'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the table the ids belong to, for example sentiment_retry_failed(''sentiment_data'', ARRAY[1, 2]).';
	END IF;
	PERFORM @extschema@.sentiment_registration(sentiment_retry_failed.source);
	FOR v_src IN
		SELECT s.source_table, s.id_column FROM @extschema@.sentiment_sources s
		 WHERE sentiment_retry_failed.source IS NULL OR s.source_table = sentiment_retry_failed.source
		 ORDER BY s.source_table::oid
	LOOP
		EXECUTE format(
			'UPDATE %s SET processing_status = ''pending'', processing_attempts = 0, '
			'processing_retry_at = NULL, processing_error = NULL '
			'WHERE processing_status = ''failed'' '
			'AND ($1 IS NULL OR %I = ANY ($1)) '
			'AND ($2 IS NULL OR processing_error LIKE $2) '
			'AND ($3 IS NULL OR processing_error_history -> -1 ->> ''sqlstate'' = $3)',
			v_src.source_table, v_src.id_column)
			USING sentiment_retry_failed.ids, error_pattern, sentiment_retry_failed.sqlstate;
		GET DIAGNOSTICS v_n = ROW_COUNT;
		v_total := v_total + v_n;
	END LOOP;
	-- the wake-up trigger fires only for new or edited text
	IF v_total > 0 THEN
		PERFORM @extschema@.sentiment_wake_workers();
	END IF;
	RETURN v_total;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_retry_failed(regclass, bigint[], text, text) IS
	'Re-queue failed rows (all, or by source, ids, error LIKE pattern, SQLSTATE); returns the rows re-queued';

-- A row's error history as rows, oldest first.
CREATE FUNCTION @extschema@.sentiment_error_history(
	source regclass,
	id bigint,
	OUT attempt integer,
	OUT failed_at timestamptz,
	OUT sqlstate text,
	OUT message text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_id_column name;
BEGIN
	v_id_column := (@extschema@.sentiment_registration(sentiment_error_history.source)).id_column;
	RETURN QUERY EXECUTE format(
		'SELECT (e ->> ''attempt'')::integer, (e ->> ''at'')::timestamptz, e ->> ''sqlstate'', e ->> ''message'' '
		'FROM %s, jsonb_array_elements(processing_error_history) WITH ORDINALITY AS h(e, n) '
		'WHERE %I = $1 ORDER BY h.n', sentiment_error_history.source, v_id_column)
		USING sentiment_error_history.id;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_error_history(regclass, bigint) IS
	'The latest errors of one row (attempt, time, SQLSTATE, message), oldest first';

REVOKE ALL ON FUNCTION @extschema@.sentiment_retry_failed(regclass, bigint[], text, text) FROM PUBLIC;
-- The processing queue of the original design: explicit requests to
-- (re-)analyse rows, say after a lexicon override changed.  The batch
-- (sentiment_process_batch and the workers alike) takes queued requests of a
-- source first, highest priority first, with SKIP LOCKED, then due retries,
-- then pending rows.  A request ends 'completed' or 'failed' (with the
-- row's error, or because the row was deleted); finished requests are
-- deleted after sentiment_proc.queue_retention, by the workers and at every
-- enqueue.  One queued request per row at most: enqueueing it again keeps the
-- higher priority.  A two-phase claim that takes a request marks it
-- claimed_until the claim's lease ends; other claims pass over it until then
-- (batches do not: they wait for the row), and sentiment_complete and
-- sentiment_fail end it.
CREATE TABLE @extschema@.sentiment_processing_queue (
	request_id		bigserial PRIMARY KEY,
	source_table	regclass NOT NULL,
	entry_id		bigint NOT NULL,
	priority		integer NOT NULL DEFAULT 0,
	status			text NOT NULL DEFAULT 'queued'
					CHECK (status IN ('queued', 'completed', 'failed')),
	requested_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	requested_by	name,
	started_at		timestamptz,
	completed_at	timestamptz,
	error			text,
	claimed_until	timestamptz		-- queued, taken by a two-phase claim until then
);

COMMENT ON TABLE @extschema@.sentiment_processing_queue IS
	'Requests to (re-)analyse rows, drained by sentiment_process_batch before plain pending rows, by priority';

CREATE UNIQUE INDEX sentiment_processing_queue_queued_key
	ON @extschema@.sentiment_processing_queue (source_table, entry_id) WHERE status = 'queued';
CREATE INDEX sentiment_processing_queue_claim_idx
	ON @extschema@.sentiment_processing_queue (source_table, priority DESC, request_id) WHERE status = 'queued';
CREATE INDEX sentiment_processing_queue_finished_idx
	ON @extschema@.sentiment_processing_queue (completed_at) WHERE status <> 'queued';

-- Queued requests survive pg_dump; finished ones are history.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_processing_queue', 'WHERE status = ''queued''');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_processing_queue_request_id_seq', '');

-- Written only through sentiment_enqueue and the batch (as the extension
-- owner); operators may read it.
REVOKE ALL ON @extschema@.sentiment_processing_queue FROM PUBLIC;
GRANT SELECT ON @extschema@.sentiment_processing_queue TO pg_monitor;

CREATE FUNCTION @extschema@.sentiment_prune_queue()
RETURNS bigint
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_prune_queue';

COMMENT ON FUNCTION @extschema@.sentiment_prune_queue() IS
	'Delete finished queue requests older than sentiment_proc.queue_retention (and those of detached tables); returns how many';

-- Queue rows of an attached table (ids NULL: every row) for analysis
-- (src/queue.c).  Runs with the caller's rights: the caller needs UPDATE on
-- the table and reads its keys; only the queue itself is written as the
-- extension's owner.  Not executable by PUBLIC (a DBA grants it to
-- operators).  Returns the requests queued or re-prioritised.
CREATE FUNCTION @extschema@.sentiment_enqueue(
	source regclass,
	ids bigint[] DEFAULT NULL,
	priority integer DEFAULT 0)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_enqueue';

COMMENT ON FUNCTION @extschema@.sentiment_enqueue(regclass, bigint[], integer) IS
	'Queue rows of an attached table (ids NULL: all) for (re-)analysis before pending rows; returns requests queued';

-- The two-phase API's access to the queue (src/queue.c): take queued
-- requests of a source by priority (locked until the caller's transaction
-- ends), and end those of rows completed or failed.  They check that the
-- caller may process the source (UPDATE on it) and read only the queue as
-- the owner; so whoever is granted sentiment_claim needs no grant of these
-- (they stay executable by PUBLIC, the UPDATE check is their guard).
CREATE FUNCTION @extschema@.sentiment_queue_take(source regclass, n integer, lease interval)
RETURNS bigint[]
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_queue_take';

COMMENT ON FUNCTION @extschema@.sentiment_queue_take(regclass, integer, interval) IS
	'Two-phase path: entry ids of up to n queued requests of a source, by priority, marked taken for the lease';

CREATE FUNCTION @extschema@.sentiment_queue_finish(
	source regclass, ids bigint[], claimed_at timestamptz[], failed boolean, error text DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_queue_finish';

COMMENT ON FUNCTION @extschema@.sentiment_queue_finish(regclass, bigint[], timestamptz[], boolean, text) IS
	'Two-phase path: end the queued requests (made before their claim) of rows completed or failed; returns how many';

REVOKE ALL ON FUNCTION @extschema@.sentiment_prune_queue() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_enqueue(regclass, bigint[], integer) FROM PUBLIC;
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
-- A claim is held by the session that made it ("pid:start", see
-- sentiment_claimant()); a client that completes from another session
-- passes the claim column it got.  Claims whose lease expired or whose
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

	-- (distributed tables are left to the nodes that hold them)
	FOR v_src IN
		SELECT s.source_table, s.id_column, s.text_column FROM @extschema@.sentiment_sources s
		 WHERE (sentiment_claim.source IS NULL OR s.source_table = sentiment_claim.source)
		   AND NOT @extschema@.sentiment_citus_distributed(s.source_table)
		 ORDER BY s.source_table::oid
	LOOP
		EXIT WHEN v_left <= 0;
		-- queued requests first, by priority, as a batch takes them (passed
		-- over by other claims for the lease; rows another claimant holds
		-- wait for it)
		v_queued := @extschema@.sentiment_queue_take(v_src.source_table, v_left, sentiment_claim.lease);
		RETURN QUERY EXECUTE format(
			'WITH c AS ('
			'  SELECT * FROM (SELECT s.%1$I AS cid FROM %2$s AS s '
			'    WHERE s.%1$I = ANY ($5) AND s.processing_status <> ''processing'' '
			'    ORDER BY array_position($5, s.%1$I::bigint) FOR NO KEY UPDATE OF s SKIP LOCKED) AS q '
			'  UNION ALL '
			'  SELECT * FROM (SELECT s.%1$I FROM %2$s AS s '
			'    WHERE s.processing_status = ''failed'' AND s.processing_retry_at <= now() '
			'    AND s.%1$I <> ALL ($5) '
			'    ORDER BY s.processing_retry_at LIMIT $1 FOR NO KEY UPDATE OF s SKIP LOCKED) AS r '
			'  UNION ALL '
			'  SELECT * FROM (SELECT s.%1$I FROM %2$s AS s WHERE s.processing_status = ''pending'' '
			'    AND s.%1$I <> ALL ($5) '
			'    ORDER BY s.%1$I LIMIT $1 FOR NO KEY UPDATE OF s SKIP LOCKED) AS p '
			'  LIMIT $1) '
			'UPDATE %2$s AS s SET processing_status = ''processing'', '
			'  processing_started_at = clock_timestamp(), processing_completed_at = NULL, '
			'  processing_lease_until = clock_timestamp() + $2, processing_claimed_by = $3, '
			'  processing_attempts = s.processing_attempts + 1, processing_retry_at = NULL '
			'FROM c WHERE s.%1$I = c.cid '
			'RETURNING $4, s.%1$I::bigint, s.%3$I::text, s.version::integer, s.processing_attempts::integer, '
			'  $3, s.processing_lease_until, s.author_followers::bigint, s.likes::bigint, '
			'  s.shares::bigint, s.replies::bigint',
			v_src.id_column, v_src.source_table, v_src.text_column)
			USING v_left, sentiment_claim.lease, v_claimant, v_src.source_table, v_queued;
		GET DIAGNOSTICS v_n = ROW_COUNT;
		v_left := v_left - v_n;
	END LOOP;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_claim(integer, interval, regclass) IS
	'Two-phase path: claim up to n rows for an external analyser with a lease; returns them with version and claim';

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
	v_claim		text := COALESCE(sentiment_complete.claim, @extschema@.sentiment_claimant());
	v_src		record;
	v_emb		record;
	v_bad		record;
	v_done		bigint[];
	v_at		timestamptz[];
	v_dims		integer := @extschema@.sentiment_embedding_dims();
	c_rows CONSTANT text := 'jsonb_to_recordset($1) AS r(id bigint, version integer, sentiment_label text, '
		'sentiment_score double precision, emotion_label text, emotion_score double precision, '
		'influence_weight double precision, topics text[], embedding real[])';
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

	-- The rows still claimed by us at the version we read.
	EXECUTE format(
		'WITH u AS (UPDATE %1$s AS s SET sentiment_label = r.sentiment_label, '
		'  sentiment_score = r.sentiment_score, emotion_label = r.emotion_label, '
		'  emotion_score = r.emotion_score, influence_weight = r.influence_weight, '
		'  processing_status = ''completed'', processing_completed_at = clock_timestamp(), '
		'  processing_error = NULL, processing_retry_at = NULL, '
		'  processing_lease_until = NULL, processing_claimed_by = NULL '
		'FROM %3$s WHERE s.%2$I = r.id AND s.version = r.version '
		'  AND s.processing_status = ''processing'' AND s.processing_claimed_by = $2 '
		'RETURNING s.%2$I::bigint AS id, s.processing_started_at AS at) '
		'SELECT COALESCE(array_agg(u.id), ''{}''), COALESCE(array_agg(u.at), ''{}'') FROM u',
		v_src.source_table, v_src.id_column, c_rows)
		INTO v_done, v_at USING sentiment_complete.results, v_claim;

	IF cardinality(v_done) > 0 THEN
		PERFORM @extschema@.sentiment_queue_finish(v_src.source_table, v_done, v_at, false);
		EXECUTE format('DELETE FROM %s WHERE mention_id = ANY ($1)', v_src.topics_table) USING v_done;
		EXECUTE format('DELETE FROM %s WHERE entry_id = ANY ($1)', v_src.embeddings_table) USING v_done;
		EXECUTE format(
			'INSERT INTO %s (mention_id, topic_key) SELECT DISTINCT r.id, t.key FROM %s, unnest(r.topics) AS t(key) '
			'WHERE r.id = ANY ($2)', v_src.topics_table, c_rows)
			USING sentiment_complete.results, v_done;
		-- real[] as given; cast, by its qualified name, to a pgvector type
		EXECUTE format(
			'INSERT INTO %s (entry_id, embedding) SELECT r.id, r.embedding%s FROM %s '
			'WHERE r.id = ANY ($2) AND r.embedding IS NOT NULL', v_src.embeddings_table,
			COALESCE('::' || v_emb.type_sql, ''), c_rows)
			USING sentiment_complete.results, v_done;
	END IF;

	-- The others, and why (read afresh: a concurrent edit shows).
	RETURN QUERY EXECUTE format(
		'SELECT r.id, r.id = ANY ($2), CASE WHEN r.id = ANY ($2) THEN NULL '
		'  WHEN s.%2$I IS NULL THEN ''no such row'' '
		'  WHEN s.version <> r.version THEN ''version changed: the text was edited'' '
		'  WHEN s.processing_status <> ''processing'' OR s.processing_claimed_by IS DISTINCT FROM $3 '
		'    THEN ''not claimed by this claimant (lease expired or claim returned)'' '
		'  ELSE ''changed concurrently'' END '
		'FROM %3$s LEFT JOIN %1$s AS s ON s.%2$I = r.id',
		v_src.source_table, v_src.id_column, c_rows)
		USING sentiment_complete.results, v_done, v_claim;
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
	v_claim		text := COALESCE(sentiment_fail.claim, @extschema@.sentiment_claimant());
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

	EXECUTE format(
		'WITH u AS (UPDATE %1$s AS s SET processing_status = ''failed'', processing_error = $2, '
		'  processing_completed_at = clock_timestamp(), '
		'  sentiment_label = NULL, sentiment_score = NULL, emotion_label = NULL, emotion_score = NULL, '
		'  influence_weight = NULL, processing_lease_until = NULL, processing_claimed_by = NULL, '
		'  processing_retry_at = CASE WHEN $4 THEN clock_timestamp() '
		'    + @extschema@.sentiment_retry_delay(s.processing_attempts::integer) END, '
		'  processing_error_history = @extschema@.sentiment_error_history_add(s.processing_error_history, '
		'    s.processing_attempts::integer, $3, $2, current_setting(''sentiment_proc.error_history'')::integer) '
		'WHERE s.%2$I = ANY ($1) AND s.processing_status = ''processing'' AND s.processing_claimed_by = $5 '
		'RETURNING s.%2$I::bigint AS id, s.processing_started_at AS at) '
		'SELECT COALESCE(array_agg(u.id), ''{}''), COALESCE(array_agg(u.at), ''{}'') FROM u',
		v_src.source_table, v_src.id_column)
		INTO v_done, v_at
		USING sentiment_fail.ids, sentiment_fail.error, sentiment_fail.sqlstate,
			  COALESCE(sentiment_fail.retry, true), v_claim;
	IF cardinality(v_done) > 0 THEN
		PERFORM @extschema@.sentiment_queue_finish(v_src.source_table, v_done, v_at, true, sentiment_fail.error);
		EXECUTE format('DELETE FROM %s WHERE mention_id = ANY ($1)', v_src.topics_table) USING v_done;
		EXECUTE format('DELETE FROM %s WHERE entry_id = ANY ($1)', v_src.embeddings_table) USING v_done;
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
REVOKE ALL ON FUNCTION @extschema@.sentiment_complete(regclass, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_complete(regclass, bigint, integer, text, double precision, text, double precision, double precision, text[], real[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_fail(regclass, bigint[], text, text, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_fail(regclass, bigint, text, text, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_reset_stuck(regclass, boolean) FROM PUBLIC;
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
	PERFORM @extschema@.sentiment_registration(source);
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
CREATE FUNCTION @extschema@.sentiment_cutover_internal(
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
	FOR v_src IN SELECT * FROM @extschema@.sentiment_readable_sources() LOOP
		source := v_src.source_table;
		foreign_claim_grace := @extschema@.sentiment_foreign_grace(v_src.source_table);
		EXECUTE format(
			'SELECT count(*) FILTER (WHERE processing_claimed_by IS NOT NULL), '
			'       count(*) FILTER (WHERE processing_claimed_by IS NULL), '
			'       count(*) FILTER (WHERE processing_claimed_by IS NULL AND processing_started_at < now() - $1 '
			'                          AND (processing_completed_at IS NULL OR processing_started_at > processing_completed_at)), '
			'       min(processing_started_at) FILTER (WHERE processing_claimed_by IS NULL) '
			'  FROM %s WHERE processing_status = ''processing''', v_src.source_table)
			INTO processing_ours, processing_foreign, foreign_overdue, oldest_foreign_started_at
			USING foreign_claim_grace;
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
	SELECT * FROM @extschema@.sentiment_cutover_internal();

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
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src	record;
BEGIN
	FOR v_src IN
		SELECT s.source_table FROM @extschema@.sentiment_readable_sources() s
		 WHERE (sentiment_completions.source IS NULL OR s.source_table = sentiment_completions.source)
		 ORDER BY s.source_table::oid
	LOOP
		RETURN QUERY EXECUTE format(
			'SELECT $1, CASE WHEN processing_attempts > 0 THEN ''sentiment_proc'' ELSE ''other'' END, '
			'       count(*), min(processing_completed_at)::timestamptz, max(processing_completed_at)::timestamptz '
			'  FROM %s WHERE processing_status = ''completed'' '
			'   AND ($2 IS NULL OR processing_completed_at >= $2) '
			' GROUP BY 2 ORDER BY 2', v_src.source_table)
			USING v_src.source_table, sentiment_completions.since;
	END LOOP;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_completions(regclass, timestamptz) IS
	'Completed rows per source by who completed them (sentiment_proc or other), optionally since a time; reads every row';

REVOKE ALL ON FUNCTION @extschema@.sentiment_set_foreign_grace(regclass, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_cutover_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_completions(regclass, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_cutover_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_completions(regclass, timestamptz) TO pg_monitor;
GRANT SELECT ON @extschema@.sentiment_cutover TO pg_monitor;
-- The two-phase path's lease, for long analyses and clean shutdowns of an
-- external analyser (examples/python/):
--
--   sentiment_renew(source, ids, lease)  extends the lease of rows the caller
--                                         still holds; returns those ids, so
--                                         the caller drops the others (their
--                                         claim was returned: a result for
--                                         them would be refused);
--   sentiment_release(source, ids)       gives rows the caller holds back to
--                                         pending at once, untried: the
--                                         claim's attempt is taken back.

CREATE FUNCTION @extschema@.sentiment_renew(
	source regclass,
	ids bigint[],
	lease interval,
	claim text DEFAULT NULL)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_claim		text := COALESCE(sentiment_renew.claim, @extschema@.sentiment_claimant());
	v_src		record;
	v_done		bigint[];
BEGIN
	IF sentiment_renew.lease IS NULL OR sentiment_renew.lease <= interval '0'
		OR sentiment_renew.lease > interval '7 days' THEN
		RAISE EXCEPTION 'lease must be a positive interval of at most 7 days'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the time the analyser still needs for the rows, for example interval ''5 minutes''.';
	END IF;
	v_src := @extschema@.sentiment_registration(sentiment_renew.source);
	EXECUTE format(
		'WITH u AS (UPDATE %1$s AS s SET processing_lease_until = clock_timestamp() + $2 '
		'WHERE s.%2$I = ANY ($1) AND s.processing_status = ''processing'' AND s.processing_claimed_by = $3 '
		'RETURNING s.%2$I::bigint AS id) SELECT COALESCE(array_agg(u.id ORDER BY u.id), ''{}'') FROM u',
		v_src.source_table, v_src.id_column)
		INTO v_done USING sentiment_renew.ids, sentiment_renew.lease, v_claim;
	RETURN v_done;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_renew(regclass, bigint[], interval, text) IS
	'Two-phase path: extend the lease of rows the caller still holds; returns their ids';

CREATE FUNCTION @extschema@.sentiment_release(
	source regclass,
	ids bigint[],
	claim text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_claim		text := COALESCE(sentiment_release.claim, @extschema@.sentiment_claimant());
	v_src		record;
	v_n			bigint;
BEGIN
	v_src := @extschema@.sentiment_registration(sentiment_release.source);
	EXECUTE format(
		'UPDATE %1$s AS s SET processing_status = ''pending'', '
		'  processing_attempts = greatest(s.processing_attempts - 1, 0), '
		'  processing_lease_until = NULL, processing_claimed_by = NULL '
		'WHERE s.%2$I = ANY ($1) AND s.processing_status = ''processing'' AND s.processing_claimed_by = $2',
		v_src.source_table, v_src.id_column)
		USING sentiment_release.ids, v_claim;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	RETURN v_n;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_release(regclass, bigint[], text) IS
	'Two-phase path: give rows the caller holds back to pending, untried (their attempt is not counted); returns how many';

REVOKE ALL ON FUNCTION @extschema@.sentiment_renew(regclass, bigint[], interval, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_release(regclass, bigint[], text) FROM PUBLIC;

-- ---- user dictionaries: domain words and topics ----

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
	PERFORM @extschema@.sentiment_registration(sentiment_reanalyze.source);
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

-- sentiment_analyze (1.0) now reports dictionary topics too.
COMMENT ON FUNCTION @extschema@.sentiment_analyze(text) IS
	'Sentiment (VADER with the lexicon overrides), emotion, topics (hashtags and the topic dictionary) and a 256-dimension embedding of a text';
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
-- computed as for real[].  Runs with the caller's rights: the caller reads
-- the source and its embeddings table.  Ties in similarity go to the lower
-- entry_id.  Stored real[] embeddings of another length (from an external
-- analyser before 1.2 refused them) are left out, with a notice.
CREATE FUNCTION @extschema@.sentiment_similar_internal(
	p_source regclass, p_query text, p_entry bigint, p_k integer)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		record;
	v_col		record;
	v_vector	real[];
	v_ef		text;
BEGIN
	IF p_k IS NULL OR p_k < 1 OR p_k > 10000 THEN
		RAISE EXCEPTION 'k must be between 1 and 10000'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Ask for the number of neighbours wanted, 10 by default.';
	END IF;
	SELECT * INTO v_src FROM @extschema@.sentiment_similar_source(p_source);
	IF p_entry IS NOT NULL THEN
		EXECUTE format('SELECT e.embedding::pg_catalog.float4[] FROM %s e WHERE e.entry_id = $1',
					   v_src.embeddings_table)
			INTO v_vector USING p_entry;
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
	SELECT * INTO v_col FROM @extschema@.sentiment_embedding_column(v_src.embeddings_table);
	IF v_col.type_sql IS NOT NULL THEN
		-- an all-zero query has no direction: nothing is similar to it
		IF @extschema@.sentiment_cosine(v_vector, v_vector) IS NULL THEN
			RETURN;
		END IF;
		-- An HNSW scan returns at most hnsw.ef_search rows, and recall
		-- grows with it: at least k + 1 and 100 for this query, then the
		-- caller's value again.
		v_ef := current_setting('hnsw.ef_search', true);
		PERFORM set_config('hnsw.ef_search',
			greatest(p_k + 1, 100, COALESCE(NULLIF(v_ef, '')::integer, 0))::text, true);
		RETURN QUERY EXECUTE format(
			'SELECT n.entry_id::bigint, n.similarity, t.%1$I::text '
			'  FROM (SELECT e.entry_id, @extschema@.sentiment_cosine(e.embedding::pg_catalog.float4[], $1) AS similarity '
			'          FROM %2$s e WHERE $3 IS NULL OR e.entry_id <> $3 '
			'         ORDER BY e.embedding OPERATOR(%5$I.<=>) $1::%6$s LIMIT $2) n '
			'  JOIN %3$s t ON t.%4$I = n.entry_id '
			' WHERE n.similarity IS NOT NULL '
			' ORDER BY n.similarity DESC, n.entry_id',
			v_src.text_column, v_src.embeddings_table, v_src.source_table, v_src.id_column,
			v_col.vector_schema, v_col.type_sql)
			USING v_vector, p_k, p_entry;
		-- (unset before: pgvector was not loaded yet; now it has a default)
		PERFORM set_config('hnsw.ef_search',
			COALESCE(v_ef, (SELECT s.reset_val FROM pg_settings s WHERE s.name = 'hnsw.ef_search')), true);
		RETURN;
	END IF;
	RETURN QUERY EXECUTE format(
		'SELECT n.entry_id::bigint, n.similarity, t.%I::text '
		'  FROM (SELECT e.entry_id, @extschema@.sentiment_cosine(e.embedding, $1) AS similarity '
		'          FROM %s e WHERE ($3 IS NULL OR e.entry_id <> $3) AND cardinality(e.embedding) = cardinality($1) '
		'         ORDER BY 2 DESC NULLS LAST, 1 LIMIT $2) n '
		'  JOIN %s t ON t.%I = n.entry_id '
		' WHERE n.similarity IS NOT NULL '
		' ORDER BY n.similarity DESC, n.entry_id',
		v_src.text_column, v_src.embeddings_table, v_src.source_table, v_src.id_column)
		USING v_vector, p_k, p_entry;
	PERFORM @extschema@.sentiment_similar_check_dims(v_src.embeddings_table, cardinality(v_vector));
END
$body$;

-- The k rows of a source most similar to a text (the source: the given
-- one, else the only attached table, else the one named sentiment_data).
CREATE FUNCTION @extschema@.sentiment_similar(
	query text,
	k integer DEFAULT 10,
	source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM @extschema@.sentiment_similar_internal(source, query, NULL, k)
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
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM @extschema@.sentiment_similar_internal(source, NULL, entry, k)
$$;

COMMENT ON FUNCTION @extschema@.sentiment_similar(bigint, integer, regclass) IS
	'The k rows most similar to a stored row (itself excluded) by cosine of their embeddings';
-- Embeddings as pgvector types: the embeddings side table's column may be
-- real[] (always available), or vector(256) / halfvec(256) with an HNSW
-- index (cosine) when the pgvector extension ("vector") is installed in the
-- database.  pgvector is optional: nothing here needs it unless one of its
-- types is asked for.  Every pgvector type, operator class and operator is
-- qualified with the schema pgvector was installed in, read from
-- pg_extension, since processing runs with search_path = pg_catalog, pg_temp.

-- The schema of the pgvector extension in this database, NULL without it.
CREATE FUNCTION @extschema@.sentiment_vector_schema()
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
CREATE FUNCTION @extschema@.sentiment_embedding_column(p_table regclass,
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
	vector_schema := @extschema@.sentiment_vector_schema();
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
CREATE FUNCTION @extschema@.sentiment_embedding_type_sql(p_type text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_schema	name := @extschema@.sentiment_vector_schema();
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
-- embeddings table holding vector or halfvec; nothing for real[] or when
-- such an index is there already.
CREATE FUNCTION @extschema@.sentiment_embedding_index(p_table regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_col	record;
	v_name	name;
BEGIN
	SELECT * INTO v_col FROM @extschema@.sentiment_embedding_column(p_table);
	IF v_col.type_sql IS NULL THEN
		RETURN;
	END IF;
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
BEGIN
	PERFORM @extschema@.sentiment_check_attach_privilege();
	IF embedding_type IS NULL THEN
		RAISE EXCEPTION 'embedding type must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Use ''vector'', ''halfvec'' (both need pgvector) or ''real[]''.';
	END IF;
	v_src := @extschema@.sentiment_registration(source);
	IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = v_src.embeddings_table), 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of table %', v_src.embeddings_table
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Ask the owner of the table to convert its embeddings.';
	END IF;
	v_new := @extschema@.sentiment_embedding_type_sql(embedding_type);
	v_kind := CASE WHEN v_new = 'real[]' THEN 'real[]'
				   ELSE (SELECT t.typname FROM pg_type t WHERE t.oid = v_new::regtype) END;
	SELECT * INTO v_old FROM @extschema@.sentiment_embedding_column(v_src.embeddings_table);

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
		-- vector and halfvec go through real[]: pgvector casts both ways.
		EXECUTE format('ALTER TABLE %s ALTER COLUMN embedding TYPE %s USING embedding::pg_catalog.float4[]%s',
					   v_src.embeddings_table, v_new,
					   CASE WHEN v_new = 'real[]' THEN '' ELSE '::' || v_new END);
	END IF;
	PERFORM @extschema@.sentiment_embedding_index(v_src.embeddings_table);
	RETURN (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
			 WHERE a.attrelid = v_src.embeddings_table AND a.attname = 'embedding');
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_convert_embeddings(regclass, text) IS
	'Store an attached table''s embeddings as vector, halfvec (pgvector, with an HNSW index) or real[], converting them in place';

REVOKE ALL ON FUNCTION @extschema@.sentiment_convert_embeddings(regclass, text) FROM PUBLIC;

-- Whoever may attach may also convert (on an update from 1.1, the roles a
-- DBA granted attach to; on a fresh install nobody yet).
DO $$
DECLARE
	v_role name;
BEGIN
	FOR v_role IN
		SELECT DISTINCT pg_get_userbyid(a.grantee)
		  FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
		 WHERE p.oid = '@extschema@.sentiment_attach(text, name, name, name, name, text)'::regprocedure
		   AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner
	LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.sentiment_convert_embeddings(regclass, text) TO %I',
					   v_role);
	END LOOP;
END
$$;
-- Background workers (src/worker.c): the wake-up trigger function that
-- sentiment_attach() puts on every source, and the sentiment_workers view.

-- Fired AFTER INSERT OR UPDATE OF text ... FOR EACH STATEMENT (on a source
-- and its partitions, see sentiment_wakeup_install): arms a wake-up of one
-- idle worker of this database at commit.
-- EXECUTE is needed only to create the trigger: those who may attach.
CREATE FUNCTION @extschema@.sentiment_wakeup_trigger()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_wakeup_trigger';

REVOKE ALL ON FUNCTION @extschema@.sentiment_wakeup_trigger() FROM PUBLIC;

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
-- Monitoring: statistics and batches in flight from shared memory
-- (src/stats.c), queue status, failures and stuck rows from the source
-- tables, and a summary for people.
--
-- Who may see what (docs/settings-and-roles.md has the GRANTs):
--   * pg_monitor members read every view here.  The views that read the
--     source tables (sentiment_queue_status, sentiment_failures,
--     sentiment_stuck) run as the caller and list only the sources the
--     caller may SELECT from; nothing here reads a user's table with the
--     extension owner's rights.  The shared-memory views need no table
--     access at all.
--   * sentiment_stats_reset is revoked from PUBLIC: an administrator grants it
--     to the operators.

-- The attached sources the caller may read, tables only: a registered
-- relation turned into a view could run its owner's code for whoever reads
-- it.  Every view below that reads sources goes through here.
CREATE FUNCTION @extschema@.sentiment_readable_sources(
	OUT source_table regclass, OUT id_column name, OUT topics_table regclass)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.source_table, s.id_column, s.topics_table
	  FROM @extschema@.sentiment_sources s JOIN pg_class c ON c.oid = s.source_table
	 WHERE c.relkind IN ('r', 'p') AND has_table_privilege(s.source_table, 'SELECT')
	 ORDER BY s.source_table::oid
$$;

-- ---- statistics (shared memory; needs shared_preload_libraries) ----------

CREATE FUNCTION @extschema@.sentiment_stats_internal(
	OUT source regclass,
	OUT batches bigint,
	OUT rows_completed bigint,
	OUT rows_failed bigint,
	OUT batches_rolled_back bigint,
	OUT rows_rolled_back bigint,
	OUT claim_time double precision,
	OUT analyse_time double precision,
	OUT write_time double precision,
	OUT last_batch_at timestamptz,
	OUT last_batch_rows bigint,
	OUT last_batch_time double precision,
	OUT stats_since timestamptz)
RETURNS SETOF record
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_stats_internal';

-- Times are milliseconds, spent in committed batches.  rows_per_second is
-- the rate while busy (rows over the time spent in batches), not over
-- wall-clock time: see sentiment_throughput for that.
CREATE VIEW @extschema@.sentiment_stats AS
	SELECT s.source,
		   s.batches,
		   s.rows_completed,
		   s.rows_failed,
		   s.batches_rolled_back,
		   s.rows_rolled_back,
		   s.claim_time,
		   s.analyse_time,
		   s.write_time,
		   CASE WHEN s.batches > 0
				THEN (s.claim_time + s.analyse_time + s.write_time) / s.batches END AS mean_batch_time,
		   CASE WHEN s.claim_time + s.analyse_time + s.write_time > 0
				THEN pg_catalog.round(((s.rows_completed + s.rows_failed)
					 / ((s.claim_time + s.analyse_time + s.write_time) / 1000.0))::numeric, 1) END
				AS rows_per_second,
		   s.last_batch_at,
		   s.last_batch_rows,
		   s.last_batch_time,
		   s.stats_since
	  FROM @extschema@.sentiment_stats_internal() s
	 ORDER BY s.source NULLS FIRST;

COMMENT ON VIEW @extschema@.sentiment_stats IS
	'Committed batches per attached source of this database (source NULL: the database total), from shared memory; times in ms';

CREATE FUNCTION @extschema@.sentiment_stats_reset(source regclass DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_stats_reset';

COMMENT ON FUNCTION @extschema@.sentiment_stats_reset(regclass) IS
	'Forget the statistics of one source, or (NULL) of every source and the total of this database; returns the rows removed';

-- Per source and minute, the last hour, one row for every minute of it
-- (zeros included) for each source that did anything in that hour.  The
-- current minute is still filling up.
CREATE FUNCTION @extschema@.sentiment_throughput_internal(
	OUT source regclass,
	OUT minute timestamptz,
	OUT rows_completed bigint,
	OUT rows_failed bigint,
	OUT batches bigint)
RETURNS SETOF record
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_throughput_internal';

CREATE VIEW @extschema@.sentiment_throughput AS
	WITH t AS (
		SELECT * FROM @extschema@.sentiment_throughput_internal()
	), sources AS (
		SELECT DISTINCT t.source FROM t
	), minutes AS (
		SELECT pg_catalog.generate_series(
				   pg_catalog.date_trunc('minute', pg_catalog.now()) - interval '59 minutes',
				   pg_catalog.date_trunc('minute', pg_catalog.now()),
				   interval '1 minute') AS minute
	)
	SELECT s.source,
		   m.minute,
		   COALESCE(t.rows_completed, 0) AS rows_completed,
		   COALESCE(t.rows_failed, 0) AS rows_failed,
		   COALESCE(t.batches, 0) AS batches,
		   pg_catalog.round(COALESCE(t.rows_completed + t.rows_failed, 0) / 60.0, 2) AS rows_per_second
	  FROM sources s
	 CROSS JOIN minutes m
	  LEFT JOIN t ON t.source IS NOT DISTINCT FROM s.source AND t.minute = m.minute
	 ORDER BY s.source NULLS FIRST, m.minute;

COMMENT ON VIEW @extschema@.sentiment_throughput IS
	'Rows finished per minute over the last hour, per source (source NULL: the database total)';

-- Batches in flight, in every database, with their phase.
CREATE FUNCTION @extschema@.sentiment_batch_progress_internal(
	OUT pid integer,
	OUT dboid oid,
	OUT relid oid,
	OUT phase text,
	OUT batch_size integer,
	OUT rows_claimed integer,
	OUT batch_started_at timestamptz,
	OUT phase_started_at timestamptz)
RETURNS SETOF record
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_batch_progress_internal';

CREATE VIEW @extschema@.sentiment_batch_progress AS
	SELECT p.pid,
		   d.datname AS database,
		   -- a table of another database cannot be named from here
		   CASE WHEN d.datname = pg_catalog.current_database() THEN p.relid::regclass END AS source,
		   p.relid AS source_oid,
		   a.backend_type,
		   p.phase,
		   p.batch_size,
		   p.rows_claimed,
		   p.batch_started_at,
		   p.phase_started_at,
		   pg_catalog.clock_timestamp() - p.batch_started_at AS elapsed
	  FROM @extschema@.sentiment_batch_progress_internal() p
	  LEFT JOIN pg_catalog.pg_database d ON d.oid = p.dboid
	  LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = p.pid
	 ORDER BY p.batch_started_at;

COMMENT ON VIEW @extschema@.sentiment_batch_progress IS
	'Batches in flight (workers and sentiment_process_batch callers): phase claim, analyse or write';

-- ---- queue status, failures and stuck rows (SQL; no preload needed) ------

-- Counting is cheap because attach builds partial indexes that hold only
-- pending rows (the claim index) and only processing and failed rows (the
-- status index): each count reads those rows' index entries, never the
-- table.  count_limit caps each count for a backlog of many millions (the
-- count then says "at least").  Completed rows are not counted: that would
-- read the whole table; completed_estimate comes from pg_class.reltuples
-- (kept by VACUUM, ANALYZE and autovacuum) less the counted rows, and is
-- NULL until the table was first vacuumed or analysed.
CREATE FUNCTION @extschema@.sentiment_queue_status_internal(
	count_limit bigint DEFAULT 1000000,
	OUT source regclass,
	OUT pending bigint,
	OUT processing bigint,
	OUT failed bigint,
	OUT counts_capped boolean,
	OUT completed_estimate bigint,
	OUT oldest_pending_at timestamptz,
	OUT oldest_pending_age interval,
	OUT oldest_processing_started_at timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		record;
	v_reltuples double precision;
	v_unknown	boolean;
	v_has_created boolean;
BEGIN
	IF count_limit IS NULL OR count_limit < 1 THEN
		RAISE EXCEPTION 'count_limit must be a positive number'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Leave it out for 1000000.';
	END IF;
	FOR v_src IN SELECT * FROM @extschema@.sentiment_readable_sources() LOOP
		source := v_src.source_table;
		EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE processing_status = ''pending'' LIMIT $1) q',
					   v_src.source_table) INTO pending USING count_limit;
		EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE processing_status = ''processing'' LIMIT $1) q',
					   v_src.source_table) INTO processing USING count_limit;
		EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE processing_status = ''failed'' LIMIT $1) q',
					   v_src.source_table) INTO failed USING count_limit;
		counts_capped := pending >= count_limit OR processing >= count_limit OR failed >= count_limit;

		-- the table itself, or every leaf of a partitioned one; -1 is
		-- "never vacuumed or analysed"
		SELECT sum(c.reltuples) FILTER (WHERE c.reltuples >= 0),
			   bool_or(c.reltuples < 0)
		  INTO v_reltuples, v_unknown
		  FROM pg_class c
		 WHERE c.relkind = 'r'
		   AND (c.oid = v_src.source_table
				OR c.oid IN (SELECT t.relid FROM pg_partition_tree(v_src.source_table) t WHERE t.isleaf));
		-- (a distributed table's rows are in its shards, on other nodes)
		completed_estimate := CASE WHEN v_unknown IS FALSE
									AND NOT @extschema@.sentiment_citus_distributed(v_src.source_table)
			THEN greatest(0, v_reltuples::bigint - pending - processing - failed) END;

		-- The first pending row in claim order is the oldest waiting one
		-- (ids grow with inserts); its created_at, where the table has one.
		SELECT EXISTS (SELECT FROM pg_attribute a
						WHERE a.attrelid = v_src.source_table AND a.attname = 'created_at'
						  AND NOT a.attisdropped
						  AND a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype))
		  INTO v_has_created;
		oldest_pending_at := NULL;
		IF v_has_created AND pending > 0 THEN
			EXECUTE format('SELECT created_at::timestamptz FROM %s WHERE processing_status = ''pending'' ORDER BY %I LIMIT 1',
						   v_src.source_table, v_src.id_column) INTO oldest_pending_at;
		END IF;
		oldest_pending_age := now() - oldest_pending_at;

		EXECUTE format('SELECT min(processing_started_at) FROM %s WHERE processing_status = ''processing''',
					   v_src.source_table) INTO oldest_processing_started_at;
		RETURN NEXT;
	END LOOP;
END
$body$;

CREATE VIEW @extschema@.sentiment_queue_status AS
	SELECT * FROM @extschema@.sentiment_queue_status_internal();

COMMENT ON VIEW @extschema@.sentiment_queue_status IS
	'Per attached source: pending, processing and failed rows (counted through partial indexes), an estimate of completed rows, and the age of the oldest pending row';

-- Failed rows grouped by error, for the sources the caller may read.
CREATE FUNCTION @extschema@.sentiment_failures_internal(
	OUT source regclass,
	OUT error text,
	OUT rows bigint,
	OUT first_failed_at timestamptz,
	OUT last_failed_at timestamptz,
	OUT max_attempts integer,
	OUT example_id bigint)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src record;
BEGIN
	FOR v_src IN SELECT * FROM @extschema@.sentiment_readable_sources() LOOP
		RETURN QUERY EXECUTE format(
			'SELECT $1, processing_error::text, count(*), min(processing_completed_at), '
			'max(processing_completed_at), max(processing_attempts)::integer, min(%I)::bigint '
			'FROM %s WHERE processing_status = ''failed'' '
			'GROUP BY processing_error ORDER BY count(*) DESC, processing_error',
			v_src.id_column, v_src.source_table)
			USING v_src.source_table;
	END LOOP;
END
$body$;

CREATE VIEW @extschema@.sentiment_failures AS
	SELECT * FROM @extschema@.sentiment_failures_internal();

COMMENT ON VIEW @extschema@.sentiment_failures IS
	'Failed rows grouped by error text, per attached source the caller may read';

-- Rows committed as 'processing' whose claim is abandoned.  Batches never
-- commit that state (a claim and its results are one transaction), only the
-- two-phase path for analysers outside the server does, with a lease and
-- its claimant, and another system that claims rows itself (no
-- claimant: 57_foreign_claims.sql).  A claim is stuck when its lease
-- expired, its claimant's session is gone, it has a claimant but no lease,
-- or, claimed elsewhere, its grace period is over; the workers' reaper and
-- sentiment_reset_stuck() return such rows to pending.
CREATE FUNCTION @extschema@.sentiment_stuck_internal(
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
	FOR v_src IN SELECT * FROM @extschema@.sentiment_readable_sources() LOOP
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

CREATE VIEW @extschema@.sentiment_stuck AS
	SELECT * FROM @extschema@.sentiment_stuck_internal();

COMMENT ON VIEW @extschema@.sentiment_stuck IS
	'Two-phase claims whose lease expired or whose claimant is gone, and rows claimed elsewhere past their grace, per source the caller may read';

-- ---- a summary for people (the demo ends with it) --------------------------

-- Reads every row of the sources: for a demo or a report, not for polling.
CREATE FUNCTION @extschema@.sentiment_summary(
	source regclass DEFAULT NULL,
	top_topics integer DEFAULT 5,
	OUT section text,
	OUT item text,
	OUT rows bigint,
	OUT value text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src	record;
	v_total bigint;
	v_stats record;
BEGIN
	FOR v_src IN
		SELECT s.source_table, s.topics_table, s.id_column FROM @extschema@.sentiment_readable_sources() s
		 WHERE sentiment_summary.source IS NULL OR s.source_table = sentiment_summary.source
	LOOP
		EXECUTE format('SELECT count(*) FROM %s', v_src.source_table) INTO v_total;
		section := 'source';
		item := v_src.source_table::text;
		rows := v_total;
		value := NULL;
		RETURN NEXT;

		RETURN QUERY EXECUTE format(
			'SELECT ''status'', processing_status::text, count(*), '
			'round(100.0 * count(*) / $1, 1) || '' %%'' '
			'FROM %s GROUP BY processing_status ORDER BY count(*) DESC, 2', v_src.source_table)
			USING greatest(v_total, 1);

		-- rates from shared memory, when the library is preloaded
		BEGIN
			SELECT s.batches, s.rows_completed, s.rows_failed, s.rows_per_second, s.mean_batch_time
			  INTO v_stats
			  FROM @extschema@.sentiment_stats s WHERE s.source = v_src.source_table;
			IF FOUND THEN
				section := 'rate';
				item := 'rows finished';
				rows := v_stats.rows_completed + v_stats.rows_failed;
				value := v_stats.rows_per_second::text || ' rows/s while processing';
				RETURN NEXT;
				item := 'batches';
				rows := v_stats.batches;
				value := round(v_stats.mean_batch_time::numeric, 1)::text || ' ms each on average';
				RETURN NEXT;
			END IF;
		EXCEPTION WHEN object_not_in_prerequisite_state OR insufficient_privilege THEN
			NULL;				-- not preloaded, or not a pg_monitor member: no rates
		END;

		RETURN QUERY EXECUTE format(
			'SELECT ''sentiment'', sentiment_label::text, count(*), '
			'round(100.0 * count(*) / sum(count(*)) OVER (), 1) || '' %%'' '
			'FROM %s WHERE processing_status = ''completed'' '
			'GROUP BY sentiment_label ORDER BY count(*) DESC, 2', v_src.source_table);

		RETURN QUERY EXECUTE format(
			'SELECT ''emotion'', emotion_label::text, count(*), '
			'round(100.0 * count(*) / sum(count(*)) OVER (), 1) || '' %%'' '
			'FROM %s WHERE processing_status = ''completed'' '
			'GROUP BY emotion_label ORDER BY count(*) DESC, 2', v_src.source_table);

		RETURN QUERY EXECUTE format(
			'SELECT ''topic'', topic_key::text, count(*), '
			'round(100.0 * count(*) / $1, 1) || '' %%'' '
			'FROM %s GROUP BY topic_key ORDER BY count(*) DESC, 2 LIMIT $2', v_src.topics_table)
			USING greatest(v_total, 1), top_topics;
	END LOOP;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_summary(regclass, integer) IS
	'Rows by status, rates, sentiment and emotion distribution and top topics of attached sources (reads every row)';

-- ---- privileges ------------------------------------------------------------

REVOKE ALL ON FUNCTION @extschema@.sentiment_stats_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_throughput_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_batch_progress_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_queue_status_internal(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_failures_internal() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_stuck_internal(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_stats_reset(regclass) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION @extschema@.sentiment_stats_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_throughput_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_batch_progress_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_queue_status_internal(bigint) TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_failures_internal() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_stuck_internal(integer) TO pg_monitor;

GRANT SELECT ON @extschema@.sentiment_stats, @extschema@.sentiment_throughput,
	@extschema@.sentiment_batch_progress, @extschema@.sentiment_queue_status,
	@extschema@.sentiment_failures, @extschema@.sentiment_stuck TO pg_monitor;
