-- sentiment_proc install script, built by the Makefile from sql/objects/*.sql
-- (one file per group of objects, concatenated in name order).

\echo Use "CREATE EXTENSION sentiment_proc" to load this file. \quit

-- Every function below either executes no SQL (the pure analysis functions)
-- or pins search_path to pg_catalog, pg_temp and names the extension's own
-- objects as @extschema@.name.  The extension's schema (often public) is
-- deliberately left out of the path: an overload created there could
-- otherwise win over a built-in by matching argument types better (say a
-- non-variadic format(text, text, text)), whatever the path order.  Table
-- names given by callers are resolved with the caller's own search_path
-- before they reach us (see sentiment_attach).
