-- Argument errors: each has its SQLSTATE, a message and a hint.
\set SHOW_CONTEXT never
\i test/sql/helpers/try.sql

SELECT q, pg_temp.try(q) FROM (VALUES
	('SELECT sentiment_process_batch(NULL)'),
	('SELECT sentiment_process_batch(0)'),
	('SELECT sentiment_process_batch(-1)'),
	('SELECT sentiment_process_batch(10001)'),
	('SELECT sentiment_process_batch(2147483647)'),
	('SELECT sentiment_process_batch(10000, ''no_such_table'')'),
	('SELECT sentiment_process_batch(10, 4242424::oid::regclass)'),
	('SELECT sentiment_process_batch(10, ''pg_class'')'),
	('SELECT sentiment_attach(NULL::text)'),
	('SELECT sentiment_attach(NULL::regclass)'),
	('SELECT sentiment_attach('''')'),
	('SELECT sentiment_attach(''a.b.c'')'),
	('SELECT sentiment_attach(''no_such_schema.t'')'),
	('SELECT sentiment_attach(''sentiment_data'', id_column => NULL)'),
	('SELECT sentiment_attach(''pg_class'')'),
	('SELECT sentiment_detach(NULL)'),
	('SELECT sentiment_detach(''no_such_table'')')
) AS t(q);

-- Boundaries that are allowed.
SELECT sentiment_process_batch(1);
SELECT sentiment_process_batch(10000);

-- Not in a read-only transaction.
BEGIN READ ONLY;
SELECT pg_temp.try('SELECT sentiment_process_batch(10)');
ROLLBACK;

-- Dropping an attached table (or a side table) ends its registration.
SELECT sentiment_attach('doomed', topics_table => 'doomed_topics', embeddings_table => 'doomed_embeddings');
SELECT sentiment_attach('doomed2', topics_table => 'doomed2_topics', embeddings_table => 'doomed2_embeddings');
INSERT INTO doomed (text) VALUES ('soon gone');
DROP TABLE doomed CASCADE;
DROP TABLE doomed2_topics;
SELECT source_table FROM sentiment_sources ORDER BY 1;
INSERT INTO sentiment_data (text) VALUES ('still processed');
SELECT sentiment_process_batch(10) AS processed;
DROP TABLE doomed_topics, doomed_embeddings, doomed2, doomed2_embeddings;

-- An error in the middle of a batch that is not about a row's data (here a
-- privilege error; rows' own errors are isolated, see retry) leaves no
-- trace: the rows stay pending.
INSERT INTO sentiment_data (text) VALUES ('one'), ('two');
CREATE FUNCTION pg_temp.boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = 'insufficient_privilege'; END $$;
CREATE TRIGGER boom BEFORE INSERT ON sentiment_embeddings FOR EACH ROW EXECUTE FUNCTION pg_temp.boom();
SELECT pg_temp.try($$SELECT sentiment_process_batch(10, 'sentiment_data')$$);
SELECT processing_status, processing_attempts, count(*) FROM sentiment_data
 WHERE text IN ('one', 'two') GROUP BY 1, 2;
DROP TRIGGER boom ON sentiment_embeddings;
SELECT sentiment_process_batch(10);
SELECT processing_status, processing_attempts, count(*) FROM sentiment_data
 WHERE text IN ('one', 'two') GROUP BY 1, 2;
