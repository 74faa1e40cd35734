-- sentiment_attach / sentiment_detach: make a table processable, or stop.
--
-- The work is done by _sentiment_attach_internal, which pins its search_path.
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

-- The row trigger sentiment_attach puts on a time-partitioned source
-- (AFTER DELETE, cloned to every partition): its side tables can have no
-- foreign key to the id alone, so the deleted row's topics and embedding
-- are deleted by it, as the owner of the table (src/edit_trigger.c).
-- EXECUTE stays with PUBLIC, so that a role granted attach needs no new
-- grant for it: only the owner of a table can put a trigger on it, and it
-- deletes nothing but the side rows of a row deleted from an attached
-- table.
CREATE FUNCTION @extschema@.sentiment_side_rows_delete_trigger()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_side_rows_delete_trigger';

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
CREATE FUNCTION @extschema@._sentiment_check_attach_privilege()
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
CREATE FUNCTION @extschema@._sentiment_attach_table(
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
CREATE FUNCTION @extschema@._sentiment_attach_column(
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

-- Status and result columns every source carries: name, type, clause used
-- when adding it, kind for checking an existing one (as for
-- sentiment_column_type_ok).  Constant defaults only: adding them is a
-- catalogue change, never a rewrite.  In C, from the one description of
-- the result row (src/result_row.c), which the writers are built from too.
CREATE FUNCTION @extschema@.sentiment_status_columns(
	OUT n integer, OUT column_name name, OUT column_type text, OUT add_clause text, OUT kind text)
RETURNS SETOF record
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_status_columns';

-- What keeps sentiment_proc from reading an attached table as its owner
-- (NULL: nothing): a column attach created (sentiment_status_columns), or
-- the key, or a key of the topics table, that is missing or no longer of a
-- type attach accepts (sentiment_column_type_ok).  A tenant's own enum or
-- domain could bring a cast or operator of the tenant's, run by whoever
-- reads the column; sentiment_source_sql refuses such a table and
-- monitoring skips it with a warning.  C (src/source_sql.c): monitoring
-- asks it for every table at every read, from the catalogue caches.
CREATE FUNCTION @extschema@.sentiment_source_problem(source regclass)
RETURNS text
LANGUAGE C STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_source_problem';

-- Run one of the fixed statements of src/source_sql.c on an attached table
-- as the table's owner, in a security-restricted operation with the pinned
-- search_path and sentiment_proc.source_lock_timeout, after checking as
-- the caller: a table, SELECT (reads) or UPDATE (writes) on it, no
-- row-level security for the caller, the columns attach created with their
-- types (sentiment_source_problem), and for writes no deferrable trigger or
-- constraint.  Every SQL function that reads or writes an attached table
-- goes through it; it runs nothing but those statements, so it stays
-- executable by PUBLIC.
CREATE FUNCTION @extschema@.sentiment_source_sql(source regclass, statement text, args jsonb DEFAULT NULL)
RETURNS SETOF record
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_source_sql';

-- Status and result columns: check the existing ones, add the others in
-- one ALTER TABLE, and give existing rows a state by the seed's migration
-- rule (rows that already carry results are done, the rest wait).  The
-- rows are written as the table's owner (sentiment_source_sql): a
-- superuser re-attaching a tenant's table fires the tenant's triggers as
-- the tenant.
CREATE FUNCTION @extschema@._sentiment_attach_status_columns(p_rel regclass, p_table name)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_rel		regclass := p_rel;
	v_table		name := p_table;
	v_col		record;
	v_type		oid;
	v_adds		text[] := '{}';
	v_had_status boolean := true;
	v_had_label boolean := true;
BEGIN
	-- Status and result columns: check the existing ones, add the others in
	-- one ALTER TABLE.
	FOR v_col IN SELECT * FROM @extschema@.sentiment_status_columns() c ORDER BY c.n LOOP
		SELECT a.atttypid INTO v_type
		  FROM pg_attribute a
		 WHERE a.attrelid = v_rel AND a.attname = v_col.column_name AND a.attnum > 0 AND NOT a.attisdropped;
		IF FOUND THEN
			IF NOT @extschema@.sentiment_column_type_ok(v_type, v_col.kind) THEN
				RAISE EXCEPTION 'column "%" of % has type %, which sentiment_proc cannot use',
					v_col.column_name, v_rel, v_type::regtype
					USING ERRCODE = 'datatype_mismatch',
						  HINT = format('Change it to %s, or rename it so that it can be added.', v_col.column_type);
			END IF;
		ELSE
			v_adds := v_adds || format('ADD COLUMN %I %s%s', v_col.column_name, v_col.column_type, v_col.add_clause);
			IF v_col.column_name = 'processing_status' THEN
				v_had_status := false;
			ELSIF v_col.column_name = 'sentiment_label' THEN
				v_had_label := false;
			END IF;
		END IF;
	END LOOP;

	IF cardinality(v_adds) > 0 THEN
		PERFORM @extschema@._sentiment_source_ddl(v_rel, format('ALTER TABLE %s %s', v_rel, array_to_string(v_adds, ', ')));
	END IF;
	IF NOT v_had_status THEN
		-- NOT VALID: every existing row gets the constant default, so a
		-- validating scan would only hold the lock longer.  A statement of
		-- its own: Citus refuses ADD CONSTRAINT beside ADD COLUMN.
		PERFORM @extschema@._sentiment_source_ddl(v_rel, format(
			'ALTER TABLE %s ADD CONSTRAINT %I CHECK (processing_status IN (''pending'', ''processing'', ''completed'', ''failed'')) NOT VALID',
			v_rel, left(v_table, 40) || '_processing_status_check'));
	END IF;

	-- The seed's migration rule: rows that already carry results are done,
	-- the rest wait.  Only rows that need it are touched.
	IF NOT v_had_status AND v_had_label THEN
		PERFORM FROM @extschema@.sentiment_source_sql(v_rel, 'attach_results_done') AS u(n bigint);
	ELSIF v_had_status THEN
		-- An adopted status column may allow NULL: such rows would never be
		-- claimed, so give them a state by the same rule.
		PERFORM 1 FROM pg_attribute a
		 WHERE a.attrelid = v_rel AND a.attname = 'processing_status' AND NOT a.attnotnull;
		IF FOUND THEN
			PERFORM FROM @extschema@.sentiment_source_sql(v_rel, 'attach_null_status') AS u(n bigint);
		END IF;
		PERFORM 1 FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
		 WHERE d.adrelid = v_rel AND a.attname = 'processing_status';
		IF NOT FOUND THEN
			PERFORM @extschema@._sentiment_source_ddl(v_rel,
				format('ALTER TABLE %s ALTER COLUMN processing_status SET DEFAULT ''pending''', v_rel));
		END IF;
	END IF;

END
$body$;

-- The partial indexes processing and monitoring read through.
CREATE FUNCTION @extschema@._sentiment_attach_indexes(
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
		PERFORM @extschema@._sentiment_source_ddl(v_rel, format(
			'CREATE INDEX %I ON %s (%I) WHERE processing_status = ''pending''', v_idx, v_rel, p_id_column));
	END IF;

	-- Failed rows waiting for their retry, by retry time: the batch claims
	-- the due ones through it before pending rows.
	v_idx := left(v_table, 40) || '_sentiment_retry_idx';
	IF to_regclass(format('%I.%I', v_schema, v_idx)) IS NULL THEN
		PERFORM @extschema@._sentiment_source_ddl(v_rel, format(
			'CREATE INDEX %I ON %s (processing_retry_at) '
			'WHERE processing_status = ''failed'' AND processing_retry_at IS NOT NULL', v_idx, v_rel));
	END IF;

	-- Monitoring (sentiment_queue_status, sentiment_stuck): rows
	-- processing or failed, by state and start time.  Partial, so it holds
	-- only those rows and counting them never scans the table.
	v_idx := left(v_table, 40) || '_sentiment_status_idx';
	IF to_regclass(format('%I.%I', v_schema, v_idx)) IS NULL THEN
		PERFORM @extschema@._sentiment_source_ddl(v_rel, format(
			'CREATE INDEX %I ON %s (processing_status, processing_started_at) '
			'WHERE processing_status IN (''processing'', ''failed'')', v_idx, v_rel));
	END IF;

END
$body$;

-- The wake-up and text edit triggers on a source.
CREATE FUNCTION @extschema@._sentiment_attach_triggers(p_rel regclass, p_text_column name)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_rel		regclass := p_rel;
BEGIN
	PERFORM @extschema@._sentiment_citus_allow_triggers(v_rel);
	-- Background workers (src/worker.c): wake one when new or edited rows
	-- commit, on the table and on each of its partitions.
	PERFORM @extschema@.sentiment_wakeup_install(v_rel, p_text_column);

	-- Edits win over stale results: a changed text bumps version and puts
	-- the row back to pending (src/edit_trigger.c).
	PERFORM @extschema@._sentiment_source_ddl(v_rel, format(
		'CREATE OR REPLACE TRIGGER sentiment_text_edit '
		'BEFORE UPDATE OF %I ON %s '
		'FOR EACH ROW EXECUTE FUNCTION @extschema@.sentiment_text_edit_trigger(%L)',
		p_text_column, v_rel, p_text_column));
	PERFORM @extschema@._sentiment_source_ddl(v_rel,
		format('ALTER TABLE %s ENABLE ALWAYS TRIGGER sentiment_text_edit', v_rel));
	-- adopted pending rows need no insert to be noticed
	PERFORM @extschema@.sentiment_wake_workers();
END
$body$;

-- Refuse a table that cannot be attached safely (src/registry.c): a
-- temporary table, or a partitioned table with a partition of another
-- owner (its triggers would run with the attaching owner's rights).
CREATE FUNCTION @extschema@._sentiment_check_attachable(source regclass)
RETURNS void
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_check_attachable';

-- The relation attach works on, checked and locked: the arguments, the table
-- (created when missing), its kind, its owner; returns it with its schema
-- and name.  Executable by PUBLIC like attach's other steps, which run as
-- the caller of the privileged wrappers; it checks that privilege itself.
CREATE FUNCTION @extschema@._sentiment_attach_relation(
	p_relid regclass,
	p_name text,
	p_default_schema name,
	p_id_column name,
	p_text_column name,
	p_topics_table name,
	p_embeddings_table name,
	OUT rel regclass,
	OUT schema_name name,
	OUT table_name name)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_rel		regclass;
	v_schema	name;
	v_table		name;
	v_relkind	"char";
BEGIN
	PERFORM @extschema@._sentiment_check_attach_privilege();

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

	v_rel := @extschema@._sentiment_attach_table(p_relid, p_name, p_default_schema, p_id_column, p_text_column);

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
	-- not a temporary table; no partition of another owner
	PERFORM @extschema@._sentiment_check_attachable(v_rel);

	-- Serialise attaches of one table without blocking its readers and
	-- writers; the ALTER below takes its stronger lock only when needed.
	PERFORM @extschema@._sentiment_source_ddl(v_rel, format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE', v_rel));

	rel := v_rel;
	schema_name := v_schema;
	table_name := v_table;
END
$body$;

-- A side table of p_rel in p_schema: created (columns p_columns, owned
-- like p_rel, marked as added by attach) when missing, else adopted as
-- _sentiment_adopt_side_table checks it (p_keys, p_optional).
CREATE FUNCTION @extschema@._sentiment_attach_side_table(
	p_rel regclass, p_schema name, p_name name, p_role text,
	p_columns text, p_keys text[], p_optional text[])
RETURNS regclass
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_side		regclass := to_regclass(format('%I.%I', p_schema, p_name));
BEGIN
	PERFORM @extschema@._sentiment_check_attach_privilege();
	IF v_side IS NULL THEN
		EXECUTE format('CREATE TABLE %I.%I (%s)', p_schema, p_name, p_columns);
		v_side := format('%I.%I', p_schema, p_name)::regclass;
		PERFORM @extschema@._sentiment_side_table_owner(v_side, p_rel);
		PERFORM @extschema@._sentiment_mark_added(v_side, NULL);
	ELSE
		PERFORM @extschema@._sentiment_adopt_side_table(v_side, p_rel, p_role, p_keys, p_optional);
	END IF;
	RETURN v_side;
END
$body$;

-- A time-partitioned source: partitioned, with a unique index (no
-- predicate, no expression) on the id and partition key columns only, the
-- usual PRIMARY KEY (entry_id, day) of a table PARTITION BY RANGE (day).
-- PostgreSQL cannot make the id alone unique across partitions, and
-- sentiment_proc finds a row by its id: that it is unique is the table's
-- contract (an identity column or a sequence keeps it), checked here on the
-- rows already there (23505), and at run time, where the rows of an id
-- another row holds too are failed, never analysed (docs/usage.md).
-- Returns false when the table is not of this shape.
CREATE FUNCTION @extschema@._sentiment_attach_time_key(p_rel regclass, p_id_column name)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_ids	text;
BEGIN
	PERFORM 1
	  FROM pg_index i
	  JOIN pg_partitioned_table pt ON pt.partrelid = i.indrelid
	  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attname = p_id_column
	 WHERE i.indrelid = p_rel AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
	   AND a.attnum = ANY (i.indkey::int2[])
	   AND NOT EXISTS (SELECT FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
					    WHERE k.n <= i.indnkeyatts AND k.attnum <> a.attnum
						  AND k.attnum <> ALL (pt.partattrs::int2[]));
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	-- (read as the caller, who owns the table: an integer column, no code of the table's runs)
	EXECUTE format('SELECT string_agg(d.id::text, '', '' ORDER BY d.id) '
				   'FROM (SELECT %I AS id FROM %s GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 LIMIT 5) d',
				   p_id_column, p_rel) INTO v_ids;
	IF v_ids IS NOT NULL THEN
		RAISE EXCEPTION 'key column "%" of % holds an id more than once', p_id_column, p_rel
			USING ERRCODE = 'unique_violation',
				  DETAIL = format('sentiment_proc finds a row by its id alone; ids held by more than one row: %s.', v_ids),
				  HINT = 'Give each row its own id (an identity column or a sequence across the partitions), then attach again.';
	END IF;
	RETURN true;
END
$body$;

CREATE FUNCTION @extschema@._sentiment_attach_internal(
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
	v_topics	regclass;
	v_embed		regclass;
	v_distributed boolean;
	v_references text;
	v_before	name[];
	v_time_key	boolean := false;
BEGIN
	-- The public entry points carry the privilege; this helper is callable
	-- by all only because the wrappers run as the caller.
	PERFORM @extschema@._sentiment_check_attach_privilege();

	SELECT r.rel, r.schema_name, r.table_name INTO v_rel, v_schema, v_table
	  FROM @extschema@._sentiment_attach_relation(p_relid, p_name, p_default_schema, p_id_column, p_text_column,
												 p_topics_table, p_embeddings_table) r;

	-- The key: an integer column with a single-column unique index; the text.
	PERFORM @extschema@._sentiment_attach_column(v_rel, p_id_column, 'integer', 'key', 'smallint, integer or bigint');
	-- On Citus: distributed by the key (else no unique index on it alone can
	-- exist), side tables colocated (25_citus.sql)
	v_distributed := @extschema@._sentiment_citus_check_source(v_rel, p_id_column);
	PERFORM 1
	  FROM pg_index i
	  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	 WHERE i.indrelid = v_rel AND i.indisunique AND i.indnkeyatts = 1
	   AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attname = p_id_column;
	IF NOT FOUND THEN
		-- a time-partitioned table: unique with its partition key columns
		v_time_key := @extschema@._sentiment_attach_time_key(v_rel, p_id_column);
		IF NOT v_time_key THEN
			RAISE EXCEPTION 'key column "%" of % is not unique', p_id_column, v_rel
				USING ERRCODE = 'invalid_table_definition',
					  HINT = 'Add a primary key or a unique constraint on that column first (on a partitioned table: on it and the partition key columns).';
		END IF;
	END IF;
	-- side tables reference the source, but no unique index of the id alone
	-- exists on a time-partitioned one: its delete trigger stands in
	v_references := CASE WHEN NOT v_distributed AND NOT v_time_key
		THEN format(' REFERENCES %s (%I) ON DELETE CASCADE', v_rel, p_id_column) ELSE '' END;

	PERFORM @extschema@._sentiment_attach_column(v_rel, p_text_column, 'string', 'text', 'text, varchar or char');

	v_before := ARRAY(SELECT a.attname FROM pg_attribute a
					   WHERE a.attrelid = v_rel AND a.attnum > 0 AND NOT a.attisdropped);
	PERFORM @extschema@._sentiment_attach_status_columns(v_rel, v_table);
	-- what attach added, for sentiment_detach(..., drop_added => true)
	PERFORM @extschema@._sentiment_mark_added(v_rel, v_before);
	PERFORM @extschema@._sentiment_attach_indexes(v_rel, v_schema, v_table, p_id_column);

	-- Side tables, in the source's schema.
	v_topics := @extschema@._sentiment_attach_side_table(v_rel, v_schema, p_topics_table, 'topics_table',
		format('mention_id bigint NOT NULL%s, topic_key text NOT NULL, weight real, sentiment real, '
			   'PRIMARY KEY (mention_id, topic_key)', v_references),
		ARRAY['mention_id', 'topic_key'], ARRAY['weight real', 'sentiment real']);
	-- vector(256) when pgvector is installed here, else real[]
	v_embed := @extschema@._sentiment_attach_side_table(v_rel, v_schema, p_embeddings_table, 'embeddings_table',
		format('entry_id bigint PRIMARY KEY%s, embedding %s NOT NULL', v_references,
			   @extschema@._sentiment_embedding_type_sql(NULL)),
		ARRAY['entry_id'], ARRAY['embedding real[]']);
	IF v_distributed THEN
		PERFORM @extschema@.sentiment_citus_colocate(v_topics, 'mention_id', v_rel, p_id_column);
		PERFORM @extschema@.sentiment_citus_colocate(v_embed, 'entry_id', v_rel, p_id_column);
	END IF;
	-- vector or halfvec embeddings are searched through an HNSW index
	PERFORM @extschema@._sentiment_embedding_index(v_embed);

	PERFORM @extschema@._sentiment_attach_triggers(v_rel, p_text_column);
	-- (not on Citus, whose nodes have no registry to find the side tables by)
	IF v_time_key AND NOT v_distributed THEN
		EXECUTE format('CREATE OR REPLACE TRIGGER sentiment_side_rows '
					   'AFTER DELETE ON %s FOR EACH ROW '
					   'EXECUTE FUNCTION @extschema@.sentiment_side_rows_delete_trigger(%L)',
					   v_rel, p_id_column);
	END IF;

	-- the registry is written only there, after its own checks
	v_old_model := (SELECT s.sentiment_model FROM @extschema@.sentiment_sources s WHERE s.source_table = v_rel);
	PERFORM @extschema@.sentiment_register(v_rel, p_id_column, p_text_column, v_topics, v_embed, p_model);
	-- another model for a table already attached: its results are redone
	IF v_old_model IS DISTINCT FROM COALESCE(p_model, v_old_model) THEN
		PERFORM @extschema@._sentiment_requeue_for_model(v_rel);
	END IF;
	-- the worker nodes of a distributed source learn of it
	PERFORM @extschema@._sentiment_citus_publish(v_rel);

	RETURN v_rel;
END
$body$;

-- Mark what attach added, so that sentiment_detach(..., drop_added => true)
-- removes exactly that and nothing the table had before: the columns of
-- p_rel not in p_before, or (p_before NULL) the side table p_rel itself.
CREATE FUNCTION @extschema@._sentiment_mark_added(p_rel regclass, p_before name[])
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_col name;
BEGIN
	IF p_before IS NULL THEN
		EXECUTE format('COMMENT ON TABLE %s IS %L', p_rel, @extschema@._sentiment_added_mark());
		RETURN;
	END IF;
	FOR v_col IN SELECT a.attname FROM pg_attribute a
				  WHERE a.attrelid = p_rel AND a.attnum > 0 AND NOT a.attisdropped
					AND a.attname <> ALL (p_before) ORDER BY a.attnum LOOP
		EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', p_rel, v_col, @extschema@._sentiment_added_mark());
	END LOOP;
END
$body$;

CREATE FUNCTION @extschema@._sentiment_added_mark()
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT 'added by sentiment_attach; sentiment_detach(..., drop_added => true) removes it'::text
$$;

-- A side table attach just created belongs to the caller; processing runs
-- as the source's owner and needs the side tables to be that owner's too.
CREATE FUNCTION @extschema@._sentiment_side_table_owner(p_side regclass, p_source regclass)
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

-- An existing side table whose key has a foreign key to another table
-- belongs to that table (left by a detach, say): every result written for
-- this source would violate it, so it is not adopted.
CREATE FUNCTION @extschema@._sentiment_side_table_references_check(
	p_side regclass, p_source regclass, p_role text, p_key name)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_con record;
BEGIN
	SELECT c.conname, c.confrelid::regclass AS target INTO v_con
	  FROM pg_constraint c
	  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attname = p_key
	 WHERE c.conrelid = p_side AND c.contype = 'f' AND a.attnum = ANY (c.conkey)
	   AND c.confrelid <> p_source
	 ORDER BY c.conname
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'existing table % belongs to table %, not to %', p_side, v_con.target, p_source
			USING ERRCODE = 'invalid_table_definition',
				  DETAIL = format('Its foreign key %I on column %I references %s, so no result of %s could be stored in it.',
								  v_con.conname, p_key, v_con.target, p_source),
				  HINT = format('Pass another name with sentiment_attach(..., %s => ''...''), or drop %s if %s no longer needs it.',
								p_role, p_side, v_con.target);
	END IF;
END
$body$;

-- Adopt an existing side table: it must not serve another source, must have
-- the key columns; optional columns are added, and the unique index the
-- batch upserts rely on is created when missing.
CREATE FUNCTION @extschema@._sentiment_adopt_side_table(
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
	PERFORM @extschema@._sentiment_check_attach_privilege();

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
	PERFORM @extschema@._sentiment_side_table_references_check(p_side, p_source, p_role, p_keys[1]);
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
	-- an empty name is refused by _sentiment_attach_internal on every major
	-- (to_regclass('') raises on 15 and returns NULL from 16)
	SELECT @extschema@._sentiment_attach_internal(
		CASE WHEN pg_catalog.length(pg_catalog.btrim(source)) OPERATOR(pg_catalog.>) 0
			THEN pg_catalog.to_regclass(source) END,
		source, pg_catalog.current_schema(),
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
	SELECT @extschema@._sentiment_attach_internal(
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
	PERFORM @extschema@._sentiment_citus_allow_triggers(p_source);
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
		PERFORM @extschema@._sentiment_source_ddl(p_source, format(
			'CREATE OR REPLACE TRIGGER sentiment_wakeup '
			'AFTER INSERT OR UPDATE OF %I ON %s '
			'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.sentiment_wakeup_trigger()',
			p_text_column, v_rel));
		PERFORM @extschema@._sentiment_source_ddl(p_source,
			format('ALTER TABLE %s ENABLE ALWAYS TRIGGER sentiment_wakeup', v_rel));
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
	v_embeddings regclass;
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source table must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass an attached table, see the sentiment_sources table.';
	END IF;
	v_embeddings := (SELECT s.embeddings_table FROM @extschema@.sentiment_sources s WHERE s.source_table = source);
	-- no worker drains the embedding lane of a detached table: index what
	-- it holds now, as the table's owner while it is still registered, and
	-- drop it (67_embedding_lane.sql); a table that cannot be read so
	-- (columns changed, locked) keeps its lane, with a warning
	IF v_embeddings IS NOT NULL THEN
		BEGIN
			PERFORM @extschema@._sentiment_embedding_lane_flush(source, true);
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING 'the embeddings staged for % stay in %: %', source,
				@extschema@._sentiment_embedding_lane(v_embeddings), SQLERRM
				USING HINT = 'Move them into the embeddings table as its owner, then drop that table.';
		END;
	END IF;
	IF NOT @extschema@.sentiment_unregister(source) THEN
		RAISE NOTICE 'table % is not attached, nothing to do', source;
		RETURN false;
	END IF;
	PERFORM @extschema@._sentiment_citus_allow_triggers(source);
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
	-- and so does the text edit trigger (gone already if the text column was),
	-- and a time-partitioned table's side-row trigger
	IF EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = source AND t.tgname = 'sentiment_text_edit') THEN
		EXECUTE format('DROP TRIGGER sentiment_text_edit ON %s', source);
	END IF;
	IF EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = source AND t.tgname = 'sentiment_side_rows') THEN
		EXECUTE format('DROP TRIGGER sentiment_side_rows ON %s', source);
	END IF;
	RETURN true;
END
$body$;

-- Detach, then (drop_added) remove what attach added and marked
-- (_sentiment_mark_added): its columns, the side tables it created, and its
-- partial indexes; columns and tables the table had before are kept.  As
-- the caller, who must own the table (DDL).  Returns whether the table was
-- attached; a NOTICE says what was dropped.
CREATE FUNCTION @extschema@.sentiment_detach(source regclass, drop_added boolean)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_attached	boolean;
	v_mark		text := @extschema@._sentiment_added_mark();
	v_cols		text[];
	v_sides		regclass[];
	v_idx		regclass[];
BEGIN
	IF source IS NULL OR drop_added IS NULL THEN
		RAISE EXCEPTION 'source and drop_added must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass a table, and true to remove what attach added.';
	END IF;
	-- its side tables, while the registry still names them
	v_sides := ARRAY(SELECT t FROM @extschema@.sentiment_sources s,
						 unnest(ARRAY[s.topics_table, s.embeddings_table]) t
					  WHERE s.source_table = source);
	v_attached := @extschema@.sentiment_detach(source);
	IF NOT drop_added THEN
		RETURN v_attached;
	END IF;
	IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = source), 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of table %', source
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Ask the owner of the table to remove what attach added.';
	END IF;
	-- side tables attach created (and of a table detached before: those
	-- with a foreign key to it), unless another attached table uses them
	v_sides := ARRAY(SELECT DISTINCT c.oid::regclass FROM pg_class c
					  WHERE (c.oid = ANY (v_sides)
							 OR c.oid IN (SELECT f.conrelid FROM pg_constraint f
										   WHERE f.contype = 'f' AND f.confrelid = source))
						AND obj_description(c.oid, 'pg_class') = v_mark
						AND NOT EXISTS (SELECT FROM @extschema@.sentiment_sources s
										 WHERE c.oid IN (s.topics_table, s.embeddings_table, s.source_table)));
	v_idx := ARRAY(SELECT i.indexrelid::regclass FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
					WHERE i.indrelid = source
					  AND c.relname IN (left((SELECT relname FROM pg_class WHERE oid = source), 40) || '_sentiment_claim_idx',
										left((SELECT relname FROM pg_class WHERE oid = source), 40) || '_sentiment_retry_idx',
										left((SELECT relname FROM pg_class WHERE oid = source), 40) || '_sentiment_status_idx'));
	v_cols := ARRAY(SELECT format('DROP COLUMN %I', a.attname) FROM pg_attribute a
					 WHERE a.attrelid = source AND a.attnum > 0 AND NOT a.attisdropped
					   AND col_description(source, a.attnum) = v_mark ORDER BY a.attnum);
	IF cardinality(v_sides) > 0 THEN
		EXECUTE format('DROP TABLE %s', (SELECT string_agg(t::text, ', ') FROM unnest(v_sides) t));
	END IF;
	IF cardinality(v_idx) > 0 THEN
		EXECUTE format('DROP INDEX %s', (SELECT string_agg(t::text, ', ') FROM unnest(v_idx) t));
	END IF;
	IF cardinality(v_cols) > 0 THEN
		EXECUTE format('ALTER TABLE %s %s', source, array_to_string(v_cols, ', '));
	END IF;
	IF cardinality(v_cols) > 0 THEN
		RAISE NOTICE 'removed from %: % columns, % indexes, % side tables', source,
			cardinality(v_cols), cardinality(v_idx), cardinality(v_sides);
	ELSE
		RAISE NOTICE 'removed from %: no column, % indexes, % side tables', source,
			cardinality(v_idx), cardinality(v_sides)
			USING DETAIL = 'Columns attach added before version 1.3 are not marked as added; docs/usage.md (Uninstalling) shows how to find them.';
	END IF;
	RETURN v_attached;
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_detach(regclass, boolean) IS
	'Stop processing a table and (drop_added) remove the columns, indexes and side tables attach added';
REVOKE ALL ON FUNCTION @extschema@.sentiment_detach(regclass, boolean) FROM PUBLIC;

-- Queue the completed rows of a source whose result another model (or
-- another version of its model) wrote, so that they are analysed again by
-- the table's model.  Needs EXECUTE on sentiment_enqueue and UPDATE on the
-- table; the table is read and written as its owner (sentiment_source_sql,
-- sentiment_enqueue).  Returns the requests queued.
CREATE FUNCTION @extschema@._sentiment_requeue_for_model(p_source regclass)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		@extschema@.sentiment_sources := @extschema@._sentiment_registration(p_source);
	v_args		jsonb;
	v_ids		bigint[];
	v_n			bigint;
BEGIN
	v_args := jsonb_strip_nulls(jsonb_build_object('version',
		(SELECT m.version FROM @extschema@.sentiment_models() m
		  WHERE m.kind = 'sentiment' AND m.name = v_src.sentiment_model)));
	-- a distributed table has no queue on its nodes: its rows wait as
	-- pending, and the nodes' workers are woken for them (no new text fires
	-- their wake-up trigger)
	IF @extschema@._sentiment_citus_distributed(p_source) THEN
		v_n := (SELECT u.n FROM @extschema@.sentiment_source_sql(p_source, 'model_pending', v_args) AS u(n bigint));
		IF v_n > 0 THEN
			PERFORM @extschema@.sentiment_citus_wake_nodes(p_source);
		END IF;
		RETURN v_n;
	END IF;
	SELECT u.ids INTO v_ids FROM @extschema@.sentiment_source_sql(p_source, 'model_ids', v_args) AS u(ids bigint[]);
	IF v_ids IS NULL THEN
		RETURN 0;
	END IF;
	RETURN @extschema@.sentiment_enqueue(p_source, v_ids);
END
$body$;

-- Choose the sentiment model of an attached table ('vader', 'social' or
-- 'multilingual'):
-- the rows it already analysed with another model are queued for analysis
-- again.  The same checks as attach (ownership, the attach grant).
CREATE FUNCTION @extschema@.sentiment_set_model(source regclass, model text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		@extschema@.sentiment_sources := @extschema@._sentiment_registration(sentiment_set_model.source);
BEGIN
	IF sentiment_set_model.source IS NULL OR model IS NULL THEN
		RAISE EXCEPTION 'source and model must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass an attached table and vader, social or multilingual.';
	END IF;
	PERFORM @extschema@.sentiment_register(v_src.source_table, v_src.id_column, v_src.text_column,
		v_src.topics_table, v_src.embeddings_table, model);
	PERFORM @extschema@._sentiment_citus_publish(v_src.source_table);
	RETURN @extschema@._sentiment_requeue_for_model(v_src.source_table);
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_set_model(regclass, text) IS
	'Choose the sentiment model of an attached table (vader, social or multilingual) and queue the rows another model analysed';

-- Delete the topics and embeddings of ids no row of an attached table holds
-- any more: those of a partition dropped or detached, and on Citus those of
-- a time-partitioned table's deleted rows (neither a foreign key nor its
-- delete trigger takes them along there).  Written as the table's owner
-- (sentiment_source_sql); needs UPDATE on the table and DELETE on its side
-- tables.  Reads both side tables against the table: a scan of each.
-- Returns the side rows deleted.
CREATE FUNCTION @extschema@.sentiment_prune_side_rows(source regclass)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'source table must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass an attached table, see the sentiment_sources table.';
	END IF;
	RETURN (SELECT u.n FROM @extschema@.sentiment_source_sql(source, 'prune_side_rows') AS u(n bigint));
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_prune_side_rows(regclass) IS
	'Delete the topics and embeddings of ids no row of an attached table holds (after dropping a partition); returns how many';
REVOKE ALL ON FUNCTION @extschema@.sentiment_prune_side_rows(regclass) FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.sentiment_detach(regclass) IS
	'Stop processing a table; its data, result columns and side tables are kept';

REVOKE ALL ON FUNCTION @extschema@.sentiment_attach(text, name, name, name, name, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_attach(regclass, name, name, name, name, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_detach(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_set_model(regclass, text) FROM PUBLIC;
