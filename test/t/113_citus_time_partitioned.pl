# A time-partitioned table on Citus (a coordinator, two worker nodes):
# PRIMARY KEY (entry_id, day), PARTITION BY RANGE (day), distributed by
# entry_id.  Attached on the coordinator, its rows are processed by the
# worker nodes' workers through the parent's shards (each node once, not
# again through the partitions' shards), also in partitions created later;
# the side tables are colocated without a foreign key; attach refuses a
# table holding an id twice, and a row whose id another row holds too is
# failed on its node, with the reason, and never handed out by a claim;
# the side rows of deleted rows are removed by sentiment_prune_side_rows.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SentimentProc::Test;
use Test::More;

my $workers_conf = "sentiment_proc.databases = 'postgres'\nsentiment_proc.workers_per_database = 2\n";
my ($coord, @nodes) = sp_citus_cluster(coordinator_conf => "sentiment_proc.databases = ''\n",
	worker_conf => $workers_conf);

$coord->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
CREATE TABLE mentions (entry_id bigint NOT NULL, day date NOT NULL, text text,
					   PRIMARY KEY (entry_id, day)) PARTITION BY RANGE (day);
CREATE TABLE mentions_01 PARTITION OF mentions FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE mentions_02 PARTITION OF mentions FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
SELECT create_distributed_table('mentions', 'entry_id', shard_count => 4);
INSERT INTO mentions SELECT g, DATE '2026-01-01' + (g % 59), 'what a lovely day ' || g FROM generate_series(1, 300) g;
INSERT INTO mentions VALUES (301, '2026-02-20', 'a second row of id 301'), (301, '2026-01-20', 'the first');
});

# attach refuses the duplicate id, then adopts the table once it is unique
my ($ret, $out, $err) = $coord->psql('postgres', "SELECT sentiment_attach('mentions')");
like($err, qr/key column "entry_id" of (public\.)?mentions holds an id more than once/,
	'attach refuses a distributed time-partitioned table holding an id twice');
$coord->safe_psql('postgres', q{
DELETE FROM mentions WHERE entry_id = 301;
SELECT sentiment_attach('mentions');
});
is($coord->safe_psql('postgres', q{
SELECT count(*) FROM pg_dist_partition p JOIN pg_dist_partition s ON s.colocationid = p.colocationid
 WHERE p.logicalrelid = 'mentions'::regclass
   AND s.logicalrelid IN ('mention_topics'::regclass, 'sentiment_embeddings'::regclass)}), '2',
	'the side tables are distributed colocated with it');
ok($coord->poll_query_until('postgres',
		"SELECT count(*) FILTER (WHERE processing_status = 'completed') = 300 FROM mentions"),
	'the adopted rows are processed on the worker nodes');

# rows of a partition created later
$coord->safe_psql('postgres', q{
CREATE TABLE mentions_03 PARTITION OF mentions FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
INSERT INTO mentions SELECT g, DATE '2026-03-01' + (g % 28), 'so sad today ' || g FROM generate_series(1001, 1100) g;
});
ok($coord->poll_query_until('postgres',
		"SELECT count(*) FILTER (WHERE processing_status = 'completed') = 400 FROM mentions"),
	'rows of a partition created later are processed');
is($coord->safe_psql('postgres', q{
SELECT count(*) FROM mentions m, sentiment_analyze(m.text) a
 WHERE m.sentiment_label IS DISTINCT FROM a.sentiment_label OR m.processing_attempts <> 1}),
	'0', 'each row once, with its own text\'s result');
is($coord->safe_psql('postgres', 'SELECT count(*), count(DISTINCT entry_id) FROM sentiment_embeddings'),
	'400|400', 'one embedding per row');

# an id held twice: failed on its node, with the reason
$coord->safe_psql('postgres', "INSERT INTO mentions VALUES (7, '2026-03-15', 'I adore this')");
ok($coord->poll_query_until('postgres',
		"SELECT count(*) FROM mentions WHERE entry_id = 7 AND processing_status = 'failed' "
		  . "AND processing_error LIKE 'entry id 7 is held by more than one row of %'", '2'),
	'both rows of an id held twice are failed on their node, with the reason');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM mentions WHERE entry_id = 7 AND sentiment_label IS NOT NULL'),
	'0', 'neither keeps a result');

# sentiment_claim through the coordinator hands out no row of an id held
# twice (inserted in its transaction, before any worker sees them): the
# nodes' workers fail them once committed
my $claimed = $coord->safe_psql('postgres', q{
BEGIN;
INSERT INTO mentions VALUES (900, '2026-01-10', 'twin one'), (900, '2026-02-10', 'twin two'),
							(901, '2026-03-10', 'a single row');
SELECT string_agg(c.id::text, ',' ORDER BY c.id) FROM sentiment_claim(100, '5 minutes', 'mentions') c;
COMMIT;
});
is($claimed, '901', 'the claim leaves out the rows of an id held twice');
ok($coord->poll_query_until('postgres',
		"SELECT count(*) FROM mentions WHERE entry_id = 900 AND processing_status = 'failed'", '2'),
	'and the nodes\' workers fail them');

# deletes leave the side rows (no foreign key, no delete trigger on the
# nodes); sentiment_prune_side_rows removes them, shard by shard
my $orphans = q{SELECT (SELECT count(*) FROM sentiment_embeddings e
	WHERE NOT EXISTS (SELECT FROM mentions m WHERE m.entry_id = e.entry_id))
	+ (SELECT count(*) FROM mention_topics t WHERE NOT EXISTS (SELECT FROM mentions m WHERE m.entry_id = t.mention_id))};
$coord->safe_psql('postgres', "DELETE FROM mentions WHERE day < '2026-02-01'");
my $left = $coord->safe_psql('postgres', $orphans);
cmp_ok($left, '>', 0, 'deleted rows leave their side rows on Citus');
is($coord->safe_psql('postgres', "SELECT sentiment_prune_side_rows('mentions')"), $left,
	'sentiment_prune_side_rows deletes them');
is($coord->safe_psql('postgres', $orphans), '0', 'and none is left');

$_->stop for @nodes, $coord;
done_testing();
