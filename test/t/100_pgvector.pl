# Embeddings as pgvector types (docs/pgvector.md): attach with each type and
# the error without pgvector, processing writes the type, the HNSW index is
# there and used, sentiment_similar through it equals the exact scan, the
# two-phase API with vectors, converting a real[] side table in place, bad
# input, and the roles: a non-superuser owner attaches and converts, and
# processing (as that owner, search_path pinned) finds pgvector in a schema
# of its own; the embedding lane: staging, draining exactly once (also after
# kill -9), and every vector/halfvec table given its lane by the update from
# 1.2, by adoption and by re-attach.  Skipped where pgvector is not installed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;

my $sharedir = `pg_config --sharedir`;
chomp $sharedir;
plan skip_all => 'pgvector is not installed (../shared/pgvector/install.sh builds it; or a pgvector 0.5+ package)'
  unless -f "$sharedir/extension/vector.control";

my $node = sp_node('pgvector');
my $q = sub { $node->safe_psql('postgres', $_[0]) };

# SQLSTATE of a statement, 'ok' when it succeeds.
$q->(q{
CREATE EXTENSION sentiment_proc;
CREATE FUNCTION sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE stmt; RETURN 'ok'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE; END $$;
-- distinct texts: ties in similarity are unlikely
CREATE TABLE texts AS
SELECT g AS id, (ARRAY['love', 'hate', 'enjoy', 'cannot stand', 'tried'])[1 + g % 5] || ' the ' ||
	   (ARRAY['phone', 'pizza', 'coffee', 'train', 'concert', 'battery', 'hotel'])[1 + g % 7] || ' ' ||
	   (ARRAY['today', 'again', 'lol', 'so much', 'at last', 'every day', 'in town', 'with friends', 'for real',
			  'at work', 'on sunday'])[1 + g % 11] || ' #tag' || g AS text
  FROM generate_series(1, 400) g;
});

# ---- without pgvector in the database ------------------------------------
is($q->(q{SELECT sentiment_attach('plain', topics_table => 'plain_topics', embeddings_table => 'plain_emb');
		  SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		   WHERE attrelid = 'plain_emb'::regclass AND attname = 'embedding'}),
   "plain\nreal[]", 'without pgvector a new side table holds real[]');
is($q->(q{SELECT sqlstate_of($$SELECT sentiment_convert_embeddings('plain', 'vector')$$)}),
   '42704', 'asking for vector without pgvector: undefined_object');
my ($rc, $out, $err) = $node->psql('postgres', q{SELECT sentiment_convert_embeddings('plain', 'halfvec')});
like($err, qr/needs the pgvector extension.*HINT:.*CREATE EXTENSION vector/s, 'with a hint to install it');
is($q->(q{SELECT sqlstate_of($$SELECT sentiment_convert_embeddings('plain', 'float8[]')$$),
				 sqlstate_of($$SELECT sentiment_convert_embeddings('plain', NULL)$$),
				 sqlstate_of($$SELECT sentiment_convert_embeddings('plain', 'real[]')$$)}),
   '22023|22004|ok', 'unknown and NULL types are refused; real[] is always there');

# ---- pgvector in a schema of its own (not on anyone's search_path) --------
$q->(q{
CREATE SCHEMA vec;
CREATE EXTENSION vector SCHEMA vec;
CREATE ROLE alice LOGIN;
GRANT CREATE ON SCHEMA public TO alice;
GRANT USAGE ON SCHEMA vec TO alice;
GRANT EXECUTE ON FUNCTION sentiment_attach(text, name, name, name, name, text),
	sentiment_text_edit_trigger(), sentiment_wakeup_trigger(),
	sentiment_convert_embeddings(regclass, text), sentiment_process_batch(integer, regclass),
	sentiment_drain_embeddings(regclass, integer) TO alice;
GRANT SELECT ON texts TO alice;
});
# alice (not a superuser) attaches three tables: the default type, halfvec
# and real[]; processing runs as her.
$q->(q{
SET ROLE alice;
SELECT sentiment_attach('sentiment_data');
SELECT sentiment_attach('t_half', topics_table => 't_half_topics', embeddings_table => 't_half_emb');
SELECT sentiment_convert_embeddings('t_half', 'halfvec');
SELECT sentiment_attach('t_real', topics_table => 't_real_topics', embeddings_table => 't_real_emb');
SELECT sentiment_convert_embeddings('t_real', 'real[]');
INSERT INTO sentiment_data (text) SELECT text FROM texts ORDER BY id;
INSERT INTO t_half (text) SELECT text FROM texts ORDER BY id;
INSERT INTO t_real (text) SELECT text FROM texts ORDER BY id;
});
is($q->(q{SELECT string_agg(format('%s %s', attrelid::regclass, format_type(atttypid, atttypmod)), ', ' ORDER BY attrelid::regclass::text)
			FROM pg_attribute WHERE attname = 'embedding'
			 AND attrelid IN ('sentiment_embeddings'::regclass, 't_half_emb'::regclass, 't_real_emb'::regclass)}),
   'sentiment_embeddings vec.vector(256), t_half_emb vec.halfvec(256), t_real_emb real[]',
   'default vector(256) with pgvector installed; halfvec and real[] on request');
is($q->(q{SELECT string_agg(format('%s %s', i.indrelid::regclass, pg_get_indexdef(i.indexrelid)), E'\n' ORDER BY 1)
			FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
		   WHERE a.amname = 'hnsw'}),
   "sentiment_embeddings CREATE INDEX sentiment_embeddings_embedding_hnsw_idx ON public.sentiment_embeddings USING hnsw (embedding vec.vector_cosine_ops)\n"
   . "t_half_emb CREATE INDEX t_half_emb_embedding_hnsw_idx ON public.t_half_emb USING hnsw (embedding vec.halfvec_cosine_ops)",
   'an HNSW index (cosine) on the vector and halfvec side tables, none on real[]');

# Processing (as alice, search_path pg_catalog, pg_temp) writes each type.
is($q->(q{SELECT sentiment_process_batch(1000, 'sentiment_data'), sentiment_process_batch(1000, 't_half'),
				 sentiment_process_batch(1000, 't_real')}),
   '400|400|400', 'every row processed into each side table');

# ---- the embedding lane -----------------------------------------------------
# Processing wrote the vector and halfvec embeddings into their lanes (plain
# tables, no HNSW): results are completed, the indexed tables still empty.
is($q->(q{SELECT (SELECT count(*) FROM sentiment_data WHERE processing_status = 'completed'),
				 (SELECT count(*) FROM sentiment_embeddings), (SELECT count(*) FROM sentiment_embeddings_lane),
				 (SELECT count(*) FROM t_half_emb), (SELECT count(*) FROM t_half_emb_lane),
				 to_regclass('t_real_emb_lane') IS NULL,
				 (SELECT string_agg(pg_get_userbyid(relowner), ',') FROM pg_class
				   WHERE oid IN ('sentiment_embeddings_lane'::regclass, 't_half_emb_lane'::regclass))}),
   '400|0|400|0|400|t|alice,alice',
   'results completed at once; embeddings staged in the lanes (owned by the owner), none for real[]');
is($q->(q{SELECT string_agg(format('%s %s %s %s', source, lane, waiting, oldest_waiting_age >= '0'), ', ' ORDER BY source::text)
			FROM sentiment_embedding_lag}),
   'sentiment_data sentiment_embeddings_lane 400 t, t_half t_half_emb_lane 400 t',
   'sentiment_embedding_lag shows the rows waiting and the oldest one\'s age');
($rc, $out, $err) = $node->psql('postgres', q{SELECT count(*) FROM sentiment_similar('I love the pizza so much', 8, 'sentiment_data')});
is($out, '0', 'sentiment_similar sees only indexed embeddings');
is($q->(q{SELECT count(*) FROM sentiment_similar(17::bigint, 8, 'sentiment_data')}), '0',
   'a row whose embedding waits can still be the query (read from the lane)');
like($err, qr/NOTICE:  some rows of public.sentiment_data were left out: their embeddings are waiting for the HNSW index/,
	 'and says that some are waiting');
is($q->(q{SET ROLE alice; SELECT sentiment_drain_embeddings('sentiment_data', 150); RESET ROLE;
		  SELECT waiting FROM sentiment_embedding_lag WHERE source = 'sentiment_data'::regclass;
		  SET ROLE alice; SELECT sentiment_drain_embeddings(NULL, 100000);
		  SELECT sentiment_drain_embeddings(); RESET ROLE;
		  SELECT string_agg(format('%s %s %s', source, waiting, oldest_waiting_age IS NULL), ', ' ORDER BY source::text)
			FROM sentiment_embedding_lag}),
   "150
250
650
0
sentiment_data 0 t, t_half 0 t",
   'draining moves them in chunks into the indexed tables until the lanes are empty');
($rc, $out, $err) = $node->psql('postgres', q{SELECT count(*) FROM sentiment_similar('I love the pizza so much', 8, 'sentiment_data')});
is("$out|$err", '8|', 'with every embedding indexed: found, no notice');
is($q->(q{SELECT sqlstate_of($$SELECT sentiment_drain_embeddings('sentiment_data', 0)$$),
				 has_function_privilege('public', 'sentiment_drain_embeddings(regclass, integer)', 'EXECUTE')}),
   '22023|f', 'max_rows must be positive; PUBLIC cannot drain');

is($q->(q{SELECT (SELECT count(*) FROM sentiment_embeddings), (SELECT count(*) FROM t_half_emb),
				 (SELECT count(*) FROM t_real_emb),
				 (SELECT count(*) FROM sentiment_embeddings v JOIN t_real_emb r USING (entry_id)
				   WHERE v.embedding::real[] = r.embedding),
				 (SELECT max(abs(x - y)) < 0.001 FROM t_half_emb h JOIN t_real_emb r USING (entry_id),
					LATERAL unnest(h.embedding::real[], r.embedding) AS u(x, y))}),
   '400|400|400|400|t', 'vector holds exactly the real[] values, halfvec within half precision');

# sentiment_similar: the index answer equals the exact scan on this set.
my $sim = sub {
	my ($src, $arg, $round) = @_;
	return $q->("SELECT string_agg(entry_id || ':' || round(similarity::numeric, $round), ' ' ORDER BY similarity DESC, entry_id)"
		. " FROM sentiment_similar($arg, 8, '$src')");
};
for my $arg ("'I love the pizza so much'", "'cannot stand this train lol'", '17::bigint')
{
	my $exact = $sim->('t_real', $arg, 12);
	isnt($exact, '', "exact answer for $arg");
	is($sim->('sentiment_data', $arg, 12), $exact, "vector through HNSW equals the exact scan for $arg");
	# halfvec rounds each number to about 3 digits: near-ties may swap
	is($q->("SELECT count(*) FILTER (WHERE h.entry_id = ANY (e.ids)) >= 7, max(abs(h.similarity - e.sims[h.n])) < 0.005"
			. " FROM sentiment_similar($arg, 8, 't_half') WITH ORDINALITY AS h(entry_id, similarity, text, n),"
			. " (SELECT array_agg(entry_id ORDER BY similarity DESC, entry_id) AS ids,"
			. "         array_agg(similarity ORDER BY similarity DESC, entry_id) AS sims"
			. "    FROM sentiment_similar($arg, 8, 't_real')) e"),
	   't|t', "halfvec agrees with it within half precision for $arg");
}
is($q->(q{SELECT count(*) FROM sentiment_similar('', 5, 'sentiment_data')}), '0',
   'a query without features finds nothing, as with real[]');
is($q->(q{SET hnsw.ef_search = 5; SELECT count(*) FROM sentiment_similar('love pizza', 30, 'sentiment_data');
		  SHOW hnsw.ef_search}),
   "30\n5", 'k above hnsw.ef_search still gives k rows, and the setting is restored');
is($q->(q{SET search_path = public, vec; SELECT count(*) FROM sentiment_similar('love pizza', 3, 'sentiment_data');
		  SHOW search_path}),
   "3\npublic, vec", 'the search_path the search pins is the caller\'s again after the call');
# The raised hnsw.ef_search never outlives the call: not after it returns in
# a transaction, not after it failed inside a savepoint or an exception block.
is($q->(q{BEGIN; SET LOCAL hnsw.ef_search = 7;
		  SELECT count(*) FROM sentiment_similar('love pizza', 30, 'sentiment_data');
		  SHOW hnsw.ef_search;
		  COMMIT}),
   "30\n7", 'within a transaction the caller\'s value is back after the call');
$q->(q{CREATE TABLE t_broken (entry_id bigint PRIMARY KEY, text text);
	   ALTER TABLE t_broken OWNER TO alice;
	   SET ROLE alice;
	   SELECT sentiment_attach('t_broken', topics_table => 't_broken_topics', embeddings_table => 't_broken_emb');
	   INSERT INTO t_broken VALUES (1, 'love the pizza');
	   SELECT sentiment_process_batch(10, 't_broken');
	   SELECT sentiment_drain_embeddings('t_broken');
	   RESET ROLE;
	   -- the search fails after raising the setting: the text column is gone
	   ALTER TABLE t_broken RENAME COLUMN text TO body;});
is($q->(q{BEGIN; SET LOCAL hnsw.ef_search = 9;
		  SAVEPOINT s;
		  SELECT sqlstate_of($$SELECT * FROM sentiment_similar('love pizza', 5, 't_broken')$$);
		  SHOW hnsw.ef_search;
		  COMMIT}),
   "42703\n9", 'a call failing inside an exception block leaves the caller\'s value');
($rc, $out, $err) = $node->psql('postgres', q{BEGIN; SET LOCAL hnsw.ef_search = 11;
		  SAVEPOINT s;
		  SELECT * FROM sentiment_similar('love pizza', 5, 't_broken');
		  ROLLBACK TO SAVEPOINT s;
		  SHOW hnsw.ef_search;
		  COMMIT}, on_error_stop => 0);
like($err, qr/column t.text does not exist/, 'the search failed inside the savepoint');
is($out, '11', 'after ROLLBACK TO SAVEPOINT the caller\'s value is back');
$q->(q{ALTER TABLE t_broken RENAME COLUMN body TO text});

# The statement is answered through the index (a table of 400 rows is small
# enough for the planner to prefer a scan and sort: turn that off).
like($q->(q{SET enable_seqscan = off;
			EXPLAIN (COSTS OFF) SELECT e.entry_id FROM sentiment_embeddings e
			 ORDER BY e.embedding OPERATOR(vec.<=>) (SELECT embedding FROM sentiment_embeddings WHERE entry_id = 1) LIMIT 8}),
	 qr/Index Scan using sentiment_embeddings_embedding_hnsw_idx/, 'EXPLAIN: the HNSW index answers the nearest-neighbour query');
$q->(q{SET enable_seqscan = off; SELECT count(*) FROM sentiment_similar('love pizza', 5, 'sentiment_data')});
ok($node->poll_query_until('postgres',
	q{SELECT idx_scan > 0 FROM pg_stat_user_indexes WHERE indexrelname = 'sentiment_embeddings_embedding_hnsw_idx'}),
   'sentiment_similar scanned the HNSW index');

# ---- two-phase API with vectors -------------------------------------------
$q->(q{INSERT INTO sentiment_data (text) VALUES ('two phase one'), ('two phase two'), ('two phase three')});
is($q->(q{SELECT string_agg(id::text, ',' ORDER BY id) FROM sentiment_claim(3, interval '1 hour', 'sentiment_data')}),
   '401,402,403', 'an external analyser claims three rows');
is($q->(q{
SELECT * FROM sentiment_complete('sentiment_data', jsonb_build_array(
	jsonb_build_object('id', 401, 'version', 0, 'sentiment_label', 'positive', 'sentiment_score', 0.5,
					   'embedding', to_jsonb(array_fill(0.0625::real, ARRAY[256])))), 'c1')}),
   '401|f|not claimed by this claimant (lease expired or claim returned)', 'another claimant is refused');
my $claimant = $q->(q{SELECT DISTINCT processing_claimed_by FROM sentiment_data WHERE entry_id = 401});
is($q->(qq{
SELECT sentiment_complete('sentiment_data', 401, 0, 'positive', 0.5,
						  embedding => array_fill(0.0625::real, ARRAY[256]), claim => '$claimant');
SELECT count(*) FROM sentiment_embeddings_lane WHERE entry_id = 401;
SELECT sentiment_drain_embeddings('sentiment_data');
SELECT pg_typeof(embedding), vec.vector_dims(embedding), round(vec.vector_norm(embedding)::numeric, 3)
  FROM sentiment_embeddings WHERE entry_id = 401}),
   "t\n1\n1\nvec.vector|256|1.000", 'a completed result stores its embedding through the lane as vector');
is($q->(qq{SELECT sqlstate_of(\$\$SELECT sentiment_complete('sentiment_data', 402, 0, 'positive', 0.5,
						  embedding => '{0.6,0.8,0}'::real[], claim => '$claimant')\$\$)}),
   '22023', 'a wrong dimension is refused (invalid_parameter_value)');
($rc, $out, $err) = $node->psql('postgres', qq{SELECT sentiment_complete('sentiment_data', 402, 0, 'positive', 0.5,
						  embedding => '{0.6,0.8,0}'::real[], claim => '$claimant')});
like($err, qr/invalid result for id 402: embedding must have 256 numbers/, 'saying how many numbers it needs');
is($q->(qq{SELECT sqlstate_of(\$\$SELECT sentiment_complete('sentiment_data', 402, 0, 'positive', 0.5,
						  embedding => array_fill(NULL::real, ARRAY[256]), claim => '$claimant')\$\$),
				  sentiment_complete('sentiment_data', 402, 0, 'positive', 0.5, claim => '$claimant'),
				  (SELECT count(*) FROM sentiment_embeddings WHERE entry_id = 402)}),
   '22023|t|0', 'NULL elements are refused; no embedding at all stores none');

# ---- converting an existing real[] side table in place --------------------
$q->(q{SET ROLE alice;
	   SELECT sentiment_attach('t_mig', topics_table => 't_mig_topics', embeddings_table => 't_mig_emb');
	   SELECT sentiment_convert_embeddings('t_mig', 'real[]');
	   INSERT INTO t_mig (text) SELECT text FROM texts ORDER BY id;
	   SELECT sentiment_process_batch(1000, 't_mig');
	   CREATE TABLE t_mig_before AS SELECT entry_id, embedding FROM t_mig_emb;});
my $before = $sim->('t_mig', "'love the coffee at work'", 12);
# one bad stored embedding stops the conversion, which changes nothing
$q->(q{UPDATE t_mig_emb SET embedding = '{1,2,3}' WHERE entry_id = 5});
($rc, $out, $err) = $node->psql('postgres', q{SET ROLE alice; SELECT sentiment_convert_embeddings('t_mig', 'vector')});
like($err, qr/ERROR:  the embedding of row 5 of public.t_mig does not have 256 numbers.*HINT:  Reprocess/s,
	 'a stored embedding of the wrong size stops the conversion with a hint');
$q->(q{UPDATE t_mig_emb e SET embedding = b.embedding FROM t_mig_before b WHERE e.entry_id = 5 AND b.entry_id = 5});
# a non-owner may not convert
$q->(q{CREATE ROLE bob; GRANT EXECUTE ON FUNCTION sentiment_convert_embeddings(regclass, text) TO bob});
is($q->(q{SET ROLE bob; SELECT sqlstate_of($$SELECT sentiment_convert_embeddings('t_mig', 'vector')$$)}),
   '42501', 'only the owner converts');
# nor a superuser on the owner's behalf: the conversion runs the table's code
($rc, $out, $err) = $node->psql('postgres', q{SELECT sentiment_convert_embeddings('t_mig', 'vector')});
like($err, qr/must be owner of table public\.t_mig_emb.*HINT:  Run it as the owner of the table: SET ROLE alice;/s,
	 'a superuser converts only as the owner');
is($q->(q{REVOKE EXECUTE ON FUNCTION sentiment_convert_embeddings(regclass, text) FROM bob;
		  SELECT has_function_privilege('public', 'sentiment_convert_embeddings(regclass, text)', 'EXECUTE')}),
   'f', 'PUBLIC cannot execute sentiment_convert_embeddings');

# One session: processes, converts, processes again (its kept statements
# follow the new type), then converts to halfvec and back to real[].
is($q->(q{SET ROLE alice;
		  INSERT INTO t_mig (text) VALUES ('before the conversion');
		  SELECT sentiment_process_batch(10, 't_mig');
		  SELECT sentiment_convert_embeddings('t_mig', 'vector');
		  INSERT INTO t_mig (text) VALUES ('after the conversion');
		  SELECT sentiment_process_batch(10, 't_mig');
		  SELECT sentiment_drain_embeddings('t_mig');
		  SELECT pg_typeof(embedding) FROM t_mig_emb WHERE entry_id = 402;
		  SELECT count(*) FROM t_mig_emb e JOIN t_mig_before b USING (entry_id) WHERE e.embedding::real[] = b.embedding;
		  SELECT count(*) FROM pg_indexes WHERE tablename = 't_mig_emb' AND indexdef LIKE '%USING hnsw%'}),
   "1\nvec.vector(256)\n1\n1\nvec.vector\n400\n1",
   'converted to vector in place: values kept, HNSW index built, later rows written as vector');
is($sim->('t_mig', "'love the coffee at work'", 12), $before, 'sentiment_similar answers as before the conversion');
is($q->(q{SET ROLE alice;
		  SELECT sentiment_convert_embeddings('t_mig', 'halfvec');
		  SELECT sentiment_convert_embeddings('t_mig', 'halfvec');
		  SELECT count(*) FROM pg_indexes WHERE tablename = 't_mig_emb' AND indexdef LIKE '%halfvec_cosine_ops%';
		  INSERT INTO t_mig (text) VALUES ('staged before going back');
		  SELECT sentiment_process_batch(10, 't_mig');
		  SELECT count(*) FROM t_mig_emb_lane;
		  SELECT sentiment_convert_embeddings('t_mig', 'real[]');
		  SELECT count(*) FROM pg_indexes WHERE tablename = 't_mig_emb' AND indexdef LIKE '%USING hnsw%';
		  SELECT to_regclass('t_mig_emb_lane') IS NULL, (SELECT count(*) FROM t_mig_emb WHERE entry_id = 403);
		  INSERT INTO t_mig (text) VALUES ('back to arrays');
		  SELECT sentiment_process_batch(10, 't_mig');
		  SELECT pg_typeof(embedding) FROM t_mig_emb WHERE entry_id = 404}),
   "vec.halfvec(256)\nvec.halfvec(256)\n1\n1\n1\nreal[]\n0\nt|1\n1\nreal[]",
   'to halfvec (twice: nothing to do the second time) and back to real[]: index and lane follow, staged rows kept');

# Detach: no worker drains a detached table's lane, so what it holds is
# indexed there and then, as the table's owner (alice's trigger on her
# embeddings table never runs as the superuser who detaches), and the lane
# dropped.
is($q->(q{SET ROLE alice;
		  CREATE TABLE public.who_flushed (u name);
		  CREATE FUNCTION public.record_flusher() RETURNS trigger LANGUAGE plpgsql AS $$
		  BEGIN INSERT INTO public.who_flushed VALUES (current_user); RETURN NULL; END $$;
		  CREATE TRIGGER record_flusher AFTER INSERT OR UPDATE ON t_half_emb
			FOR EACH ROW EXECUTE FUNCTION public.record_flusher();
		  INSERT INTO t_half (text) VALUES ('staged at detach');
		  SELECT sentiment_process_batch(10, 't_half');
		  SELECT count(*) FROM t_half_emb_lane;
		  RESET ROLE;
		  SELECT sentiment_detach('t_half');
		  SELECT to_regclass('t_half_emb_lane') IS NULL, (SELECT count(*) FROM t_half_emb WHERE entry_id = 401);
		  SELECT string_agg(DISTINCT u::text, ',') FROM public.who_flushed}),
   "1\n1\nt\nt|1\nalice", 'detach indexes the staged embeddings as the owner and drops the lane');

# Dropping pgvector is refused while a side table uses its types.
like(($node->psql('postgres', 'DROP EXTENSION vector'))[2], qr/cannot drop extension vector because other objects depend on it/,
	 'pgvector stays while side tables use it');

# ---- every vector/halfvec table gets its lane without a manual step ---------
# The rows of an embeddings table, each written how many times: a ledger
# filled by the owner's trigger on it (a drain runs as the owner).
my $ledger = sub {
	my ($table) = @_;
	return qq{CREATE TABLE ${table}_ledger (entry_id bigint NOT NULL);
		CREATE FUNCTION ${table}_ledger_add() RETURNS trigger LANGUAGE plpgsql AS \$\$
		BEGIN INSERT INTO public.${table}_ledger VALUES (NEW.entry_id); RETURN NULL; END \$\$;
		CREATE TRIGGER ledger AFTER INSERT OR UPDATE ON $table FOR EACH ROW EXECUTE FUNCTION ${table}_ledger_add();};
};
# Where a lane stands: its owner, bob's SELECT, whether it is a member of
# the extension or has initial privileges recorded (pg_dump would then
# leave it or its grants out), its foreign key to the source.
my $lane_facts = sub {
	my ($lane) = @_;
	return qq{SELECT pg_get_userbyid(c.relowner), has_table_privilege('bob', c.oid, 'SELECT'),
			(SELECT count(*) FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'),
			(SELECT count(*) FROM pg_init_privs p WHERE p.classoid = 'pg_class'::regclass AND p.objoid = c.oid),
			(SELECT string_agg(k.confrelid::regclass::text, ',') FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f')
		  FROM pg_class c WHERE c.oid = to_regclass('$lane')};
};

# The update from 1.2: tables attached under 1.2 with vector and halfvec
# embeddings (written straight into the index then) get their lane; a name
# taken by another table is passed over with a warning.
$node->safe_psql('postgres', 'CREATE DATABASE up12');
my $u = sub { $node->safe_psql('up12', $_[0]) };
$u->(q{
CREATE SCHEMA vec;
CREATE EXTENSION vector SCHEMA vec;
CREATE EXTENSION sentiment_proc VERSION '1.2';
GRANT CREATE ON SCHEMA public TO alice;
GRANT USAGE ON SCHEMA vec TO alice;
GRANT EXECUTE ON FUNCTION sentiment_attach(text, name, name, name, name, text),
	sentiment_text_edit_trigger(), sentiment_wakeup_trigger(),
	sentiment_convert_embeddings(regclass, text), sentiment_process_batch(integer, regclass) TO alice;
SET ROLE alice;
SELECT sentiment_attach('old_vec', topics_table => 'old_vec_topics', embeddings_table => 'old_vec_emb');
SELECT sentiment_attach('old_half', topics_table => 'old_half_topics', embeddings_table => 'old_half_emb');
SELECT sentiment_convert_embeddings('old_half', 'halfvec');
SELECT sentiment_attach('old_clash', topics_table => 'old_clash_topics', embeddings_table => 'old_clash_emb');
CREATE TABLE old_clash_emb_lane (note text);
GRANT SELECT ON old_vec_emb TO bob;
} . $ledger->('old_vec_emb') . $ledger->('old_half_emb') . q{
INSERT INTO old_vec (text) SELECT 'before the update ' || g || ' love the pizza' FROM generate_series(1, 40) g;
INSERT INTO old_half (text) SELECT 'before the update ' || g || ' hate the train' FROM generate_series(1, 40) g;
SELECT sentiment_process_batch(1000, 'old_vec'), sentiment_process_batch(1000, 'old_half');
});
is($u->(q{SELECT (SELECT count(*) FROM old_vec_emb), (SELECT count(*) FROM old_half_emb),
				 to_regclass('old_vec_emb_lane') IS NULL}),
   '40|40|t', 'under 1.2 the embeddings go straight into the indexed tables, no lane');
($rc, $out, $err) = $node->psql('up12', 'ALTER EXTENSION sentiment_proc UPDATE', on_error_stop => 1);
is($rc, 0, 'the update from 1.2 succeeds');
like($err, qr/WARNING:  no embedding lane for old_clash_emb: relation public\.old_clash_emb_lane exists and is not the embedding lane/,
	 'a name taken by another table is passed over with a warning');
is($u->($lane_facts->('old_vec_emb_lane')), 'alice|t|0|0|old_vec', 'vector: a lane owned by the owner, with the SELECT grants, not a member of the extension');
is($u->($lane_facts->('old_half_emb_lane')), 'alice|f|0|0|old_half', 'halfvec: a lane too');
is($u->(q{SELECT _sentiment_embedding_lane('old_clash_emb') IS NULL, to_regclass('old_vec_emb_lane') = _sentiment_embedding_lane('old_vec_emb')}),
   't|t', 'the lanes made are the ones the batch finds; the clashing table is none');
is($u->(q{
GRANT EXECUTE ON FUNCTION sentiment_drain_embeddings(regclass, integer) TO alice;
SET ROLE alice;
INSERT INTO old_vec (text) SELECT 'after the update ' || g || ' love the pizza' FROM generate_series(1, 60) g;
INSERT INTO old_half (text) SELECT 'after the update ' || g || ' hate the train' FROM generate_series(1, 60) g;
INSERT INTO old_clash (text) SELECT 'clash ' || g FROM generate_series(1, 5) g;
SELECT sentiment_process_batch(1000, 'old_vec'), sentiment_process_batch(1000, 'old_half'), sentiment_process_batch(1000, 'old_clash');
SELECT (SELECT count(*) FROM old_vec WHERE processing_status = 'completed'),
	   (SELECT count(*) FROM old_half WHERE processing_status = 'completed'),
	   (SELECT count(*) FROM old_vec_emb_lane), (SELECT count(*) FROM old_half_emb_lane),
	   (SELECT count(*) FROM old_clash_emb);
SELECT sentiment_drain_embeddings(NULL, 100000);
SELECT (SELECT count(*) || ' ' || count(DISTINCT entry_id) FROM old_vec_emb_ledger),
	   (SELECT count(*) || ' ' || count(DISTINCT entry_id) FROM old_half_emb_ledger),
	   (SELECT count(*) FROM old_vec_emb), (SELECT count(*) FROM old_half_emb),
	   (SELECT count(*) FROM old_vec_emb_lane) + (SELECT count(*) FROM old_half_emb_lane)}),
   "60|60|5\n100|100|60|60|5\n120\n100 100|100 100|100|100|0",
   'after the update: rows complete, embeddings staged in the lanes, drained into the index exactly once');
# Re-attach: a lane that went is made again, as the owner's, also when a
# superuser attaches; one that is there stays.
is($u->(q{CREATE TEMP TABLE lane_before AS SELECT _sentiment_embedding_lane('old_vec_emb')::oid AS lane;
		  SELECT sentiment_attach('old_vec', topics_table => 'old_vec_topics', embeddings_table => 'old_vec_emb');
		  SELECT _sentiment_embedding_lane('old_vec_emb')::oid = lane FROM lane_before;
		  SET ROLE alice; DROP TABLE old_half_emb_lane; RESET ROLE;
		  SELECT sentiment_attach('old_half', topics_table => 'old_half_topics', embeddings_table => 'old_half_emb');}
		. $lane_facts->('old_half_emb_lane')),
   "old_vec\nt\nold_half\nalice|f|0|0|old_half", 're-attach keeps a lane, and makes a missing one owned by the owner');

# Adoption: attach finds an embeddings table of vector already there.
is($q->(q{SET ROLE alice;
		  CREATE TABLE adopt_src (entry_id bigint PRIMARY KEY, text text);
		  CREATE TABLE adopt_emb (entry_id bigint PRIMARY KEY REFERENCES adopt_src ON DELETE CASCADE,
								  embedding vec.vector(256) NOT NULL);
		  GRANT SELECT ON adopt_emb TO bob;}
		. $ledger->('adopt_emb') . q{
		  SELECT sentiment_attach('adopt_src', topics_table => 'adopt_topics', embeddings_table => 'adopt_emb');
		  INSERT INTO adopt_src SELECT g, 'adopted ' || g || ' enjoy the coffee' FROM generate_series(1, 50) g;
		  SELECT sentiment_process_batch(1000, 'adopt_src');
		  SELECT (SELECT count(*) FROM adopt_src WHERE processing_status = 'completed'),
				 (SELECT count(*) FROM adopt_emb_lane), (SELECT count(*) FROM adopt_emb);
		  SELECT sentiment_drain_embeddings('adopt_src');
		  SELECT count(*), count(DISTINCT entry_id), (SELECT count(*) FROM adopt_emb), (SELECT count(*) FROM adopt_emb_lane)
			FROM adopt_emb_ledger;
		  RESET ROLE;} . $lane_facts->('adopt_emb_lane')),
   "adopt_src\n50\n50|50|0\n50\n50|50|50|0\nalice|t|0|0|adopt_src",
   'an adopted vector table gets its lane (owner, grants, foreign key); rows complete, embeddings indexed once');

# ---- the workers drain the lane, exactly once, even after kill -9 -----------
# A ledger counts every committed write into the indexed table; its trigger
# waits for an advisory lock the test holds, so a drain has moved its rows
# (uncommitted) when it is killed.
my $w = sp_node('pgvector_lane', conf => q{
max_worker_processes = 16
restart_after_crash = on
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 2
});
$w->safe_psql('postgres', q{
CREATE EXTENSION vector;
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
CREATE TABLE ledger (entry_id bigint NOT NULL);
CREATE FUNCTION ledger_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_catalog.pg_advisory_xact_lock_shared(4242);
	INSERT INTO public.ledger VALUES (NEW.entry_id);
	RETURN NULL;
END $$;
CREATE TRIGGER ledger AFTER INSERT OR UPDATE ON sentiment_embeddings FOR EACH ROW EXECUTE FUNCTION ledger_add();
});
my $rows = 3000;
my $holder = $w->background_psql('postgres', on_error_stop => 0);
$holder->query_safe('SELECT pg_advisory_lock(4242)');
$w->safe_psql('postgres',
	"INSERT INTO sentiment_data (text) SELECT 'lane test ' || g || ' love the pizza #t' || g FROM generate_series(1, $rows) g");
ok($w->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status = 'completed'", $rows),
   'every row reaches completed while the index is held up');
ok($w->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pg_stat_activity
	 WHERE backend_type = 'sentiment_proc worker' AND wait_event = 'advisory'}),
   'a worker is in the middle of a drain');
is($w->safe_psql('postgres', q{
	SELECT waiting, oldest_waiting_age > '0', (SELECT count(*) FROM sentiment_embeddings), (SELECT count(*) FROM ledger)
	  FROM sentiment_embedding_lag}),
   "$rows|t|0|0", 'the lag shows every row waiting; nothing indexed is committed yet');
my $pid = $w->safe_psql('postgres', q{
	SELECT pid FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker' AND wait_event = 'advisory' LIMIT 1});
my $log_offset = -s $w->logfile;
kill 'KILL', $pid;
eval { $holder->quit };
ok($w->poll_query_until('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker' AND pid <> $pid", '2'),
   'the server restarts and the workers come back');
ok($w->log_contains(qr/sentiment_proc worker.*\(PID $pid\) was terminated by signal 9/, $log_offset),
   'the crash was a kill -9 of a draining worker');
ok($w->poll_query_until('postgres', 'SELECT waiting FROM sentiment_embedding_lag', '0'),
   'after the restart the workers drain the lane');
is($w->safe_psql('postgres', q{
	SELECT count(*), count(DISTINCT entry_id), (SELECT count(*) FROM sentiment_embeddings),
		   (SELECT count(*) FROM sentiment_embeddings_lane)
	  FROM ledger}),
   "$rows|$rows|$rows|0", 'each embedding written into the indexed table exactly once');
($rc, $out, $err) = $w->psql('postgres', q{SELECT count(*) FROM sentiment_similar('love the pizza', 5)});
is("$out|$err", '5|', 'sentiment_similar finds them, with no notice');

done_testing();
