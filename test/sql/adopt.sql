-- Adopting existing tables: the seed's migration rule, no rewrite, no row
\set SHOW_CONTEXT never
-- lost, seed-shaped side tables.

-- A table as the original Python system left it: results in some rows,
-- no status columns.
CREATE TABLE legacy (
	entry_id integer PRIMARY KEY,
	text varchar(500),
	sentiment_label varchar(20),
	emotion_label varchar(20)
);
INSERT INTO legacy
SELECT g, 'mention number ' || g, CASE WHEN g % 3 = 0 THEN 'positive' END, NULL
  FROM generate_series(1, 3000) g;
SELECT pg_relation_filenode('legacy') AS filenode_before \gset

SELECT sentiment_attach('legacy', topics_table => 'legacy_topics', embeddings_table => 'legacy_embeddings');

-- Not rewritten, nothing lost, statuses by the rule.
SELECT pg_relation_filenode('legacy') = :filenode_before AS same_file;
SELECT count(*) AS total FROM legacy;
SELECT processing_status, count(*),
	   count(*) FILTER (WHERE sentiment_label IS NOT NULL) AS with_results
  FROM legacy GROUP BY 1 ORDER BY 1;
SELECT count(*) AS texts_changed FROM legacy WHERE text <> 'mention number ' || entry_id;

-- New rows wait for processing.
INSERT INTO legacy (entry_id, text) VALUES (3001, 'brand new');
SELECT processing_status, processing_attempts, version FROM legacy WHERE entry_id = 3001;

-- The claim index covers exactly the pending rows.
SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index
 WHERE indrelid = 'legacy'::regclass AND indpred IS NOT NULL;

-- Attaching again: same file, same statuses, one claim index.
SELECT sentiment_attach('legacy', topics_table => 'legacy_topics', embeddings_table => 'legacy_embeddings');
SELECT pg_relation_filenode('legacy') = :filenode_before AS same_file;
SELECT processing_status, count(*) FROM legacy GROUP BY 1 ORDER BY 1;
SELECT count(*) AS claim_indexes FROM pg_index WHERE indrelid = 'legacy'::regclass AND indpred IS NOT NULL;

-- A table that already has the seed's status column (varchar, nullable) and
-- seed-shaped side tables without the unique keys the upserts need.
CREATE SCHEMA seed;
CREATE TABLE seed.sentiment_data (
	entry_id bigserial PRIMARY KEY,
	text text,
	sentiment_label varchar(20),
	processing_status varchar(20) DEFAULT 'pending',
	processing_error text
);
CREATE TABLE seed.mention_topics (mention_id bigint, topic_key varchar(100));
CREATE TABLE seed.sentiment_embeddings (entry_id bigint, embedding real[]);
INSERT INTO seed.sentiment_data (text, sentiment_label, processing_status) VALUES
	('done before', 'positive', 'completed'),
	('failed before', NULL, 'failed'),
	('waiting', NULL, 'pending'),
	('no status, has result', 'negative', NULL),
	('no status, no result', NULL, NULL);
INSERT INTO seed.mention_topics VALUES (1, 'old');

SELECT sentiment_attach('seed.sentiment_data');
SELECT entry_id, text, processing_status FROM seed.sentiment_data ORDER BY 1;
\d seed.mention_topics
\d seed.sentiment_embeddings
SELECT * FROM seed.mention_topics;
SELECT sentiment_attach('seed.sentiment_data');
SELECT count(*) AS claim_indexes FROM pg_index WHERE indrelid = 'seed.sentiment_data'::regclass AND indpred IS NOT NULL;

-- Adoption refusals: each says why and what to do.
\set VERBOSITY default
CREATE TABLE nokey (entry_id int, text text);
SELECT sentiment_attach('nokey');
CREATE TABLE textkey (entry_id text PRIMARY KEY, text text);
SELECT sentiment_attach('textkey');
CREATE TABLE notext (entry_id int PRIMARY KEY, body int);
SELECT sentiment_attach('notext');
SELECT sentiment_attach('notext', text_column => 'body');
CREATE TABLE badstatus (entry_id int PRIMARY KEY, text text, processing_status int);
SELECT sentiment_attach('badstatus');
CREATE VIEW aview AS SELECT 1 AS entry_id, 'x'::text AS text;
SELECT sentiment_attach('aview');
CREATE TABLE wrongside (entry_id int PRIMARY KEY, text text);
CREATE TABLE wrong_topics (x int);
SELECT sentiment_attach('wrongside', topics_table => 'wrong_topics', embeddings_table => 'wrong_embeddings');
SELECT sentiment_attach('wrongside', topics_table => 'legacy_topics', embeddings_table => 'wrong_embeddings');
SELECT sentiment_attach('wrongside', topics_table => 'same_side', embeddings_table => 'same_side');
-- A refused attach leaves nothing behind.
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'wrongside'::regclass AND attnum > 0;
SELECT to_regclass('same_side') AS same_side;
DROP TABLE nokey, textkey, notext, badstatus, wrongside, wrong_topics;
DROP VIEW aview;
SELECT source_table FROM sentiment_sources ORDER BY 1;
