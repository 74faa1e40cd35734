-- Privileges: what changes data is not executable by PUBLIC; a role needs
\set SHOW_CONTEXT never
-- the grant (and the table privileges) to process.
CREATE ROLE regress_sp_nobody;
CREATE ROLE regress_sp_operator;

-- Functions of the extension that any role may execute.
SELECT p.oid::regprocedure::text AS executable_by_public
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'sentiment_proc'
 WHERE has_function_privilege('regress_sp_nobody', p.oid, 'EXECUTE')
 ORDER BY 1;

INSERT INTO sentiment_data (text) VALUES ('privileged work'), ('more privileged work');

\set VERBOSITY default
SET ROLE regress_sp_nobody;
SELECT sentiment_process_batch(10);
SELECT sentiment_attach('mine');
SELECT sentiment_attach('sentiment_data'::regclass);
SELECT sentiment_detach('sentiment_data');
-- The helpers behind sentiment_attach check the same privilege.
SELECT _sentiment_attach_internal(NULL, 'mine', 'public', 'entry_id', 'text', 'a', 'b', NULL);
-- Nobody writes the registry directly.
DELETE FROM sentiment_sources;
-- Reading it, and analysing text, is for everyone.
SELECT count(*) > 0 AS can_read_registry FROM sentiment_sources;
SELECT sentiment_label FROM sentiment_analyze('Free for all');
RESET ROLE;

-- The grant alone is not enough: processing a table takes UPDATE on it
-- (the rows are then written as the table's owner).
GRANT EXECUTE ON FUNCTION sentiment_process_batch(integer, regclass) TO regress_sp_operator;
SET ROLE regress_sp_operator;
SELECT sentiment_process_batch(10, 'sentiment_data');
RESET ROLE;

GRANT UPDATE ON sentiment_data TO regress_sp_operator;
SET ROLE regress_sp_operator;
SELECT sentiment_process_batch(10, 'sentiment_data');
RESET ROLE;
SELECT processing_status, count(*) FROM sentiment_data WHERE text LIKE '%privileged work' GROUP BY 1;

-- Attaching needs the grants (attach and the trigger functions it uses)
-- and ownership of the table; no privilege on the registry.
GRANT EXECUTE ON FUNCTION sentiment_attach(text, name, name, name, name, text) TO regress_sp_operator;
GRANT CREATE ON SCHEMA public TO regress_sp_operator;
SET ROLE regress_sp_operator;
SELECT sentiment_attach('operator_owned', topics_table => 'op_topics', embeddings_table => 'op_embeddings');
RESET ROLE;
GRANT EXECUTE ON FUNCTION sentiment_text_edit_trigger(), sentiment_wakeup_trigger() TO regress_sp_operator;
SET ROLE regress_sp_operator;
SELECT sentiment_attach('legacy', topics_table => 'legacy_topics', embeddings_table => 'legacy_embeddings');
SELECT sentiment_attach('operator_owned', topics_table => 'op_topics', embeddings_table => 'op_embeddings');
RESET ROLE;
SELECT tableowner FROM pg_tables WHERE tablename = 'operator_owned';

SELECT sentiment_detach('operator_owned');
DROP TABLE operator_owned CASCADE;
DROP TABLE op_topics, op_embeddings;
REVOKE ALL ON sentiment_data, mention_topics, sentiment_embeddings, sentiment_sources FROM regress_sp_operator;
REVOKE ALL ON SCHEMA public FROM regress_sp_operator;
REVOKE ALL ON FUNCTION sentiment_process_batch(integer, regclass) FROM regress_sp_operator;
REVOKE ALL ON FUNCTION sentiment_attach(text, name, name, name, name, text),
	sentiment_text_edit_trigger(), sentiment_wakeup_trigger() FROM regress_sp_operator;
DROP ROLE regress_sp_nobody;
DROP ROLE regress_sp_operator;
