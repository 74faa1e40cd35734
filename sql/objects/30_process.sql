-- Batch processing: claim pending rows, analyse them in C, write the results
-- set-based, all in the caller's transaction (see src/batch.c).
CREATE FUNCTION @extschema@.sentiment_process_batch(
	batch_size integer DEFAULT 100,
	source regclass DEFAULT NULL)
RETURNS integer
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_process_batch';

COMMENT ON FUNCTION @extschema@.sentiment_process_batch(integer, regclass) IS
	'Analyse up to batch_size pending rows (1..10000) of one attached table, or of all; returns rows completed or failed';

REVOKE ALL ON FUNCTION @extschema@.sentiment_process_batch(integer, regclass) FROM PUBLIC;
