-- Hostile objects in the extension's schema (public) shadowing built-ins
\set SHOW_CONTEXT never
-- must change nothing: functions pin search_path with pg_catalog first, and
-- the generated statements qualify every function, cast and operator.
CREATE TABLE hostile_calls (what text);
CREATE FUNCTION public.hostile_note(what text) RETURNS void LANGUAGE sql
	AS $$ INSERT INTO public.hostile_calls VALUES (what) $$;

CREATE FUNCTION public.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile_note('unnest'); RETURN; END $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile_note('now'); RETURN 'epoch'; END $$;
CREATE FUNCTION public.to_regclass(text) RETURNS regclass LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile_note('to_regclass'); RETURN 'pg_class'::pg_catalog.regclass; END $$;
CREATE FUNCTION public.parse_ident(text, boolean DEFAULT true) RETURNS text[] LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile_note('parse_ident'); RETURN '{pg_catalog,pg_class}'; END $$;
CREATE FUNCTION public.cardinality(anyarray) RETURNS int LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile_note('cardinality'); RETURN 0; END $$;
CREATE FUNCTION public.has_function_privilege(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile_note('has_function_privilege'); RETURN true; END $$;
CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile_note('format'); RETURN 'SELECT 1'; END $$;
CREATE FUNCTION public.hostile_texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile_note('text ='); RETURN true; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hostile_texteq);
CREATE FUNCTION public.hostile_int4pl(int, int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile_note('int +'); RETURN 1000; END $$;
CREATE OPERATOR public.+ (LEFTARG = int, RIGHTARG = int, FUNCTION = public.hostile_int4pl);
CREATE FUNCTION public.hostile_int8eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile_note('bigint ='); RETURN true; END $$;
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.hostile_int8eq);

-- The caller even puts public first.
SET search_path = public, pg_catalog;

-- Attach a new table with a name that needs quoting, in a schema that does.
CREATE SCHEMA "My Schema";
SELECT sentiment_attach('"My Schema"."Robert''); DROP TABLE legacy; --"',
						topics_table => 'x"topics', embeddings_table => 'x"embeddings');
SELECT source_table, topics_table, embeddings_table FROM sentiment_sources
 WHERE source_table::text LIKE '%Robert%';
INSERT INTO "My Schema"."Robert'); DROP TABLE legacy; --" (text)
	SELECT 'hostile row ' || g || ' is great #safe' FROM generate_series(1, 20) g;
INSERT INTO "My Schema"."Robert'); DROP TABLE legacy; --" (text) VALUES (NULL);

SELECT sentiment_process_batch(100, '"My Schema"."Robert''); DROP TABLE legacy; --"');

RESET search_path;
SELECT processing_status, processing_attempts, count(*)
  FROM "My Schema"."Robert'); DROP TABLE legacy; --"
 GROUP BY 1, 2 ORDER BY 1;
SELECT count(*) AS topic_rows FROM "My Schema"."x""topics";
SELECT count(*) AS embedding_rows FROM "My Schema"."x""embeddings";
SELECT count(*) AS mismatched
  FROM "My Schema"."Robert'); DROP TABLE legacy; --" d, sentiment_analyze(d.text) a
 WHERE d.processing_status = 'completed'
   AND (d.sentiment_score IS DISTINCT FROM a.sentiment_score OR d.sentiment_label IS DISTINCT FROM a.sentiment_label);
SELECT to_regclass('public.legacy') IS NOT NULL AS legacy_still_there;

-- A role without the grant is still refused, whatever public offers.
CREATE ROLE regress_sp_intruder;
SET ROLE regress_sp_intruder;
SET search_path = public, pg_catalog;
SELECT sentiment_attach('intruder_table');
RESET search_path;
RESET ROLE;
DROP ROLE regress_sp_intruder;

-- None of the hostile objects ever ran.
SELECT what, count(*) FROM hostile_calls GROUP BY 1 ORDER BY 1;

SELECT sentiment_detach('"My Schema"."Robert''); DROP TABLE legacy; --"');
DROP SCHEMA "My Schema" CASCADE;
DROP OPERATOR public.= (bigint, bigint);
DROP OPERATOR public.= (text, text);
DROP OPERATOR public.+ (int, int);
DROP FUNCTION public.unnest(anyarray), public.now(), public.to_regclass(text),
	public.parse_ident(text, boolean), public.cardinality(anyarray),
	public.has_function_privilege(text, text), public.format(text, text, text),
	public.hostile_texteq(text, text), public.hostile_int4pl(int, int), public.hostile_int8eq(bigint, bigint),
	public.hostile_note(text);
DROP TABLE hostile_calls;
