# pg_cron on a server set up like Debian's: password authentication on TCP
# (pg_hba "host all all 127.0.0.1/32 scram-sha-256"), where pg_cron's default
# connection to localhost fails.  The set-up docs/usage.md documents
# (cron.use_background_workers, a LOGIN role in the operator role, the
# every-minute schedule) must run the job successfully.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;

my $node = sp_node('cron_debian', pg_cron => 1, conf => q{
listen_addresses = '127.0.0.1'
password_encryption = 'scram-sha-256'
cron.use_background_workers = on
max_worker_processes = 20
});
# Debian's pg_hba.conf: the socket for local users, passwords on TCP.
open(my $hba, '>', $node->data_dir . '/pg_hba.conf') or die;
print $hba "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n";
close $hba;
$node->reload;

my ($ret, $out, $err) = $node->psql('postgres', 'SELECT 1',
	connstr => 'host=127.0.0.1 port=' . $node->port . ' dbname=postgres user=' . $node->safe_psql('postgres', 'SELECT current_user'),
	extra_params => ['-w']);
isnt($ret, 0, 'TCP to localhost asks for a password, as on Debian');
like($err, qr/password/, 'the refusal is about the password');

# The documented set-up: the operator recipe (settings-and-roles.md), then
# the pg_cron block of usage.md.
$node->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
CREATE ROLE sentiment_reader NOLOGIN;
GRANT pg_monitor TO sentiment_reader;
GRANT SELECT ON sentiment_data, mention_topics, sentiment_embeddings TO sentiment_reader;
CREATE ROLE sentiment_operator NOLOGIN IN ROLE sentiment_reader;
GRANT EXECUTE ON FUNCTION sentiment_process_batch(integer, regclass),
  sentiment_retry_failed(regclass, bigint[], text, text),
  sentiment_reset_stuck(regclass, boolean) TO sentiment_operator;
GRANT UPDATE ON sentiment_data TO sentiment_operator;

CREATE EXTENSION pg_cron;
CREATE ROLE sentiment_cron LOGIN IN ROLE sentiment_operator;
GRANT USAGE ON SCHEMA cron TO sentiment_cron;
SET ROLE sentiment_cron;
SELECT cron.schedule('sentiment-batch', '* * * * *', $$SELECT sentiment_process_batch(500)$$);
RESET ROLE;
-- the operator group itself cannot run a job: it has no LOGIN
CREATE ROLE sentiment_cron_nologin NOLOGIN IN ROLE sentiment_operator;
GRANT USAGE ON SCHEMA cron TO sentiment_cron_nologin;
SET ROLE sentiment_cron_nologin;
SELECT cron.schedule('nologin-batch', '* * * * *', $$SELECT sentiment_process_batch(500)$$);
RESET ROLE;
INSERT INTO sentiment_data (text) SELECT 'scheduled mention ' || g || ' is great' FROM generate_series(1, 50) g;
});
is($node->safe_psql('postgres', "SELECT username FROM cron.job WHERE jobname = 'sentiment-batch'"),
	'sentiment_cron', 'the job runs as the role that scheduled it');

ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	 WHERE j.jobname = 'sentiment-batch' AND d.status IN ('succeeded', 'failed')}),
	'the job ran (it is scheduled every minute)');
is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT d.status || ': ' || coalesce(d.return_message, ''), '; ')
	  FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	 WHERE j.jobname = 'sentiment-batch' AND d.status IN ('succeeded', 'failed')}),
	'succeeded: SELECT 1', 'it succeeded: no connection failed, no privilege missing');
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE processing_status = 'completed' AND sentiment_label = 'positive') FROM sentiment_data}),
	'50', 'and processed the rows');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	 WHERE j.jobname = 'nologin-batch' AND d.status IN ('succeeded', 'failed')}),
	'the job of the NOLOGIN role ran too');
my $nologin = $node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT d.status || ': ' || coalesce(d.return_message, ''), '; ')
	  FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	 WHERE j.jobname = 'nologin-batch' AND d.status IN ('succeeded', 'failed')});
like($nologin, qr/^failed/, "a job's role needs LOGIN, also with background workers ($nologin)");

# The schedule in seconds needs pg_cron 1.5 or later, as the docs say.
my $version = $node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'");
($ret, $out, $err) = $node->psql('postgres',
	q{SELECT cron.schedule('sentiment-fast', '5 seconds', $$SELECT sentiment_process_batch(500)$$)});
my ($major, $minor) = $version =~ /^(\d+)\.(\d+)/;
if ($major > 1 || $minor >= 5)
{
	is($ret, 0, "pg_cron $version takes '5 seconds'");
}
else
{
	like($err, qr/invalid schedule/, "pg_cron $version refuses '5 seconds' with \"invalid schedule\", as the docs say");
}

$node->stop;
done_testing();
