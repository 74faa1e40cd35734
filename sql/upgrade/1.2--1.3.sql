-- sentiment_proc 1.2 -> 1.3, hand-written part.  The Makefile builds
-- sql/sentiment_proc--1.2--1.3.sql from this file followed by the object
-- files new in 1.3 (NEW_OBJECTS).
--
-- Put here every change to an object that 1.2 already had (ALTER TABLE,
-- CREATE OR REPLACE FUNCTION, DROP ...), in the order it must run.  A
-- changed function is one line "-- replace function: NAME" that
-- tools/upgrade-script.awk expands into its current definition.  The
-- regression test test/sql/upgrade.sql compares installations upgraded from
-- 1.0, 1.1 and 1.2 with a fresh one and names whatever differs.

\echo Use "ALTER EXTENSION sentiment_proc UPDATE TO '1.3'" to load this file. \quit

-- rename: internal helpers (hyg-rename.sh writes this block)
-- Internal helpers take the _sentiment_ prefix; the public API keeps
-- sentiment_ (docs/development.md, "Naming").  Every overload, by name.
DO $rename$
DECLARE
	v_fn record;
BEGIN
	FOR v_fn IN
		SELECT n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args
		  FROM pg_catalog.pg_proc p
		  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
			   AND d.objid = p.oid AND d.deptype = 'e'
		  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'sentiment_proc'
		 WHERE p.proname = ANY (ARRAY[
			'sentiment_added_mark', 'sentiment_adopt_side_table', 'sentiment_attach_column',
			'sentiment_attach_indexes', 'sentiment_attach_internal', 'sentiment_attach_status_columns',
			'sentiment_attach_table', 'sentiment_attach_triggers', 'sentiment_batch_progress_internal',
			'sentiment_check_attach_privilege', 'sentiment_check_attachable', 'sentiment_citus_allow_triggers',
			'sentiment_citus_check_source', 'sentiment_citus_distributed', 'sentiment_citus_publish',
			'sentiment_cutover_internal', 'sentiment_embedding_column', 'sentiment_embedding_index',
			'sentiment_embedding_lag_internal', 'sentiment_embedding_lane', 'sentiment_embedding_lane_create',
			'sentiment_embedding_lane_flush', 'sentiment_embedding_type_sql', 'sentiment_failures_internal',
			'sentiment_languages_internal', 'sentiment_lexicon_entry_check', 'sentiment_mark_added',
			'sentiment_model_check', 'sentiment_own_claim', 'sentiment_readable_sources',
			'sentiment_registration', 'sentiment_registry_forget_trigger', 'sentiment_report_denied',
			'sentiment_requeue_for_model', 'sentiment_side_table_check', 'sentiment_side_table_owner',
			'sentiment_side_table_references_check', 'sentiment_similar_check_dims', 'sentiment_similar_internal',
			'sentiment_similar_source', 'sentiment_stats_internal', 'sentiment_stuck_internal',
			'sentiment_throughput_internal', 'sentiment_topic_entry_check', 'sentiment_vector_schema',
			'sentiment_worker_status', 'sentiment_external_internal']::name[])
	LOOP
		EXECUTE pg_catalog.format('ALTER ROUTINE %I.%I(%s) RENAME TO %I',
								  v_fn.nspname, v_fn.proname, v_fn.args, '_' || v_fn.proname);
	END LOOP;
END
$rename$;
-- end of rename: internal helpers

-- the scripts' grant-by-copy (10_registry.sql), used below and by the new objects
-- replace function: _sentiment_grant_like
REVOKE ALL ON FUNCTION @extschema@._sentiment_grant_like(regprocedure, regprocedure) FROM PUBLIC;

-- security round three, part B
-- claims bound to the role that made them (src/lease.c)
-- replace function: _sentiment_own_claim
-- replace function: sentiment_claim
-- replace function: sentiment_complete
-- replace function: sentiment_fail
-- replace function: sentiment_renew
-- replace function: sentiment_release
-- no temporary tables, no partitions of another owner (src/registry.c)
-- replace function: _sentiment_check_attachable
-- attach's steps split out of _sentiment_attach_internal (issue 23; executable
-- by PUBLIC like the other steps, as a fresh installation has them)
-- replace function: _sentiment_attach_relation
-- replace function: _sentiment_attach_side_table
-- replace function: _sentiment_attach_internal
-- sentiment_similar's default source: the sentiment_data on the caller's path
-- replace function: _sentiment_similar_source
-- replace function: sentiment_similar
-- Citus: attach says which grant the worker nodes need
-- replace function: _sentiment_citus_check_source
-- the cluster-wide monitoring asks the worker nodes through one helper (issue 23)
-- replace function: _sentiment_on_worker_nodes
-- replace function: sentiment_cluster_workers
-- replace function: sentiment_cluster_stats
-- Registrations a temporary table left behind (its session ended, which no
-- event trigger sees), and those of temporary tables, which 1.3 refuses.
DELETE FROM @extschema@.sentiment_sources s
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class c
					WHERE c.oid OPERATOR(pg_catalog.=) s.source_table::pg_catalog.oid
					  AND c.relpersistence OPERATOR(pg_catalog.<>) 't');
-- security round three, part A (issue 22: items 1, 2, 3, 5, 10, 14, 16, 19, 20)

-- Statements on attached tables run as the table's owner
-- (src/source_sql.c), after a check of the columns attach created.
-- replace function: sentiment_status_columns
-- replace function: sentiment_source_problem
-- replace function: sentiment_source_sql
-- replace function: _sentiment_report_denied
-- the loop of sentiment_retry_failed and sentiment_reanalyze without a source (issue 23)
-- replace function: _sentiment_for_each_updatable
-- the loop of the functions that read every readable source (issue 23)
-- replace function: _sentiment_readable_rows
-- replace function: _sentiment_attach_status_columns
-- replace function: _sentiment_requeue_for_model
-- replace function: sentiment_retry_failed
-- replace function: sentiment_error_history
-- replace function: sentiment_reanalyze
-- replace function: sentiment_claim
-- replace function: sentiment_queue_status_internal
-- replace function: _sentiment_failures_internal
-- replace function: _sentiment_stuck_internal
-- replace function: sentiment_summary
-- replace function: _sentiment_cutover_internal
-- replace function: sentiment_completions

-- pg_monitor reads the queue requests of the tables it may read.
ALTER TABLE @extschema@.sentiment_processing_queue ENABLE ROW LEVEL SECURITY;
CREATE POLICY sentiment_processing_queue_readable ON @extschema@.sentiment_processing_queue
	FOR SELECT USING (pg_catalog.has_table_privilege(source_table, 'SELECT'));

-- sentiment_register_grace is no longer executable by PUBLIC (it got around
-- the REVOKE on sentiment_set_foreign_grace); those granted
-- sentiment_set_foreign_grace keep being able to use it.
REVOKE ALL ON FUNCTION @extschema@.sentiment_register_grace(regclass, interval) FROM PUBLIC;
SELECT @extschema@._sentiment_grant_like('@extschema@.sentiment_set_foreign_grace(regclass, interval)',
										  '@extschema@.sentiment_register_grace(regclass, interval)');

-- 1.1's roles recipe granted INSERT, UPDATE and DELETE on the registry to
-- those who may attach; since 1.2 only src/registry.c writes it.  Those
-- grants go (fresh 1.2 installations never had them).
DO $part_a$
DECLARE
	v_grantee text;
BEGIN
	FOR v_grantee IN
		SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
		  FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
		 WHERE c.oid = '@extschema@.sentiment_sources'::regclass
		   AND a.privilege_type <> 'SELECT' AND a.grantee <> c.relowner
	LOOP
		EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON @extschema@.sentiment_sources FROM %s',
					   v_grantee);
	END LOOP;
END
$part_a$;
-- DBA first day (issue 28)
-- attach refuses side tables whose foreign key references another table
-- replace function: _sentiment_side_table_references_check
-- replace function: _sentiment_adopt_side_table
-- attach marks what it adds; sentiment_detach(source, drop_added => true)
-- removes it (a new overload: the one-argument detach is unchanged, and
-- whoever may run it may run the new one)
-- replace function: _sentiment_added_mark
-- replace function: _sentiment_mark_added
-- replace function: _sentiment_attach_internal
-- replace function: sentiment_detach
COMMENT ON FUNCTION @extschema@.sentiment_detach(regclass, boolean) IS
	'Stop processing a table and (drop_added) remove the columns, indexes and side tables attach added';
REVOKE ALL ON FUNCTION @extschema@.sentiment_detach(regclass, boolean) FROM PUBLIC;
SELECT @extschema@._sentiment_grant_like('@extschema@.sentiment_detach(regclass)',
										  '@extschema@.sentiment_detach(regclass, boolean)');
-- sentiment_throughput: no zero rows for minutes before a source's statistics began;
-- rows finished through the two-phase API counted, apart as external (issue 28, major 6)
-- replace function: _sentiment_external_internal
REVOKE ALL ON FUNCTION @extschema@._sentiment_external_internal() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._sentiment_external_internal() TO pg_monitor;
-- replace view: sentiment_throughput
-- replace view: sentiment_stats
COMMENT ON VIEW @extschema@.sentiment_throughput IS
	'Rows finished per minute over the last hour, in the server and externally (external_*), per source (source NULL: the database total)';
-- an empty table name gives the same error on every supported PostgreSQL major (issue 21)
-- replace function: sentiment_attach
-- multilingual
COMMENT ON FUNCTION @extschema@.sentiment_analyze(text, text) IS
	'Sentiment with the chosen model (vader, social or multilingual), emotion, topics and embedding of a text';
-- replace function: sentiment_set_model
COMMENT ON FUNCTION @extschema@.sentiment_set_model(regclass, text) IS
	'Choose the sentiment model of an attached table (vader, social or multilingual) and queue the rows another model analysed';
-- replace function: _sentiment_attach_status_columns
-- Attached tables get the column of each text's language, filled by every
-- batch from now on (a plain ADD COLUMN: no rewrite, no code of the table's
-- owner runs).
DO $$
DECLARE
	v_source regclass;
BEGIN
	FOR v_source IN SELECT s.source_table FROM @extschema@.sentiment_sources s JOIN pg_class c ON c.oid = s.source_table
					 WHERE c.relkind IN ('r', 'p') LOOP
		EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS language text', v_source);
	END LOOP;
END
$$;
-- replace function: sentiment_summary
COMMENT ON FUNCTION @extschema@.sentiment_summary(regclass, integer) IS
	'Rows by status, rates, sentiment, emotion and language distribution and top topics of attached sources (reads every row)';
-- replace function: sentiment_complete
-- security round three, part D
-- sentiment_convert_embeddings runs only as the owner of the table, only
-- from real[], vector or halfvec, and not over CHECK constraints
-- replace function: sentiment_convert_embeddings
-- the registry's grants of 1.1 go whole: REVOKE ALL (MAINTAIN too, on 17
-- and later, which part A's list leaves), then SELECT back to whoever had it
DO $part_d$
DECLARE
	v_grant record;
BEGIN
	FOR v_grant IN
		SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee,
			   bool_or(a.privilege_type = 'SELECT') AS can_select,
			   bool_or(a.privilege_type = 'SELECT' AND a.is_grantable) AS select_grantable
		  FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
		 WHERE c.oid = '@extschema@.sentiment_sources'::regclass AND a.grantee <> c.relowner
		 GROUP BY a.grantee
		HAVING bool_or(a.privilege_type <> 'SELECT')
	LOOP
		EXECUTE format('REVOKE ALL ON @extschema@.sentiment_sources FROM %s', v_grant.grantee);
		IF v_grant.can_select THEN
			EXECUTE format('GRANT SELECT ON @extschema@.sentiment_sources TO %s%s', v_grant.grantee,
						   CASE WHEN v_grant.select_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
		END IF;
	END LOOP;
END
$part_d$;
-- embedding lane (the lanes of tables already vector/halfvec are made at the
-- end of 67_embedding_lane.sql, which runs after this part)
-- replace function: _sentiment_embedding_index
-- replace function: sentiment_convert_embeddings
-- (_sentiment_similar_internal: in C since, with 1.2's signature)
-- replace function: _sentiment_similar_internal
-- replace function: sentiment_complete
-- replace function: sentiment_fail
-- replace function: sentiment_detach
-- replace function: sentiment_similar
-- security round three, part C
-- the two-phase path and sentiment_similar read and write attached tables
-- as their owner (sentiment_source_sql, src/source_sql.c)
-- replace function: _sentiment_side_table_check
-- replace function: sentiment_claim
-- replace function: sentiment_complete
-- replace function: sentiment_fail
-- replace function: sentiment_renew
-- replace function: sentiment_release
-- replace function: _sentiment_similar_check_dims
-- replace function: _sentiment_similar_internal

-- Citus: wake-ups across nodes (issue 27); sentiment_enqueue and
-- sentiment_reset_stuck do theirs in C
-- replace function: sentiment_citus_wake_nodes
-- replace function: sentiment_citus_wake_after
COMMENT ON FUNCTION @extschema@.sentiment_citus_wake_nodes(regclass) IS
	'On a Citus coordinator: wake the workers of the nodes holding shards of a table (NULL: of all) once this transaction has committed';
COMMENT ON FUNCTION @extschema@.sentiment_citus_wake_after(bigint, bigint) IS
	'On a Citus worker node: start a batch once this node''s part of a Citus transaction has ended';
-- replace function: sentiment_retry_failed

-- issue 28 (major 5): who analyses a table, in the server or external
-- analysers only (sentiment_set_processor, src/registry.c)
ALTER TABLE @extschema@.sentiment_sources ADD COLUMN processor text NOT NULL DEFAULT 'server'
	CONSTRAINT sentiment_sources_processor_check CHECK (processor IN ('server', 'external'));
-- replace function: sentiment_set_processor
COMMENT ON FUNCTION @extschema@.sentiment_set_processor(regclass, text) IS
	'Choose who analyses an attached table: server (workers and sentiment_process_batch) or external (sentiment_claim only)';
REVOKE ALL ON FUNCTION @extschema@.sentiment_set_processor(regclass, text) FROM PUBLIC;
-- rename: functions and views that name a renamed helper (hyg-rename.sh writes this block)
-- replace function: _sentiment_attach_indexes
-- replace function: _sentiment_attach_triggers
-- replace function: sentiment_wakeup_install
-- replace function: _sentiment_citus_allow_triggers
-- replace function: sentiment_citus_colocate
-- replace function: _sentiment_citus_publish
-- replace function: sentiment_set_foreign_grace
-- replace function: _sentiment_embedding_column
-- replace function: _sentiment_embedding_type_sql
-- replace view: sentiment_cutover
-- replace view: sentiment_workers
-- replace view: sentiment_batch_progress
-- replace view: sentiment_failures
-- replace view: sentiment_stuck
-- end of rename: functions and views that name a renamed helper

-- A distributed table's DDL in attach and sentiment_set_model runs as its
-- owner, like the rows they write (Citus refuses two roles on one table's
-- shards in a transaction: a superuser could not re-attach a tenant's table)
-- replace function: _sentiment_source_ddl_as_owner
-- replace function: _sentiment_source_ddl

-- the fields of a two-phase result, from the result row's description (issue 23)
-- replace function: sentiment_result_fields
COMMENT ON FUNCTION @extschema@.sentiment_result_fields() IS
	'Two-phase path: the fields of a result sentiment_complete takes, with their SQL types';

-- time-partitioned sources, PRIMARY KEY (id, day) (issue 27): attach takes
-- them, their side tables' delete trigger stands in for the foreign key
-- replace function: sentiment_side_rows_delete_trigger
-- replace function: _sentiment_attach_time_key
-- replace function: _sentiment_attach_internal
-- replace function: sentiment_detach
-- replace function: sentiment_prune_side_rows
COMMENT ON FUNCTION @extschema@.sentiment_prune_side_rows(regclass) IS
	'Delete the topics and embeddings of ids no row of an attached table holds (after dropping a partition); returns how many';
REVOKE ALL ON FUNCTION @extschema@.sentiment_prune_side_rows(regclass) FROM PUBLIC;
