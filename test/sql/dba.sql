-- A DBA's first day (issue 28): what the docs promise on a real server.
\set SHOW_CONTEXT never
\i test/sql/helpers/try.sql
CREATE SCHEMA crm;

-- Attach refuses side tables that belong to another table.  A table
-- attached and detached leaves its side tables, their foreign keys still
-- pointing at it; another table of the schema attached with the default
-- side-table names must not adopt them (every result would violate the
-- foreign key and go to retries).
SELECT sentiment_attach('crm.reviews2');
SELECT sentiment_detach('crm.reviews2');
CREATE TABLE crm.reviews (id bigint PRIMARY KEY, text text);
INSERT INTO crm.reviews VALUES (1, 'Great service, thank you!'), (2, 'Terrible, never again.');
SELECT pg_temp.try($$SELECT sentiment_attach('crm.reviews', id_column => 'id')$$);
-- the refusal changed nothing
SELECT count(*) AS registered FROM sentiment_sources WHERE source_table = 'crm.reviews'::regclass;
SELECT count(*) AS columns_added FROM pg_attribute
 WHERE attrelid = 'crm.reviews'::regclass AND attname = 'processing_status';
-- the detail names the foreign key
DO $$
BEGIN
	PERFORM sentiment_attach('crm.reviews', id_column => 'id', embeddings_table => 'review_embeddings');
EXCEPTION WHEN invalid_table_definition THEN
	DECLARE d text;
	BEGIN
		GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
		RAISE NOTICE '%', d;
	END;
END $$;
-- the embeddings table is refused too, on its own
SELECT pg_temp.try($$SELECT sentiment_attach('crm.reviews', id_column => 'id', topics_table => 'review_topics')$$);
-- with side tables of its own the attach works, and the rows complete
SELECT sentiment_attach('crm.reviews', id_column => 'id',
						topics_table => 'review_topics', embeddings_table => 'review_embeddings');
SELECT sentiment_process_batch(10, 'crm.reviews') AS processed;
SELECT id, processing_status, sentiment_label FROM crm.reviews ORDER BY id;
SELECT count(*) AS embeddings FROM crm.review_embeddings;
-- sentiment_throughput has no zero rows for minutes before the source's
-- statistics began (it had 60 rows per source, an hour of them)
SELECT count(*) FILTER (WHERE t.minute < date_trunc('minute', s.stats_since)) AS rows_before_stats,
	   count(*) FILTER (WHERE t.rows_completed > 0) AS minutes_with_rows
  FROM sentiment_throughput t JOIN sentiment_stats s USING (source)
 WHERE t.source = 'crm.reviews'::regclass;
-- the detached table's side tables may still be adopted by it again
SELECT sentiment_attach('crm.reviews2');
SELECT source_table, topics_table, embeddings_table FROM sentiment_sources
 WHERE source_table::text LIKE 'crm.%' ORDER BY 1::text;

-- Uninstalling (docs/usage.md): after detach, the documented query writes
-- the statements that remove what attach added to an adopted table, and
-- the table is left as it was before.
SELECT sentiment_detach('crm.reviews');
SELECT statement FROM (
  SELECT 1 AS step, format('ALTER TABLE %s %s;', a.attrelid::regclass,
  			  string_agg(format('DROP COLUMN %I', a.attname), ', ' ORDER BY a.attnum))
    FROM pg_attribute a
   WHERE a.attrelid = 'crm.reviews'::regclass AND a.attnum > 0 AND NOT a.attisdropped
     AND a.attname IN (SELECT column_name FROM sentiment_status_columns())
   GROUP BY a.attrelid
  UNION ALL
  SELECT 2, format('DROP TABLE %s;', c.conrelid::regclass)
    FROM pg_constraint c
   WHERE c.contype = 'f' AND c.confrelid = 'crm.reviews'::regclass
) s(step, statement) ORDER BY step, statement
\gexec
SELECT string_agg(attname, ', ' ORDER BY attnum) AS columns_left FROM pg_attribute
 WHERE attrelid = 'crm.reviews'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT string_agg(indexrelid::regclass::text, ', ') AS indexes_left FROM pg_index WHERE indrelid = 'crm.reviews'::regclass;
SELECT string_agg(conname, ', ') AS constraints_left FROM pg_constraint WHERE conrelid = 'crm.reviews'::regclass AND contype <> 'n';  -- (18 lists NOT NULL too)
SELECT string_agg(tgname, ', ') AS triggers_left FROM pg_trigger WHERE tgrelid = 'crm.reviews'::regclass;
SELECT to_regclass('crm.review_topics') AS topics, to_regclass('crm.review_embeddings') AS embeddings;
SELECT * FROM crm.reviews ORDER BY id;

-- sentiment_detach(..., drop_added => true) removes exactly what attach
-- added: its columns (not those the table had: likes here), its indexes
-- and the side tables it created; the rows stay.
CREATE TABLE crm.posts (post_id integer PRIMARY KEY, body text, likes integer);
INSERT INTO crm.posts VALUES (1, 'Love it', 3), (2, 'Hate it', 4);
CREATE INDEX posts_likes ON crm.posts (likes);
SELECT sentiment_attach('crm.posts', id_column => 'post_id', text_column => 'body',
						topics_table => 'post_topics', embeddings_table => 'post_embeddings');
SELECT sentiment_process_batch(10, 'crm.posts') AS processed;
SELECT count(*) AS columns_marked FROM pg_attribute
 WHERE attrelid = 'crm.posts'::regclass AND col_description(attrelid, attnum) = _sentiment_added_mark();
SELECT pg_temp.try($$SELECT sentiment_detach('crm.posts', drop_added => NULL)$$);
SELECT sentiment_detach('crm.posts', drop_added => true);
SELECT string_agg(attname, ', ' ORDER BY attnum) AS columns_left FROM pg_attribute
 WHERE attrelid = 'crm.posts'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT string_agg(indexrelid::regclass::text, ', ' ORDER BY indexrelid::regclass::text) AS indexes_left
  FROM pg_index WHERE indrelid = 'crm.posts'::regclass;
SELECT string_agg(conname, ', ') AS constraints_left FROM pg_constraint WHERE conrelid = 'crm.posts'::regclass AND contype <> 'n';
SELECT to_regclass('crm.post_topics') AS topics, to_regclass('crm.post_embeddings') AS embeddings;
SELECT * FROM crm.posts ORDER BY post_id;
SELECT count(*) AS still_registered FROM sentiment_sources WHERE source_table = 'crm.posts'::regclass;
-- the one-argument detach keeps everything; the option still removes it
-- all afterwards (the side tables found by their foreign key)
SELECT sentiment_attach('crm.posts', id_column => 'post_id', text_column => 'body',
						topics_table => 'post_topics', embeddings_table => 'post_embeddings');
SELECT sentiment_detach('crm.posts');
SELECT count(*) AS columns_kept FROM pg_attribute
 WHERE attrelid = 'crm.posts'::regclass AND col_description(attrelid, attnum) = _sentiment_added_mark();
SELECT sentiment_detach('crm.posts', true);
SELECT count(*) AS columns_left FROM pg_attribute WHERE attrelid = 'crm.posts'::regclass AND attnum > 0 AND NOT attisdropped;

DROP SCHEMA crm CASCADE;
