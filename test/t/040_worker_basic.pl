# Background workers: start-up, waiting for CREATE EXTENSION and attach,
# wake-up at commit, reloads, role, restarts, a standby, and the error when the
# library is not preloaded.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;

# The poll interval is far beyond the test's time-outs: rows are only picked
# up promptly if the commit wakes a worker.
my $node = sp_node('workers', init => { allows_streaming => 1 }, conf => q{
max_worker_processes = 16
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 1
sentiment_proc.worker_poll_interval = '1h'
});

# Launcher and worker appear under fixed backend types.
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sentiment_proc launcher'", '1'),
	'launcher runs with its backend_type');
ok($node->poll_query_until('postgres',
	"SELECT query FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker'",
	'sentiment_proc: waiting for CREATE EXTENSION sentiment_proc'),
	'worker waits for CREATE EXTENSION and says so in pg_stat_activity');

# Created and attached while the worker runs: no restart needed.  attach
# wakes the worker (its poll interval is an hour).
$node->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
});
ok($node->poll_query_until('postgres',
	"SELECT state FROM sentiment_workers WHERE kind = 'worker'", 'idle'),
	'worker goes idle after CREATE EXTENSION and attach');
is($node->safe_psql('postgres',
	"SELECT tgname || ' ' || tgenabled::text FROM pg_trigger WHERE tgrelid = 'sentiment_data'::regclass AND tgname = 'sentiment_wakeup'"),
	'sentiment_wakeup A', 'attach created the wake-up trigger, enabled always');

# Rows inserted after start are processed, woken at commit.
$node->safe_psql('postgres',
	"INSERT INTO sentiment_data (text) SELECT 'I love this #launch ' || g FROM generate_series(1, 2000) g");
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status = 'completed'", '2000'),
	'a bulk insert is processed by the worker');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM sentiment_data WHERE sentiment_label IS NULL OR processing_attempts <> 1"),
	'0', 'every row has a result and one attempt');

# Single-row transactions, one after another.
$node->safe_psql('postgres',
	"INSERT INTO sentiment_data (text) VALUES ('single row " . $_ . "')") for 1 .. 20;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status = 'pending'", '0'),
	'single-row inserts are processed');

# With nothing to do, polls are not batches: the counts and the time of the
# last batch stay as they are.  The launcher's row has a state too.
my $counted = "SELECT batches || ' ' || rows_processed || ' ' || last_batch_at FROM sentiment_workers WHERE kind = 'worker'";
my $before_idle = $node->safe_psql('postgres', $counted);
$node->append_conf('postgresql.conf', "sentiment_proc.worker_poll_interval = '10ms'\n");
$node->reload;
usleep(1_500_000);	# about 150 polls
is($node->safe_psql('postgres', $counted), $before_idle, 'idle polls count as no batch and move no last_batch_at');
$node->append_conf('postgresql.conf', "sentiment_proc.worker_poll_interval = '1h'\n");
$node->reload;
is($node->safe_psql('postgres', "SELECT state FROM sentiment_workers WHERE kind = 'launcher'"), 'running',
	'the launcher\'s state is running');

# Editing their text puts rows back to pending and wakes a worker too; a
# status set back by hand wakes one with sentiment_wake_workers() (the
# trigger fires for new or edited text only).
$node->safe_psql('postgres',
	"UPDATE sentiment_data SET text = text || ' again' WHERE entry_id <= 5");
$node->safe_psql('postgres', q{
UPDATE sentiment_data SET processing_status = 'pending' WHERE entry_id BETWEEN 6 AND 10;
SELECT sentiment_wake_workers();
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE entry_id <= 10 AND processing_status = 'completed' AND processing_attempts IN (1, 2)",
	'10'),
	'edited rows and rows set back to pending are processed again');

# A rolled-back insert wakes nobody and leaves nothing behind.
my $wakeups_before = $node->safe_psql('postgres',
	"SELECT sum(wakeups) FROM sentiment_workers WHERE kind = 'worker'");
$node->safe_psql('postgres', q{
BEGIN;
INSERT INTO sentiment_data (text) VALUES ('never committed');
ROLLBACK;
});
cmp_ok($wakeups_before, '>', 0, 'commits woke the worker through its latch');
# the wake-up happens in the committing backend, so it is counted by now
is($node->safe_psql('postgres', "SELECT sum(wakeups) FROM sentiment_workers WHERE kind = 'worker'"),
	$wakeups_before, 'a rolled-back insert wakes no worker');

# Reload: two workers, smaller batches; the launcher starts the second
# worker and both report the new batch size.
$node->append_conf('postgresql.conf', q{
sentiment_proc.workers_per_database = 2
sentiment_proc.worker_batch_size = 50
});
$node->reload;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker'", '2'),
	'reload starts a second worker');
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_workers WHERE kind = 'worker' AND batch_size = 50", '2'),
	'reload changes the batch size of running workers');
my $batches_before = $node->safe_psql('postgres',
	"SELECT sum(batches) FROM sentiment_workers WHERE kind = 'worker'");
$node->safe_psql('postgres',
	"INSERT INTO sentiment_data (text) SELECT 'after reload ' || g FROM generate_series(1, 1000) g");
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status = 'pending'", '0'),
	'rows inserted after the reload are processed');
cmp_ok($node->safe_psql('postgres',
	"SELECT sum(batches) FROM sentiment_workers WHERE kind = 'worker'") - $batches_before,
	'>=', 20, '1000 rows took at least 20 batches of 50');
ok($node->safe_psql('postgres',
	"SELECT bool_and(query LIKE 'sentiment_proc: %') FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker'") eq 't',
	'workers show their activity in pg_stat_activity');

# A worker stopped with SIGTERM is started again by the launcher.
my $old_pid = $node->safe_psql('postgres',
	"SELECT pid FROM sentiment_workers WHERE kind = 'worker' AND worker_index = 0");
$node->safe_psql('postgres', "SELECT pg_terminate_backend($old_pid)");
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_workers WHERE kind = 'worker' AND worker_index = 0 AND pid IS NOT NULL AND pid <> $old_pid AND state = 'idle'",
	'1'),
	'a terminated worker is restarted');
$node->safe_psql('postgres', "INSERT INTO sentiment_data (text) VALUES ('after restart')");
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status = 'pending'", '0'),
	'the restarted worker processes rows');

# The role the workers run as needs no privilege on the tables: each source
# is processed as its owner.  Back to the default, nothing changes.
$node->safe_psql('postgres', 'CREATE ROLE sp_weak LOGIN');
$node->append_conf('postgresql.conf', "sentiment_proc.worker_role = 'sp_weak'\n");
$node->reload;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker' AND usename = 'sp_weak'",
	'2'),
	'workers restart as the configured role');
$node->safe_psql('postgres', "INSERT INTO sentiment_data (text) VALUES ('needs no privileges')");
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status = 'pending'", '0'),
	'a worker role without privileges processes the rows as the table owner');
is($node->safe_psql('postgres',
	"SELECT has_table_privilege('sp_weak', 'sentiment_data', 'UPDATE')"), 'f',
	'(the worker role has no privilege on the table)');
$node->append_conf('postgresql.conf', "sentiment_proc.worker_role = ''\n");
$node->reload;
$node->safe_psql('postgres', "INSERT INTO sentiment_data (text) VALUES ('default role again')");
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status = 'pending'", '0'),
	'with the default role the row is processed');

# A role that does not exist: a warning, no workers, nothing crashes.
$node->append_conf('postgresql.conf', "sentiment_proc.worker_role = 'no_such_role'\n");
$node->reload;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker'", '0'),
	'no workers for a role that does not exist');
ok($node->log_contains('role "no_such_role" named in sentiment_proc.worker_role does not exist'),
	'the launcher logs why');
$node->append_conf('postgresql.conf', "sentiment_proc.worker_role = ''\nsentiment_proc.databases = 'postgres, no_such_db'\n");
$node->reload;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker'", '2'),
	'an unknown database in the list does not stop the others');
ok($node->log_contains('database "no_such_db" named in sentiment_proc.databases does not exist'),
	'the launcher logs the unknown database');

# Invalid values are refused at reload (the old ones stay).
my ($ret, $out, $err) = $node->psql('postgres', "ALTER SYSTEM SET sentiment_proc.worker_batch_size = 0");
like($err, qr/0 is outside the valid range/, 'batch size 0 is refused');
($ret, $out, $err) = $node->psql('postgres', q{ALTER SYSTEM SET sentiment_proc.databases = '"postgres'});
like($err, qr/invalid value for parameter "sentiment_proc.databases"/, 'a malformed database list is refused');
($ret, $out, $err) = $node->psql('postgres', q{SET sentiment_proc.workers_per_database = 3});
like($err, qr/cannot be changed now/, 'worker settings are not per session');

# Standby: the workers are there but idle; after promotion they process the
# rows that were replicated while pending.
$node->append_conf('postgresql.conf', "sentiment_proc.workers_per_database = 0\nsentiment_proc.databases = 'postgres'\n");
$node->reload;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker'", '0'),
	'workers_per_database = 0 stops the workers');
$node->backup('b1');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'b1', has_streaming => 1);
$standby->append_conf('postgresql.conf', "sentiment_proc.workers_per_database = 1\n");
$standby->start;
$node->safe_psql('postgres',
	"INSERT INTO sentiment_data (text) SELECT 'replicated ' || g FROM generate_series(1, 100) g");
$node->wait_for_catchup($standby);
ok($standby->poll_query_until('postgres',
	"SELECT state FROM sentiment_workers WHERE kind = 'worker'", 'standby'),
	'the worker on a standby is idle');
is($standby->safe_psql('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status = 'pending'"), '100',
	'rows stay pending on the standby');
$standby->promote;
ok($standby->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status = 'pending'", '0'),
	'after promotion the worker processes them');
$standby->stop;

# Without shared_preload_libraries: the SQL functions work, inserts into an
# attached table work (the wake-up trigger does nothing), and the worker view
# says what is missing.
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
INSERT INTO sentiment_data (text) VALUES ('no workers here');
});
is($plain->safe_psql('postgres', 'SELECT sentiment_process_batch(10)'), '1',
	'sentiment_process_batch works without preloading');
($ret, $out, $err) = $plain->psql('postgres', 'SELECT * FROM sentiment_workers');
like($err, qr/sentiment_proc background workers are not available/, 'sentiment_workers errors when not preloaded');
like($err, qr/HINT:  Add sentiment_proc to shared_preload_libraries/, 'with a hint');
is($plain->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'sentiment_proc%'"), '0',
	'no workers when not preloaded');
$plain->stop;

$node->stop;
done_testing();
