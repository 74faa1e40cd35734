# Two-phase claims and crashes.  A claim lives as long as its
# claimant's session and its lease:
#  - a live session's claim within its lease is left alone by the workers;
#  - an expired lease is returned to pending by the workers' periodic upkeep,
#    and the claimant's late result is then refused;
#  - a backend killed (kill -9) while holding a claim: after the crash
#    restart the first worker returns the claim at start-up and the row is
#    processed once, its history saying why.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;

my $node = sp_node('claims', conf => q{
max_worker_processes = 16
restart_after_crash = on
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 0
sentiment_proc.upkeep_interval = '200ms'
sentiment_proc.worker_poll_interval = '200ms'
});
$node->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
INSERT INTO sentiment_data (text) SELECT 'claimed mention ' || g || ' is fine' FROM generate_series(1, 6) g;
});

# An external analyser's session: rows 1-3 with a long lease, 4-6 with a
# lease that runs out at once.
my $analyser = $node->background_psql('postgres');
is($analyser->query_safe(
	"SELECT string_agg(id::text, ',' ORDER BY id) FROM sentiment_claim(3, interval '1 hour')"),
	'1,2,3', 'the analyser claims rows 1-3 for an hour');
is($analyser->query_safe(
	"SELECT string_agg(id::text, ',' ORDER BY id) FROM sentiment_claim(3, interval '1 millisecond')"),
	'4,5,6', 'and rows 4-6 with a lease that expires at once');
my $analyser_pid = $analyser->query_safe('SELECT pg_backend_pid()');

# Workers start; their upkeep returns the expired claims, which they then
# process; the live claims stay with the analyser.
$node->append_conf('postgresql.conf', "sentiment_proc.workers_per_database = 1\n");
$node->reload;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE entry_id BETWEEN 4 AND 6 AND processing_status = 'completed'", '3'),
	'expired leases are returned by the workers and processed');
is($node->safe_psql('postgres',
	"SELECT string_agg(processing_error_history -> -1 ->> 'message', ',') FROM sentiment_data WHERE entry_id BETWEEN 4 AND 6"),
	'claim abandoned: lease expired,claim abandoned: lease expired,claim abandoned: lease expired',
	'their history says why');
is($node->safe_psql('postgres',
	"SELECT string_agg(processing_status, ',' ORDER BY entry_id) FROM sentiment_data WHERE entry_id <= 3"),
	'processing,processing,processing', 'a live claim within its lease is left to its claimant');
is($analyser->query_safe(
	"SELECT completed::text || ' ' || reason FROM sentiment_complete('sentiment_data', "
	  . "'[{\"id\": 4, \"version\": 0, \"sentiment_label\": \"negative\", \"sentiment_score\": -0.9}]')"),
	'false not claimed by this claimant (lease expired or claim returned)',
	'the late result for a returned claim is refused');
is($node->safe_psql('postgres', 'SELECT sentiment_label FROM sentiment_data WHERE entry_id = 4'),
	'positive', 'and the stored result is the worker\'s');

# The analyser's backend is killed while holding rows 1-3.
my $log_offset = -s $node->logfile;
kill 'KILL', $analyser_pid;
$analyser->{run}->kill_kill;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status = 'completed'", '6'),
	'after the crash restart the claims of the killed backend are returned and processed');
ok($node->log_contains(qr/\(PID $analyser_pid\) was terminated by signal 9/, $log_offset),
	'the claimant was killed with signal 9');
ok($node->log_contains(qr/sentiment_proc worker returned 3 abandoned claims to pending/, $log_offset),
	'the worker returned its three claims at start-up');
is($node->safe_psql('postgres', q{
	SELECT string_agg(processing_attempts::text || ' ' || (processing_error_history -> -1 ->> 'message' LIKE 'claim abandoned: claimant % is gone')::text, ',' ORDER BY entry_id)
	  FROM sentiment_data WHERE entry_id <= 3}),
	'2 true,2 true,2 true', 'each processed once more after its claim, the history naming the gone claimant');
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM sentiment_embeddings) || ' ' || (SELECT count(DISTINCT entry_id) FROM sentiment_embeddings)}),
	'6 6', 'one embedding per row, none twice');
is($node->safe_psql('postgres', "SELECT count(*) FROM sentiment_stuck"), '0', 'nothing is stuck');

# The workers' upkeep also prunes finished queue requests past the retention
# (7 days by default), and leaves queued ones.
$node->safe_psql('postgres', q{
SELECT sentiment_enqueue('sentiment_data', ARRAY[1, 2]::bigint[]);
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_processing_queue WHERE status = 'completed'", '2'),
	'the workers drain the queue');
$node->safe_psql('postgres', q{
UPDATE sentiment_processing_queue SET completed_at = now() - interval '8 days' WHERE entry_id = 1;
INSERT INTO sentiment_processing_queue (source_table, entry_id) VALUES ('sentiment_data', 3);
});
ok($node->poll_query_until('postgres',
	"SELECT string_agg(entry_id || ' ' || status, ',' ORDER BY entry_id) FROM sentiment_processing_queue",
	'2 completed,3 completed'),
	'the old finished request is pruned by the workers, the others stay (the new one is drained)');

$node->stop;
done_testing();
