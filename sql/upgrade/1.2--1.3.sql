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

-- security round three, part B
-- claims bound to the role that made them (src/lease.c)
-- replace function: sentiment_own_claim
-- replace function: sentiment_claim
-- replace function: sentiment_complete
-- replace function: sentiment_fail
-- replace function: sentiment_renew
-- replace function: sentiment_release
-- no temporary tables, no partitions of another owner (src/registry.c)
-- replace function: sentiment_check_attachable
-- replace function: sentiment_attach_internal
-- sentiment_similar's default source: the sentiment_data on the caller's path
-- replace function: sentiment_similar_source
-- replace function: sentiment_similar
-- Citus: attach says which grant the worker nodes need
-- replace function: sentiment_citus_check_source
-- Registrations a temporary table left behind (its session ended, which no
-- event trigger sees), and those of temporary tables, which 1.3 refuses.
DELETE FROM @extschema@.sentiment_sources s
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class c
					WHERE c.oid OPERATOR(pg_catalog.=) s.source_table::pg_catalog.oid
					  AND c.relpersistence OPERATOR(pg_catalog.<>) 't');
