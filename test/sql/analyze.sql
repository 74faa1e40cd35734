-- sentiment_analyze and sentiment_scores on their own.
\set SHOW_CONTEXT never

-- The VADER reference implementation's own examples.
SELECT * FROM sentiment_scores('VADER is smart, handsome, and funny.');
SELECT * FROM sentiment_scores('VADER is not smart, handsome, nor funny.');
SELECT * FROM sentiment_scores('The book was kind of good.');
SELECT * FROM sentiment_scores('Today SUX!');
SELECT * FROM sentiment_scores('Make sure you :) or :D today!');
SELECT * FROM sentiment_scores('');
SELECT * FROM sentiment_scores(NULL);

-- The full analysis agrees with the scores.
SELECT a.sentiment_label, a.sentiment_score = s.compound AS same_compound,
	   a.pos = s.pos AND a.neu = s.neu AND a.neg = s.neg AS same_parts
  FROM sentiment_analyze('VADER is smart, handsome, and funny.') a,
	   sentiment_scores('VADER is smart, handsome, and funny.') s;

-- Labels by the compound thresholds; emotion from its documented set;
-- hashtags as topics; a unit-length 256-dimension embedding.
SELECT t, a.sentiment_label,
	   a.emotion_label IN ('neutral', 'anger', 'disgust', 'fear', 'joy', 'sadness', 'surprise') AS known_emotion,
	   a.emotion_score BETWEEN 0 AND 1 AS emotion_score_ok,
	   array_length(a.embedding, 1) AS dims,
	   round((SELECT sum(x * x) FROM unnest(a.embedding) x)::numeric, 3) AS norm2
  FROM (VALUES ('I love it!'), ('I hate it.'), ('It is a table.')) v(t),
	   sentiment_analyze(t) a;
SELECT 'launch' = ANY (topics) AS has_hashtag FROM sentiment_analyze('Big day for the #launch');

-- NULL in, NULL out; empty and white space are neutral.
SELECT sentiment_label IS NULL AS null_result FROM sentiment_analyze(NULL);
SELECT sentiment_label, sentiment_score, topics FROM sentiment_analyze('');
SELECT sentiment_label, sentiment_score FROM sentiment_analyze(E' \t\n ');

-- Inputs over the documented cap are refused clearly.
\set VERBOSITY default
SELECT sentiment_label FROM sentiment_analyze(repeat('a', 4 * 1024 * 1024 + 1));
SELECT compound FROM sentiment_scores(repeat('a', 4 * 1024 * 1024 + 1));
-- At the cap it works.
SELECT sentiment_label FROM sentiment_analyze(repeat('a', 4 * 1024 * 1024));

-- Usable on any table, in any query, including parallel ones.
CREATE TEMP TABLE reviews (id int, body text);
INSERT INTO reviews VALUES (1, 'Great food, lovely staff'), (2, 'Cold and bland'), (3, 'We ate there.');
SELECT id, (sentiment_analyze(body)).sentiment_label FROM reviews ORDER BY id;
SELECT s.label, count(*) FROM reviews r,
	LATERAL (SELECT sentiment_label AS label FROM sentiment_analyze(r.body)) s GROUP BY 1 ORDER BY 1;

-- Stable: the same text always gives the same answer.
SELECT count(DISTINCT (a.sentiment_score, a.embedding)) AS distinct_results
  FROM generate_series(1, 50), sentiment_analyze('Pretty good, not great') a;
