# Statistics in shared memory: background workers' batches are
# counted; the counters survive a restart (the postmaster saves them when it
# exits), start from zero after a crash-restart; without preloading the
# views say why they cannot work while the table-based views still do.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;

my $node = sp_node('stats', conf => q{
max_worker_processes = 16
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 1
restart_after_crash = on
});

$node->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
INSERT INTO sentiment_data (text) SELECT 'stats row ' || g || ' #count' FROM generate_series(1, 500) g;
INSERT INTO sentiment_data (text) VALUES (NULL), (NULL);
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status IN ('pending', 'processing')", '0'),
	'the worker processes the rows');

# The worker's commits are counted; the poll above may see the rows before
# the worker's commit callback has added them, so poll the view too.
ok($node->poll_query_until('postgres',
	"SELECT rows_completed || '/' || rows_failed FROM sentiment_stats WHERE source IS NULL", '500/2'),
	'worker batches are counted: 500 completed, 2 failed');
my $counted = $node->safe_psql('postgres',
	"SELECT source::text || ' ' || rows_completed || ' ' || rows_failed || ' ' || (batches > 0)
	   FROM sentiment_stats WHERE source IS NOT NULL");
is($counted, 'sentiment_data 500 2 true', 'per source as well');
is($node->safe_psql('postgres', "SELECT sum(rows_completed) FROM sentiment_throughput WHERE source IS NULL"),
	'500', 'and per minute');

# A clean restart keeps them (written to pg_stat/sentiment_proc.stat at
# shutdown, read back and removed at start).
my $before = $node->safe_psql('postgres',
	"SELECT source, batches, rows_completed, rows_failed, last_batch_at, stats_since FROM sentiment_stats");
$node->stop('fast');
ok(-f $node->data_dir . '/pg_stat/sentiment_proc.stat', 'a clean shutdown writes the statistics file');
$node->start;
is($node->safe_psql('postgres',
	"SELECT source, batches, rows_completed, rows_failed, last_batch_at, stats_since FROM sentiment_stats"),
	$before, 'statistics survive a clean restart');
ok(!-f $node->data_dir . '/pg_stat/sentiment_proc.stat', 'the file is consumed at start-up');

# A crash (a backend killed with SIGKILL, shared memory reinitialised)
# starts them from zero, as PostgreSQL's own cumulative statistics.
my $victim = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker'");
like($victim, qr/^\d+$/, 'found the worker to kill');
kill 'KILL', $victim;
ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'the server is back after the crash');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sentiment_stats'), '0',
	'statistics start from zero after a crash');

# Counting goes on after the crash.
$node->safe_psql('postgres',
	"INSERT INTO sentiment_data (text) SELECT 'after the crash ' || g FROM generate_series(1, 50) g");
ok($node->poll_query_until('postgres',
	"SELECT rows_completed FROM sentiment_stats WHERE source IS NULL", '50'),
	'new batches are counted after the crash');

# An immediate shutdown still ends the postmaster normally, and it saves
# them (as pg_stat_statements does); only a crash-restart loses them.
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', 'SELECT rows_completed FROM sentiment_stats WHERE source IS NULL'), '50',
	'statistics are kept across an immediate shutdown');
$node->stop('fast');

# sentiment_proc.stats_max_sources bounds the entries (the database total is
# one of them); sources beyond it still count in the total.
$node->append_conf('postgresql.conf', 'sentiment_proc.stats_max_sources = 16');
$node->start;
$node->safe_psql('postgres', 'SELECT sentiment_stats_reset()');
for my $i (1 .. 20)
{
	$node->safe_psql('postgres', qq{
SELECT sentiment_attach('many_$i', topics_table => 'many_topics_$i', embeddings_table => 'many_embeddings_$i');
INSERT INTO many_$i (text) VALUES ('source number $i');
SELECT sentiment_process_batch(10, 'many_$i');
});
}
ok($node->poll_query_until('postgres',
	"SELECT rows_completed FROM sentiment_stats WHERE source IS NULL", '20'),
	'the total counts every source');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sentiment_stats'), '16',
	'no more entries than stats_max_sources');
$node->stop('fast');

# Not preloaded: the shared-memory views fail with a hint, the table views
# and processing work.
my $plain = PostgreSQL::Test::Cluster->new('plain_stats');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
INSERT INTO sentiment_data (text) VALUES ('not preloaded'), (NULL);
SELECT sentiment_process_batch(10);
});
my ($ret, $stdout, $stderr) = $plain->psql('postgres', 'SELECT * FROM sentiment_stats');
isnt($ret, 0, 'sentiment_stats fails when not preloaded');
like($stderr, qr/statistics are not available.*HINT:\s+Add sentiment_proc to shared_preload_libraries/s,
	'with an error that says why and a hint');
($ret, $stdout, $stderr) = $plain->psql('postgres', 'SELECT * FROM sentiment_batch_progress');
isnt($ret, 0, 'sentiment_batch_progress fails when not preloaded');
is($plain->safe_psql('postgres', 'SELECT pending, failed FROM sentiment_queue_status'), '0|1',
	'sentiment_queue_status works without preloading');
is($plain->safe_psql('postgres', 'SELECT error, rows FROM sentiment_failures'), 'text is null|1',
	'sentiment_failures works without preloading');
is($plain->safe_psql('postgres', "SELECT count(*) FROM sentiment_summary() WHERE section = 'rate'"), '0',
	'the summary leaves out the rates');
$plain->stop('fast');

done_testing();
