# One broken source must not stall the others: background workers process
# every attached table; when one of them loses its text column (dropped or
# renamed after attach), the workers must keep processing the healthy
# tables, and the broken one must be named in the workers' last error.  The
# log gets one warning for it, not one at every poll, and another when it
# breaks again after a repair.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;
use Time::HiRes qw(usleep);

my $node = sp_node('broken', conf => q{
max_worker_processes = 16
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 1
sentiment_proc.worker_poll_interval = 200
});
$node->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('aaa_broken', topics_table => 'broken_topics', embeddings_table => 'broken_embeddings');
SELECT sentiment_attach('zzz_healthy', topics_table => 'healthy_topics', embeddings_table => 'healthy_embeddings');
INSERT INTO aaa_broken (text) VALUES ('first #one');
INSERT INTO zzz_healthy (text) VALUES ('first #one');
});
ok($node->poll_query_until('postgres', q{
	SELECT (SELECT count(*) FROM aaa_broken WHERE processing_status = 'completed')
	     + (SELECT count(*) FROM zzz_healthy WHERE processing_status = 'completed')}, '2'),
	'both tables are processed while healthy');

# Break the first source (it comes first in the registry's order).
$node->safe_psql('postgres', q{
ALTER TABLE aaa_broken RENAME COLUMN text TO body;
INSERT INTO aaa_broken (body) VALUES ('after the rename');
INSERT INTO zzz_healthy (text) SELECT 'healthy row ' || g FROM generate_series(1, 100) g;
});

{
	# the worker wakes at commit; give it 15 s
	my $pending;
	for (1 .. 75)
	{
		$pending = $node->safe_psql('postgres',
			q{SELECT count(*) FROM zzz_healthy WHERE processing_status = 'pending'});
		last if $pending eq '0';
		usleep(200_000);
	}
	is($pending, '0', 'the healthy table is processed although another source is broken');
}
like($node->safe_psql('postgres', q{SELECT string_agg(coalesce(last_error, ''), ' ') FROM sentiment_workers WHERE kind = 'worker'}),
	qr/text/, 'the worker reports the broken source\'s error');
sub reports
{
	my @r = slurp_file($node->logfile) =~ /WARNING:\s+sentiment_proc skipped table "aaa_broken"/g;
	return scalar @r;
}
usleep(3_000_000);	# about 15 polls
is(reports(), 1, 'the broken source is reported once in the log, not at every poll');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is up');
unlike(slurp_file($node->logfile), qr/(PANIC|TRAP|terminated by signal)/, 'no crash');

# Repaired by attaching again with the new column name: everything proceeds.
$node->safe_psql('postgres', q{
SELECT sentiment_attach('aaa_broken'::regclass, text_column => 'body',
	topics_table => 'broken_topics', embeddings_table => 'broken_embeddings');
});
ok($node->poll_query_until('postgres', q{
	SELECT (SELECT count(*) FROM aaa_broken WHERE processing_status = 'pending')
	     + (SELECT count(*) FROM zzz_healthy WHERE processing_status = 'pending')}, '0'),
	'after the repair every row is processed');

# Broken again after working: reported again at once.
$node->safe_psql('postgres', q{
ALTER TABLE aaa_broken RENAME COLUMN body TO body2;
INSERT INTO aaa_broken (body2) VALUES ('broken again');
});
my $again = 0;
for (1 .. 150)
{
	last if ($again = reports()) >= 2;
	usleep(100_000);
}
is($again, 2, 'broken again after a repair, it is reported again');

$node->stop;
done_testing();
