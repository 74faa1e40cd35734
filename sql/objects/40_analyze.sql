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

-- The same with the sentiment model chosen (model => 'vader' | 'social' |
-- 'multilingual'): for social and multilingual, sentiment_score is
-- P(positive) - P(negative) and pos, neu, neg are the three probabilities;
-- topic clauses use the model too.  multilingual leaves emotion_label and
-- emotion_score NULL for texts in other languages than English.
CREATE FUNCTION @extschema@.sentiment_analyze(
	input text,
	model text,
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
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_analyze';

COMMENT ON FUNCTION @extschema@.sentiment_analyze(text, text) IS
	'Sentiment with the chosen model (vader, social or multilingual), emotion, topics and embedding of a text';

-- The three class probabilities of a text (model social by default).
CREATE FUNCTION @extschema@.sentiment_probabilities(
	input text,
	model text DEFAULT 'social',
	OUT negative double precision,
	OUT neutral double precision,
	OUT positive double precision,
	OUT sentiment_label text)
RETURNS record
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_probabilities';

COMMENT ON FUNCTION @extschema@.sentiment_probabilities(text, text) IS
	'P(negative), P(neutral), P(positive) of a text by the model (social by default; vader gives its proportions)';

-- The terms that moved a text's sentiment most, strongest first.
CREATE FUNCTION @extschema@.sentiment_explain(
	input text,
	model text DEFAULT 'vader',
	k integer DEFAULT 10)
RETURNS TABLE (rank integer, term text, contribution double precision)
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_explain';

COMMENT ON FUNCTION @extschema@.sentiment_explain(text, text, integer) IS
	'The k terms that moved the sentiment most with their contributions (VADER valences after rules, or the social model''s weights)';

-- The models built into the library, with the version each result records.
CREATE FUNCTION @extschema@.sentiment_models()
RETURNS TABLE (name text, kind text, version text, file_bytes bigint, is_default boolean)
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_models';

COMMENT ON FUNCTION @extschema@.sentiment_models() IS
	'The sentiment and emotion models of the library: name, version recorded with each result, model file size';

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
