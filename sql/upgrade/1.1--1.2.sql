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

-- ---- embeddings as pgvector types (sql/objects/66_pgvector.sql, new) ------
-- sentiment_attach_internal creates new embeddings tables as vector(256)
-- when pgvector is installed in the database; sentiment_complete casts to
-- the column's type; sentiment_similar_internal searches vector and halfvec
-- columns through their HNSW index (all three are replaced above).
COMMENT ON FUNCTION @extschema@.sentiment_similar(text, integer, regclass) IS
	'The k rows most similar to a text by cosine of their stored embeddings (HNSW index for vector/halfvec, else an exact scan)';
