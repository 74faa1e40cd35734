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

-- embedding lane
-- replace function: sentiment_embedding_index
-- replace function: sentiment_convert_embeddings
-- sentiment_similar_internal takes the caller's hnsw.ef_search (read by the wrappers)
DROP FUNCTION @extschema@.sentiment_similar_internal(regclass, text, bigint, integer);
-- replace function: sentiment_similar_internal
-- replace function: sentiment_complete
-- replace function: sentiment_fail
-- replace function: sentiment_detach
-- replace function: sentiment_similar
