-- Security, round three, part C (issue 22): the two-phase path
-- (sentiment_claim, _complete, _fail, _renew, _release) and
-- sentiment_similar read and write a tenant's table as the tenant.  The
-- tenant's traps (row triggers on its table and side tables, the cast of a
-- text column of its own type) record the role they ran as: the shared
-- analyser role and the superuser must never appear.
\set SHOW_CONTEXT never
\set VERBOSITY terse
\set orig_db :DBNAME
CREATE DATABASE regress_sp_claim_owner;
\c regress_sp_claim_owner
SET client_min_messages = warning;
CREATE EXTENSION sentiment_proc;
\i test/sql/helpers/try.sql

CREATE ROLE regress_sc_tenant LOGIN;
CREATE ROLE regress_sc_analyser LOGIN;
GRANT EXECUTE ON FUNCTION sentiment_attach(text, name, name, name, name, text),
	sentiment_text_edit_trigger(), sentiment_wakeup_trigger() TO regress_sc_tenant;
GRANT EXECUTE ON FUNCTION sentiment_claim(integer, interval, regclass),
	sentiment_complete(regclass, jsonb, text),
	sentiment_fail(regclass, bigint[], text, text, boolean, text),
	sentiment_renew(regclass, bigint[], interval, text),
	sentiment_release(regclass, bigint[], text) TO regress_sc_analyser;
CREATE SCHEMA sc AUTHORIZATION regress_sc_tenant;
CREATE TABLE public.sc_trap_log (at text, who name);
GRANT INSERT ON public.sc_trap_log TO PUBLIC;
CREATE VIEW public.sc_trapped AS
	SELECT l.at, CASE l.who WHEN 'regress_sc_tenant' THEN 'tenant' WHEN 'regress_sc_analyser' THEN 'ANALYSER'
						  ELSE 'SUPERUSER' END AS ran_as, count(*) > 0 AS ran
	  FROM public.sc_trap_log l GROUP BY l.at, 2 ORDER BY l.at COLLATE "C", 2;

-- The tenant: its table, side tables, traps, and the grants an analyser
-- needs (it hands its table to the shared analyser role).
SET ROLE regress_sc_tenant;
GRANT USAGE ON SCHEMA sc TO PUBLIC;
SELECT sentiment_attach('sc.mentions', topics_table => 'topics', embeddings_table => 'embeddings') IS NOT NULL AS attached;
INSERT INTO sc.mentions (text) SELECT 'claim me ' || g FROM generate_series(1, 8) g;
CREATE FUNCTION sc.trap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.sc_trap_log VALUES (TG_TABLE_NAME || ' ' || TG_OP, current_user);
	RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER trap BEFORE UPDATE ON sc.mentions FOR EACH ROW EXECUTE FUNCTION sc.trap();
CREATE TRIGGER trap BEFORE INSERT OR DELETE ON sc.topics FOR EACH ROW EXECUTE FUNCTION sc.trap();
CREATE TRIGGER trap BEFORE INSERT OR DELETE ON sc.embeddings FOR EACH ROW EXECUTE FUNCTION sc.trap();
GRANT SELECT, UPDATE ON sc.mentions TO regress_sc_analyser;
GRANT SELECT, INSERT, DELETE ON sc.topics, sc.embeddings TO regress_sc_analyser;
RESET ROLE;

-- One round of the two-phase path by whoever runs it: claim two rows
-- (no source: the analyser's way), complete one with topics and an
-- embedding, renew and fail the other; claim one more and release it.
CREATE FUNCTION pg_temp.two_phase() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v_ids bigint[];
	v_ver integer[];
	v_out text;
BEGIN
	SELECT array_agg(c.id ORDER BY c.id), array_agg(c.version ORDER BY c.id) INTO v_ids, v_ver
	  FROM sentiment_claim(2, interval '1 minute') c;
	SELECT string_agg(r.id || ':' || r.completed, ' ') INTO v_out
	  FROM sentiment_complete('sc.mentions', jsonb_build_array(jsonb_build_object(
		'id', v_ids[1], 'version', v_ver[1], 'sentiment_label', 'positive', 'sentiment_score', 0.5,
		'topics', jsonb_build_array('gpu'),
		'embedding', to_jsonb(array_fill(0.0625::real, ARRAY[sentiment_embedding_dims()]))))) r;
	v_out := v_out || ' renewed ' || cardinality(sentiment_renew('sc.mentions', ARRAY[v_ids[2]], interval '2 minutes'))
		|| ' failed ' || sentiment_fail('sc.mentions', ARRAY[v_ids[2]], 'analyser down', retry => false);
	SELECT array_agg(c.id) INTO v_ids FROM sentiment_claim(1, interval '1 minute', 'sc.mentions') c;
	RETURN v_out || ' released ' || sentiment_release('sc.mentions', v_ids);
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.two_phase() TO regress_sc_analyser;

-- (a) the shared analyser role, (b) a superuser: the traps run as the tenant.
SET ROLE regress_sc_analyser;
SELECT pg_temp.two_phase() AS analyser;
RESET ROLE;
SELECT pg_temp.two_phase() AS superuser;
SELECT * FROM sc_trapped;
SELECT processing_status, count(*) FROM sc.mentions GROUP BY 1 ORDER BY 1;
SELECT count(*) AS topics FROM sc.topics;
SELECT count(*) AS embeddings FROM sc.embeddings;
TRUNCATE sc_trap_log;

-- The tenant's text column becomes a type of its own whose cast to text
-- is a trap: claiming and sentiment_similar (the superuser's README query,
-- the tenant's table the default source) read it as the tenant.
SET ROLE regress_sc_tenant;
CREATE TYPE sc.words AS (w text);
CREATE FUNCTION sc.words_text(sc.words) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.sc_trap_log VALUES ('text cast', current_user);
	RETURN ($1).w;
END $$;
CREATE CAST (sc.words AS text) WITH FUNCTION sc.words_text(sc.words);
-- (attach's triggers name the column: they go first)
DO $$
DECLARE t name;
BEGIN
	FOR t IN SELECT tgname FROM pg_trigger WHERE tgrelid = 'sc.mentions'::regclass
			   AND tgfoid IN ('sentiment_text_edit_trigger'::regproc, 'sentiment_wakeup_trigger'::regproc) LOOP
		EXECUTE format('DROP TRIGGER %I ON sc.mentions', t);
	END LOOP;
END $$;
ALTER TABLE sc.mentions ALTER COLUMN text TYPE sc.words USING ROW(text)::sc.words;
RESET ROLE;
SELECT count(*) AS claimed FROM sentiment_claim(1, interval '1 minute', 'sc.mentions');
SELECT entry_id, text FROM sentiment_similar('claim me', 3) ORDER BY 1;
SELECT entry_id, text FROM sentiment_similar(1::bigint, 3) ORDER BY 1;
SELECT * FROM sc_trapped;

-- Called directly, sentiment_source_sql does no more than the caller could
-- do itself: the statements on the side tables need the caller's rights
-- on them.
SET ROLE regress_sc_tenant;
REVOKE INSERT ON sc.topics FROM regress_sc_analyser;
REVOKE SELECT ON sc.embeddings FROM regress_sc_analyser;
SET ROLE regress_sc_analyser;
SELECT pg_temp.try($$SELECT * FROM sentiment_source_sql('sc.mentions', 'complete_rest',
	'{"results": [{"id": 1, "version": 0, "topics": ["x"]}], "ids": [1]}')
	AS r(id bigint, completed boolean, reason text)$$, hint => false) AS complete_rest;
SELECT pg_temp.try($$SELECT * FROM sentiment_source_sql('sc.mentions', 'similar_entry', '{"entry": 1}')
	AS e(v real[])$$, hint => false) AS similar_entry;
RESET ROLE;
SELECT count(*) AS topics_of_1 FROM sc.topics WHERE mention_id = 1;

-- A version column of the tenant's type is refused before anything runs.
TRUNCATE sc_trap_log;
SET ROLE regress_sc_tenant;
CREATE TYPE sc.num AS (n integer);
CREATE FUNCTION sc.num_int(sc.num) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.sc_trap_log VALUES ('version cast', current_user);
	RETURN ($1).n;
END $$;
CREATE CAST (sc.num AS integer) WITH FUNCTION sc.num_int(sc.num);
ALTER TABLE sc.mentions ALTER COLUMN version DROP DEFAULT;
ALTER TABLE sc.mentions ALTER COLUMN version TYPE sc.num USING ROW(version)::sc.num;
RESET ROLE;
SELECT pg_temp.try($$SELECT * FROM sentiment_claim(1, interval '1 minute', 'sc.mentions')$$, hint => false, message_max => 60);
-- without a source the table is skipped with a warning, not an error
SET client_min_messages = warning;
SELECT count(*) AS claimed FROM sentiment_claim(1, interval '1 minute');
SELECT * FROM sc_trapped;

\c :orig_db
DROP DATABASE regress_sp_claim_owner;
DROP ROLE regress_sc_tenant, regress_sc_analyser;
