# The Python client of the two-phase API (examples/python/sentiment_worker.py)
# on 10,000 rows, two clients at once, with the model of
# test/python/fault_model.py: one row fails on purpose; one client hangs on a
# row, its lease expires, its claims are returned (sentiment_reset_stuck, as
# an operator runs it without workers) and taken by the other client, and it
# is killed with SIGKILL.  Every row is then checked: its result is the
# model's, it was completed once (a ledger trigger), and abandoned claims
# show in its attempts and history.  Then SIGTERM in the middle of a batch:
# the client stores what it analysed, gives the rest back and exits 0.
# Last, the README's privileges and model beside a second table the role may
# not process (skipped, said once), a result's fields checked against
# sentiment_result_fields(), and a client that cannot connect at all (exits 1
# instead of retrying forever).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use IPC::Run;

my $python = '/usr/bin/python3';
if (system("$python -c 'import psycopg2' >/dev/null 2>&1") != 0)
{
	plan skip_all => "$python cannot import psycopg2: install python3-psycopg2 (scripts/deps-test.sh)";
}

my $rows = 10_000;
my $root = $ENV{TESTDIR} || '.';
my $client = "$root/examples/python/sentiment_worker.py";
$ENV{PYTHONPATH} = "$root/examples/python:$root/test/python";

my $node = PostgreSQL::Test::Cluster->new('python_client');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'sentiment_proc'
});
$node->start;
my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';

$node->safe_psql('postgres', qq{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
INSERT INTO sentiment_data (text)
SELECT CASE g WHEN 4242 THEN 'FAIL-ME mention ' || g WHEN 250 THEN 'HANG mention ' || g
	   ELSE 'mention ' || g || ' is ' || (ARRAY['great', 'awful', 'fine'])[1 + g % 3] || ' #py' || (g % 5) END
  FROM generate_series(1, $rows) g;

-- one line per completion, by the completing transaction, with who did it
CREATE TABLE ledger (entry_id bigint NOT NULL, who text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION ledger_completed() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	INSERT INTO public.ledger (entry_id, who) VALUES (NEW.entry_id, current_setting('application_name'));
	RETURN NULL;
END \$\$;
CREATE TRIGGER ledger AFTER UPDATE ON sentiment_data
	FOR EACH ROW WHEN (NEW.processing_status = 'completed') EXECUTE FUNCTION ledger_completed();
});

my $tmp = PostgreSQL::Test::Utils::tempdir;
$ENV{HANG_FILE} = "$tmp/hang";

# A client: name, model delay per chunk, lease, extra arguments.
sub start_client
{
	my ($name, $delay, $lease, @extra) = @_;
	local $ENV{MODEL_DELAY} = $delay;
	return IPC::Run::start(
		[ $python, $client, '--dsn', $dsn, '--model', 'fault_model:analyse', '--name', $name,
		  '--batch-size', '500', '--chunk-size', '100', '--lease', $lease, '--idle-sleep', '0.2', @extra ],
		'>', "$tmp/$name.out", '2>', "$tmp/$name.err");
}

sub slurp_log { my $f = shift; open(my $fh, '<', $f) or return ''; local $/; return <$fh>; }

# Client a claims the first batch and hangs in it (only its model has a
# HANG_FILE); its lease is long enough for it to reach the HANG row on a
# loaded machine before the lease could run out.  Client b's batches take
# longer than half its lease (5 chunks of 0.15 s against 1 s), so it must
# renew them.
my $ca = start_client('client_a', 0.05, 10);
ok($node->poll_query_until('postgres',
	"SELECT processing_status = 'processing' FROM sentiment_data WHERE entry_id = 250"),
	'client a claims the first batch');
my $cb;
{
	local $ENV{HANG_FILE};
	delete $ENV{HANG_FILE};
	$cb = start_client('client_b', 0.15, 1);
}
END { $_ && $_->kill_kill(grace => 2) for ($ca, $cb); }

# The operator's upkeep without background workers: return expired claims.
sub upkeep { $node->safe_psql('postgres', 'SELECT sentiment_reset_stuck()'); }

my $t0 = time();
for (1 .. 600)
{
	last if -e $ENV{HANG_FILE};
	upkeep();
	usleep(100_000);
}
ok(-e $ENV{HANG_FILE}, 'client a hangs on the HANG row with its batch claimed');

# Its lease expires; the claims go back and client b takes them.
ok($node->poll_query_until('postgres', q{
SELECT sentiment_reset_stuck() >= 0
   AND (SELECT processing_attempts >= 2 FROM sentiment_data WHERE entry_id = 250)}),
	'the hung client\'s lease expired and its rows were returned and claimed again');
my $pid_a = slurp_log($ENV{HANG_FILE});
kill 'KILL', $pid_a;
$ca->finish;
is($ca->full_result(0) & 127, 9, 'client a was killed with SIGKILL');

# Client b finishes everything.
for (1 .. 1200)
{
	last if $node->safe_psql('postgres',
		"SELECT count(*) FROM sentiment_data WHERE processing_status IN ('pending', 'processing')") == 0;
	upkeep();
	usleep(100_000);
}
my $elapsed = time() - $t0;
is($node->safe_psql('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status IN ('pending', 'processing')"),
	'0', 'no row is left pending or processing');
$cb->signal('TERM');
$cb->finish;
is($cb->result(0), 0, 'client b exits with status 0 on SIGTERM');
my $blog = slurp_log("$tmp/client_b.err");
like($blog, qr/done: claimed=\d+ completed=\d+ failed=\d+/, 'and logs what it did');
my ($renewals) = $blog =~ /renewals=(\d+)/;
cmp_ok($renewals // 0, '>', 0, "client b renewed its leases ($renewals renewals)");
diag("python client: $rows rows by two clients in " . sprintf('%.1f', $elapsed)
	  . " s with model delays; client b: " . ($blog =~ /done: (.*)/)[0]);

# ---- row by row ---------------------------------------------------------------
is($node->safe_psql('postgres', q{
SELECT string_agg(processing_status || '=' || n, ' ' ORDER BY processing_status)
  FROM (SELECT processing_status, count(*) n FROM sentiment_data GROUP BY 1) c}),
	'completed=' . ($rows - 1) . ' failed=1', 'all rows completed but the one that fails on purpose');
is($node->safe_psql('postgres', q{
SELECT entry_id || ' ' || processing_error || ' ' || (processing_retry_at IS NULL) || ' '
	   || processing_attempts || ' ' || (processing_error_history -> -1 ->> 'sqlstate')
  FROM sentiment_data WHERE processing_status = 'failed'}),
	'4242 injected failure true 1 22000', 'the injected failure: recorded once, not retried, with its SQLSTATE');
is($node->safe_psql('postgres', q{
SELECT count(*) || ' ' || count(DISTINCT entry_id) FROM ledger}),
	($rows - 1) . ' ' . ($rows - 1), 'every completed row was completed exactly once');
is($node->safe_psql('postgres', q{
SELECT string_agg(DISTINCT who, ',' ORDER BY who) FROM ledger}), 'client_a,client_b',
	'by the two clients');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM sentiment_data s
 WHERE s.processing_status = 'completed' AND NOT (
	   s.sentiment_label = CASE WHEN s.text LIKE '%great%' THEN 'positive' WHEN s.text LIKE '%awful%' THEN 'negative'
							   ELSE 'neutral' END
   AND s.sentiment_score = CASE WHEN s.text LIKE '%great%' THEN 0.5 WHEN s.text LIKE '%awful%' THEN -0.5 ELSE 0 END
   AND s.emotion_label = 'calm' AND s.emotion_score = 0.25 AND s.language = 'en'
   AND (SELECT e.embedding FROM sentiment_embeddings e WHERE e.entry_id = s.entry_id)
	   = ARRAY[length(s.text), s.entry_id % 7]::real[] || array_fill(0::real, ARRAY[254])
   AND (SELECT COALESCE(array_agg(t.topic_key), '{}') FROM mention_topics t WHERE t.mention_id = s.entry_id)
	   = COALESCE(regexp_match(s.text, '#(py\d)'), '{}'))}),
	'0', 'every completed row holds the model\'s result: label, score, emotion, language, embedding, topics');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM sentiment_data
 WHERE processing_attempts <> 1 + (SELECT count(*) FROM jsonb_array_elements(processing_error_history) h
									WHERE h ->> 'message' LIKE 'claim abandoned: %')}),
	'0', 'each row was claimed once, plus once more for each abandoned claim, each recorded');
my $expired = $node->safe_psql('postgres', q{
SELECT count(*) FROM sentiment_data
 WHERE processing_error_history -> 0 ->> 'message' = 'claim abandoned: lease expired'});
cmp_ok($expired, '>=', 1, "the hung batch's rows were returned after the lease expired ($expired rows)");
is($node->safe_psql('postgres', q{
SELECT (processing_attempts >= 2) || ' ' || (processing_error_history -> 0 ->> 'message') || ' ' || who
  FROM sentiment_data JOIN ledger USING (entry_id) WHERE entry_id = 250}),
	'true claim abandoned: lease expired client_b', 'the row client a hung on was completed by client b');

# ---- SIGTERM in the middle of a batch ----------------------------------------
$node->safe_psql('postgres', q{
INSERT INTO sentiment_data (text) SELECT 'late mention ' || g || ' is great' FROM generate_series(1, 1000) g});
my $c = start_client('client_c', 0.3, 60);
ok($node->poll_query_until('postgres', "SELECT count(*) >= 100 FROM ledger WHERE who = 'client_c'"),
	'client c stores its first chunk');
$c->signal('TERM');
$c->finish;
is($c->result(0), 0, 'client c exits with status 0 on SIGTERM in the middle of a batch');
my $clog = slurp_log("$tmp/client_c.err");
my ($released) = $clog =~ /released=(\d+)/;
cmp_ok($released // 0, '>', 0, "it gave back the rows it had not analysed ($released)");
is($node->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE processing_status = 'processing') || ' '
	   || count(*) FILTER (WHERE processing_status = 'pending' AND processing_attempts = 0) || ' '
	   || count(*) FILTER (WHERE processing_status = 'completed')
  FROM sentiment_data WHERE entry_id > $rows}),
	'0 ' . (1000 - ($clog =~ /completed=(\d+)/)[0]) . ' ' . ($clog =~ /completed=(\d+)/)[0],
	'none left processing: what it analysed is completed, the rest pending and untried');
my $d = start_client('client_d', 0, 60, '--exit-when-idle');
$d->finish;
is($d->result(0), 0, 'a client run with --exit-when-idle finishes the rest and exits 0');
is($node->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE s.processing_status = 'completed') || ' ' || count(l.entry_id) || ' '
	   || count(DISTINCT l.entry_id)
  FROM sentiment_data s LEFT JOIN ledger l USING (entry_id) WHERE s.entry_id > $rows}),
	'1000 1000 1000', 'the late rows are all completed, each once');

# ---- a rate, for the record (no model delay, one client) ------------------------
$node->safe_psql('postgres', qq{
INSERT INTO sentiment_data (text)
SELECT 'rate mention ' || g || ' is ' || (ARRAY['great', 'awful', 'fine'])[1 + g % 3] || ' #py' || (g % 5)
  FROM generate_series(1, $rows) g});
my $e = start_client('client_e', 0, 60, '--exit-when-idle', '--batch-size', '1000', '--chunk-size', '1000');
$e->finish;
is($e->result(0), 0, "one client, no model delay, $rows rows");
diag('python client rate: ' . (slurp_log("$tmp/client_e.err") =~ /done: (.*)/)[0]);

# ---- the README's privileges and model, beside a table the role may not process ----
# The role gets exactly examples/python/README.md's grants (on sentiment_data
# only) and runs the README's model; a second attached table must be skipped
# with one warning, not end the client.
sub readme_block
{
	my ($after, $lang) = @_;
	my $readme = slurp_log("$root/examples/python/README.md");
	my ($block) = $readme =~ /\Q$after\E.*?```$lang\n(.*?)```/s;
	return $block // die "no $lang block after '$after' in examples/python/README.md";
}
$node->safe_psql('postgres', q{
DROP TRIGGER ledger ON sentiment_data;
SELECT sentiment_attach('other_data', topics_table => 'other_topics', embeddings_table => 'other_embeddings');
INSERT INTO other_data (text) SELECT 'other mention ' || g FROM generate_series(1, 5) g;
INSERT INTO sentiment_data (text) SELECT 'readme mention ' || g FROM generate_series(1, 20) g;
CREATE ROLE analyser LOGIN;
} . readme_block('## Privileges', 'sql'));
open(my $fh, '>', "$tmp/readme_model.py") or die;
print $fh readme_block("## The model's contract", 'python'),
  "\n\ndef my_embedding(text: str) -> List[float]:\n    return [1.0] + [0.0] * 255\n";
close $fh;
{
	local $ENV{PYTHONPATH} = "$ENV{PYTHONPATH}:$tmp";
	my ($out, $err);
	my $ok = IPC::Run::run([ $python, $client, '--dsn', "$dsn user=analyser", '--model', 'readme_model:analyse',
		'--exit-when-idle', '--idle-sleep', '0.2' ], '>', \$out, '2>', \$err, IPC::Run::timeout(120));
	ok($ok, 'a client with the README\'s privileges and model exits 0 beside a table it may not process')
	  or diag($err);
	my @skips = $err =~ /skipping table other_data/g;
	is(scalar @skips, 1, 'it says once that it skips the table it may not process') or diag($err);
	is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE processing_status = 'completed' AND sentiment_label = 'positive'
						AND sentiment_score = 0.8 AND emotion_label = 'joy') || ' '
	   || count(*) FILTER (WHERE processing_status <> 'completed')
  FROM sentiment_data WHERE text LIKE 'readme mention %'}), '20 0',
		'the README\'s model completed every row of the table it may process');
	is($node->safe_psql('postgres', q{
SELECT string_agg(DISTINCT processing_status, ',') || ' ' || sum(processing_attempts) FROM other_data}),
		'pending 0', 'the other table was left alone');
}

# ---- a result's fields are the ones the server lists ---------------------------------
{
	my ($out, $err);
	my $ok = IPC::Run::run([ $python, '-c', q{
import sys
from sentiment_worker import Config, Mention, Result, Worker, result_json
w = Worker(Config(dsn=sys.argv[1]), lambda ms: [])
w.connect()
m = Mention("t", 1, "x", 0, 1)
print(result_json([(m, Result("neutral", 0.0, language="de"))], w.result_fields))
try:
    result_json([(m, Result("neutral", 0.0, mood="calm"))], w.result_fields)
except ValueError as e:
    print(e)
}, $dsn ], '>', \$out, '2>', \$err, IPC::Run::timeout(60));
	ok($ok, 'the worker reads the fields of a result from sentiment_result_fields()') or diag($err);
	is($out, qq{[{"id": 1, "version": 0, "sentiment_label": "neutral", "sentiment_score": 0.0, "language": "de"}]
mood is not a field of a result (see sentiment_result_fields())
}, 'a field the server lists goes to sentiment_complete; one it does not is refused');
}

# ---- a client that never connected exits with an error ----------------------------
{
	my ($out, $err);
	my $t = time();
	my $ok = IPC::Run::run([ $python, $client, '--dsn', "$dsn user=no_such_role", '--idle-sleep', '0.2' ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(120));
	ok(!$ok && ($? >> 8) == 1, 'a client whose first connection fails exits with status 1')
	  or diag("status $?: $err");
	like($err, qr/could not connect: .*no_such_role/, 'and says why');
	unlike($err, qr/reconnecting/, 'without trying again');
}

$node->stop;
done_testing();
