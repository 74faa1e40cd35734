# Wake-ups across the nodes of a Citus cluster (a coordinator, two worker
# nodes), with an hour's poll and upkeep interval on the worker nodes: rows
# that sentiment_retry_failed, sentiment_reset_stuck, sentiment_enqueue,
# sentiment_reanalyze and sentiment_set_model, called on the coordinator, set
# back to pending are processed all the same, because each call wakes the workers of the nodes
# holding them once it commits.  Rows set back by a plain UPDATE (no
# wake-up) stay pending meanwhile, which shows the poll interval is in force.
# A rolled-back call changes nothing; a node that cannot be told gets a
# warning, and the call still succeeds.
# The latencies (commit of the call to the last row completed) are printed
# as notes; the test asserts completion within a generous bound only.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SentimentProc::Test;
use Test::More;
use Time::HiRes qw(usleep time);

my $workers_conf = "sentiment_proc.databases = 'postgres'\nsentiment_proc.workers_per_database = 2\n";
my ($coord, @nodes) = sp_citus_cluster(coordinator_conf => "sentiment_proc.databases = ''\n",
	worker_conf => $workers_conf);

$coord->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
CREATE TABLE mentions (entry_id bigint PRIMARY KEY, text text);
SELECT create_distributed_table('mentions', 'entry_id', shard_count => 8);
SELECT sentiment_attach('mentions');
INSERT INTO mentions SELECT g, 'what a lovely day ' || g FROM generate_series(1, 200) g;
});
ok($coord->poll_query_until('postgres',
		"SELECT count(*) FILTER (WHERE processing_status = 'completed') = 200 FROM mentions"),
	'the rows are processed on the worker nodes');

# From now on only a wake-up gets rows processed within the bound below.
for my $n (@nodes)
{
	$n->safe_psql('postgres', q{
		ALTER SYSTEM SET sentiment_proc.worker_poll_interval = '1h';
		ALTER SYSTEM SET sentiment_proc.upkeep_interval = '1h';
		SELECT pg_reload_conf();
	});
}
usleep(1_500_000);    # the workers go back to sleep with the new interval

# Run a call on the coordinator; returns its result, the time just before
# it and the time just after its commit (the coordinator's clock, which the
# nodes share).
sub call
{
	my ($sql) = @_;
	my $out = $coord->safe_psql('postgres', "SELECT clock_timestamp();\n$sql;\nSELECT clock_timestamp();");
	my ($start, $result, $end) = split /\n/, $out;
	return ($result, $start, $end);
}

# Wait until every row WHERE where is completed after since (the call's
# start); returns the seconds from committed (the call's commit) to the last
# of them completing, undef after the bound.  (sentiment_reset_stuck's
# nodes commit before the call returns, so its figure may be negative.)
my $bound = 60;
sub completed_after
{
	my ($where, $since, $committed) = @_;
	my $start = time;
	$committed //= $since;
	while (time - $start < $bound)
	{
		my $latency = $coord->safe_psql('postgres', qq{
			SELECT CASE WHEN bool_and(processing_status = 'completed' AND processing_completed_at > '$since')
			  THEN extract(epoch FROM max(processing_completed_at) - '$committed') END
			  FROM mentions WHERE $where});
		return $latency if $latency ne '';
		usleep(20_000);
	}
	# what the nodes' workers did, for the failure that follows
	diag($_->name . ":\n" . $_->safe_psql('postgres',
		'SELECT kind, state, batches, rows_processed, wakeups, last_batch_at, last_error FROM sentiment_workers'))
	  for @nodes;
	diag($coord->safe_psql('postgres',
		"SELECT processing_status, count(*) FROM mentions WHERE $where GROUP BY 1"));
	return undef;
}

my %latency;

# ---- sentiment_retry_failed --------------------------------------------------
# (a status-only UPDATE fires no wake-up trigger: that is for new text)
$coord->safe_psql('postgres', q{
	UPDATE mentions SET processing_status = 'failed', processing_error = 'made up'
	 WHERE entry_id BETWEEN 1 AND 40;
	UPDATE mentions SET processing_status = 'pending' WHERE entry_id BETWEEN 41 AND 60;
});
usleep(2_000_000);
is($coord->safe_psql('postgres', q{SELECT count(*) FROM mentions WHERE entry_id BETWEEN 41 AND 60
	AND processing_status = 'pending'}), '20',
	'rows set back to pending by a plain UPDATE wait: no wake-up, an hour\'s poll interval');

my ($n, $since, $committed) = call("BEGIN; SELECT sentiment_retry_failed('mentions'); ROLLBACK");
is($coord->safe_psql('postgres', "SELECT count(*) FROM mentions WHERE processing_status = 'failed'"), '40',
	'a rolled-back sentiment_retry_failed changes nothing');

# (the rolled-back call woke the workers all the same, for nothing: rows
# 41 to 60 are done by now)
($n, $since, $committed) = call("SELECT sentiment_retry_failed('mentions')");
is($n, '40', 'sentiment_retry_failed re-queues the failed rows of every node');
$latency{retry_failed} = completed_after('entry_id BETWEEN 1 AND 40', $since, $committed);
ok(defined $latency{retry_failed}, 'sentiment_retry_failed on the coordinator wakes the nodes\' workers');

# ---- sentiment_reset_stuck ---------------------------------------------------
$coord->safe_psql('postgres', q{
	UPDATE mentions SET processing_status = 'processing', processing_claimed_by = 'an analyser that died',
		processing_started_at = now() - interval '2 minutes', processing_lease_until = now() - interval '1 minute'
	 WHERE entry_id BETWEEN 61 AND 100;
});
($n, $since, $committed) = call("SELECT sentiment_reset_stuck('mentions', force => true)");
is($n, '40', 'sentiment_reset_stuck on the coordinator returns the claims held on every node');
$latency{reset_stuck} = completed_after('entry_id BETWEEN 61 AND 100', $since, $committed);
ok(defined $latency{reset_stuck}, 'and the nodes\' workers process them at once');

# ---- sentiment_enqueue -----------------------------------------------------------
($n, $since, $committed) = call("SELECT sentiment_enqueue('mentions', ARRAY(SELECT generate_series(101, 130))::bigint[])");
is($n, '30', 'sentiment_enqueue of a distributed table sets those completed rows back to pending');
$latency{enqueue} = completed_after('entry_id BETWEEN 101 AND 130', $since, $committed);
ok(defined $latency{enqueue}, 'sentiment_enqueue on the coordinator wakes the nodes\' workers');
is($coord->safe_psql('postgres', "SELECT count(*) FROM mentions WHERE processing_completed_at > '$since'"), '30',
	'only the rows asked for were analysed again');

# ---- sentiment_reanalyze ---------------------------------------------------------
($n, $since, $committed) = call("SELECT sentiment_reanalyze('mentions')");
is($n, '200', 'sentiment_reanalyze sets every row of the distributed table back to pending');
$latency{reanalyze} = completed_after('true', $since, $committed);
ok(defined $latency{reanalyze}, 'sentiment_reanalyze on the coordinator wakes the nodes\' workers');

# ---- sentiment_set_model -------------------------------------------------------
($n, $since, $committed) = call("SELECT sentiment_set_model('mentions', 'social')");
is($n, '200', 'sentiment_set_model queues every row another model analysed');
$latency{set_model} = completed_after('true', $since, $committed);
ok(defined $latency{set_model}, 'sentiment_set_model on the coordinator wakes the nodes\' workers');
is($coord->safe_psql('postgres', "SELECT count(*) FROM mentions WHERE sentiment_model NOT LIKE 'social%'"), '0',
	'and they analyse the rows with the new model');

# ---- a node that cannot be told --------------------------------------------------
# Worker node 2 lacks the wake-up function: the call succeeds with a warning
# naming the node; its rows wait until something wakes it (here the function
# called on its own, outside any distributed transaction: at once).
$nodes[1]->safe_psql('postgres',
	'ALTER FUNCTION sentiment_citus_wake_after(bigint, bigint) RENAME TO sentiment_citus_wake_after_gone');
my $before = $coord->safe_psql('postgres', q{
	UPDATE mentions SET processing_status = 'failed', processing_error = 'made up' WHERE entry_id BETWEEN 1 AND 40;
	SELECT clock_timestamp()});
my ($rc, $out, $err) = $coord->psql('postgres', "SELECT sentiment_retry_failed('mentions')");
is("$rc $out", '0 40', 'a node that cannot be woken does not fail sentiment_retry_failed');
like($err, qr/WARNING:  sentiment_proc could not wake the workers on node [^ ]*:${\ $nodes[1]->port}/,
	'it warns, naming the node');
$nodes[1]->safe_psql('postgres',
	'ALTER FUNCTION sentiment_citus_wake_after_gone(bigint, bigint) RENAME TO sentiment_citus_wake_after');
$coord->safe_psql('postgres', "SELECT sentiment_citus_wake_nodes('mentions')");
ok(defined completed_after('entry_id BETWEEN 1 AND 40', $before),
	'sentiment_citus_wake_nodes wakes them afterwards');

note(sprintf('wake-up latency, commit of the call to the last row completed: %s; load average %s',
	join(', ', map { sprintf('%s %.3f s', $_, $latency{$_} // -1) } sort keys %latency),
	`cat /proc/loadavg` =~ s/\n//r));

$_->stop for (@nodes, $coord);
done_testing();
