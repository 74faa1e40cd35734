-- The upgrade paths: install each released version (1.0, 1.1 and 1.2), put data
-- in it, ALTER EXTENSION ... UPDATE to the current one, and compare each
-- catalogue with a fresh installation of the current version, object by object
-- (identity, full definition, privileges, comment).  An upgrade script that
-- forgets a change fails here and names the object.
\set SHOW_CONTEXT never
\set orig_db :DBNAME
CREATE DATABASE regress_sp_upgrade;
\c regress_sp_upgrade
SET client_min_messages = warning;

CREATE SCHEMA upgrade_check;
CREATE TABLE upgrade_check.routes (route text, object text, definition text);

-- Every member of the extension with what defines it.
CREATE FUNCTION upgrade_check.sp_members()
RETURNS TABLE (object text, definition text)
LANGUAGE sql AS $$
	SELECT pg_describe_object(d.classid, d.objid, 0),
		   concat_ws(' | ',
			   CASE d.classid
				   WHEN 'pg_proc'::regclass THEN
					   (SELECT pg_get_functiondef(p.oid) || ' acl=' || COALESCE(p.proacl::text, '-')
						  FROM pg_proc p WHERE p.oid = d.objid)
				   WHEN 'pg_class'::regclass THEN
					   (SELECT c.relkind::text || ' acl=' || COALESCE(c.relacl::text, '-')
							   || ' opts=' || COALESCE(c.reloptions::text, '-')
							   || CASE WHEN c.relkind IN ('v', 'm') THEN ' view=' || pg_get_viewdef(c.oid) ELSE '' END
							   || ' cols=' || COALESCE((
									SELECT string_agg(format('%s %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
														  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
														  COALESCE(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')),
													  ', ' ORDER BY a.attnum)
									  FROM pg_attribute a
									  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
									 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '-')
							   || ' indexes=' || COALESCE((
									SELECT string_agg(pg_get_indexdef(i.indexrelid), ', ' ORDER BY 1)
									  FROM pg_index i WHERE i.indrelid = c.oid), '-')
							   || ' constraints=' || COALESCE((
									SELECT string_agg(k.conname || ' ' || pg_get_constraintdef(k.oid), ', ' ORDER BY k.conname)
									  FROM pg_constraint k WHERE k.conrelid = c.oid), '-')
							   || ' triggers=' || COALESCE((
									SELECT string_agg(pg_get_triggerdef(t.oid), ', ' ORDER BY t.tgname)
									  FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '-')
						  FROM pg_class c WHERE c.oid = d.objid)
				   WHEN 'pg_type'::regclass THEN
					   (SELECT format_type(t.oid, NULL) || ' ' || t.typtype::text FROM pg_type t WHERE t.oid = d.objid)
				   WHEN 'pg_event_trigger'::regclass THEN
					   (SELECT e.evtevent || ' ' || e.evtfoid::regprocedure::text || ' ' || e.evtenabled::text
							   || ' ' || COALESCE(e.evttags::text, '-')
						  FROM pg_event_trigger e WHERE e.oid = d.objid)
				   ELSE ''
			   END,
			   'comment=' || obj_description(d.objid, d.classid::regclass::name))
	  FROM pg_depend d
	  JOIN pg_extension x ON x.oid = d.refobjid
	 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND x.extname = 'sentiment_proc'
	UNION ALL
	-- tables the extension asks pg_dump to keep
	SELECT 'extension configuration',
		   (SELECT string_agg(format('%s %s', c.oid::regclass, COALESCE(x.extcondition[k.i], '')), ', ' ORDER BY 1)
			  FROM generate_subscripts(x.extconfig, 1) k(i)
			  JOIN pg_class c ON c.oid = x.extconfig[k.i])
	  FROM pg_extension x WHERE x.extname = 'sentiment_proc'
$$;

-- Each released version, with an attached table and processed rows,
-- updated to the current one.
CREATE FUNCTION upgrade_check.walk(p_from text)
RETURNS TABLE (step text, value text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE EXTENSION sentiment_proc VERSION %L', p_from);
	PERFORM sentiment_attach('sentiment_data');
	INSERT INTO sentiment_data (text) SELECT 'upgrade me #v' || g FROM generate_series(1, 20) g;
	step := 'processed under ' || p_from; value := sentiment_process_batch(10); RETURN NEXT;
	INSERT INTO upgrade_check.routes SELECT p_from, m.object, m.definition FROM upgrade_check.sp_members() m;
	ALTER EXTENSION sentiment_proc UPDATE;
	step := 'version after update'; value := (SELECT extversion FROM pg_extension WHERE extname = 'sentiment_proc'); RETURN NEXT;
	INSERT INTO upgrade_check.routes SELECT 'from ' || p_from, m.object, m.definition FROM upgrade_check.sp_members() m;
	-- the data and the attached table carry on under the new version
	step := 'processed after update'; value := sentiment_process_batch(100); RETURN NEXT;
	step := 'statuses'; value := (SELECT string_agg(processing_status || '=' || n, ' ' ORDER BY processing_status)
									FROM (SELECT processing_status, count(*) n FROM sentiment_data GROUP BY 1) c); RETURN NEXT;
	step := 'queue status'; value := (SELECT string_agg(format('%s pending=%s failed=%s', source, pending, failed), '; ')
										FROM sentiment_queue_status); RETURN NEXT;
	DROP EXTENSION sentiment_proc CASCADE;
	DROP TABLE sentiment_data CASCADE;
	DROP TABLE IF EXISTS mention_topics, sentiment_embeddings;
END
$$;
SELECT * FROM upgrade_check.walk('1.0');
SELECT * FROM upgrade_check.walk('1.1');
SELECT * FROM upgrade_check.walk('1.2');

-- A fresh installation of the current version.
CREATE EXTENSION sentiment_proc;
SELECT extversion FROM pg_extension WHERE extname = 'sentiment_proc';
INSERT INTO upgrade_check.routes SELECT 'fresh', object, definition FROM upgrade_check.sp_members();

-- Each update added objects or left them as they were, and ends with as
-- many as a fresh install ...
SELECT r.route,
	   count(*) FILTER (WHERE u.route = r.route) >= count(*) FILTER (WHERE u.route = substr(r.route, 6)) AS update_kept_or_added,
	   count(*) FILTER (WHERE u.route = r.route) = count(*) FILTER (WHERE u.route = 'fresh') AS same_count
  FROM (VALUES ('from 1.0'), ('from 1.1'), ('from 1.2')) r(route) CROSS JOIN upgrade_check.routes u
 GROUP BY r.route ORDER BY r.route;

-- ... and each upgraded catalogue is the fresh one: no object only on one
-- side, no object defined differently.  Expected: no rows.
SELECT d.route, COALESCE(d.uo, d.fo) AS object,
	   CASE WHEN d.uo IS NULL THEN 'missing after ALTER EXTENSION UPDATE'
			WHEN d.fo IS NULL THEN 'left over after ALTER EXTENSION UPDATE'
			ELSE 'defined differently after ALTER EXTENSION UPDATE' END AS problem
  FROM (VALUES ('from 1.0'), ('from 1.1'), ('from 1.2')) r(route)
  CROSS JOIN LATERAL (
	SELECT r.route, u.object AS uo, f.object AS fo
	  FROM (SELECT * FROM upgrade_check.routes WHERE route = r.route) u
	  FULL JOIN (SELECT * FROM upgrade_check.routes WHERE route = 'fresh') f ON f.object = u.object
	 WHERE u.object IS NULL OR f.object IS NULL OR u.definition IS DISTINCT FROM f.definition) d
 ORDER BY 1, 2;

\c :orig_db
DROP DATABASE regress_sp_upgrade;
