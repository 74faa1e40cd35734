-- Language identification (new in 1.3): the ISO 639-1 code of a text's
-- language, or 'und' when there is nothing to go on (empty, emoji only, too
-- short, a script it does not place).  Like the analysis functions it runs
-- no SQL; STABLE rather than IMMUTABLE because a new library version may
-- identify a text differently (an index on it would go stale).
CREATE FUNCTION @extschema@.sentiment_language(input text)
RETURNS text
LANGUAGE C STRICT STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_language';

COMMENT ON FUNCTION @extschema@.sentiment_language(text) IS
	'ISO 639-1 code of the language of a text (de, en, es, fr, hi, it, pt by a trained model, ar and others by script), or und';
