# Prometheus: the alerting rules pass promtool, and Debian's
# prometheus-postgres-exporter, run with contrib/prometheus's queries file
# against a node that processed a known number of rows, serves metrics equal
# to the monitoring views.  The exporter listens on 127.0.0.1 only, on a free
# port, and connects as a pg_monitor role, as docs/prometheus.md sets it up.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use HTTP::Tiny;
use IPC::Run;
use Time::HiRes qw(usleep);

my $contrib = 'contrib/prometheus';
my $queries = "$contrib/sentiment_proc_queries.yaml";

sub find_program
{
	my $name = shift;
	for my $dir (split(/:/, $ENV{PATH}), '/usr/bin', '/usr/sbin')
	{
		return "$dir/$name" if -x "$dir/$name";
	}
	return undef;
}
my $exporter = find_program('prometheus-postgres-exporter');
my $promtool = find_program('promtool');
plan skip_all => 'prometheus-postgres-exporter is not installed (apt-get install prometheus-postgres-exporter)'
  unless $exporter;
plan skip_all => 'promtool is not installed (apt-get install prometheus)'
  unless $promtool;

# ---- the rules: syntax and unit tests ---------------------------------------
{
	my ($out, $err);
	my $ok = IPC::Run::run([ $promtool, 'check', 'rules', "$contrib/sentiment_proc_alerts.yml" ],
		'>', \$out, '2>', \$err);
	ok($ok, 'promtool check rules accepts the alerting rules') or diag("$out$err");
	like($out, qr/SUCCESS: \d+ rules found/, 'and finds them');
	# promtool test rules resolves rule_files from the test file's folder
	$ok = IPC::Run::run([ $promtool, 'test', 'rules', "$contrib/sentiment_proc_alerts_test.yml" ],
		'>', \$out, '2>', \$err);
	ok($ok, 'promtool test rules: the alert unit tests pass') or diag("$out$err");
}

# ---- a node with two sources, processed by two workers -----------------------
my $node = PostgreSQL::Test::Cluster->new('prometheus');
$node->init;
# max_attempts = 1: a failed row stays failed, so the counts are exact.
# Workers wake at commits only (no polling, no upkeep during the test), so
# they sit idle while they are scraped.
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'sentiment_proc'
max_worker_processes = 16
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 2
sentiment_proc.max_attempts = 1
sentiment_proc.worker_poll_interval = '1h'
sentiment_proc.upkeep_interval = '1h'
});
$node->start;

my ($done, $bad, $reviews) = (1000, 7, 200);
$node->safe_psql('postgres', qq{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
SELECT sentiment_attach('reviews', topics_table => 'review_topics', embeddings_table => 'review_embeddings');
INSERT INTO sentiment_data (text) SELECT 'I love this #launch ' || g FROM generate_series(1, $done) g;
INSERT INTO sentiment_data (text) SELECT NULL FROM generate_series(1, $bad);
INSERT INTO reviews (text) SELECT 'terrible service, never again ' || g FROM generate_series(1, $reviews) g;
-- the exporter's role: monitoring views, and SELECT for the failures
CREATE ROLE prom_exporter LOGIN IN ROLE pg_monitor;
GRANT SELECT ON sentiment_data, reviews TO prom_exporter;
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status IN ('pending', 'processing')", '0')
	  && $node->poll_query_until('postgres',
		"SELECT count(*) FROM reviews WHERE processing_status IN ('pending', 'processing')", '0'),
	'the workers process both sources');
# statistics are added at the workers' commits: wait for the last one
ok($node->poll_query_until('postgres',
	"SELECT rows_completed || '/' || rows_failed FROM sentiment_stats WHERE source IS NULL",
	($done + $reviews) . "/$bad"),
	"sentiment_stats counts $done + $reviews completed, $bad failed");
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_workers WHERE kind = 'worker' AND state = 'idle'", '2'),
	'both workers are idle');

# ---- the exporter --------------------------------------------------------------
my $http_port = PostgreSQL::Test::Cluster::get_free_port();
my $url = "http://127.0.0.1:$http_port/metrics";
my $exporter_log = $PostgreSQL::Test::Utils::log_path . '/100_prometheus_exporter.log';
my $h;
{
	local $ENV{DATA_SOURCE_NAME} =
	  'host=' . $node->host . ' port=' . $node->port . ' user=prom_exporter dbname=postgres sslmode=disable';
	$h = IPC::Run::start(
		[ $exporter, "--web.listen-address=127.0.0.1:$http_port", "--extend.query-path=$queries" ],
		'>', $exporter_log, '2>&1');
}
END { $h->kill_kill(grace => 5) if $h; }

my $http = HTTP::Tiny->new(timeout => 30);

# One scrape: { "name{label=value,...}" => value } without the server label,
# and { name => type }.
sub scrape
{
	my ($res, %v, %type);
	for (1 .. 600)
	{
		$res = $http->get($url);
		last if $res->{success};
		usleep(100_000);
	}
	die "no metrics from $url: $res->{status} $res->{content}" unless $res->{success};
	for my $line (split /\n/, $res->{content})
	{
		if ($line =~ /^# TYPE (\S+) (\S+)/) { $type{$1} = $2; next; }
		next if $line =~ /^#/ || $line !~ /\S/;
		$line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/ or die "bad line: $line";
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my @l;
		while ($labels =~ /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)
		{
			push @l, "$1=$2" unless $1 eq 'server';
		}
		$v{ $name . '{' . join(',', sort @l) . '}' } = $value;
	}
	return (\%v, \%type, $res->{content});
}

my ($m, $type, $text) = scrape();
note "sentiment_* lines of the scrape:\n" . join("\n", grep { /^sentiment_/ } split /\n/, $text);
my @load = map { $m->{$_} } grep { /^pg_exporter_user_queries_load_error\{/ } keys %$m;
is(join(',', @load), '0', 'the exporter loads the queries file');
is($m->{'pg_up{}'}, '1', 'the exporter connects as the pg_monitor role');
is($m->{'pg_exporter_last_scrape_error{}'}, '0', 'every query of the file ran without error');

# Prometheus conventions: _total is a counter and every counter ends in
# _total; times are in seconds.
my @ours = grep { /^sentiment_/ } keys %$type;
cmp_ok(scalar(@ours), '>=', 30, 'at least 30 sentiment_ metrics: ' . scalar(@ours));
is(join(' ', sort grep { ($type->{$_} eq 'counter') != /_total$/ } @ours), '',
	'counters, and only counters, end in _total');
is(join(' ', sort grep { /_(ms|msec|millis|milliseconds)(_|$)/ || (/_time/ && !/_seconds(_total)?$/) } @ours),
	'', 'times are in seconds');

# Compare a metric with a value from SQL (numbers; times to 1e-6 s).
sub same
{
	my ($key, $expected, $what) = @_;
	my $got = $m->{$key};
	if (!defined $got)
	{
		fail("$what: $key is missing");
		return;
	}
	if ($expected eq '' )
	{
		is($got, 'NaN', "$what: $key is NaN for NULL");
		return;
	}
	ok(abs($got - $expected) <= 1e-6 * (1 + abs($expected)), "$what: $key = $got (SQL: $expected)");
}

# sentiment_stats, per source and the database total
for my $src ('sentiment_data', 'reviews')
{
	my @row = split /\|/, $node->safe_psql('postgres', qq{
		SELECT batches, rows_completed, rows_failed, batches_rolled_back, rows_rolled_back,
		       claim_time / 1000, analyse_time / 1000, write_time / 1000,
		       extract(epoch FROM last_batch_at), last_batch_rows, last_batch_time / 1000,
		       extract(epoch FROM stats_since)
		  FROM sentiment_stats WHERE source = '$src'::regclass});
	my $l = "{datname=postgres,source=$src}";
	my @names = qw(batches_total rows_completed_total rows_failed_total batches_rolled_back_total
	  rows_rolled_back_total claim_seconds_total analyse_seconds_total write_seconds_total
	  last_batch_timestamp_seconds last_batch_rows last_batch_duration_seconds since_timestamp_seconds);
	same("sentiment_stats_$names[$_]$l", $row[$_], 'sentiment_stats') for 0 .. $#names;
}
is($m->{'sentiment_stats_rows_completed_total{datname=postgres,source=sentiment_data}'}, $done,
	"$done rows of sentiment_data completed");
is($m->{'sentiment_stats_rows_failed_total{datname=postgres,source=sentiment_data}'}, $bad,
	"$bad rows of sentiment_data failed");
is($m->{'sentiment_stats_rows_completed_total{datname=postgres,source=reviews}'}, $reviews,
	"$reviews rows of reviews completed");
is($m->{'sentiment_database_rows_completed_total{datname=postgres}'}, $done + $reviews,
	'the database total');
is($m->{'sentiment_database_rows_failed_total{datname=postgres}'}, $bad, 'the database total of failures');
# who did the work: here the server alone (test/sql/monitoring.sql counts external work)
is($m->{'sentiment_processor_rows_completed_total{datname=postgres,processor=in_server,source=sentiment_data}'},
	$done, 'rows of sentiment_data completed in the server');
is($m->{'sentiment_processor_rows_completed_total{datname=postgres,processor=external,source=sentiment_data}'},
	0, 'none of them by an external analyser');

# the queue
for my $src ('sentiment_data', 'reviews')
{
	my @row = split /\|/, $node->safe_psql('postgres',
		"SELECT pending, processing, failed, counts_capped::int FROM sentiment_queue_status WHERE source = '$src'::regclass");
	my $l = "{datname=postgres,source=$src}";
	same("sentiment_queue_pending_rows$l", $row[0], 'sentiment_queue_status');
	same("sentiment_queue_processing_rows$l", $row[1], 'sentiment_queue_status');
	same("sentiment_queue_failed_rows$l", $row[2], 'sentiment_queue_status');
	same("sentiment_queue_counts_capped$l", $row[3], 'sentiment_queue_status');
	same("sentiment_queue_oldest_pending_age_seconds$l", 0, 'nothing pending');
}

# failures by error
is($node->safe_psql('postgres', "SELECT source || ' ' || error || ' ' || rows FROM sentiment_failures"),
	"sentiment_data text is null $bad", 'sentiment_failures has one error');
same('sentiment_failures_rows{datname=postgres,error=text is null,source=sentiment_data}', $bad,
	'sentiment_failures');
same('sentiment_failures_last_failed_timestamp_seconds{datname=postgres,error=text is null,source=sentiment_data}',
	$node->safe_psql('postgres', 'SELECT extract(epoch FROM last_failed_at) FROM sentiment_failures'),
	'sentiment_failures');
is(scalar(grep { /^sentiment_failures_rows\{/ } keys %$m), 1, 'no failures series for reviews');

# workers
same('sentiment_workers_configured{database=postgres}', 2, 'settings');
same('sentiment_workers_running{database=postgres}', 2, 'sentiment_workers');
same('sentiment_launcher_up{}', 1, 'sentiment_workers');
for my $w (0, 1)
{
	my @row = split /\|/, $node->safe_psql('postgres', qq{
		SELECT batches, rows_processed, wakeups, claims_recovered, extract(epoch FROM started_at)
		  FROM sentiment_workers WHERE kind = 'worker' AND worker_index = $w});
	my $l = "{database=postgres,worker=$w}";
	same("sentiment_worker_up$l", 1, 'sentiment_workers');
	# batches that finished rows (idle polls are not counted)
	my $batches = $m->{"sentiment_worker_batches_total$l"} // -1;
	ok($batches >= 0 && $batches <= $row[0], "sentiment_worker_batches_total$l = $batches (SQL, later: $row[0])");
	same("sentiment_worker_rows_total$l", $row[1], 'sentiment_workers');
	same("sentiment_worker_wakeups_total$l", $row[2], 'sentiment_workers');
	same("sentiment_worker_claims_recovered_total$l", $row[3], 'sentiment_workers');
	same("sentiment_worker_start_time_seconds$l", $row[4], 'sentiment_workers');
	same("sentiment_worker_last_error$l", 0, 'no error');
	my @states = grep { /^sentiment_worker_state\{database=postgres,state=[^,]*,worker=$w\}$/ } keys %$m;
	is(scalar(@states), 7, "worker $w: a series for each of the 7 states");
	is(join(' ', map { /state=([^,]*)/ } grep { $m->{$_} == 1 } @states), 'idle',
		"worker $w: state set, 1 for idle only");
}
is($m->{'sentiment_worker_rows_total{database=postgres,worker=0}'}
	  + $m->{'sentiment_worker_rows_total{database=postgres,worker=1}'},
	$done + $bad + $reviews, 'the workers finished every row between them');

# ---- a backlog, and workers that cannot start ------------------------------------
# The workers are sent to a database that does not exist: none runs, the
# rows inserted now stay pending, ten minutes old by their created_at.
$node->append_conf('postgresql.conf', "sentiment_proc.databases = 'no_such_db'\n");
$node->reload;
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_workers WHERE kind = 'worker'", '0'),
	'no workers run for a database that does not exist');
$node->safe_psql('postgres',
	"INSERT INTO sentiment_data (text, created_at) SELECT 'waiting ' || g, now() - interval '10 minutes' FROM generate_series(1, 25) g");
is(scalar(grep { /^sentiment_stuck_rows\{/ } keys %$m), 0, 'no stuck claims before: no sentiment_stuck_rows series');
# An external analyser claims 3 of them and its session ends: stuck claims.
$node->safe_psql('postgres', "SELECT count(*) FROM sentiment_claim(3, interval '1 hour', 'sentiment_data')");
ok($node->poll_query_until('postgres', 'SELECT count(*) FROM sentiment_stuck', '3'),
	'three claims are stuck once their session is gone');
($m, $type, $text) = scrape();
my @q = split /\|/, $node->safe_psql('postgres',
	"SELECT pending, extract(epoch FROM oldest_pending_age) FROM sentiment_queue_status WHERE source = 'sentiment_data'::regclass");
is($q[0], 22, '22 rows pending');
same('sentiment_queue_pending_rows{datname=postgres,source=sentiment_data}', 22, 'the backlog');
same('sentiment_queue_processing_rows{datname=postgres,source=sentiment_data}', 3, 'claimed');
cmp_ok($m->{'sentiment_queue_oldest_processing_age_seconds{datname=postgres,source=sentiment_data}'} // -1, '>', 0,
	'the oldest claim has an age');
same('sentiment_stuck_rows{datname=postgres,reason=claimant gone,source=sentiment_data}', 3, 'sentiment_stuck');
same('sentiment_batches_in_flight{datname=postgres}', 0, 'sentiment_batch_progress');
same('sentiment_batches_longest_seconds{datname=postgres}', 0, 'sentiment_batch_progress');
my $age = $m->{'sentiment_queue_oldest_pending_age_seconds{datname=postgres,source=sentiment_data}'};
ok(defined $age && $age >= 600 && $age <= $q[1], "the oldest pending row is 10 minutes old: $age s");
same('sentiment_workers_configured{database=no_such_db}', 2, 'settings');
same('sentiment_workers_running{database=no_such_db}', 0, 'none runs: SentimentWorkersDown would fire');
ok(!exists $m->{'sentiment_workers_running{database=postgres}'}, 'postgres is no longer listed');
same('sentiment_launcher_up{}', 1, 'the launcher still runs');

# ---- embeddings waiting for their HNSW index (pgvector) -----------------------
my $sharedir = `pg_config --sharedir`;
chomp $sharedir;
SKIP:
{
	skip 'pgvector is not installed', 4 unless -f "$sharedir/extension/vector.control";
	is(scalar(grep { /^sentiment_embedding_lag_/ } keys %$m), 0, 'no source with a lane: no lag series');
	# processed by hand (no worker runs): the embeddings wait in the lane
	$node->safe_psql('postgres', q{
		CREATE EXTENSION vector;
		SELECT sentiment_attach('clips', topics_table => 'clip_topics', embeddings_table => 'clip_embeddings');
		GRANT SELECT ON clips, clip_embeddings_lane TO prom_exporter;
		INSERT INTO clips (text) SELECT 'great clip ' || g FROM generate_series(1, 4) g;
		SELECT sentiment_process_batch(100, 'clips');
		UPDATE clip_embeddings_lane SET staged_at = now() - interval '5 minutes';});
	($m, $type, $text) = scrape();
	same('sentiment_embedding_lag_waiting_rows{datname=postgres,source=clips}', 4, 'sentiment_embedding_lag');
	my $lag = $m->{'sentiment_embedding_lag_oldest_waiting_age_seconds{datname=postgres,source=clips}'};
	ok(defined $lag && $lag >= 300, "the oldest waits 5 minutes: $lag s");
	is($m->{'pg_exporter_last_scrape_error{}'}, '0', 'every query ran without error');
}

$h->kill_kill(grace => 5);
undef $h;
$node->stop;
done_testing();
