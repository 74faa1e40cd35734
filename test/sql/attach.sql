-- sentiment_attach creating the canonical tables, idempotence, detach.
\set SHOW_CONTEXT never
SELECT sentiment_attach('sentiment_data');
\d sentiment_data
\d mention_topics
\d sentiment_embeddings

SELECT source_table, id_column, text_column, topics_table, embeddings_table FROM sentiment_sources;

-- New rows default to pending.
INSERT INTO sentiment_data (text, author_followers, likes) VALUES ('Hello world', 10, 2);
SELECT entry_id, processing_status, processing_attempts, version FROM sentiment_data;

-- A second attach (by name or by regclass) changes nothing.
CREATE TEMP TABLE shape AS
	SELECT attname, atttypid, attnotnull FROM pg_attribute
	 WHERE attrelid = 'sentiment_data'::regclass AND attnum > 0;
SELECT sentiment_attach('sentiment_data');
SELECT sentiment_attach('sentiment_data'::regclass);
SELECT sentiment_attach('public.sentiment_data');
SELECT count(*) AS changed_columns FROM (
	SELECT attname, atttypid, attnotnull FROM pg_attribute
	 WHERE attrelid = 'sentiment_data'::regclass AND attnum > 0
	EXCEPT SELECT * FROM shape) x;
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'sentiment_data'::regclass;
SELECT count(*) AS sources FROM sentiment_sources;

-- A schema-qualified new table gets its side tables in its own schema.
CREATE SCHEMA app;
SELECT sentiment_attach('app.posts');
SELECT source_table, topics_table, embeddings_table FROM sentiment_sources ORDER BY 1;

-- A second source in the same schema cannot share the side tables...
SELECT sentiment_attach('more_posts');
-- ...but gets its own when asked.
SELECT sentiment_attach('more_posts', topics_table => 'more_topics', embeddings_table => 'more_embeddings');
SELECT source_table, topics_table, embeddings_table FROM sentiment_sources ORDER BY 1;

-- Custom column names for a new table.
SELECT sentiment_attach('app.reviews', id_column => 'review_id', text_column => 'body',
						topics_table => 'review_topics', embeddings_table => 'review_embeddings');
\d app.reviews

-- Detach keeps everything but the registration; twice is harmless.
INSERT INTO more_posts (text) VALUES ('kept');
SELECT sentiment_detach('more_posts');
SELECT sentiment_detach('more_posts');
SELECT count(*) AS rows_kept FROM more_posts;
SELECT to_regclass('more_topics') IS NOT NULL AS topics_kept;
SELECT source_table FROM sentiment_sources ORDER BY 1;
-- and attaching again adopts it as it is.
SELECT sentiment_attach('more_posts', topics_table => 'more_topics', embeddings_table => 'more_embeddings');
SELECT entry_id, text, processing_status FROM more_posts;

-- Renaming an attached table keeps it attached.
ALTER TABLE app.posts RENAME TO articles;
SELECT source_table FROM sentiment_sources ORDER BY 1;

SELECT sentiment_detach('more_posts');
DROP TABLE more_posts CASCADE;
DROP TABLE more_topics, more_embeddings;
SELECT sentiment_detach('app.articles');
SELECT sentiment_detach('app.reviews');
DROP SCHEMA app CASCADE;
SELECT source_table FROM sentiment_sources ORDER BY 1;
