-- Direct analysis, usable on any text.  These run no SQL and resolve no
-- names, so there is nothing for a search_path to protect; leaving it
-- unpinned keeps them cheap enough to call once per row of a large query.
CREATE FUNCTION @extschema@.sentiment_analyze(
	input text,
	OUT sentiment_label text,
	OUT sentiment_score double precision,
	OUT pos double precision,
	OUT neu double precision,
	OUT neg double precision,
	OUT emotion_label text,
	OUT emotion_score double precision,
	OUT topics text[],
	OUT embedding real[])
RETURNS record
LANGUAGE C STRICT STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_analyze';

COMMENT ON FUNCTION @extschema@.sentiment_analyze(text) IS
	'Sentiment (VADER), emotion, topics (hashtags) and a 256-dimension embedding of a text';

CREATE FUNCTION @extschema@.sentiment_scores(
	input text,
	OUT compound double precision,
	OUT pos double precision,
	OUT neu double precision,
	OUT neg double precision)
RETURNS record
LANGUAGE C STRICT STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_scores';

COMMENT ON FUNCTION @extschema@.sentiment_scores(text) IS
	'VADER scores of a text: compound (-1..1), pos, neu, neg';
