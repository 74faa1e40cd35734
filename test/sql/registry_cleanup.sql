-- What goes with a registration: the statistics of a detached or dropped
-- source leave shared memory when that transaction commits (a rolled-back
-- detach keeps them); the wake-up trigger is on every partition of an
-- attached partitioned table, also on those created or attached later, and
-- fires for new or edited text only.
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.stats_of(t text) RETURNS bigint LANGUAGE sql AS
	$$SELECT sum(rows_completed)::bigint FROM sentiment_stats WHERE source::text = t$$;
SELECT sentiment_attach('rc_one', topics_table => 'rc_one_topics', embeddings_table => 'rc_one_embeddings');
SELECT sentiment_attach('rc_two', topics_table => 'rc_two_topics', embeddings_table => 'rc_two_embeddings');
INSERT INTO rc_one (text) VALUES ('one'), ('two');
INSERT INTO rc_two (text) VALUES ('three');
SELECT sentiment_process_batch(10, 'rc_one') AS one, sentiment_process_batch(10, 'rc_two') AS two;
SELECT pg_temp.stats_of('rc_one') AS one, pg_temp.stats_of('rc_two') AS two;
-- a detach that rolls back keeps them
BEGIN;
SELECT sentiment_detach('rc_one');
SELECT pg_temp.stats_of('rc_one') AS until_commit;
ROLLBACK;
SELECT pg_temp.stats_of('rc_one') AS after_rollback;
-- so does one in a subtransaction rolled back
BEGIN;
SAVEPOINT s;
SELECT sentiment_detach('rc_one');
ROLLBACK TO s;
COMMIT;
SELECT pg_temp.stats_of('rc_one') AS after_savepoint_rollback;
-- detach, and drop (the event trigger removes the registration)
SELECT sentiment_detach('rc_one');
SELECT pg_temp.stats_of('rc_one') AS detached;
SELECT 'rc_two'::regclass::oid AS rc_two_oid \gset
DROP TABLE rc_two CASCADE;
SELECT count(*) AS dropped FROM sentiment_stats WHERE source::oid = :rc_two_oid;
-- the total keeps their batches
SELECT rows_completed >= 3 AS total_kept FROM sentiment_stats WHERE source IS NULL;
DROP TABLE rc_one CASCADE;
DROP TABLE rc_one_topics, rc_one_embeddings, rc_two_topics, rc_two_embeddings;

-- Wake-up triggers on a partitioned table: parent and every partition.
CREATE FUNCTION pg_temp.wakeups(t regclass) RETURNS TABLE (rel regclass, def text) LANGUAGE sql AS $$
	SELECT tg.tgrelid::regclass, regexp_replace(pg_get_triggerdef(tg.oid), ' ON \S+', '') || ' ' || tg.tgenabled::text
	  FROM (SELECT t AS relid UNION SELECT relid FROM pg_partition_tree(t)) p
	  JOIN pg_trigger tg ON tg.tgrelid = p.relid AND tg.tgname = 'sentiment_wakeup'
	 ORDER BY tg.tgrelid::regclass::text$$;
CREATE TABLE rc_parts (entry_id bigint PRIMARY KEY, text text) PARTITION BY RANGE (entry_id);
CREATE TABLE rc_parts_1 PARTITION OF rc_parts FOR VALUES FROM (1) TO (100);
CREATE TABLE rc_parts_2 PARTITION OF rc_parts FOR VALUES FROM (100) TO (200) PARTITION BY RANGE (entry_id);
CREATE TABLE rc_parts_2a PARTITION OF rc_parts_2 FOR VALUES FROM (100) TO (150);
SELECT sentiment_attach('rc_parts', topics_table => 'rc_parts_topics', embeddings_table => 'rc_parts_embeddings');
SELECT * FROM pg_temp.wakeups('rc_parts');
-- partitions created or attached later get it too
CREATE TABLE rc_parts_2b PARTITION OF rc_parts_2 FOR VALUES FROM (150) TO (200);
CREATE TABLE rc_parts_3 (LIKE rc_parts INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE rc_parts ATTACH PARTITION rc_parts_3 FOR VALUES FROM (200) TO (300);
SELECT * FROM pg_temp.wakeups('rc_parts');
-- other tables are left alone
CREATE TABLE rc_plain_parts (id int, text text) PARTITION BY LIST (id);
CREATE TABLE rc_plain_parts_1 PARTITION OF rc_plain_parts FOR VALUES IN (1);
SELECT count(*) AS untouched FROM pg_trigger WHERE tgname = 'sentiment_wakeup'
   AND tgrelid IN ('rc_plain_parts'::regclass, 'rc_plain_parts_1'::regclass);
-- a partition whose owner may not create the trigger: a warning, no error
-- (PostgreSQL itself asks for EXECUTE on the cloned row trigger's function)
CREATE ROLE regress_sp_rc_owner;
GRANT EXECUTE ON FUNCTION sentiment_text_edit_trigger() TO regress_sp_rc_owner;
ALTER TABLE rc_parts OWNER TO regress_sp_rc_owner;
GRANT CREATE ON SCHEMA public TO regress_sp_rc_owner;
SET ROLE regress_sp_rc_owner;
CREATE TABLE rc_parts_4 PARTITION OF rc_parts FOR VALUES FROM (300) TO (400);
RESET ROLE;
SELECT count(*) AS on_part_4 FROM pg_trigger WHERE tgname = 'sentiment_wakeup' AND tgrelid = 'rc_parts_4'::regclass;
-- detach removes them all
SELECT sentiment_detach('rc_parts');
SELECT * FROM pg_temp.wakeups('rc_parts');
DROP TABLE rc_parts CASCADE;
DROP TABLE rc_parts_topics, rc_parts_embeddings, rc_plain_parts;
REVOKE CREATE ON SCHEMA public FROM regress_sp_rc_owner;
REVOKE EXECUTE ON FUNCTION sentiment_text_edit_trigger() FROM regress_sp_rc_owner;
DROP ROLE regress_sp_rc_owner;
