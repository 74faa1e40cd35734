-- The registry of attached source tables.  Kept by pg_dump (it is
-- configuration, not derived data): a restored database processes the same
-- tables.  regclass survives renames, and pg_dump writes it as a qualified
-- name that resolves again on restore.
CREATE TABLE @extschema@.sentiment_sources (
	source_table		regclass PRIMARY KEY,
	id_column			name NOT NULL,
	text_column			name NOT NULL,
	topics_table		regclass NOT NULL,
	embeddings_table	regclass NOT NULL,
	attached_at			timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE @extschema@.sentiment_sources IS
	'Tables processed by sentiment_proc; maintained by sentiment_attach() and sentiment_detach()';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_sources', '');

-- Readable by everyone (it names tables, as pg_class does); changed only
-- through sentiment_attach/sentiment_detach by those allowed to call them.
GRANT SELECT ON @extschema@.sentiment_sources TO PUBLIC;
