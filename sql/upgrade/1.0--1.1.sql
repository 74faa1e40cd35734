-- sentiment_proc 1.0 -> 1.1, hand-written part.  The Makefile builds
-- sql/sentiment_proc--1.0--1.1.sql from this file followed by the object
-- files new in 1.1 (NEW_OBJECTS: sql/objects/80_monitoring.sql, ...).
--
-- Put here every change to an object that 1.0 already had (ALTER TABLE,
-- CREATE OR REPLACE FUNCTION, DROP ...), in the order it must run.  The
-- regression test test/sql/upgrade.sql compares an upgraded installation
-- with a fresh one and names whatever differs.

\echo Use "ALTER EXTENSION sentiment_proc UPDATE TO '1.1'" to load this file. \quit

