-- True for the name of a sentiment model, an error with a hint otherwise
-- (src/analyze.c): the check of the registry's sentiment_model.
CREATE FUNCTION @extschema@._sentiment_model_check(model text)
RETURNS boolean
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sentiment_model_check';

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
	attached_at			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	-- how long a row claimed outside sentiment_proc is left to its claimant
	-- (NULL: sentiment_proc.foreign_claim_grace); see 57_foreign_claims.sql
	foreign_claim_grace interval CHECK (foreign_claim_grace BETWEEN interval '0' AND interval '7 days'),
	-- the sentiment model the table's rows are analysed with
	sentiment_model		text NOT NULL DEFAULT 'vader'
						CONSTRAINT sentiment_sources_model_check CHECK (@extschema@._sentiment_model_check(sentiment_model)),
	-- who analyses the table: 'server' (the background workers and
	-- sentiment_process_batch, and sentiment_claim) or 'external' (only
	-- sentiment_claim); set by sentiment_set_processor (56_claim_api.sql)
	processor			text NOT NULL DEFAULT 'server'
						CONSTRAINT sentiment_sources_processor_check CHECK (processor IN ('server', 'external'))
);

COMMENT ON TABLE @extschema@.sentiment_sources IS
	'Tables processed by sentiment_proc; maintained by sentiment_attach() and sentiment_detach()';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.sentiment_sources', '');

-- Readable by everyone (it names tables, as pg_class does); written only by
-- the two functions below, which attach and detach call.
GRANT SELECT ON @extschema@.sentiment_sources TO PUBLIC;

-- For the extension's scripts: give EXECUTE on p_to to every role that was
-- granted EXECUTE on p_from, so that whoever may do one thing may do the new
-- one (on an update, the roles a DBA granted; on a fresh install nobody yet).
CREATE FUNCTION @extschema@._sentiment_grant_like(p_from regprocedure, p_to regprocedure)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_role	name;
BEGIN
	FOR v_role IN
		SELECT DISTINCT pg_get_userbyid(a.grantee)
		  FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
		 WHERE p.oid = p_from
		   AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner
	LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', p_to, v_role);
	END LOOP;
END
$body$;

REVOKE ALL ON FUNCTION @extschema@._sentiment_grant_like(regprocedure, regprocedure) FROM PUBLIC;

-- The registration of an attached table: the one "is it attached" check of
-- the SQL functions, raising an error with a hint when it is not.  A NULL
-- source passes (NULL: every attached table, for the callers that allow it).
CREATE FUNCTION @extschema@._sentiment_registration(p_source regclass)
RETURNS @extschema@.sentiment_sources
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_row	@extschema@.sentiment_sources;
BEGIN
	IF p_source IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT * INTO v_row FROM @extschema@.sentiment_sources s WHERE s.source_table = p_source;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % is not attached to sentiment_proc', p_source
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = format('Attach it first with SELECT sentiment_attach(%L); see sentiment_sources for the attached tables.',
								p_source::text);
	END IF;
	RETURN v_row;
END
$body$;

-- The notice of a call made without a source (for every attached table)
-- that left alone the tables the caller may not update: they are skipped,
-- not fatal to the call, and named.
CREATE FUNCTION @extschema@._sentiment_report_denied(p_what text, p_tables text[])
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF cardinality(p_tables) > 0 THEN
		RAISE NOTICE '% skipped % attached table(s) the current user may not update: %',
			p_what, cardinality(p_tables), array_to_string(p_tables, ', ')
			USING HINT = 'Their owners, or roles granted UPDATE on them, can do it for them.';
	END IF;
END
$body$;

-- A call made without a source, for every attached table: p_query (its $1
-- the table, $2 p_args) runs for each table the caller may update, in the
-- order of their OIDs, and its bigint results are summed; a table where it
-- fails is skipped with a warning (hint: p_hint, its %s the table), those
-- the caller may not update are named by _sentiment_report_denied.  Runs
-- p_query as the caller, so it grants nothing and stays executable by
-- PUBLIC like _sentiment_report_denied.
CREATE FUNCTION @extschema@._sentiment_for_each_updatable(
	p_what text, p_query text, p_args jsonb, p_hint text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		regclass;
	v_n			bigint;
	v_total		bigint := 0;
	v_denied	text[] := '{}';
BEGIN
	FOR v_src IN SELECT s.source_table FROM @extschema@.sentiment_sources s ORDER BY s.source_table::oid LOOP
		IF NOT has_table_privilege(v_src, 'UPDATE') THEN
			v_denied := v_denied || v_src::text;
			CONTINUE;
		END IF;
		BEGIN
			EXECUTE p_query INTO v_n USING v_src, p_args;
			v_total := v_total + v_n;
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING '% skipped table %: %', p_what, v_src, SQLERRM
				USING HINT = format(p_hint, v_src::text);
		END;
	END LOOP;
	PERFORM @extschema@._sentiment_report_denied(p_what, v_denied);
	RETURN v_total;
END
$body$;

-- The rows of one owner-run statement (sentiment_source_sql, with p_args)
-- of every attached source the caller may read (or of p_source alone),
-- each row led by its source; the caller's column definition list is the
-- source's then p_columns.  A source that cannot be read so (locked,
-- columns changed) is left out with a warning that p_what names.  Reads
-- only what the caller may read, as sentiment_source_sql does, so it stays
-- executable by PUBLIC.
CREATE FUNCTION @extschema@._sentiment_readable_rows(
	p_what text, p_statement text, p_args jsonb, p_columns text, p_source regclass DEFAULT NULL)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_src		regclass;
BEGIN
	FOR v_src IN
		SELECT r.source_table FROM @extschema@._sentiment_readable_sources() r
		 WHERE p_source IS NULL OR r.source_table = p_source
	LOOP
		BEGIN
			RETURN QUERY EXECUTE format(
				'SELECT $1, u.* FROM @extschema@.sentiment_source_sql($1, $2, $3) AS u(%s)', p_columns)
				USING v_src, p_statement, p_args;
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING '% skipped table %: %', p_what, v_src, SQLERRM;
		END;
	END LOOP;
END
$body$;

-- Record or remove a registration (src/registry.c).  They check, as the
-- caller, EXECUTE on sentiment_attach / sentiment_detach and ownership of
-- the source and its side tables, then write the registry as the
-- extension's owner; so they need no grant of their own.
CREATE FUNCTION @extschema@.sentiment_register(
	source regclass, id_column name, text_column name, topics_table regclass, embeddings_table regclass,
	sentiment_model text)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_register';

CREATE FUNCTION @extschema@.sentiment_unregister(source regclass)
RETURNS boolean
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_unregister';

-- A registration that goes (detach, drop) takes the source's statistics in
-- shared memory with it, at commit (src/registry.c, src/stats.c).
CREATE FUNCTION @extschema@._sentiment_registry_forget_trigger()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sentiment_registry_forget_trigger';

REVOKE ALL ON FUNCTION @extschema@._sentiment_registry_forget_trigger() FROM PUBLIC;

CREATE TRIGGER sentiment_forget_stats AFTER DELETE ON @extschema@.sentiment_sources
	FOR EACH ROW EXECUTE FUNCTION @extschema@._sentiment_registry_forget_trigger();

-- A dropped table stops being processed: its registration goes with it (and
-- so does a source's whose side table was dropped, with a notice), so the
-- registry never names a table that is not there.  SECURITY DEFINER because
-- the owner of a dropped table need not be allowed to write the registry;
-- it only ever deletes the rows of objects that this very command dropped.
CREATE FUNCTION @extschema@.sentiment_forget_dropped()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	v_source regclass;
BEGIN
	FOR v_source IN
		DELETE FROM @extschema@.sentiment_sources s
		 USING pg_event_trigger_dropped_objects() o
		 WHERE o.classid = 'pg_class'::regclass AND o.objsubid = 0
		   AND o.objid IN (s.source_table::oid, s.topics_table::oid, s.embeddings_table::oid)
		RETURNING s.source_table
	LOOP
		IF v_source::oid IN (SELECT o.objid FROM pg_event_trigger_dropped_objects() o) THEN
			CONTINUE;	-- the source itself went: nothing left to say
		END IF;
		RAISE NOTICE 'table % is no longer processed by sentiment_proc: a side table was dropped', v_source
			USING HINT = 'Run sentiment_attach again to recreate the side tables.';
	END LOOP;
END
$body$;

REVOKE ALL ON FUNCTION @extschema@.sentiment_forget_dropped() FROM PUBLIC;

CREATE EVENT TRIGGER sentiment_forget_dropped ON sql_drop
	EXECUTE FUNCTION @extschema@.sentiment_forget_dropped();
