-- The upgrade path: install the oldest released version, put data in it,
-- ALTER EXTENSION ... UPDATE to the current one, and compare the catalogue
-- with a fresh installation of the current version, object by object
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

-- 1.0, with an attached table and processed rows.
CREATE EXTENSION sentiment_proc VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'sentiment_proc';
SELECT sentiment_attach('sentiment_data');
INSERT INTO sentiment_data (text) SELECT 'upgrade me #v' || g FROM generate_series(1, 20) g;
SELECT sentiment_process_batch(10) AS processed_under_1_0;
INSERT INTO upgrade_check.routes SELECT '1.0', object, definition FROM upgrade_check.sp_members();

ALTER EXTENSION sentiment_proc UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'sentiment_proc';
INSERT INTO upgrade_check.routes SELECT 'upgraded', object, definition FROM upgrade_check.sp_members();

-- The data and the attached table carry on under the new version.
SELECT sentiment_process_batch(100) AS processed_after_update;
SELECT processing_status, count(*) FROM sentiment_data GROUP BY 1 ORDER BY 1;
SELECT source, pending, failed FROM sentiment_queue_status;

-- A fresh installation of the current version.
DROP EXTENSION sentiment_proc CASCADE;
CREATE EXTENSION sentiment_proc;
SELECT extversion FROM pg_extension WHERE extname = 'sentiment_proc';
INSERT INTO upgrade_check.routes SELECT 'fresh', object, definition FROM upgrade_check.sp_members();

-- The update added objects (the upgrade script is not empty) ...
SELECT count(*) FILTER (WHERE route = '1.0') < count(*) FILTER (WHERE route = 'upgraded') AS update_added_objects,
	   count(*) FILTER (WHERE route = 'upgraded') = count(*) FILTER (WHERE route = 'fresh') AS same_count
  FROM upgrade_check.routes;

-- ... and the upgraded catalogue is the fresh one: no object only on one
-- side, no object defined differently.  Expected: no rows.
SELECT COALESCE(u.object, f.object) AS object,
	   CASE WHEN u.object IS NULL THEN 'missing after ALTER EXTENSION UPDATE'
			WHEN f.object IS NULL THEN 'left over after ALTER EXTENSION UPDATE'
			ELSE 'defined differently after ALTER EXTENSION UPDATE' END AS problem
  FROM (SELECT * FROM upgrade_check.routes WHERE route = 'upgraded') u
  FULL JOIN (SELECT * FROM upgrade_check.routes WHERE route = 'fresh') f ON f.object = u.object
 WHERE u.object IS NULL OR f.object IS NULL OR u.definition IS DISTINCT FROM f.definition
 ORDER BY 1;

\c :orig_db
DROP DATABASE regress_sp_upgrade;
