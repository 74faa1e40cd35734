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
-- replace function: sentiment_citus_distributed
-- replace function: sentiment_citus_check_source
-- replace function: sentiment_citus_allow_triggers
-- replace function: sentiment_citus_colocate
-- replace function: sentiment_citus_publish
-- replace function: sentiment_cluster_workers
-- replace function: sentiment_cluster_stats
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
-- replace function: sentiment_register
-- replace function: sentiment_unregister

-- Attach checks ownership, gives created side tables the source's owner
-- and registers through sentiment_register; detach through unregister.
-- replace function: sentiment_check_attach_privilege
-- replace function: sentiment_side_table_owner
-- replace function: sentiment_adopt_side_table
-- replace function: sentiment_attach_table
-- replace function: sentiment_attach_column
-- replace function: sentiment_attach_status_columns
-- replace function: sentiment_attach_indexes
-- replace function: sentiment_attach_triggers
-- replace function: sentiment_attach_internal
-- replace function: sentiment_detach

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
-- replace function: sentiment_enqueue

-- Monitoring reads sources as the caller, tables only.
-- replace function: sentiment_readable_sources
-- replace function: sentiment_queue_status_internal
-- replace function: sentiment_failures_internal
-- replace function: sentiment_stuck_internal
-- replace function: sentiment_summary

-- ---- one "is attached" check, similarity behind one internal function ----

-- replace function: sentiment_registration
-- replace function: sentiment_retry_failed
-- replace function: sentiment_error_history
-- replace function: sentiment_claim
-- replace function: sentiment_complete
-- replace function: sentiment_fail
-- replace function: sentiment_reanalyze
-- replace function: sentiment_similar_source

-- replace function: sentiment_similar_internal
-- sentiment_similar changes language (plpgsql -> sql); CREATE OR REPLACE
-- keeps its grants.
-- replace function: sentiment_similar

-- ---- trained models: a model per table, recorded with each result ----

-- replace function: sentiment_model_check
ALTER TABLE @extschema@.sentiment_sources ADD COLUMN sentiment_model text NOT NULL DEFAULT 'vader'
	CONSTRAINT sentiment_sources_model_check CHECK (@extschema@.sentiment_model_check(sentiment_model));
-- replace function: sentiment_models
-- replace function: sentiment_analyze
-- replace function: sentiment_probabilities
-- replace function: sentiment_explain
-- replace function: sentiment_requeue_for_model
-- replace function: sentiment_set_model
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
-- replace function: sentiment_attach
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
-- replace function: sentiment_queue_take
-- replace function: sentiment_queue_finish
-- replace function: sentiment_embedding_dims
-- replace function: sentiment_similar_check_dims
COMMENT ON FUNCTION @extschema@.sentiment_queue_take(regclass, integer, interval) IS
	'Two-phase path: entry ids of up to n queued requests of a source, by priority, marked taken for the lease';
COMMENT ON FUNCTION @extschema@.sentiment_queue_finish(regclass, bigint[], timestamptz[], boolean, text) IS
	'Two-phase path: end the queued requests (made before their claim) of rows completed or failed; returns how many';
COMMENT ON FUNCTION @extschema@.sentiment_embedding_dims() IS
	'Number of dimensions of the analyser''s embeddings, the length sentiment_complete accepts';
-- replace function: sentiment_claim
-- replace function: sentiment_complete
-- replace function: sentiment_fail
-- replace function: sentiment_similar

-- ---- reliability: wake-ups for partitions and only for new text ----------

-- replace function: sentiment_wakeup_install
-- replace function: sentiment_wakeup_partitions_added
-- replace function: sentiment_wakeup_new_partitions
COMMENT ON FUNCTION @extschema@.sentiment_wakeup_install(regclass, name, boolean) IS
	'Put the workers'' wake-up trigger on an attached table and each of its partitions; returns how many';
CREATE EVENT TRIGGER sentiment_wakeup_new_partitions ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
	EXECUTE FUNCTION @extschema@.sentiment_wakeup_new_partitions();
-- replace function: sentiment_retry_failed
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

-- replace function: sentiment_registry_forget_trigger
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
