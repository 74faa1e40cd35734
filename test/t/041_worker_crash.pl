# Background workers and crashes: kill -9 of a worker in the middle of a
# batch (restart_after_crash on), pg_ctl stop -m immediate in the middle of a
# run, and the start-up reset of abandoned claims.  After each, every row ends
# completed exactly once: one attempt, one embedding, no duplicate topic, and
# nothing left processing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;

my $rows = 100_000;

my $node = sp_node('crash', conf => q{
max_worker_processes = 16
restart_after_crash = on
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 0
sentiment_proc.worker_batch_size = 1000
});
$node->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
});

# Every row carries one hashtag, so each must get exactly one topic row.
sub insert_rows
{
	my ($n, $tag) = @_;
	$node->safe_psql('postgres',
		"INSERT INTO sentiment_data (text) SELECT 'crash test ' || g || ' is great #$tag' FROM generate_series(1, $n) g");
}

sub check_exactly_once
{
	my ($what, $expected_rows, $extra_attempts) = @_;
	$extra_attempts //= 0;
	ok($node->poll_query_until('postgres',
		"SELECT count(*) FROM sentiment_data WHERE processing_status IN ('pending', 'processing')", '0'),
		"$what: every row processed after restart");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM sentiment_data'),
		$expected_rows, "$what: no row lost");
	is($node->safe_psql('postgres',
		"SELECT count(*) FROM sentiment_data WHERE processing_status <> 'completed' OR processing_completed_at IS NULL OR sentiment_label IS NULL"),
		'0', "$what: every row completed with a result");
	is($node->safe_psql('postgres',
		"SELECT sum(processing_attempts) - count(*) FROM sentiment_data"),
		$extra_attempts, "$what: one attempt per processing, none repeated");
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM sentiment_embeddings) || ' ' ||
		       (SELECT count(DISTINCT entry_id) FROM sentiment_embeddings)}),
		"$expected_rows $expected_rows", "$what: one embedding per row");
	is($node->safe_psql('postgres', q{
		SELECT count(*) || ' ' || count(DISTINCT (mention_id, topic_key)) || ' ' || count(DISTINCT mention_id)
		  FROM mention_topics}),
		"$expected_rows $expected_rows $expected_rows", "$what: one topic row per row, no duplicates");
}

# Find a worker in the middle of a batch, with rows still pending.
sub busy_worker
{
	for (1 .. 600)
	{
		my $r = $node->safe_psql('postgres', q{
			SELECT a.pid || ' ' || (SELECT count(*) FROM sentiment_data WHERE processing_status = 'pending')
			  FROM pg_stat_activity a
			 WHERE a.backend_type = 'sentiment_proc worker' AND a.state = 'active'
			 LIMIT 1});
		return split / /, $r if $r ne '';
	}
	return (undef, 0);
}

# --- kill -9 of a worker mid-batch -----------------------------------------
insert_rows($rows, 'kill');
$node->append_conf('postgresql.conf', "sentiment_proc.workers_per_database = 2\n");
$node->reload;
my ($pid, $pending) = busy_worker();
ok(defined $pid, 'a worker is in the middle of a batch');
cmp_ok($pending, '>', 0, 'rows are still pending when it is killed');
my $log_offset = -s $node->logfile;
kill 'KILL', $pid;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker' AND pid <> $pid", '2'),
	'the server restarts and the workers come back');
ok($node->log_contains(qr/sentiment_proc worker.*\(PID $pid\) was terminated by signal 9/, $log_offset),
	'the crash was a kill -9 of the worker');
check_exactly_once('kill -9', $rows);

# --- pg_ctl stop -m immediate mid-run ---------------------------------------
insert_rows($rows, 'stop');
($pid, $pending) = busy_worker();
ok(defined $pid, 'workers are busy with the second load');
cmp_ok($pending, '>', 0, 'rows are still pending at the immediate stop');
$node->stop('immediate');
$node->start;
check_exactly_once('stop -m immediate', 2 * $rows);

# --- start-up reset of abandoned claims --------------------------------------
# Rows committed as 'processing' by two-phase claimants go back to pending
# when the workers start: a restart ends every session, so every claimant is
# gone, whatever its lease says (see also 050_claim_crash.pl).
$node->safe_psql('postgres', q{
UPDATE sentiment_data SET processing_status = 'processing', processing_started_at = now() - interval '2 hours',
       processing_lease_until = now() - interval '1 hour', processing_claimed_by = sentiment_claimant()
 WHERE entry_id <= 5;
UPDATE sentiment_data SET processing_status = 'processing', processing_started_at = now(),
       processing_lease_until = now() + interval '1 hour', processing_claimed_by = sentiment_claimant()
 WHERE entry_id = 6;
});
$node->restart;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE entry_id <= 6 AND processing_status = 'completed' AND processing_attempts = 2",
	'6'),
	'abandoned claims are returned to pending at start-up and processed');
is($node->safe_psql('postgres',
	"SELECT sum(claims_recovered) FROM sentiment_workers WHERE kind = 'worker'"), '6',
	'the workers report the claims they returned');
ok($node->log_contains('sentiment_proc worker returned 6 abandoned claims to pending'),
	'and log them');
like($node->safe_psql('postgres',
	"SELECT processing_error_history -> -1 ->> 'message' FROM sentiment_data WHERE entry_id = 6"),
	qr/^claim abandoned: claimant \d+:\d+:\d+ is gone$/,
	'a claim held across a restart is abandoned: its claimant is gone');
check_exactly_once('start-up reset', 2 * $rows, 6);

$node->stop;
done_testing();
