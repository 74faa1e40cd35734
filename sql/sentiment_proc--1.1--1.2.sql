-- sentiment_proc 1.1 -> 1.2, hand-written part.  The Makefile builds
-- sql/sentiment_proc--1.1--1.2.sql from this file followed by the object
-- files new in 1.2 (NEW_OBJECTS).
--
-- Put here every change to an object that 1.1 already had (ALTER TABLE,
-- CREATE OR REPLACE FUNCTION, DROP ...), in the order it must run.  The
-- regression test test/sql/upgrade.sql compares an installation upgraded
-- from 1.0 and one upgraded from 1.1 with a fresh one and names whatever
-- differs.

\echo Use "ALTER EXTENSION sentiment_proc UPDATE TO '1.2'" to load this file. \quit

-- Citus (25_citus.sql): first, as attach and the trigger installation
-- replaced below call them.
CREATE OR REPLACE FUNCTION @extschema@.sentiment_citus_distributed(p_rel regclass)
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_citus_check_source(p_rel regclass, p_id_column name)
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_citus_allow_triggers(p_rel regclass)
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_citus_colocate(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_citus_publish(p_source regclass)
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_cluster_workers(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_cluster_stats(
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
REVOKE ALL ON FUNCTION @extschema@.sentiment_cluster_workers() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_cluster_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_cluster_workers() TO pg_monitor;
GRANT EXECUTE ON FUNCTION @extschema@.sentiment_cluster_stats() TO pg_monitor;

-- Rows claimed outside sentiment_proc (57_foreign_claims.sql): a per-table
-- grace period in the registry, and sentiment_stuck lists such rows only
-- once their grace is over (its definition is replaced below).
ALTER TABLE @extschema@.sentiment_sources
	ADD COLUMN foreign_claim_grace interval CHECK (foreign_claim_grace BETWEEN interval '0' AND interval '7 days');
COMMENT ON VIEW @extschema@.sentiment_stuck IS
	'Two-phase claims whose lease expired or whose claimant is gone, and rows claimed elsewhere past their grace, per source the caller may read';

-- ---- security: user code runs only with its owner's rights ----------------

-- The registry is written only through these (src/registry.c).
CREATE OR REPLACE FUNCTION @extschema@.sentiment_register(
	source regclass, id_column name, text_column name, topics_table regclass, embeddings_table regclass,
	sentiment_model text)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_register';

CREATE OR REPLACE FUNCTION @extschema@.sentiment_unregister(source regclass)
RETURNS boolean
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_unregister';


-- Attach checks ownership, gives created side tables the source's owner
-- and registers through sentiment_register; detach through unregister.
CREATE OR REPLACE FUNCTION @extschema@.sentiment_check_attach_privilege()
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_side_table_owner(p_side regclass, p_source regclass)
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_adopt_side_table(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_attach_table(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_attach_column(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_attach_status_columns(p_rel regclass, p_table name)
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_attach_indexes(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_attach_triggers(p_rel regclass, p_text_column name)
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_attach_internal(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_detach(source regclass)
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


-- Trigger functions: EXECUTE only for those who may attach.  Roles that may
-- attach today keep being able to.
REVOKE ALL ON FUNCTION @extschema@.sentiment_text_edit_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_wakeup_trigger() FROM PUBLIC;
DO $$
DECLARE
	v_role name;
BEGIN
	FOR v_role IN
		SELECT DISTINCT pg_get_userbyid(a.grantee)
		  FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
		 WHERE p.oid = '@extschema@.sentiment_attach(text, name, name, name, name)'::regprocedure
		   AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner
	LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.sentiment_text_edit_trigger(), '
					   '@extschema@.sentiment_wakeup_trigger() TO %I', v_role);
	END LOOP;
END
$$;

-- sentiment_enqueue: C, with the caller's rights (no longer SECURITY DEFINER).
CREATE OR REPLACE FUNCTION @extschema@.sentiment_enqueue(
	source regclass,
	ids bigint[] DEFAULT NULL,
	priority integer DEFAULT 0)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_enqueue';


-- Monitoring reads sources as the caller, tables only.
CREATE OR REPLACE FUNCTION @extschema@.sentiment_readable_sources(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_queue_status_internal(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_failures_internal(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_stuck_internal(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_summary(
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


-- ---- one "is attached" check, similarity behind one internal function ----

CREATE OR REPLACE FUNCTION @extschema@.sentiment_registration(p_source regclass)
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_retry_failed(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_error_history(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_claim(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_complete(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_complete(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_fail(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_fail(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_reanalyze(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_similar_source(p_source regclass,
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


CREATE OR REPLACE FUNCTION @extschema@.sentiment_similar_internal(
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

-- sentiment_similar changes language (plpgsql -> sql); CREATE OR REPLACE
-- keeps its grants.
CREATE OR REPLACE FUNCTION @extschema@.sentiment_similar(
	query text,
	k integer DEFAULT 10,
	source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM @extschema@.sentiment_similar_internal(source, query, NULL, k)
$$;

CREATE OR REPLACE FUNCTION @extschema@.sentiment_similar(
	entry bigint,
	k integer DEFAULT 10,
	source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM @extschema@.sentiment_similar_internal(source, NULL, entry, k)
$$;


-- ---- trained models: a model per table, recorded with each result ----

CREATE OR REPLACE FUNCTION @extschema@.sentiment_model_check(model text)
RETURNS boolean
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_model_check';

ALTER TABLE @extschema@.sentiment_sources ADD COLUMN sentiment_model text NOT NULL DEFAULT 'vader'
	CONSTRAINT sentiment_sources_model_check CHECK (@extschema@.sentiment_model_check(sentiment_model));
CREATE OR REPLACE FUNCTION @extschema@.sentiment_models()
RETURNS TABLE (name text, kind text, version text, file_bytes bigint, is_default boolean)
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_models';

CREATE OR REPLACE FUNCTION @extschema@.sentiment_analyze(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_analyze(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_probabilities(
	input text,
	model text DEFAULT 'social',
	OUT negative double precision,
	OUT neutral double precision,
	OUT positive double precision,
	OUT sentiment_label text)
RETURNS record
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_probabilities';

CREATE OR REPLACE FUNCTION @extschema@.sentiment_explain(
	input text,
	model text DEFAULT 'vader',
	k integer DEFAULT 10)
RETURNS TABLE (rank integer, term text, contribution double precision)
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_explain';

CREATE OR REPLACE FUNCTION @extschema@.sentiment_requeue_for_model(p_source regclass)
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_set_model(source regclass, model text)
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

COMMENT ON FUNCTION @extschema@.sentiment_analyze(text, text) IS
	'Sentiment with the chosen model (vader or social), emotion, topics and embedding of a text';
COMMENT ON FUNCTION @extschema@.sentiment_probabilities(text, text) IS
	'P(negative), P(neutral), P(positive) of a text by the model (social by default; vader gives its proportions)';
COMMENT ON FUNCTION @extschema@.sentiment_explain(text, text, integer) IS
	'The k terms that moved the sentiment most with their contributions (VADER valences after rules, or the social model''s weights)';
COMMENT ON FUNCTION @extschema@.sentiment_models() IS
	'The sentiment and emotion models of the library: name, version recorded with each result, model file size';
COMMENT ON FUNCTION @extschema@.sentiment_set_model(regclass, text) IS
	'Choose the sentiment model of an attached table (vader or social) and queue the rows another model analysed';
REVOKE ALL ON FUNCTION @extschema@.sentiment_set_model(regclass, text) FROM PUBLIC;

-- sentiment_attach takes sentiment_model: the new signatures take the
-- grants of the old ones, which go (as does the old internal helper).
DROP FUNCTION @extschema@.sentiment_attach_internal(regclass, text, name, name, name, name, name);
CREATE OR REPLACE FUNCTION @extschema@.sentiment_attach(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_attach(
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

REVOKE ALL ON FUNCTION @extschema@.sentiment_attach(text, name, name, name, name, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_attach(regclass, name, name, name, name, text) FROM PUBLIC;
DO $$
DECLARE
	v_grant record;
BEGIN
	FOR v_grant IN
		SELECT DISTINCT p.proargtypes[0]::regtype AS first, pg_get_userbyid(a.grantee) AS grantee
		  FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
		 WHERE p.oid IN ('@extschema@.sentiment_attach(text, name, name, name, name)'::regprocedure,
						 '@extschema@.sentiment_attach(regclass, name, name, name, name)'::regprocedure)
		   AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner
	LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.sentiment_attach(%s, name, name, name, name, text) TO %I',
					   v_grant.first, v_grant.grantee);
	END LOOP;
END
$$;
DROP FUNCTION @extschema@.sentiment_attach(text, name, name, name, name);
DROP FUNCTION @extschema@.sentiment_attach(regclass, name, name, name, name);
COMMENT ON FUNCTION @extschema@.sentiment_attach(text, name, name, name, name, text) IS
	'Create or adopt a mentions table for processing (idempotent)';
COMMENT ON FUNCTION @extschema@.sentiment_attach(regclass, name, name, name, name, text) IS
	'Adopt an existing mentions table for processing (idempotent)';

-- Attached tables get the column recording which model wrote each result
-- (a plain ADD COLUMN: no rewrite, and no code of the table's owner runs).
DO $$
DECLARE
	v_source regclass;
BEGIN
	FOR v_source IN SELECT s.source_table FROM @extschema@.sentiment_sources s JOIN pg_class c ON c.oid = s.source_table
					 WHERE c.relkind IN ('r', 'p') LOOP
		EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS sentiment_model text', v_source);
	END LOOP;
END
$$;

-- ---- reliability: two-phase claims take queued requests; one embedding length

ALTER TABLE @extschema@.sentiment_processing_queue ADD COLUMN claimed_until timestamptz;
-- The queue's helpers for the two-phase API (src/queue.c), and the
-- embedding length (src/similar.c).
CREATE OR REPLACE FUNCTION @extschema@.sentiment_queue_take(source regclass, n integer, lease interval)
RETURNS bigint[]
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_queue_take';

CREATE OR REPLACE FUNCTION @extschema@.sentiment_queue_finish(
	source regclass, ids bigint[], claimed_at timestamptz[], failed boolean, error text DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_queue_finish';

CREATE OR REPLACE FUNCTION @extschema@.sentiment_embedding_dims()
RETURNS integer
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_embedding_dims';

CREATE OR REPLACE FUNCTION @extschema@.sentiment_similar_check_dims(p_embeddings regclass, p_dims integer)
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

COMMENT ON FUNCTION @extschema@.sentiment_queue_take(regclass, integer, interval) IS
	'Two-phase path: entry ids of up to n queued requests of a source, by priority, marked taken for the lease';
COMMENT ON FUNCTION @extschema@.sentiment_queue_finish(regclass, bigint[], timestamptz[], boolean, text) IS
	'Two-phase path: end the queued requests (made before their claim) of rows completed or failed; returns how many';
COMMENT ON FUNCTION @extschema@.sentiment_embedding_dims() IS
	'Number of dimensions of the analyser''s embeddings, the length sentiment_complete accepts';
CREATE OR REPLACE FUNCTION @extschema@.sentiment_claim(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_complete(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_complete(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_fail(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_fail(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_similar(
	query text,
	k integer DEFAULT 10,
	source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM @extschema@.sentiment_similar_internal(source, query, NULL, k)
$$;

CREATE OR REPLACE FUNCTION @extschema@.sentiment_similar(
	entry bigint,
	k integer DEFAULT 10,
	source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM @extschema@.sentiment_similar_internal(source, NULL, entry, k)
$$;


-- ---- reliability: wake-ups for partitions and only for new text ----------

CREATE OR REPLACE FUNCTION @extschema@.sentiment_wakeup_install(
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_wakeup_partitions_added()
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

CREATE OR REPLACE FUNCTION @extschema@.sentiment_wakeup_new_partitions()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_wakeup_new_partitions';

COMMENT ON FUNCTION @extschema@.sentiment_wakeup_install(regclass, name, boolean) IS
	'Put the workers'' wake-up trigger on an attached table and each of its partitions; returns how many';
CREATE EVENT TRIGGER sentiment_wakeup_new_partitions ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
	EXECUTE FUNCTION @extschema@.sentiment_wakeup_new_partitions();
CREATE OR REPLACE FUNCTION @extschema@.sentiment_retry_failed(
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

-- Attached tables: the new trigger definition, on partitions too.
DO $$
DECLARE
	v_src record;
BEGIN
	FOR v_src IN SELECT s.source_table, s.text_column FROM @extschema@.sentiment_sources s ORDER BY s.source_table::oid
	LOOP
		PERFORM @extschema@.sentiment_wakeup_install(v_src.source_table, v_src.text_column);
	END LOOP;
END
$$;

-- ---- reliability: statistics of a source go with its registration --------

CREATE OR REPLACE FUNCTION @extschema@.sentiment_registry_forget_trigger()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_registry_forget_trigger';

REVOKE ALL ON FUNCTION @extschema@.sentiment_registry_forget_trigger() FROM PUBLIC;
CREATE TRIGGER sentiment_forget_stats AFTER DELETE ON @extschema@.sentiment_sources
	FOR EACH ROW EXECUTE FUNCTION @extschema@.sentiment_registry_forget_trigger();

-- ---- embeddings as pgvector types (sql/objects/66_pgvector.sql, new) ------
-- sentiment_attach_internal creates new embeddings tables as vector(256)
-- when pgvector is installed in the database; sentiment_complete casts to
-- the column's type; sentiment_similar_internal searches vector and halfvec
-- columns through their HNSW index (all three are replaced above).
COMMENT ON FUNCTION @extschema@.sentiment_similar(text, integer, regclass) IS
	'The k rows most similar to a text by cosine of their stored embeddings (HNSW index for vector/halfvec, else an exact scan)';
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
