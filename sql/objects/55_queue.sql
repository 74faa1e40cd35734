-- The processing queue of the original design: explicit requests to
-- (re-)analyse rows, say after a lexicon override changed.  The batch
-- (sentiment_process_batch and the workers alike) takes queued requests of a
-- source first, highest priority first, with SKIP LOCKED, then due retries,
-- then pending rows.  A request ends 'completed' or 'failed' (with the
-- row's error, or because the row was deleted); finished requests are
-- deleted after sentiment_proc.queue_retention, by the workers and at every
-- enqueue.  One queued request per row at most: enqueueing it again keeps the
-- higher priority.  A two-phase claim that takes a request marks it
-- claimed_until the claim's lease ends; other claims pass over it until then
-- (batches do not: they wait for the row), and sentiment_complete and
-- sentiment_fail end it.
CREATE TABLE @extschema@.sentiment_processing_queue (
	request_id		bigserial PRIMARY KEY,
	source_table	regclass NOT NULL,
	entry_id		bigint NOT NULL,
	priority		integer NOT NULL DEFAULT 0,
	status			text NOT NULL DEFAULT 'queued'
					CHECK (status IN ('queued', 'completed', 'failed')),
	requested_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	requested_by	name,
	started_at		timestamptz,
	completed_at	timestamptz,
	error			text,
	claimed_until	timestamptz		-- queued, taken by a two-phase claim until then
);

COMMENT ON TABLE @extschema@.sentiment_processing_queue IS
	'Requests to (re-)analyse rows, drained by sentiment_process_batch before plain pending rows, by priority';

CREATE UNIQUE INDEX sentiment_processing_queue_queued_key
	ON @extschema@.sentiment_processing_queue (source_table, entry_id) WHERE status = 'queued';
CREATE INDEX sentiment_processing_queue_claim_idx
	ON @extschema@.sentiment_processing_queue (source_table, priority DESC, request_id) WHERE status = 'queued';
CREATE INDEX sentiment_processing_queue_finished_idx
	ON @extschema@.sentiment_processing_queue (completed_at) WHERE status <> 'queued';

-- Queued requests survive pg_dump; finished ones are history.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_processing_queue', 'WHERE status = ''queued''');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_processing_queue_request_id_seq', '');

-- Written only through sentiment_enqueue and the batch (as the extension
-- owner); operators may read it, the requests of the tables they may read
-- (a policy: the extension's owner, who writes it, is not subject to it).
REVOKE ALL ON @extschema@.sentiment_processing_queue FROM PUBLIC;
GRANT SELECT ON @extschema@.sentiment_processing_queue TO pg_monitor;
ALTER TABLE @extschema@.sentiment_processing_queue ENABLE ROW LEVEL SECURITY;
CREATE POLICY sentiment_processing_queue_readable ON @extschema@.sentiment_processing_queue
	FOR SELECT USING (pg_catalog.has_table_privilege(source_table, 'SELECT'));

CREATE FUNCTION @extschema@.sentiment_prune_queue()
RETURNS bigint
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_prune_queue';

COMMENT ON FUNCTION @extschema@.sentiment_prune_queue() IS
	'Delete finished queue requests older than sentiment_proc.queue_retention (and those of detached tables); returns how many';

-- Queue rows of an attached table (ids NULL: every row) for analysis
-- (src/queue.c).  The caller needs UPDATE on the table; its keys are read
-- as the table's owner and the queue itself is written as the extension's
-- owner.  Not executable by PUBLIC (a DBA grants it to
-- operators).  Returns the requests queued or re-prioritised.
CREATE FUNCTION @extschema@.sentiment_enqueue(
	source regclass,
	ids bigint[] DEFAULT NULL,
	priority integer DEFAULT 0)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_enqueue';

COMMENT ON FUNCTION @extschema@.sentiment_enqueue(regclass, bigint[], integer) IS
	'Queue rows of an attached table (ids NULL: all) for (re-)analysis before pending rows; returns requests queued';

-- The two-phase API's access to the queue (src/queue.c): take queued
-- requests of a source by priority (locked until the caller's transaction
-- ends), and end those of rows completed or failed.  They check that the
-- caller may process the source (UPDATE on it) and read only the queue as
-- the owner; so whoever is granted sentiment_claim needs no grant of these
-- (they stay executable by PUBLIC, the UPDATE check is their guard).
CREATE FUNCTION @extschema@.sentiment_queue_take(source regclass, n integer, lease interval)
RETURNS bigint[]
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_queue_take';

COMMENT ON FUNCTION @extschema@.sentiment_queue_take(regclass, integer, interval) IS
	'Two-phase path: entry ids of up to n queued requests of a source, by priority, marked taken for the lease';

CREATE FUNCTION @extschema@.sentiment_queue_finish(
	source regclass, ids bigint[], claimed_at timestamptz[], failed boolean, error text DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_queue_finish';

COMMENT ON FUNCTION @extschema@.sentiment_queue_finish(regclass, bigint[], timestamptz[], boolean, text) IS
	'Two-phase path: end the queued requests (made before their claim) of rows completed or failed; returns how many';

REVOKE ALL ON FUNCTION @extschema@.sentiment_prune_queue() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sentiment_enqueue(regclass, bigint[], integer) FROM PUBLIC;
