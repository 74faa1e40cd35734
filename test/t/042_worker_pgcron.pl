# pg_cron beside the background workers: a scheduled sentiment_process_batch
# and the workers process the same table at the same time, and no row is
# processed twice.  An overlapping caller skips the rows another holds and
# returns at once instead of waiting for them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;

my $rows = 40_000;

my $node = sp_node('cron', pg_cron => 1, conf => q{
max_worker_processes = 20
cron.use_background_workers = on
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 1
sentiment_proc.worker_batch_size = 5
});
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_cron;
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
-- Slow every processor down (2 ms a row) so that the scheduled job finds the
-- worker still busy: the two must overlap for the test to mean anything.
CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN PERFORM pg_sleep(0.002); RETURN NEW; END$$;
CREATE TRIGGER slow_row BEFORE UPDATE ON sentiment_data
	FOR EACH ROW EXECUTE FUNCTION slow_row();
});

# The documented schedule; pg_cron before 1.5 has no second intervals, so
# there the same job runs every minute.
my ($ret, $out, $err) = $node->psql('postgres',
	q{SELECT cron.schedule('sentiment-batch', '5 seconds', $$SELECT sentiment_process_batch(500)$$)});
if ($ret != 0)
{
	like($err, qr/invalid schedule/, "this pg_cron has no second intervals; scheduling every minute");
	$node->safe_psql('postgres',
		q{SELECT cron.schedule('sentiment-batch', '* * * * *', $$SELECT sentiment_process_batch(500)$$)});
}
else
{
	pass('scheduled every 5 seconds');
}

$node->safe_psql('postgres',
	"INSERT INTO sentiment_data (text) SELECT 'cron and workers ' || g || ' #overlap' FROM generate_series(1, $rows) g");

# Wait for the job to finish a run while the worker is busy.
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	 WHERE j.jobname = 'sentiment-batch' AND d.status = 'succeeded'}),
	'the scheduled batch ran');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	 WHERE j.jobname = 'sentiment-batch' AND d.status <> 'succeeded'}), '0',
	'no scheduled run failed');
ok($node->safe_psql('postgres',
	"SELECT count(*) > 0 FROM sentiment_data WHERE processing_status = 'pending'") eq 't',
	'the worker was still busy when the job ran');
# So far only the worker and the job have processed rows: the difference
# between completed rows and the worker's own count is the job's share (the
# counter is read a moment after the count, so it can only look smaller).
my $by_cron = $node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM sentiment_data WHERE processing_status = 'completed')
	     - (SELECT sum(rows_processed) FROM sentiment_workers WHERE kind = 'worker')});
cmp_ok($by_cron, '>=', 100, "the scheduled job processed rows beside the worker ($by_cron)");

# An overlapping caller: one session holds a claimed batch open; another
# call returns at once with other rows instead of waiting for those.
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
my $held = $holder->query_safe('SELECT sentiment_process_batch(200)');
is($held, '200', 'a session holds 200 claimed rows in an open transaction');
is($node->safe_psql('postgres', q{
	SET statement_timeout = '20s';
	SET lock_timeout = '2s';
	SELECT sentiment_process_batch(100)}), '100',
	'an overlapping call skips the held rows and finishes its own');
$holder->query_safe('COMMIT');
$holder->quit;

# Let everything finish quickly now.
$node->safe_psql('postgres', 'DROP TRIGGER slow_row ON sentiment_data');
$node->append_conf('postgresql.conf', "sentiment_proc.worker_batch_size = 1000\n");
$node->reload;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status <> 'completed'", '0'),
	'all rows completed');

my $by_workers = $node->safe_psql('postgres',
	"SELECT sum(rows_processed) FROM sentiment_workers WHERE kind = 'worker'");
cmp_ok($by_workers, '<=', $rows - $by_cron - 300, "the worker did $by_workers rows, the others came from pg_cron and the overlap test");
cmp_ok($by_workers, '>', 0, 'the worker did its share');
is($node->safe_psql('postgres',
	'SELECT count(*) FROM sentiment_data WHERE processing_attempts <> 1'), '0',
	'no row was processed twice');
is($node->safe_psql('postgres',
	'SELECT count(*) || \' \' || count(DISTINCT mention_id) FROM mention_topics'),
	"$rows $rows", 'one topic row per row');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sentiment_embeddings'),
	$rows, 'one embedding per row');

$node->safe_psql('postgres', "SELECT cron.unschedule('sentiment-batch')");
$node->stop;
done_testing();
