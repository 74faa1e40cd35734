-- Background workers (src/worker.c): the wake-up trigger function that
-- sentiment_attach() puts on every source, and the sentiment_workers view.

-- Fired AFTER INSERT OR UPDATE OF text ... FOR EACH STATEMENT (on a source
-- and its partitions, see sentiment_wakeup_install): arms a wake-up of one
-- idle worker of this database at commit.
-- EXECUTE is needed only to create the trigger: those who may attach.
CREATE FUNCTION @extschema@.sentiment_wakeup_trigger()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_wakeup_trigger';

REVOKE ALL ON FUNCTION @extschema@.sentiment_wakeup_trigger() FROM PUBLIC;

-- One row for the launcher and one per worker slot, from shared memory.
-- Raises an error with a hint when the library is not preloaded.
CREATE FUNCTION @extschema@._sentiment_worker_status(
	OUT kind text,
	OUT pid integer,
	OUT database text,
	OUT worker_index integer,
	OUT state text,
	OUT batch_size integer,
	OUT batches bigint,
	OUT rows_processed bigint,
	OUT wakeups bigint,
	OUT claims_recovered bigint,
	OUT started_at timestamptz,
	OUT last_batch_at timestamptz,
	OUT last_error text)
RETURNS SETOF record
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_worker_status';

CREATE VIEW @extschema@.sentiment_workers AS
	SELECT * FROM @extschema@._sentiment_worker_status();

COMMENT ON VIEW @extschema@.sentiment_workers IS
	'sentiment_proc launcher and background workers: state, batch size in effect, batches, rows, wake-ups, last error';

-- Worker pids and error texts are for operators, as in pg_stat_activity.
REVOKE ALL ON FUNCTION @extschema@._sentiment_worker_status() FROM PUBLIC;
REVOKE ALL ON @extschema@.sentiment_workers FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._sentiment_worker_status() TO pg_monitor;
GRANT SELECT ON @extschema@.sentiment_workers TO pg_monitor;

-- Wake an idle worker of this database when the calling transaction commits
-- (sentiment_attach calls it for adopted pending rows).  Does nothing when
-- the workers are not loaded.
CREATE FUNCTION @extschema@.sentiment_wake_workers()
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_wake_workers';
