-- sentiment_proc install script, built by the Makefile from sql/objects/*.sql
-- (one file per group of objects, concatenated in name order).

\echo Use "CREATE EXTENSION sentiment_proc" to load this file. \quit

-- Every function below either executes no SQL (the pure analysis functions)
-- or pins its search_path with pg_catalog FIRST, so that an object a user
-- creates in the extension's schema (often public) can never shadow a
-- built-in function or operator we rely on; names given by callers are
-- resolved by the caller's own search_path before they reach us.
