-- sentiment_proc 1.0 -> 1.1, hand-written part.  The Makefile builds
-- sql/sentiment_proc--1.0--1.1.sql from this file followed by the object
-- files new in 1.1 (NEW_OBJECTS: sql/objects/80_monitoring.sql, ...).
--
-- Put here every change to an object that 1.0 already had (ALTER TABLE,
-- CREATE OR REPLACE FUNCTION, DROP ...), in the order it must run.  The
-- regression test test/sql/upgrade.sql compares an upgraded installation
-- with a fresh one and names whatever differs.

\echo Use "ALTER EXTENSION sentiment_proc UPDATE TO '1.1'" to load this file. \quit


-- ---- issue 5: retries, two-phase claims, edits win, processing queue ----

-- Objects of 1.0 that changed (sql/objects/20_attach.sql); the new
-- functions attach uses come first.
CREATE FUNCTION @extschema@.sentiment_text_edit_trigger()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_text_edit_trigger';

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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_column_type_ok(p_type oid, p_kind text)
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_attach_internal(
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
		['version',					'integer',			' NOT NULL DEFAULT 0',	'integer'],
		-- retries and two-phase claims (issue 5)
		['processing_retry_at',		'timestamptz',		'',						'timestamp'],
		['processing_lease_until',	'timestamptz',		'',						'timestamp'],
		['processing_claimed_by',	'text',				'',						'string'],
		['processing_error_history', 'jsonb',			'',						'jsonb']];
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

	-- Failed rows waiting for their retry, by retry time: the batch claims
	-- the due ones through it before pending rows.
	v_idx := left(v_table, 40) || '_sentiment_retry_idx';
	IF to_regclass(format('%I.%I', v_schema, v_idx)) IS NULL THEN
		EXECUTE format('CREATE INDEX %I ON %s (processing_retry_at) '
					   'WHERE processing_status = ''failed'' AND processing_retry_at IS NOT NULL',
					   v_idx, v_rel);
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

	-- Edits win over stale results: a changed text bumps version and puts
	-- the row back to pending (src/claim.c).
	EXECUTE format(
		'CREATE OR REPLACE TRIGGER sentiment_text_edit '
		'BEFORE UPDATE OF %I ON %s '
		'FOR EACH ROW EXECUTE FUNCTION @extschema@.sentiment_text_edit_trigger(%L)',
		p_text_column, v_rel, p_text_column);
	EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER sentiment_text_edit', v_rel);
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_detach(source regclass)
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
	-- and so does the text edit trigger (gone already if the text column was)
	IF EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = source AND t.tgname = 'sentiment_text_edit') THEN
		EXECUTE format('DROP TRIGGER sentiment_text_edit ON %s', source);
	END IF;
	RETURN true;
END
$body$;

-- Attached tables get the new columns, the retry index and the text edit
-- trigger: attaching again is idempotent and adds exactly what is missing.
-- Nothing it creates on a source becomes a member of the extension (indexes
-- and triggers of a table belong to the table).
DO $upgrade$
DECLARE
	v_src record;
BEGIN
	FOR v_src IN
		SELECT s.* FROM @extschema@.sentiment_sources s ORDER BY s.source_table::oid
	LOOP
		PERFORM @extschema@.sentiment_attach_internal(v_src.source_table, NULL, NULL,
			v_src.id_column, v_src.text_column,
			(SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = v_src.topics_table),
			(SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = v_src.embeddings_table));
	END LOOP;
END
$upgrade$;
-- Retries (issue 5).  A row whose processing fails becomes 'failed' with
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
	IF sentiment_retry_failed.source IS NOT NULL AND NOT EXISTS (
		SELECT FROM @extschema@.sentiment_sources s WHERE s.source_table = sentiment_retry_failed.source) THEN
		RAISE EXCEPTION 'table % is not attached to sentiment_proc', sentiment_retry_failed.source
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'See the sentiment_sources table for the attached tables.';
	END IF;
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
	SELECT s.id_column INTO v_id_column FROM @extschema@.sentiment_sources s
	 WHERE s.source_table = sentiment_error_history.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % is not attached to sentiment_proc', sentiment_error_history.source
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'See the sentiment_sources table for the attached tables.';
	END IF;
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
-- The processing queue (the seed's "Solution 2"): explicit requests to
-- (re-)analyse rows, say after a lexicon override changed.  The batch
-- (sentiment_process_batch and the workers alike) takes queued requests of a
-- source first, highest priority first, with SKIP LOCKED, then due retries,
-- then pending rows.  A request ends 'completed' or 'failed' (with the
-- row's error, or because the row was deleted); finished requests are
-- deleted after sentiment_proc.queue_retention, by the workers and at every
-- enqueue.  One queued request per row at most: enqueueing it again keeps the
-- higher priority.
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
	error			text
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

-- Queue rows of an attached table (ids NULL: every row) for analysis.
-- SECURITY DEFINER: it writes the extension's queue table, and it is not
-- executable by PUBLIC (a DBA grants it to operators).  Returns the
-- requests queued or re-prioritised.
CREATE FUNCTION @extschema@.sentiment_enqueue(
	source regclass,
	ids bigint[] DEFAULT NULL,
	priority integer DEFAULT 0)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_id_column name;
	v_n			bigint;
BEGIN
	IF sentiment_enqueue.source IS NULL OR sentiment_enqueue.priority IS NULL THEN
		RAISE EXCEPTION 'source and priority must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass an attached table; leave priority out for 0.';
	END IF;
	SELECT s.id_column INTO v_id_column FROM @extschema@.sentiment_sources s
	 WHERE s.source_table = sentiment_enqueue.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % is not attached to sentiment_proc', sentiment_enqueue.source
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = format('Attach it first with SELECT sentiment_attach(%L);', sentiment_enqueue.source::text);
	END IF;

	PERFORM @extschema@.sentiment_prune_queue();

	EXECUTE format(
		'INSERT INTO @extschema@.sentiment_processing_queue AS q (source_table, entry_id, priority, requested_by) '
		'SELECT $1, s.%I, $2, $3 FROM %s AS s WHERE $4 IS NULL OR s.%I = ANY ($4) '
		'ON CONFLICT (source_table, entry_id) WHERE status = ''queued'' '
		'DO UPDATE SET priority = greatest(q.priority, excluded.priority)',
		v_id_column, sentiment_enqueue.source, v_id_column)
		USING sentiment_enqueue.source, sentiment_enqueue.priority, session_user, sentiment_enqueue.ids;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	IF v_n > 0 THEN
		PERFORM @extschema@.sentiment_wake_workers();
	END IF;
	RETURN v_n;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_enqueue(regclass, bigint[], integer) IS
	'Queue rows of an attached table (ids NULL: all) for (re-)analysis before pending rows; returns requests queued';

REVOKE ALL ON FUNCTION @extschema@.sentiment_prune_queue() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_enqueue(regclass, bigint[], integer) FROM PUBLIC;
-- The two-phase path, for analysers outside the server (issue 5).
--
--   sentiment_claim(n, lease)  marks up to n rows 'processing' (due retries
--                              first, then pending rows) with a lease and the
--                              claimant, commits with the caller, and returns
--                              them with their version;
--   sentiment_complete(...)    stores results only where the version is the
--                              one claimed and the claim is still held;
--                              anything else writes nothing and says why;
--   sentiment_fail(...)        records an error, with a retry after backoff.
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
	IF sentiment_claim.source IS NOT NULL AND NOT EXISTS (
		SELECT FROM @extschema@.sentiment_sources s WHERE s.source_table = sentiment_claim.source) THEN
		RAISE EXCEPTION 'table % is not attached to sentiment_proc', sentiment_claim.source
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'See the sentiment_sources table for the attached tables.';
	END IF;

	FOR v_src IN
		SELECT s.source_table, s.id_column, s.text_column FROM @extschema@.sentiment_sources s
		 WHERE sentiment_claim.source IS NULL OR s.source_table = sentiment_claim.source
		 ORDER BY s.source_table::oid
	LOOP
		EXIT WHEN v_left <= 0;
		RETURN QUERY EXECUTE format(
			'WITH c AS ('
			'  SELECT * FROM (SELECT s.%1$I AS cid FROM %2$s AS s '
			'    WHERE s.processing_status = ''failed'' AND s.processing_retry_at <= now() '
			'    ORDER BY s.processing_retry_at LIMIT $1 FOR NO KEY UPDATE OF s SKIP LOCKED) AS r '
			'  UNION ALL '
			'  SELECT * FROM (SELECT s.%1$I FROM %2$s AS s WHERE s.processing_status = ''pending'' '
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
			USING v_left, sentiment_claim.lease, v_claimant, v_src.source_table;
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
	v_bad		record;
	v_done		bigint[];
	c_rows CONSTANT text := 'jsonb_to_recordset($1) AS r(id bigint, version integer, sentiment_label text, '
		'sentiment_score double precision, emotion_label text, emotion_score double precision, '
		'influence_weight double precision, topics text[], embedding real[])';
BEGIN
	SELECT s.source_table, s.id_column, s.topics_table, s.embeddings_table INTO v_src
	  FROM @extschema@.sentiment_sources s WHERE s.source_table = sentiment_complete.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % is not attached to sentiment_proc', sentiment_complete.source
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'See the sentiment_sources table for the attached tables.';
	END IF;
	IF jsonb_typeof(sentiment_complete.results) IS DISTINCT FROM 'array'
		OR EXISTS (SELECT FROM jsonb_array_elements(sentiment_complete.results) e WHERE jsonb_typeof(e) <> 'object') THEN
		RAISE EXCEPTION 'results must be a JSON array of objects'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass [{"id": 1, "version": 0, "sentiment_label": "positive", "sentiment_score": 0.8}, ...].';
	END IF;

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
		'END AS problem FROM ' || c_rows || ') AS p ORDER BY p.problem IS NULL, p.id LIMIT 1'
		INTO v_bad USING sentiment_complete.results;
	IF v_bad.problem IS NOT NULL THEN
		RAISE EXCEPTION 'invalid result for id %: %', v_bad.id, v_bad.problem
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Nothing was written; correct the result and call sentiment_complete again.';
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
		'RETURNING s.%2$I::bigint AS id) SELECT COALESCE(array_agg(u.id), ''{}'') FROM u',
		v_src.source_table, v_src.id_column, c_rows)
		INTO v_done USING sentiment_complete.results, v_claim;

	IF cardinality(v_done) > 0 THEN
		EXECUTE format('DELETE FROM %s WHERE mention_id = ANY ($1)', v_src.topics_table) USING v_done;
		EXECUTE format('DELETE FROM %s WHERE entry_id = ANY ($1)', v_src.embeddings_table) USING v_done;
		EXECUTE format(
			'INSERT INTO %s (mention_id, topic_key) SELECT DISTINCT r.id, t.key FROM %s, unnest(r.topics) AS t(key) '
			'WHERE r.id = ANY ($2)', v_src.topics_table, c_rows)
			USING sentiment_complete.results, v_done;
		EXECUTE format(
			'INSERT INTO %s (entry_id, embedding) SELECT r.id, r.embedding FROM %s '
			'WHERE r.id = ANY ($2) AND r.embedding IS NOT NULL', v_src.embeddings_table, c_rows)
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
BEGIN
	SELECT s.source_table, s.id_column, s.topics_table, s.embeddings_table INTO v_src
	  FROM @extschema@.sentiment_sources s WHERE s.source_table = sentiment_fail.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % is not attached to sentiment_proc', sentiment_fail.source
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'See the sentiment_sources table for the attached tables.';
	END IF;
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
		'RETURNING s.%2$I::bigint AS id) SELECT COALESCE(array_agg(u.id), ''{}'') FROM u',
		v_src.source_table, v_src.id_column)
		INTO v_done
		USING sentiment_fail.ids, sentiment_fail.error, sentiment_fail.sqlstate,
			  COALESCE(sentiment_fail.retry, true), v_claim;
	IF cardinality(v_done) > 0 THEN
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

-- The k rows of a source most similar to a text, by cosine of the stored
-- embeddings (sentiment_embeddings, filled by processing).  A full scan of
-- the embeddings table with a C dot product per row and a top-k sort:
-- fine for up to a few million rows; beyond that, copy the embeddings into
-- a pgvector column with an HNSW index.  Runs with the caller's rights: the
-- caller reads the source and its embeddings table.  Ties in similarity
-- go to the lower entry_id.
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
		'          FROM %s e ORDER BY 2 DESC NULLS LAST, 1 LIMIT $2) n '
		'  JOIN %s t ON t.%I = n.entry_id '
		' WHERE n.similarity IS NOT NULL '
		' ORDER BY n.similarity DESC, n.entry_id',
		v_src.text_column, v_src.embeddings_table, v_src.source_table, v_src.id_column)
		USING v_query, sentiment_similar.k;
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
	RETURN QUERY EXECUTE format(
		'SELECT n.entry_id::bigint, n.similarity, t.%I::text '
		'  FROM (SELECT e.entry_id, @extschema@.sentiment_cosine(e.embedding, $1) AS similarity '
		'          FROM %s e WHERE e.entry_id <> $3 ORDER BY 2 DESC NULLS LAST, 1 LIMIT $2) n '
		'  JOIN %s t ON t.%I = n.entry_id '
		' WHERE n.similarity IS NOT NULL '
		' ORDER BY n.similarity DESC, n.entry_id',
		v_src.text_column, v_src.embeddings_table, v_src.source_table, v_src.id_column)
		USING v_query, sentiment_similar.k, sentiment_similar.entry;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_similar(bigint, integer, regclass) IS
	'The k rows most similar to a stored row (itself excluded) by cosine of their embeddings';

-- sentiment_analyze (1.0) now reports dictionary topics too.
COMMENT ON FUNCTION @extschema@.sentiment_analyze(text) IS
	'Sentiment (VADER with the lexicon overrides), emotion, topics (hashtags and the topic dictionary) and a 256-dimension embedding of a text';
-- Monitoring (issue 7): statistics and batches in flight from shared memory
-- (src/stats.c), queue status, failures and stuck rows from the source
-- tables, and a summary for people.
--
-- Who may see what (the README's operations guide has the GRANTs):
--   * pg_monitor members read every view here.  sentiment_queue_status counts
--     rows without reading them, as the extension owner, so a monitoring role
--     needs no access to the mentions; sentiment_failures and sentiment_stuck
--     show error texts and row ids, so they run as the caller and list only
--     sources the caller may SELECT from.
--   * sentiment_stats_reset is revoked from PUBLIC: an administrator grants it
--     to the operators.

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
LANGUAGE plpgsql STABLE SECURITY DEFINER
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
	FOR v_src IN
		SELECT s.source_table, s.id_column FROM @extschema@.sentiment_sources s
		 ORDER BY s.source_table::oid
	LOOP
		source := v_src.source_table;
		EXECUTE format('SELECT count(*) FROM (SELECT FROM %s WHERE processing_status = ''pending'' LIMIT $1) q',
					   v_src.source_table) INTO pending USING count_limit;
		EXECUTE format('SELECT count(*) FROM (SELECT FROM %s WHERE processing_status = ''processing'' LIMIT $1) q',
					   v_src.source_table) INTO processing USING count_limit;
		EXECUTE format('SELECT count(*) FROM (SELECT FROM %s WHERE processing_status = ''failed'' LIMIT $1) q',
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
		completed_estimate := CASE WHEN v_unknown IS FALSE
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
	FOR v_src IN
		SELECT s.source_table, s.id_column FROM @extschema@.sentiment_sources s
		 WHERE has_table_privilege(s.source_table, 'SELECT')
		 ORDER BY s.source_table::oid
	LOOP
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
-- its claimant (issue 5).  A claim is stuck when its lease expired, its
-- claimant's session is gone, or it has no lease or claimant at all; the
-- workers' reaper and sentiment_reset_stuck() return such rows to pending.
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
	FOR v_src IN
		SELECT s.source_table, s.id_column FROM @extschema@.sentiment_sources s
		 WHERE has_table_privilege(s.source_table, 'SELECT')
		 ORDER BY s.source_table::oid
	LOOP
		RETURN QUERY EXECUTE format(
			'SELECT $1, q.id, q.reason, q.claimed_by, q.started_at, q.lease_until, '
			'now() - CASE WHEN q.reason = ''lease expired'' THEN q.lease_until ELSE q.started_at END, q.attempts '
			'FROM (SELECT %I::bigint AS id, processing_claimed_by AS claimed_by, '
			'      processing_started_at AS started_at, processing_lease_until AS lease_until, '
			'      processing_attempts::integer AS attempts, CASE '
			'        WHEN processing_claimed_by IS NULL OR processing_lease_until IS NULL THEN ''no claimant or lease'' '
			'        WHEN NOT @extschema@.sentiment_claimant_alive(processing_claimed_by) THEN ''claimant gone'' '
			'        WHEN processing_lease_until < now() THEN ''lease expired'' END AS reason '
			'      FROM %s WHERE processing_status = ''processing'') AS q '
			'WHERE q.reason IS NOT NULL '
			'ORDER BY q.lease_until NULLS FIRST, q.started_at LIMIT $2',
			v_src.id_column, v_src.source_table)
			USING v_src.source_table, max_rows;
	END LOOP;
END
$body$;

CREATE VIEW @extschema@.sentiment_stuck AS
	SELECT * FROM @extschema@.sentiment_stuck_internal();

COMMENT ON VIEW @extschema@.sentiment_stuck IS
	'Two-phase claims whose lease expired or whose claimant is gone, per source the caller may read';

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
		SELECT s.source_table, s.topics_table, s.id_column FROM @extschema@.sentiment_sources s
		 WHERE sentiment_summary.source IS NULL OR s.source_table = sentiment_summary.source
		 ORDER BY s.source_table::oid
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
