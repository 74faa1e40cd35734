# Time-partitioned tables, PRIMARY KEY (entry_id, day) PARTITION BY RANGE
# (day), processed by the background workers: an existing table adopted
# with its rows, rows of every partition and of partitions created or
# attached later, each with its own result; a row whose id another row
# holds too is failed by the workers, with the reason, and never analysed;
# a deleted row takes its side rows along.  The poll interval is an hour:
# wake-ups get the rows processed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('time_partitioned');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'sentiment_proc'
max_worker_processes = 16
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 2
sentiment_proc.batch_size = 50
sentiment_proc.worker_poll_interval = '1h'
sentiment_proc.upkeep_interval = '1h'
});
$node->start;

# Within 60 s, or not at all.
sub done_soon
{
	my ($sql, $expected) = @_;
	my $got;
	for (1 .. 600)
	{
		$got = $node->safe_psql('postgres', $sql);
		return 1 if $got eq $expected;
		usleep(100_000);
	}
	diag("$sql: got $got, expected $expected");
	return 0;
}

# An existing table of this shape, with rows, adopted.
$node->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
CREATE TABLE mentions (entry_id bigint GENERATED ALWAYS AS IDENTITY, day date NOT NULL, body text,
					   PRIMARY KEY (entry_id, day)) PARTITION BY RANGE (day);
CREATE TABLE mentions_01 PARTITION OF mentions FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE mentions_02 PARTITION OF mentions FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
INSERT INTO mentions (day, body)
SELECT DATE '2026-01-01' + (g % 59), CASE g % 3 WHEN 0 THEN 'I love it, great ' WHEN 1 THEN 'awful, I hate it '
	ELSE 'it is a phone ' END || g
  FROM generate_series(1, 600) g;
SELECT sentiment_attach('mentions', text_column => 'body');
});
ok(done_soon("SELECT count(*) FROM mentions WHERE processing_status <> 'completed'", '0'),
	'the rows of an adopted time-partitioned table are processed');

# New rows in every partition, and in partitions created and attached later.
$node->safe_psql('postgres', q{
CREATE TABLE mentions_03 PARTITION OF mentions FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
CREATE TABLE mentions_04 (LIKE mentions INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE mentions ATTACH PARTITION mentions_04 FOR VALUES FROM ('2026-04-01') TO ('2026-05-01');
});
$node->safe_psql('postgres', q{
INSERT INTO mentions (day, body)
SELECT DATE '2026-01-01' + (g % 119), CASE g % 3 WHEN 0 THEN 'so happy, wonderful ' WHEN 1 THEN 'terrible, broken '
	ELSE 'a table ' END || g
  FROM generate_series(1, 1400) g;
});
# (straight into a partition: the parent's identity is not the partition's on 15 and 16)
$node->safe_psql('postgres', q{
INSERT INTO mentions_04 (entry_id, day, body) OVERRIDING SYSTEM VALUE
VALUES (nextval(pg_get_serial_sequence('mentions', 'entry_id')), '2026-04-30', 'straight into a partition, great')});
ok(done_soon("SELECT count(*) FROM mentions WHERE processing_status <> 'completed'", '0'),
	'rows of every partition, also of partitions created and attached later, are processed');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM mentions m, sentiment_analyze(m.body) a
 WHERE m.sentiment_label IS DISTINCT FROM a.sentiment_label OR m.sentiment_score IS DISTINCT FROM a.sentiment_score}),
	'0', 'every row has the result of its own text');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM mentions m
 WHERE NOT EXISTS (SELECT FROM sentiment_embeddings e WHERE e.entry_id = m.entry_id)}),
	'0', 'every row has its embedding');
is($node->safe_psql('postgres', "SELECT count(*) FROM sentiment_embeddings"),
	$node->safe_psql('postgres', "SELECT count(*) FROM mentions"), 'and no more embeddings than rows');

# The contract broken: an id held twice.  The workers fail both rows with
# the reason; neither gets a result.
$node->safe_psql('postgres', q{
INSERT INTO mentions (entry_id, day, body) OVERRIDING SYSTEM VALUE VALUES (7, '2026-04-15', 'I adore this');
});
ok(done_soon("SELECT string_agg(processing_status || ': ' || processing_error, '; ' ORDER BY day) FROM mentions WHERE entry_id = 7",
		'failed: entry id 7 is held by more than one row of public.mentions; '
		  . 'failed: entry id 7 is held by more than one row of public.mentions'),
	'both rows of an id held twice are failed, with the reason');
is($node->safe_psql('postgres', "SELECT count(*) FROM mentions WHERE entry_id = 7 AND sentiment_label IS NOT NULL"),
	'0', 'neither keeps a result');

# Made unique and retried: processed.
$node->safe_psql('postgres', q{
DELETE FROM mentions WHERE entry_id = 7 AND day = '2026-04-15';
SELECT sentiment_retry_failed('mentions');
});
ok(done_soon("SELECT processing_status FROM mentions WHERE entry_id = 7", 'completed'),
	'the row is processed once its id is unique again');

# Deleting rows takes their side rows along.
$node->safe_psql('postgres', "DELETE FROM mentions WHERE day < '2026-02-01'");
is($node->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM sentiment_embeddings e WHERE NOT EXISTS (SELECT FROM mentions m WHERE m.entry_id = e.entry_id))
	 + (SELECT count(*) FROM mention_topics t WHERE NOT EXISTS (SELECT FROM mentions m WHERE m.entry_id = t.mention_id))}),
	'0', 'deleted rows leave no side rows behind');

$node->stop;
done_testing();
