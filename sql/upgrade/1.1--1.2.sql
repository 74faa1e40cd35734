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
