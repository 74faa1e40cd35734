#!/usr/bin/env bash
# Where the time of a sentiment_similar(text, 10) call goes, through the HNSW
# index (docs/pgvector.md), on a private temporary instance: ROWS mentions
# (bench/gen_mentions.py) processed into real[], converted to vector(256)
# with its index built once, then for QUERIES new mention texts, each part
# timed on its own in the server (one warm session, clock_timestamp around
# each call):
#
#   call      sentiment_similar(text, 10), as users call it, warm (the
#             second call of the query);
#   call first  the first call of a query, which reads its part of the
#             graph into shared_buffers (one of call, call 1.2 and call REF
#             goes first, in turn: each has a third of the queries);
#   analyse   sentiment_analyze(text), the query embedding;
#   scan      the index query alone with that embedding ready (planned
#             once: ORDER BY embedding <=> $1 LIMIT 10, the join to the
#             source, at hnsw.ef_search 100, as sentiment_similar runs it);
#   statement the owner-run statement alone (sentiment_source_sql(source,
#             'similar_vector', args) with the embedding ready): its checks,
#             the switch to the owner, planning the index query, the scan;
#   wrapper   call - analyse - scan per query: the lookups of the source,
#             its column type and lane, the owner-run statement's checks
#             and planning (since 1.3 the search is C, src/similar.c);
#   call 1.2 / wrapper 1.2  the same for 1.2's sentiment_similar: its
#             internal search function (from the frozen
#             sql/sentiment_proc--1.2.sql) under its SQL wrapper with a pinned
#             search_path, as 1.2 had it: before and after in the same run;
#   call REF / wrapper REF / call REF no SET  with BEFORE_REF=commit (a
#             commit of this repository, read with git show): that commit's
#             _sentiment_similar_internal from sql/objects/65_similar.sql
#             under its wrapper, and again without its function-level
#             SET hnsw.ef_search (what that clause costs).
#
#   bench/similar_profile.sh [ROWS [QUERIES]]    (defaults 100000, 200)
#   BEFORE_REF=2a1b3c bench/similar_profile.sh ...
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-100000}
QUERIES=${2:-200}

. scripts/lib/tempdb.sh
[ -f "$("$PG_CONFIG" --sharedir)/extension/vector.control" ] ||
	{ echo "pgvector is not installed for $PG_CONFIG: run ../shared/pgvector/install.sh" >&2; exit 2; }
echo "== build and install"
build_and_install

trap tempdb_stop EXIT
tempdb_start "shared_buffers = '2GB'" "max_wal_size = '16GB'" "checkpoint_timeout = '1h'" \
	"autovacuum = off" "maintenance_work_mem = '3GB'" "max_parallel_maintenance_workers = 1"

echo "== $ROWS mentions into real[], converted to vector(256) with its HNSW index"
psql_q -c "CREATE TABLE queries (q integer PRIMARY KEY, text text NOT NULL)" \
	-c "CREATE EXTENSION sentiment_proc" -c "CREATE EXTENSION vector" >/dev/null
python3 bench/gen_mentions.py "$QUERIES" --seed 2 --originals-only | psql_q -c "COPY queries FROM STDIN"
psql_q -c "SELECT sentiment_attach('search', topics_table => 'search_topics', embeddings_table => 'search_embeddings')" \
	-c "SELECT sentiment_convert_embeddings('search', 'real[]')" >/dev/null
python3 bench/gen_mentions.py "$ROWS" --seed 1 | psql_q -c "COPY search (entry_id, text) FROM STDIN"
psql_q <<'SQL' >/dev/null
DO $$
BEGIN
	LOOP
		EXIT WHEN sentiment_process_batch(5000, 'search') = 0;
		COMMIT;
	END LOOP;
END
$$;
SELECT sentiment_convert_embeddings('search', 'vector');
VACUUM ANALYZE search;
VACUUM ANALYZE search_embeddings;
SQL

# The same call as 1.2 made it, for a before/after in one run: 1.2's
# internal search function (frozen in sql/sentiment_proc--1.2.sql: plpgsql,
# the index query planned at every call) under another name.  Its 1.2 name
# is kept whatever 1.3 calls it (rename:keep); the internal helpers it calls
# are called by the names they have now (1.3 gave them the _sentiment_ prefix).
v12='sentiment_similar_internal'	# rename:keep
before=$(awk -v n="$v12" 'index($0, "CREATE FUNCTION @extschema@." n "(") == 1 {f = 1} f {print} f && /^\$body\$;$/ {exit}' \
	sql/sentiment_proc--1.2.sql | sed -e "s/@extschema@\.$v12(/public.similar_before(/")
for f in $(grep -o '@extschema@\.[a-z_0-9]*(' <<<"$before" | sed 's/^@extschema@\.//; s/($//' | sort -u); do
	if [ "$(psql_v -c "SELECT NOT EXISTS (SELECT FROM pg_proc WHERE proname = '$f')
						   AND EXISTS (SELECT FROM pg_proc WHERE proname = '_$f')")" = t ]; then
		before=$(sed "s/@extschema@\.$f(/@extschema@._$f(/g" <<<"$before")
	fi
done
sed 's/@extschema@/public/g' <<<"$before" | psql_q
# and 1.2's sentiment_similar(text, k, source) wrapper around it (pinned path)
psql_q <<'SQL'
CREATE FUNCTION similar_before_call(query text, k integer DEFAULT 10, source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM public.similar_before(source, query, NULL, k)
$$;
SQL

# A former _sentiment_similar_internal (plpgsql, with the caller's
# hnsw.ef_search as a fifth argument) under its wrapper; a stand-in without it.
if [ -n "${BEFORE_REF:-}" ]; then
	git show "$BEFORE_REF:sql/objects/65_similar.sql" |
		awk '/^CREATE FUNCTION @extschema@._sentiment_similar_internal\(/ {f = 1} f {print} f && /^\$body\$;$/ {exit}' |
		sed -e 's/@extschema@\._sentiment_similar_internal(/public.similar_ref(/' -e 's/@extschema@/public/g' | psql_q
	psql_q <<'SQL'
CREATE FUNCTION similar_ref_call(query text, k integer DEFAULT 10, source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text)
LANGUAGE sql STABLE
AS $$
	SELECT * FROM public.similar_ref(source, query, NULL, k, pg_catalog.current_setting('hnsw.ef_search', true))
$$;
SQL
else
	psql_q -c "CREATE FUNCTION similar_ref_call(query text, k integer DEFAULT 10, source regclass DEFAULT NULL)
RETURNS TABLE (entry_id bigint, similarity double precision, text text) LANGUAGE sql AS 'SELECT NULL::bigint, NULL::float8, NULL::text WHERE false'"
fi

echo "== $QUERIES queries, each part timed"
psql_q <<'SQL'
CREATE TABLE timings (q integer, part text, ms double precision);
SET hnsw.ef_search = 100;
DO $$
DECLARE
	r record; t0 timestamptz; v real[]; n integer; a jsonb; p text;
BEGIN
	-- warm up: plans, caches, the analyser
	PERFORM * FROM sentiment_similar('warm up the cache', 10, 'search');
	PERFORM * FROM similar_before_call('warm up the cache', 10, 'search');
	PERFORM * FROM similar_ref_call('warm up the cache', 10, 'search');
	FOR r IN SELECT * FROM queries ORDER BY q LOOP
		-- The first call of a query reads its part of the graph (from the
		-- OS's cache or the disk into shared_buffers): timed as "first",
		-- by one of the three in turn; then all three warm, in an order
		-- that rotates.
		FOR i IN -1 .. 2 LOOP
			t0 := clock_timestamp();
			CASE (r.q + greatest(i, 0)) % 3
				WHEN 0 THEN PERFORM * FROM sentiment_similar(r.text, 10, 'search'); p := 'call';
				WHEN 1 THEN PERFORM * FROM similar_before_call(r.text, 10, 'search'); p := 'call 1.2';
				ELSE PERFORM * FROM similar_ref_call(r.text, 10, 'search'); p := 'call REF';
			END CASE;
			INSERT INTO timings VALUES (r.q, p || CASE WHEN i < 0 THEN ' first' ELSE '' END,
										extract(epoch FROM clock_timestamp() - t0) * 1000);
		END LOOP;
		t0 := clock_timestamp();
		v := (sentiment_analyze(r.text)).embedding;
		INSERT INTO timings VALUES (r.q, 'analyse', extract(epoch FROM clock_timestamp() - t0) * 1000);
		CONTINUE WHEN sentiment_cosine(v, v) IS NULL;
		t0 := clock_timestamp();
		-- (a plpgsql query: planned once, like a prepared statement)
		PERFORM n.entry_id
		   FROM (SELECT e.entry_id, sentiment_cosine(e.embedding::real[], v) AS similarity
				   FROM search_embeddings e ORDER BY e.embedding <=> v::vector LIMIT 10) n
		   JOIN search t ON t.entry_id = n.entry_id
		  WHERE n.similarity IS NOT NULL ORDER BY n.similarity DESC, n.entry_id;
		INSERT INTO timings VALUES (r.q, 'scan', extract(epoch FROM clock_timestamp() - t0) * 1000);
		a := jsonb_build_object('vector', to_jsonb(v), 'k', 10);
		t0 := clock_timestamp();
		PERFORM * FROM sentiment_source_sql('search', 'similar_vector', a)
			AS n(entry_id bigint, similarity double precision, text text);
		INSERT INTO timings VALUES (r.q, 'statement', extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
END
$$;
SQL
# What the former function's own SET hnsw.ef_search clause cost: its calls
# again without it
if [ -n "${BEFORE_REF:-}" ]; then
	psql_q <<'SQL'
SET hnsw.ef_search = 100;
ALTER FUNCTION similar_ref(regclass, text, bigint, integer, text) RESET hnsw.ef_search;
DO $$
DECLARE
	r record; t0 timestamptz;
BEGIN
	FOR r IN SELECT * FROM queries ORDER BY q LOOP
		t0 := clock_timestamp();
		PERFORM * FROM similar_ref_call(r.text, 10, 'search');
		INSERT INTO timings VALUES (r.q, 'call REF no SET', extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
END
$$;
SQL
fi

echo
echo "== results ($ROWS mentions, $QUERIES queries, k = 10, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
[ -z "${BEFORE_REF:-}" ] || echo "   REF: $BEFORE_REF ($(git log -1 --format='%h %s' "$BEFORE_REF" | cut -c1-80))"
psql_v -v ref="${BEFORE_REF:-}" <<'SQL'
WITH per_q AS (
	SELECT q, sum(ms) FILTER (WHERE part = 'call') - sum(ms) FILTER (WHERE part = 'analyse')
			  - sum(ms) FILTER (WHERE part = 'scan') AS ms,
		   sum(ms) FILTER (WHERE part = 'call 1.2') - sum(ms) FILTER (WHERE part = 'analyse')
			  - sum(ms) FILTER (WHERE part = 'scan') AS ms_before,
		   sum(ms) FILTER (WHERE part = 'call REF') - sum(ms) FILTER (WHERE part = 'analyse')
			  - sum(ms) FILTER (WHERE part = 'scan') AS ms_ref
	  FROM timings GROUP BY q HAVING count(*) FILTER (WHERE part = 'scan') = 1),
all_parts AS (
	SELECT part, ms FROM timings WHERE part NOT LIKE 'call REF%' OR :'ref' <> ''
	UNION ALL SELECT 'wrapper', ms FROM per_q
	UNION ALL SELECT 'wrapper 1.2', ms_before FROM per_q
	UNION ALL SELECT 'wrapper REF', ms_ref FROM per_q WHERE :'ref' <> '')
SELECT format('%-16s p50 %7s ms   p99 %7s ms   mean %7s ms', part,
			  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3),
			  round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3),
			  round(avg(ms)::numeric, 3))
  FROM all_parts GROUP BY part
 ORDER BY array_position(ARRAY['call 1.2 first', 'call REF first', 'call first', 'call 1.2', 'call REF',
							  'call REF no SET', 'call', 'analyse', 'scan', 'statement',
							  'wrapper 1.2', 'wrapper REF', 'wrapper'], part);
SQL
