# Migrating a live pipeline: the original design's worker (claim pending rows
# with FOR UPDATE SKIP LOCKED, commit them 'processing', analyse, write
# 'completed' in a second transaction) keeps running while the table is
# adopted and our background workers start on it, with rows arriving.  Then
# it is stopped in the middle of a batch, leaving its claims behind, and our
# workers finish.
#
# A ledger filled by a trigger in the completing transaction itself shows
# every row completed exactly once, by exactly one of the two; nothing the
# old worker wrote is overwritten; the rows it abandoned (and rows found in
# flight at adoption without a start time) are taken only after the table's
# grace period; the monitoring views tell the two systems apart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use IPC::Run;

my $grace = 5;          # seconds: the table's own grace period
my $pause = 0.4;        # seconds the old worker spends analysing a batch
my $chunks = 10;        # rows arriving during the run: $chunks x $chunk
my $chunk = 100;

my $node = PostgreSQL::Test::Cluster->new('migration');
$node->init;
my $host = $node->host;
my $port = $node->port;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'sentiment_proc'
max_worker_processes = 16
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 2
sentiment_proc.worker_batch_size = 10
sentiment_proc.upkeep_interval = '200ms'
sentiment_proc.worker_poll_interval = '200ms'
});
$node->start;

# The old system's schema, as the design note's migration left it, with rows
# done, rows in flight at adoption whose worker has gone (no start time), and
# rows waiting.
$node->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
CREATE TABLE sentiment_data (
	entry_id serial PRIMARY KEY,
	text text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	sentiment_label varchar(20),
	emotion_label varchar(20),
	emotion_score double precision,
	influence_weight double precision,
	processing_status varchar(20) DEFAULT 'pending',
	processing_started_at timestamptz,
	processing_completed_at timestamptz,
	processing_error text);
CREATE INDEX idx_sentiment_data_processing_status ON sentiment_data (processing_status)
	WHERE processing_status IN ('pending', 'processing');
CREATE TABLE mention_topics (
	mention_id integer NOT NULL REFERENCES sentiment_data (entry_id),
	topic_key text NOT NULL,
	PRIMARY KEY (mention_id, topic_key));

INSERT INTO sentiment_data (text, sentiment_label, emotion_label, processing_status,
							processing_started_at, processing_completed_at)
SELECT 'done long ago ' || g, 'neutral', 'seed', 'completed', now() - interval '1 day', now() - interval '1 day'
  FROM generate_series(1, 50) g;
INSERT INTO sentiment_data (text, processing_status)
SELECT 'in flight when adopted ' || g, 'processing' FROM generate_series(1, 3) g;
INSERT INTO sentiment_data (text)
SELECT 'waiting mention ' || g || (ARRAY[' is great', ' is awful', ' :) love it'])[1 + g % 3]
  FROM generate_series(1, 200) g;

-- The ledger: one line per completion, written by the completing
-- transaction, with who completed.
CREATE TABLE ledger (
	entry_id integer NOT NULL,
	who text NOT NULL,
	sentiment_label text,
	emotion_label text,
	at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION ledger_completed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	-- qualified: our batches run with search_path pinned to pg_catalog
	INSERT INTO public.ledger (entry_id, who, sentiment_label, emotion_label)
	SELECT NEW.entry_id,
		   CASE WHEN current_setting('application_name') LIKE 'seed_worker%' THEN 'seed'
				WHEN a.backend_type = 'sentiment_proc worker' THEN 'ours'
				ELSE 'unexpected: ' || a.backend_type || ' ' || a.application_name END,
		   NEW.sentiment_label, NEW.emotion_label
	  FROM pg_catalog.pg_stat_activity a WHERE a.pid = pg_catalog.pg_backend_pid();
	RETURN NULL;
END $$;
CREATE TRIGGER ledger AFTER UPDATE ON sentiment_data
	FOR EACH ROW WHEN (NEW.processing_status = 'completed') EXECUTE FUNCTION ledger_completed();
});

# The old worker, exactly as the design note's SentimentProcessor.process_batch
# runs it: claim pending rows without results FOR UPDATE SKIP LOCKED and mark
# them processing with their start time, commit; analyse with no database
# access (its own "model": emotion 'seed', topic 'seed'); write results and
# 'completed', commit.  Its application_name says which phase it is in.
$node->safe_psql('postgres', qq{
CREATE PROCEDURE seed_worker(p_batch integer, p_pause float8)
LANGUAGE plpgsql AS \$\$
DECLARE
	v_ids integer[];
BEGIN
	LOOP
		PERFORM set_config('application_name', 'seed_worker claiming', false);
		-- 1. claim
		SELECT array_agg(c.entry_id) INTO v_ids
		  FROM (SELECT s.entry_id FROM sentiment_data s
				 WHERE s.processing_status = 'pending' AND s.sentiment_label IS NULL
				 LIMIT p_batch FOR UPDATE SKIP LOCKED) c;
		IF v_ids IS NULL THEN
			COMMIT;
			PERFORM pg_sleep(0.02);
			CONTINUE;
		END IF;
		-- 2. mark as processing
		UPDATE sentiment_data SET processing_status = 'processing', processing_started_at = clock_timestamp()
		 WHERE entry_id = ANY (v_ids);
		COMMIT;
		-- 3. process (no database access)
		PERFORM set_config('application_name', 'seed_worker analysing', false);
		PERFORM pg_sleep(p_pause);
		-- 4. results, and the related tables
		PERFORM set_config('application_name', 'seed_worker writing', false);
		UPDATE sentiment_data
		   SET sentiment_label = (ARRAY['negative', 'neutral', 'positive'])[1 + entry_id % 3],
			   emotion_label = 'seed', emotion_score = 0.5, influence_weight = 1,
			   processing_status = 'completed', processing_completed_at = clock_timestamp()
		 WHERE entry_id = ANY (v_ids);
		INSERT INTO mention_topics (mention_id, topic_key) SELECT unnest(v_ids), 'seed';
		COMMIT;
	END LOOP;
END \$\$;
});

my $tmp = PostgreSQL::Test::Utils::tempdir;
my @seeds;
for my $n (1, 2)
{
	push @seeds, IPC::Run::start(
		[ 'psql', '-X', '-q', '-h', $host, '-p', $port, '-d', 'postgres',
		  '-c', "CALL seed_worker(20, $pause)" ],
		'>', "$tmp/seed$n.out", '2>', "$tmp/seed$n.err");
}
END { $_->kill_kill(grace => 2) for @seeds; }

ok($node->poll_query_until('postgres',
	"SELECT count(*) >= 20 FROM ledger WHERE who = 'seed'"),
	'the old worker processes rows on its own');

# Adopt the table while it runs; the table's own grace period in the same
# transaction.
my $attached_at = $node->safe_psql('postgres', qq{
BEGIN;
SELECT sentiment_attach('sentiment_data');
SELECT sentiment_set_foreign_grace('sentiment_data', interval '$grace seconds');
SELECT now();
COMMIT;
});
($attached_at) = grep { /\d{4}-/ } split /\n/, $attached_at;
ok(defined $attached_at, "attached at $attached_at");

# Rows arrive; both systems take them.  The cutover view shows the old
# worker's claims as foreign.
my $max_foreign = 0;
for my $c (1 .. $chunks)
{
	$node->safe_psql('postgres', qq{
INSERT INTO sentiment_data (text)
SELECT 'arriving mention $c-' || g || (ARRAY[' is great', ' is awful', ' :) love it', ' meh'])[1 + g % 4]
  FROM generate_series(1, $chunk) g;
});
	my $f = $node->safe_psql('postgres',
		"SELECT processing_foreign FROM sentiment_cutover WHERE source = 'sentiment_data'::regclass");
	$max_foreign = $f if $f > $max_foreign;
	usleep(300_000);
}
cmp_ok($max_foreign, '>', 0, "sentiment_cutover showed the old worker's claims ($max_foreign at most)");

# Stop the old worker in the middle of a batch: each session is terminated
# while analysing, its claim committed (checked and signalled in one
# statement).
my $stopped = 0;
for (1 .. 500)
{
	$stopped += $node->safe_psql('postgres', q{
WITH a AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = 'seed_worker analysing')
SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid)) FROM a});
	last if $stopped >= 2;
	# a session with nothing to claim gets rows to claim
	$node->safe_psql('postgres',
		"INSERT INTO sentiment_data (text) SELECT 'late mention ' || g FROM generate_series(1, 40) g");
	usleep(20_000);
}
is($stopped, 2, 'both sessions of the old worker were stopped while analysing');
$_->finish for @seeds;
@seeds = ();

# What it left behind: rows processing without a claim of ours.
$node->safe_psql('postgres', q{
CREATE TABLE left_behind AS
SELECT entry_id, processing_started_at AS started_at FROM sentiment_data
 WHERE processing_status = 'processing' AND processing_claimed_by IS NULL
   AND text NOT LIKE 'in flight when adopted%'});
my $left = $node->safe_psql('postgres', 'SELECT count(*) FROM left_behind');
cmp_ok($left, '>', 0, "$left rows are left processing by the stopped worker");
is($node->safe_psql('postgres', qq{
SELECT processing_foreign = (SELECT count(*) FROM sentiment_data WHERE processing_status = 'processing')
	   AND processing_ours = 0 AND foreign_claim_grace = interval '$grace seconds'
  FROM sentiment_cutover WHERE source = 'sentiment_data'::regclass}), 't',
	'sentiment_cutover counts them as foreign, with the table\'s grace');

# Within the grace period they stay with their (gone) claimant.
my $wait = $node->safe_psql('postgres', qq{
SELECT greatest(0, extract(epoch FROM min(started_at) + interval '$grace seconds' - clock_timestamp()) - 2)
  FROM left_behind});
usleep(int($wait * 1_000_000));
is($node->safe_psql('postgres', q{
SELECT count(*) FROM sentiment_data JOIN left_behind USING (entry_id) WHERE processing_status = 'processing'}),
	$left, 'just before their grace ends the abandoned rows are still processing');

# Then our workers take them, and everything is done.
my $total = $node->safe_psql('postgres', 'SELECT count(*) FROM sentiment_data');
ok($node->poll_query_until('postgres',
	"SELECT count(*) FROM sentiment_data WHERE processing_status = 'completed'", $total),
	"all $total rows are completed");

# ---- the ledger -------------------------------------------------------------
is($node->safe_psql('postgres', q{
SELECT count(*) || ' ' || count(DISTINCT entry_id) FROM ledger}),
	($total - 50) . ' ' . ($total - 50),
	'every row not done before adoption was completed exactly once');
is($node->safe_psql('postgres', q{
SELECT string_agg(DISTINCT who, ',' ORDER BY who) FROM ledger}), 'ours,seed',
	'by the old worker or by our background workers, nobody else');
my ($seed_n, $ours_n) = split /\|/, $node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE who = 'seed'), count(*) FILTER (WHERE who = 'ours') FROM ledger});
diag("migration: $seed_n rows completed by the old worker, $ours_n by ours, " . "$left abandoned");
cmp_ok($seed_n, '>', 0, 'the old worker completed rows');
cmp_ok($ours_n, '>', 0, 'our workers completed rows');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM ledger WHERE who = 'seed' AND at < (SELECT min(at) FROM ledger WHERE who = 'ours')}) > 0
	&& $node->safe_psql('postgres', q{
SELECT count(*) FROM ledger WHERE who = 'seed' AND at > (SELECT min(at) FROM ledger WHERE who = 'ours')}) > 0
	? 1 : 0, 1, 'the two ran side by side: the old worker completed rows before and after ours started');

is($node->safe_psql('postgres', qq{
SELECT count(*) FROM left_behind b JOIN ledger l USING (entry_id) JOIN sentiment_data s USING (entry_id)
 WHERE l.who = 'ours' AND l.at >= b.started_at + interval '$grace seconds'
   AND (s.processing_error_history -> 0 ->> 'at')::timestamptz >= b.started_at + interval '$grace seconds'
   AND s.processing_error_history -> 0 ->> 'message'
	   = 'claim abandoned: claimed outside sentiment_proc and not finished within 00:00:0$grace'
   AND s.processing_attempts = 2}),
	$left, 'the abandoned rows were returned only after the grace period (the return counted as an attempt) and completed by us');
is($node->safe_psql('postgres', qq{
SELECT count(*) FROM sentiment_data s JOIN ledger l USING (entry_id)
 WHERE s.text LIKE 'in flight when adopted%'
   AND l.at >= '$attached_at'::timestamptz + interval '$grace seconds'
   AND s.processing_error_history -> 0 ->> 'message' LIKE 'claim abandoned: claimed outside sentiment_proc %'}), '3',
	'rows in flight at adoption without a start time were returned only a grace period after adoption');

is($node->safe_psql('postgres', q{
SELECT count(*) FROM sentiment_data s JOIN ledger l USING (entry_id)
 WHERE s.sentiment_label IS DISTINCT FROM l.sentiment_label
	OR s.emotion_label IS DISTINCT FROM l.emotion_label
	OR (l.who = 'seed') <> (s.emotion_label = 'seed')}), '0',
	'no result was overwritten: every row holds the results of its one completion');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM ledger l
 WHERE (l.who = 'seed') <> EXISTS (SELECT FROM mention_topics t WHERE t.mention_id = l.entry_id AND t.topic_key = 'seed')
	OR (l.who = 'seed' AND EXISTS (SELECT FROM mention_topics t WHERE t.mention_id = l.entry_id AND t.topic_key <> 'seed'))}),
	'0', 'and its topics are those of that completion');

# ---- the monitoring views -------------------------------------------------
# Who completed a row, as sentiment_completions tells it (at least one
# attempt of ours), agrees with the ledger, except for a row our reaper
# returned from an abandoned claim and the old worker then took again.
is($node->safe_psql('postgres', q{
SELECT count(*) FROM ledger l JOIN sentiment_data s USING (entry_id)
 WHERE (l.who = 'ours') <> (s.processing_attempts > 0)
   AND NOT (l.who = 'seed' AND s.processing_error_history -> 0 ->> 'message' LIKE 'claim abandoned: %')}),
	'0', 'attempts of ours tell who completed a row, as the ledger does');
my $retaken = $node->safe_psql('postgres', q{
SELECT count(*) FROM ledger l JOIN sentiment_data s USING (entry_id) WHERE l.who = 'seed' AND s.processing_attempts > 0});
is($node->safe_psql('postgres', q{
SELECT string_agg(completed_by || '=' || rows, ' ' ORDER BY completed_by) FROM sentiment_completions('sentiment_data')}),
	'other=' . ($seed_n + 50 - $retaken) . ' sentiment_proc=' . ($ours_n + $retaken),
	"sentiment_completions counts them so (rows done before adoption count as other; $retaken retaken by the old worker)");
is($node->safe_psql('postgres', q{
SELECT processing_ours || ' ' || processing_foreign || ' ' || foreign_overdue || ' ' || completed_by_us
  FROM sentiment_cutover WHERE source = 'sentiment_data'::regclass}),
	"0 0 0 $ours_n", 'sentiment_cutover: nothing in flight any more, our completions counted');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sentiment_stuck'), '0', 'nothing is stuck');

$node->stop;
done_testing();
