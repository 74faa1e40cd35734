
-- ---- user dictionaries: domain words and topics ----

-- Entry checks: each applies the entry to a scratch lexicon or dictionary
-- of the analyser, so a row the analyser would refuse is refused on write,
-- with an error that says why (they never return false).
CREATE FUNCTION @extschema@._sentiment_lexicon_entry_check(term text, valence double precision)
RETURNS boolean
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_lexicon_entry_check';

CREATE FUNCTION @extschema@._sentiment_topic_entry_check(topic_key text, phrase text, weight double precision)
RETURNS boolean
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_topic_entry_check';

-- Statement trigger of both tables: backends read them again after the
-- change commits (a relcache invalidation; see src/dictionary.c).
CREATE FUNCTION @extschema@.sentiment_dictionary_changed()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_dictionary_changed';

-- Domain words: add a term, change a VADER valence, or remove a term from
-- the lexicon (valence NULL).  Terms match case-insensitively, like VADER's
-- own; lower(term) is unique so one word cannot carry two valences.
CREATE TABLE @extschema@.sentiment_lexicon_overrides (
	term		text PRIMARY KEY,
	valence		double precision,
	note		text,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT sentiment_lexicon_overrides_entry_check
		CHECK (@extschema@._sentiment_lexicon_entry_check(term, valence))
);

CREATE UNIQUE INDEX sentiment_lexicon_overrides_lower_term_key
	ON @extschema@.sentiment_lexicon_overrides (pg_catalog.lower(term));

COMMENT ON TABLE @extschema@.sentiment_lexicon_overrides IS
	'Lexicon overrides: term -> valence (VADER scale, -4..+4 typical; NULL removes the term), applied by every analysis';

-- The topic dictionary: topic_key -> keywords and phrases, each with a
-- weight.  A mention's topics are its hashtags plus every key with a
-- phrase in the text (matched in one pass, case-insensitively, word by
-- word).
CREATE TABLE @extschema@.sentiment_topic_keywords (
	topic_key	text NOT NULL,
	phrase		text NOT NULL,
	weight		double precision NOT NULL DEFAULT 1,
	note		text,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (topic_key, phrase),
	CONSTRAINT sentiment_topic_keywords_entry_check
		CHECK (@extschema@._sentiment_topic_entry_check(topic_key, phrase, weight))
);

COMMENT ON TABLE @extschema@.sentiment_topic_keywords IS
	'Topic dictionary: topic_key -> keyword or phrase with a weight, matched by every analysis besides hashtags';

-- ENABLE ALWAYS: changes applied by logical replication count too.
CREATE TRIGGER sentiment_dictionary_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.sentiment_lexicon_overrides
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.sentiment_dictionary_changed();
ALTER TABLE @extschema@.sentiment_lexicon_overrides ENABLE ALWAYS TRIGGER sentiment_dictionary_changed;
CREATE TRIGGER sentiment_dictionary_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.sentiment_topic_keywords
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.sentiment_dictionary_changed();
ALTER TABLE @extschema@.sentiment_topic_keywords ENABLE ALWAYS TRIGGER sentiment_dictionary_changed;

-- Configuration: pg_dump keeps both.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_lexicon_overrides', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_topic_keywords', '');

-- Everyone may read them (analysis results reveal them anyway); writing is
-- for the roles a DBA grants it to:
--   GRANT INSERT, UPDATE, DELETE, TRUNCATE
--     ON sentiment_lexicon_overrides, sentiment_topic_keywords TO admin_role;
REVOKE ALL ON @extschema@.sentiment_lexicon_overrides, @extschema@.sentiment_topic_keywords FROM PUBLIC;
GRANT SELECT ON @extschema@.sentiment_lexicon_overrides, @extschema@.sentiment_topic_keywords TO PUBLIC;

-- After a dictionary change, completed rows keep their old results until
-- analysed again: queue them (every attached table, or one) through the
-- processing queue.  Runs with the caller's rights, so the caller needs
-- EXECUTE on sentiment_enqueue as well (which reads each table as its
-- owner).  Without a source, the tables the caller may not update are left
-- alone (a notice names them) and a table that cannot be read is skipped
-- with a warning.  Returns the requests queued.
CREATE FUNCTION @extschema@.sentiment_reanalyze(
	source regclass DEFAULT NULL,
	priority integer DEFAULT 0)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	PERFORM @extschema@._sentiment_registration(sentiment_reanalyze.source);
	IF sentiment_reanalyze.source IS NOT NULL THEN
		RETURN @extschema@.sentiment_enqueue(sentiment_reanalyze.source, NULL, COALESCE(sentiment_reanalyze.priority, 0));
	END IF;
	RETURN @extschema@._sentiment_for_each_updatable('sentiment_reanalyze',
		'SELECT @extschema@.sentiment_enqueue($1, NULL, ($2 ->> ''priority'')::integer)',
		jsonb_build_object('priority', COALESCE(sentiment_reanalyze.priority, 0)),
		'sentiment_reanalyze(%L) shows the error.');
END
$body$;

COMMENT ON FUNCTION @extschema@.sentiment_reanalyze(regclass, integer) IS
	'Queue every row of one attached table (NULL: all of them) for analysis again, say after a dictionary change; returns requests queued';

REVOKE ALL ON FUNCTION @extschema@.sentiment_reanalyze(regclass, integer) FROM PUBLIC;

-- sentiment_analyze (1.0) now reports dictionary topics too.
COMMENT ON FUNCTION @extschema@.sentiment_analyze(text) IS
	'Sentiment (VADER with the lexicon overrides), emotion, topics (hashtags and the topic dictionary) and a 256-dimension embedding of a text';
