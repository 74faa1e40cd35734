# The two-phase API on a distributed table, through the coordinator of a
# Citus cluster (a coordinator, two worker nodes; no background workers, so
# the external analyser is the only processor): sentiment_claim takes rows
# of shards on both nodes, sentiment_complete stores results, sentiment_fail
# records failures with a retry, sentiment_renew and sentiment_release act
# on the claims, a stale result is refused after its lease is taken over,
# and an analyser killed in the middle of its lease leaves rows that are
# reclaimed and completed once (a worker node restarted meanwhile).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SentimentProc::Test;
use Test::More;

my $conf = "sentiment_proc.databases = ''\n";
my ($coord, @nodes) = sp_citus_cluster(coordinator_conf => $conf, worker_conf => $conf);

$coord->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
CREATE TABLE mentions (entry_id bigint PRIMARY KEY, text text);
SELECT create_distributed_table('mentions', 'entry_id', shard_count => 8);
SELECT sentiment_attach('mentions');
INSERT INTO mentions SELECT g, 'what a lovely day ' || g FROM generate_series(1, 40) g;
CREATE TABLE claimed (id bigint, claim text);
});

sub cq { return $coord->safe_psql('postgres', $_[0]); }

# A claim from one session; later sessions pass its claim explicitly.
cq(q{INSERT INTO claimed SELECT id, claim FROM sentiment_claim(20, '10 minutes', 'mentions')});
is(cq('SELECT count(*) FROM claimed'), '20', 'the coordinator claims 20 rows of the distributed table');
is( cq(q{SELECT count(DISTINCT p.nodeport) FROM claimed c
	  JOIN pg_dist_placement pl ON pl.shardid = get_shard_id_for_distribution_column('mentions', c.id)
	  JOIN pg_dist_node p ON p.groupid = pl.groupid}),
	'2', 'the claimed rows come from shards on both worker nodes');
like(cq('SELECT min(claim) FROM claimed'), qr/^\d+:\d+:\d+\@\d+$/, 'the claim names the coordinator');
is( cq(q{SELECT count(*) FROM mentions m JOIN claimed c ON c.id = m.entry_id
	  WHERE m.processing_status = 'processing' AND m.processing_claimed_by = c.claim}),
	'20', 'the claimed rows are processing, held by the claim');
my $claim = cq('SELECT min(claim) FROM claimed');

# The nodes' reaper leaves a claim of the coordinator alone while its lease
# runs, though the claiming session is gone (it is not theirs to see).
is(cq(q{SELECT sentiment_reset_stuck('mentions')}), '0', 'claims in their lease are not reset on the nodes');

my @ids = split /\n/, cq('SELECT id FROM claimed ORDER BY id');
my @done = @ids[0 .. 4];
my @failed = @ids[5 .. 7];
my @renewed = @ids[8 .. 11];
my @released = @ids[12 .. 15];
my $in = sub { 'ARRAY[' . join(',', @_) . ']::bigint[]' };

is( cq(qq{SELECT count(*) FILTER (WHERE completed) FROM sentiment_complete('mentions',
	  (SELECT jsonb_agg(jsonb_build_object('id', m.entry_id, 'version', m.version,
	     'sentiment_label', 'positive', 'sentiment_score', 0.5, 'topics', '["weather"]'::jsonb))
	     FROM mentions m WHERE m.entry_id = ANY (@{[ $in->(@done) ]})), '$claim')}),
	'5', 'sentiment_complete stores 5 results');
is( cq(qq{SELECT count(*) FROM mentions WHERE entry_id = ANY (@{[ $in->(@done) ]})
	  AND processing_status = 'completed' AND sentiment_label = 'positive' AND processing_claimed_by IS NULL}),
	'5', 'the results are visible through the coordinator');
is(cq(qq{SELECT count(*) FROM mention_topics WHERE mention_id = ANY (@{[ $in->(@done) ]})}), '5',
	'their topics are stored');
is(cq(q{SELECT count(*) FROM mentions WHERE processing_status = 'completed'}), '5', 'and counted');

is(cq(qq{SELECT sentiment_fail('mentions', @{[ $in->(@failed) ]}, 'model timeout', claim => '$claim')}),
	'3', 'sentiment_fail records 3 failures');
is( cq(qq{SELECT count(*) FROM mentions WHERE entry_id = ANY (@{[ $in->(@failed) ]})
	  AND processing_status = 'failed' AND processing_error = 'model timeout'
	  AND processing_retry_at > now() AND processing_claimed_by IS NULL}),
	'3', 'the failed rows wait for their retry');

my $before = cq(qq{SELECT max(processing_lease_until) FROM mentions WHERE entry_id = ANY (@{[ $in->(@renewed) ]})});
is( cq(qq{SELECT cardinality(sentiment_renew('mentions', @{[ $in->(@renewed) ]}, '1 hour', '$claim'))}),
	'4', 'sentiment_renew extends 4 leases');
is( cq(qq{SELECT count(*) FROM mentions WHERE entry_id = ANY (@{[ $in->(@renewed) ]})
	  AND processing_lease_until > '$before'::timestamptz + interval '30 minutes'}),
	'4', 'their leases run an hour');
is(cq(qq{SELECT sentiment_release('mentions', @{[ $in->(@released) ]}, '$claim')}), '4',
	'sentiment_release gives 4 rows back');
is( cq(qq{SELECT count(*) FROM mentions WHERE entry_id = ANY (@{[ $in->(@released) ]})
	  AND processing_status = 'pending' AND processing_attempts = 0}),
	'4', 'the released rows are pending, their attempt taken back');

# A claimant of another role is refused, as on one server.
cq(q{CREATE ROLE other LOGIN; GRANT SELECT, UPDATE ON mentions TO other;
	GRANT EXECUTE ON FUNCTION sentiment_release(regclass, bigint[], text) TO other});
my ($ret, $out, $err) = $coord->psql('postgres',
	qq{SET ROLE other; SELECT sentiment_release('mentions', @{[ $in->(@renewed) ]}, '$claim')});
like($err, qr/cannot be used by role "other"/, 'another role cannot use the claim');

# A stale result: the lease runs out, the rows are reset and claimed again;
# the first claimant's result is refused, the second's stored.
cq('TRUNCATE claimed');
cq(q{INSERT INTO claimed SELECT id, claim FROM sentiment_claim(2, '1 second', 'mentions')});
my $stale = cq('SELECT min(claim) FROM claimed');
ok($coord->poll_query_until('postgres',
		q{SELECT bool_and(processing_lease_until < now()) FROM mentions WHERE entry_id IN (SELECT id FROM claimed)}),
	'the short lease runs out');
is(cq(q{SELECT sentiment_reset_stuck('mentions')}), '2', 'the nodes return the expired claims');
cq(q{CREATE TABLE second AS SELECT id, claim, version FROM sentiment_claim(2, '10 minutes', 'mentions')});
is(cq('SELECT count(*) FROM second JOIN claimed USING (id)'), '2', 'another claimant takes the rows over');
my $result = sub {
	my ($claimant) = @_;
	return cq(qq{SELECT string_agg(completed || ':' || coalesce(reason, ''), ',') FROM sentiment_complete('mentions',
	  (SELECT jsonb_agg(jsonb_build_object('id', id, 'version', version, 'sentiment_label', 'negative',
	     'sentiment_score', -0.5)) FROM second), '$claimant')});
};
like($result->($stale), qr/^false:not claimed by this claimant[^,]*,false:not claimed/,
	'the stale result is refused');
is($result->(cq('SELECT min(claim) FROM second')), 'true:,true:', 'the current claimant\'s result is stored');

# Exactly once: an analyser killed in the middle of its lease.
my $analyser = $coord->background_psql('postgres');
$analyser->query_safe(q{CREATE TABLE killed AS SELECT id, claim FROM sentiment_claim(6, '3 seconds', 'mentions')});
my $pid = $analyser->query_safe('SELECT pg_backend_pid()');
my $dead = cq('SELECT min(claim) FROM killed');
is(cq('SELECT count(*) FROM killed'), '6', 'the analyser claimed 6 rows');
cq("SELECT pg_terminate_backend($pid)");
eval { $analyser->quit };
$nodes[0]->restart;
is( cq(q{SELECT count(*) FROM mentions WHERE entry_id IN (SELECT id FROM killed) AND processing_status = 'processing'}),
	'6', 'its rows stay claimed during the lease, over a worker node restart');
ok($coord->poll_query_until('postgres',
		q{SELECT bool_and(processing_lease_until < now()) FROM mentions WHERE entry_id IN (SELECT id FROM killed)}),
	'the killed analyser\'s lease runs out');
cq(q{SELECT sentiment_reset_stuck('mentions')});
# the rest of the table, all claimed and completed by a new analyser
my $rest = cq(q{WITH c AS (SELECT * FROM sentiment_claim(100, '10 minutes', 'mentions'))
	SELECT count(*) FILTER (WHERE completed) || '/' || count(*) FROM sentiment_complete('mentions',
	  (SELECT jsonb_agg(jsonb_build_object('id', id, 'version', version, 'sentiment_label', 'neutral',
	     'sentiment_score', 0, 'topics', '["day"]'::jsonb)) FROM c),
	  (SELECT min(claim) FROM c))});
like($rest, qr/^(\d+)\/\1$/, 'a new analyser completes every row it claims');
is( cq(q{SELECT count(*) FROM mentions WHERE entry_id IN (SELECT id FROM killed)
	  AND processing_status = 'completed' AND sentiment_label = 'neutral' AND processing_attempts = 2}),
	'6', 'the killed analyser\'s rows are completed, on their second attempt');
is( cq(qq{SELECT string_agg(DISTINCT completed::text || ':' || coalesce(reason, ''), ',') FROM sentiment_complete('mentions',
	  (SELECT jsonb_agg(jsonb_build_object('id', m.entry_id, 'version', m.version, 'sentiment_label', 'positive',
	     'sentiment_score', 1)) FROM mentions m WHERE m.entry_id IN (SELECT id FROM killed)), '$dead')}),
	'false:not claimed by this claimant (lease expired or claim returned)',
	'the killed analyser\'s result, arriving late, is refused');
is( cq(q{SELECT count(*) FROM mention_topics WHERE mention_id IN (SELECT id FROM killed)}), '6',
	'each of its rows has its topic once');
is( cq(q{SELECT string_agg(processing_status || ':' || n, ',' ORDER BY processing_status)
	  FROM (SELECT processing_status, count(*) n FROM mentions GROUP BY 1) s}),
	'completed:29,failed:3,processing:8', 'every row ends completed once, but the failed ones and those still claimed');

done_testing();
