-- Citus (docs/citus.md): attached tables that are hash-distributed.  Nothing
-- here needs Citus: without it (or for a table that is not distributed)
-- these do nothing.  The worker nodes process the shards they hold
-- (src/citus.c); attach, detach and the settings run on the coordinator.

-- Is the table a hash-distributed Citus table?  false without Citus.
CREATE FUNCTION @extschema@._sentiment_citus_distributed(p_rel regclass)
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
CREATE FUNCTION @extschema@._sentiment_citus_check_source(p_rel regclass, p_id_column name)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_method	"char";
	v_column	text;
	v_owner		name;
	v_grant		text;
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
	-- Attach puts the trigger functions on every node's copy of the table,
	-- as the table's owner (_sentiment_source_ddl); grants made on the
	-- coordinator do not reach the worker nodes, so say which command does
	-- (docs/citus.md) before Citus fails half-way with a bare "permission
	-- denied" from one of them.
	v_owner := (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = p_rel);
	v_grant := format('GRANT EXECUTE ON FUNCTION %s, %s TO %I', '@extschema@.sentiment_text_edit_trigger()',
					  '@extschema@.sentiment_wakeup_trigger()', v_owner);
	IF NOT (has_function_privilege(v_owner, '@extschema@.sentiment_text_edit_trigger()', 'EXECUTE')
			AND has_function_privilege(v_owner, '@extschema@.sentiment_wakeup_trigger()', 'EXECUTE')) THEN
		RAISE EXCEPTION 'permission denied to attach distributed table %', p_rel
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role %s, its owner, needs EXECUTE on sentiment_text_edit_trigger() and '
								  'sentiment_wakeup_trigger() on every node: attach puts them on the table as that role.',
								  v_owner),
				  HINT = format('A superuser runs on the coordinator: %s; SELECT run_command_on_workers(%L);',
								v_grant, v_grant);
	END IF;
	EXECUTE 'SELECT pg_catalog.string_agg(r.nodename || '':'' || r.nodeport, '', '' ORDER BY r.nodename, r.nodeport) '
			'FROM pg_catalog.run_command_on_workers($1) r WHERE r.result IS DISTINCT FROM ''t'''
		INTO v_column
		USING format('SELECT pg_catalog.has_function_privilege(%L, %L, ''EXECUTE'') '
					 'AND pg_catalog.has_function_privilege(%L, %L, ''EXECUTE'')',
					 v_owner, '@extschema@.sentiment_text_edit_trigger()',
					 v_owner, '@extschema@.sentiment_wakeup_trigger()');
	IF v_column IS NOT NULL THEN
		RAISE EXCEPTION 'permission denied to attach distributed tables on worker nodes %', v_column
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role %s, the table''s owner, needs EXECUTE on sentiment_text_edit_trigger() and '
								  'sentiment_wakeup_trigger() on every node; grants made on the coordinator do not '
								  'reach the worker nodes.', v_owner),
				  HINT = format('A superuser runs on the coordinator: SELECT run_command_on_workers(%L);', v_grant);
	END IF;
	RETURN true;
END
$body$;

-- Triggers on a distributed table need citus.enable_unsafe_triggers (Citus
-- then puts them on every shard).  Set for the rest of the transaction only,
-- and only for a distributed table.
CREATE FUNCTION @extschema@._sentiment_citus_allow_triggers(p_rel regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF @extschema@._sentiment_citus_distributed(p_rel) THEN
		PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
	END IF;
END
$body$;

-- A DDL statement of attach or sentiment_set_model on a source: as the
-- caller, except on a distributed table, where it runs as the table's
-- owner (src/identity.c): Citus refuses a transaction that touches a
-- table's shards as two roles, and the rows those functions write are
-- written as the owner.  The C part checks the caller has the owner's
-- privileges, as attach does; like attach's other steps, callable by all.
CREATE FUNCTION @extschema@._sentiment_source_ddl_as_owner(p_source regclass, p_statement text)
RETURNS void
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_source_ddl_as_owner';

CREATE FUNCTION @extschema@._sentiment_source_ddl(p_source regclass, p_statement text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF @extschema@._sentiment_citus_distributed(p_source) THEN
		PERFORM @extschema@._sentiment_source_ddl_as_owner(p_source, p_statement);
	ELSE
		EXECUTE p_statement;
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
	IF NOT @extschema@._sentiment_citus_distributed(p_side) THEN
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
	-- (a time-partitioned source has no unique index on the id alone for a
	-- foreign key to reference: _sentiment_attach_time_key)
	IF NOT EXISTS (SELECT FROM pg_constraint c
					WHERE c.conrelid = p_side AND c.contype = 'f' AND c.confrelid = p_source)
	   AND EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
				   WHERE i.indrelid = p_source AND i.indisunique AND i.indnkeyatts = 1
					 AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attname = p_id_column) THEN
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
CREATE FUNCTION @extschema@._sentiment_citus_publish(p_source regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src	@extschema@.sentiment_sources := @extschema@._sentiment_registration(p_source);
BEGIN
	IF NOT @extschema@._sentiment_citus_distributed(p_source) THEN
		RETURN;
	END IF;
	PERFORM @extschema@._sentiment_citus_allow_triggers(p_source);
	PERFORM @extschema@._sentiment_source_ddl(p_source, format(
		'CREATE OR REPLACE TRIGGER sentiment_text_edit '
		'BEFORE UPDATE OF %I ON %s '
		'FOR EACH ROW EXECUTE FUNCTION @extschema@.sentiment_text_edit_trigger(%L, %L, %L, %L, %L)',
		v_src.text_column, p_source, v_src.text_column, v_src.id_column,
		v_src.topics_table::text, v_src.embeddings_table::text, v_src.sentiment_model));
	PERFORM @extschema@._sentiment_source_ddl(p_source,
		format('ALTER TABLE %s ENABLE ALWAYS TRIGGER sentiment_text_edit', p_source));
END
$body$;

-- Wake-ups across nodes (src/citus.c).  On the coordinator, after rows of
-- distributed tables went back to pending in the current transaction
-- (sentiment_retry_failed; sentiment_enqueue and sentiment_reset_stuck do
-- it in C): tell each worker node holding shards of the table (NULL: of any
-- attached distributed table) to start a batch once its part of this
-- transaction has ended.  A node that cannot be told gets a warning.
CREATE FUNCTION @extschema@.sentiment_citus_wake_nodes(p_source regclass DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_citus_wake_nodes';

-- On a worker node: start a batch once this node's part of the Citus
-- transaction (the coordinator backend's global pid, the transaction's
-- number) has ended; at once when it
-- has none in progress.  It only wakes workers, so anyone may call it (the
-- coordinator calls it as whoever called sentiment_retry_failed).
CREATE FUNCTION @extschema@.sentiment_citus_wake_after(p_global_pid bigint, p_transaction_number bigint)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_citus_wake_after';

COMMENT ON FUNCTION @extschema@.sentiment_citus_wake_nodes(regclass) IS
	'On a Citus coordinator: wake the workers of the nodes holding shards of a table (NULL: of all) once this transaction has committed';
COMMENT ON FUNCTION @extschema@.sentiment_citus_wake_after(bigint, bigint) IS
	'On a Citus worker node: start a batch once this node''s part of a Citus transaction has ended';

-- ---- cluster-wide monitoring, from the coordinator -------------------------

-- One query run on every Citus worker node (Citus's
-- run_command_on_workers, as the caller): per node its name, whether it
-- answered, the answer as JSON and as text (the error when it did not).
-- No rows without Citus.  Runs as the caller, so it stays executable by
-- PUBLIC.
CREATE FUNCTION @extschema@._sentiment_on_worker_nodes(
	p_query text, OUT node text, OUT success boolean, OUT answer json, OUT result text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF to_regproc('pg_catalog.run_command_on_workers') IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE
		'SELECT r.nodename || '':'' || r.nodeport, r.success, CASE WHEN r.success THEN r.result::json END, r.result '
		'  FROM pg_catalog.run_command_on_workers($1) r'
		USING p_query;
END
$body$;

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
		  FROM @extschema@._sentiment_worker_status() w;
	RETURN QUERY
		SELECT n.node, x.kind, x.pid, x.state, x.batches, x.rows_processed,
			   x.wakeups, x.last_batch_at, CASE WHEN n.success THEN x.last_error ELSE n.result END
		  FROM @extschema@._sentiment_on_worker_nodes(
				'SELECT COALESCE(pg_catalog.json_agg(w), ''[]'') FROM @extschema@._sentiment_worker_status() w') n
		  LEFT JOIN LATERAL json_to_recordset(n.answer)
			   AS x(kind text, pid integer, state text, batches bigint, rows_processed bigint,
					wakeups bigint, last_batch_at timestamptz, last_error text) ON true
		 ORDER BY 1, 2, 3;
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
	RETURN QUERY
		SELECT n.node, CASE WHEN n.success THEN x.source ELSE n.result END,
			   x.batches, x.rows_completed, x.rows_failed, x.last_batch_at
		  FROM @extschema@._sentiment_on_worker_nodes(
				'SELECT COALESCE(pg_catalog.json_agg(s), ''[]'') FROM @extschema@.sentiment_stats s') n
		  LEFT JOIN LATERAL json_to_recordset(n.answer)
			   AS x(source text, batches bigint, rows_completed bigint, rows_failed bigint,
					last_batch_at timestamptz) ON true
		 ORDER BY 1, 2;
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
