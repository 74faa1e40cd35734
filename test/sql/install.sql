-- Installation: version, configuration table, function properties.
\set SHOW_CONTEXT never
CREATE EXTENSION sentiment_proc;

SELECT extversion, extrelocatable FROM pg_extension WHERE extname = 'sentiment_proc';

-- The source registry is configuration that pg_dump keeps.
SELECT t.oid::regclass::text AS config_table
  FROM pg_extension e, unnest(e.extconfig) AS t(oid)
 WHERE e.extname = 'sentiment_proc'
 ORDER BY 1;

-- Every function pins its search_path with pg_catalog first, except those
-- that run no SQL (the analysis functions, the embedding lane's lookup), the
-- thin wrappers that must resolve the caller's table name with the caller's
-- path, and sentiment_similar's, which are inlined into the caller's query,
-- and _sentiment_similar_internal, which pins it in C (src/similar.c: a SET
-- clause costs a setting change per call).
SELECT p.oid::regprocedure::text AS unpinned
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'sentiment_proc'
 WHERE NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=pg\_catalog,%')
 ORDER BY 1;

-- Only the drop event trigger runs with its owner's rights (it deletes the
-- registrations of tables the current command dropped, nothing else), and
-- the queue status counter (it counts rows by status for pg_monitor
-- members, returning no row data).
SELECT p.oid::regprocedure::text AS security_definer
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'sentiment_proc'
 WHERE p.prosecdef
 ORDER BY 1;

-- The analysis functions are usable anywhere, including parallel queries.
SELECT proname, pronargs, provolatile, proisstrict, proparallel
  FROM pg_proc
 WHERE proname IN ('sentiment_analyze', 'sentiment_scores', 'sentiment_process_batch')
 ORDER BY 1, 2;

-- The extension can live in another schema; calls then qualify it, and
-- processing finds its registry there.
DROP EXTENSION sentiment_proc;
CREATE SCHEMA sp;
CREATE EXTENSION sentiment_proc SCHEMA sp;
SELECT sp.sentiment_attach('elsewhere');
INSERT INTO elsewhere (text) VALUES ('A fine day'), ('A dreadful day');
SELECT sp.sentiment_process_batch(10);
SELECT entry_id, processing_status, processing_attempts FROM elsewhere ORDER BY 1;
SELECT source_table FROM sp.sentiment_sources;
-- Attached tables depend on the extension until detached.
SELECT sp.sentiment_detach('elsewhere');
DROP EXTENSION sentiment_proc;
DROP TABLE elsewhere CASCADE;
DROP TABLE mention_topics, sentiment_embeddings;
DROP SCHEMA sp;

CREATE EXTENSION sentiment_proc;
