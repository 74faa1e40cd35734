# Wake-ups: rows inserted straight into a partition of an attached
# partitioned table (also one created or attached after attach) wake a
# worker at commit, and statements that only finish work (a batch of
# sentiment_process_batch, two-phase claims and completions) wake nobody.
# The poll interval is an hour (and so is the upkeep interval, after which
# the first worker also runs a batch), so only a wake-up gets rows processed
# within the test's time-outs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('wakeup');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'sentiment_proc'
max_worker_processes = 16
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 1
sentiment_proc.worker_poll_interval = '1h'
sentiment_proc.upkeep_interval = '1h'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
CREATE TABLE parts (entry_id bigint PRIMARY KEY, text text) PARTITION BY RANGE (entry_id);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (1) TO (1000);
CREATE TABLE parts_2 PARTITION OF parts FOR VALUES FROM (1000) TO (2000);
SELECT sentiment_attach('parts');
});
ok($node->poll_query_until('postgres', "SELECT state FROM sentiment_workers WHERE kind = 'worker'", 'idle'),
	'the worker is idle');

# Within 30 s, or not at all (poll_query_until would wait 3 minutes).
sub done_soon
{
	my ($sql, $expected) = @_;
	for (1 .. 300)
	{
		return 1 if $node->safe_psql('postgres', $sql) eq $expected;
		usleep(100_000);
	}
	return 0;
}

sub wakeups
{
	return $node->safe_psql('postgres', "SELECT sum(wakeups) FROM sentiment_workers WHERE kind = 'worker'");
}

# Through the parent, as before.
$node->safe_psql('postgres', "INSERT INTO parts (entry_id, text) VALUES (1, 'through the parent :)')");
ok(done_soon("SELECT processing_status FROM parts WHERE entry_id = 1", 'completed'),
	'a row inserted through the parent is processed at once');

# Straight into a partition.
$node->safe_psql('postgres', "INSERT INTO parts_2 (entry_id, text) VALUES (1500, 'straight into a partition')");
ok(done_soon("SELECT processing_status FROM parts WHERE entry_id = 1500", 'completed'),
	'a row inserted straight into a partition is processed at once');

# Partitions created and attached after attach.
$node->safe_psql('postgres', q{
CREATE TABLE parts_3 PARTITION OF parts FOR VALUES FROM (2000) TO (3000);
CREATE TABLE parts_4 (LIKE parts INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE parts ATTACH PARTITION parts_4 FOR VALUES FROM (3000) TO (4000);
});
$node->safe_psql('postgres', "INSERT INTO parts_3 (entry_id, text) VALUES (2500, 'a new partition')");
ok(done_soon("SELECT processing_status FROM parts WHERE entry_id = 2500", 'completed'),
	'a row inserted into a partition created later is processed at once');
$node->safe_psql('postgres', "INSERT INTO parts_4 (entry_id, text) VALUES (3500, 'an attached partition')");
ok(done_soon("SELECT processing_status FROM parts WHERE entry_id = 3500", 'completed'),
	'a row inserted into a partition attached later is processed at once');

# Statements that only finish work wake nobody.  Rows are made pending with
# the wake-up triggers disabled (nobody is woken), then processed by SQL.
ok($node->poll_query_until('postgres', "SELECT state FROM sentiment_workers WHERE kind = 'worker'", 'idle'),
	'the worker is idle before the quiet rows');
$node->safe_psql('postgres', q{
ALTER TABLE parts_1 DISABLE TRIGGER sentiment_wakeup;
INSERT INTO parts_1 (entry_id, text) SELECT g, 'quiet row ' || g FROM generate_series(10, 209) g;
ALTER TABLE parts_1 ENABLE ALWAYS TRIGGER sentiment_wakeup;
});
ok($node->poll_query_until('postgres', "SELECT state FROM sentiment_workers WHERE kind = 'worker'", 'idle'),
	'the worker is idle again');

# PostgreSQL sets a process's latch for its own signals too (here a request
# to log its memory contexts; after DDL elsewhere, a cache catch-up): that
# is no wake-up, and the idle worker must sleep on, not run a batch.
my $worker_pid = $node->safe_psql('postgres', "SELECT pid FROM sentiment_workers WHERE kind = 'worker'");
for (1 .. 5)
{
	$node->safe_psql('postgres', "SELECT pg_log_backend_memory_contexts($worker_pid)");
	usleep(200_000);
}
is($node->safe_psql('postgres', "SELECT count(*) FROM parts WHERE processing_status = 'pending'"), '200',
	'signals that are not wake-ups leave the idle worker asleep');
my $before = wakeups();
is($node->safe_psql('postgres', "SELECT sentiment_process_batch(100, 'parts')"), '100',
	'a SQL batch completes rows');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM sentiment_claim(50, interval '1 hour', 'parts')}), '50', 'a two-phase claim takes rows');
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE completed) FROM sentiment_complete('parts', (
		SELECT jsonb_agg(jsonb_build_object('id', entry_id, 'version', version,
			'sentiment_label', 'neutral', 'sentiment_score', 0, 'claim', processing_claimed_by))
		  FROM parts WHERE processing_status = 'processing'),
		(SELECT min(processing_claimed_by) FROM parts WHERE processing_status = 'processing'))}),
	'50', 'and completes them');
# a wake-up is counted by the committing backend, so it would show by now
is(wakeups(), $before, 'neither the batch nor the claim nor the completion woke the worker');
is($node->safe_psql('postgres', "SELECT count(*) FROM parts WHERE processing_status = 'pending'"), '50',
	'the rows left wait for the poll: nothing woke the worker');

# sentiment_retry_failed and a text edit do wake it.
$node->safe_psql('postgres', "UPDATE parts SET text = 'edited' WHERE entry_id = 10");
ok(done_soon("SELECT count(*) FROM parts WHERE processing_status = 'pending'", '0'),
	'a text edit wakes the worker, which then processes every pending row');

# A table whose processor is 'external' (issue 28) is left to the
# analysers that call sentiment_claim: the worker, woken by rows of both
# tables committed together, processes only the other table's.
$node->safe_psql('postgres', q{
CREATE TABLE ext (entry_id bigint PRIMARY KEY, text text);
SELECT sentiment_attach('ext', topics_table => 'ext_topics', embeddings_table => 'ext_embeddings');
SELECT sentiment_set_processor('ext', 'external');
});
$node->safe_psql('postgres', q{
BEGIN;
INSERT INTO ext (entry_id, text) SELECT g, 'for the external analyser ' || g FROM generate_series(1, 20) g;
INSERT INTO parts (entry_id, text) VALUES (5, 'for the worker');
COMMIT;
});
ok(done_soon("SELECT processing_status FROM parts WHERE entry_id = 5", 'completed'),
	'the worker woke and processed the in-server table');
is($node->safe_psql('postgres', "SELECT count(*) FROM ext WHERE processing_status = 'pending'"), '20',
	'in the same batch it left the external table alone');
is($node->safe_psql('postgres', "SELECT count(*) FROM sentiment_claim(20, interval '1 hour', 'ext')"), '20',
	'sentiment_claim takes its rows');
$node->safe_psql('postgres', q{
SELECT sentiment_set_processor('ext', 'server');
INSERT INTO ext (entry_id, text) VALUES (21, 'for the worker again');
});
ok(done_soon("SELECT processing_status FROM ext WHERE entry_id = 21", 'completed'),
	'set back to the server, the table is the worker\'s again');

done_testing();
