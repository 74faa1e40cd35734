# A background worker that has built its lexicon and topics picks up a
# dictionary change at its next batch, and a pg_dump of the database keeps
# the dictionary.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;

my $node = sp_node('dictionary', conf => q{
max_worker_processes = 16
sentiment_proc.databases = 'postgres'
sentiment_proc.workers_per_database = 1
sentiment_proc.worker_poll_interval = '1h'
});

$node->safe_psql('postgres', q{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
});
ok($node->poll_query_until('postgres',
	"SELECT state FROM sentiment_workers WHERE kind = 'worker'", 'idle'),
	'worker is idle');
my $worker_pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker'");

# The worker analyses with plain VADER first (and so builds its objects).
$node->safe_psql('postgres', "INSERT INTO sentiment_data (text) VALUES ('That trick was sick')");
ok($node->poll_query_until('postgres',
	"SELECT processing_status FROM sentiment_data WHERE entry_id = 1", 'completed'),
	'first row processed');
is($node->safe_psql('postgres', "SELECT sentiment_label FROM sentiment_data WHERE entry_id = 1"),
	'negative', 'before the override, sick is negative');

# Dictionary change, then a new row: the same worker process uses it.
$node->safe_psql('postgres', q{
INSERT INTO sentiment_lexicon_overrides (term, valence) VALUES ('sick', 2.5);
INSERT INTO sentiment_topic_keywords (topic_key, phrase, weight) VALUES ('tricks', 'trick', 3);
INSERT INTO sentiment_data (text) VALUES ('That trick was sick');
});
ok($node->poll_query_until('postgres',
	"SELECT processing_status FROM sentiment_data WHERE entry_id = 2", 'completed'),
	'second row processed');
is($node->safe_psql('postgres', "SELECT sentiment_label FROM sentiment_data WHERE entry_id = 2"),
	'positive', 'the running worker applies the new override');
is($node->safe_psql('postgres', "SELECT topic_key || ' ' || weight FROM mention_topics WHERE mention_id = 2"),
	'tricks 3', 'the running worker matches the new topic with its weight');
is($node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'sentiment_proc worker'"),
	$worker_pid, 'by the same worker process (no restart)');

# Re-analysis of the first row through the queue.
is($node->safe_psql('postgres', "SELECT sentiment_reanalyze('sentiment_data')"), '2',
	'sentiment_reanalyze queues every row');
ok($node->poll_query_until('postgres',
	"SELECT sentiment_label FROM sentiment_data WHERE entry_id = 1", 'positive'),
	'the worker re-analysed the old row with the override');

# Removing it: the worker goes back to VADER's valence.
$node->safe_psql('postgres', q{
DELETE FROM sentiment_lexicon_overrides;
INSERT INTO sentiment_data (text) VALUES ('That trick was sick');
});
ok($node->poll_query_until('postgres',
	"SELECT sentiment_label FROM sentiment_data WHERE entry_id = 3 AND processing_status = 'completed'",
	'negative'),
	'after the removal the worker scores sick as VADER does');

# pg_dump keeps the dictionary (configuration tables).
$node->safe_psql('postgres', "INSERT INTO sentiment_lexicon_overrides (term, valence) VALUES ('rad', 3)");
my $dump = $node->basedir . '/dictionary.dump';
$node->command_ok([ 'pg_dump', '--format=custom', '--file', $dump, '--dbname', $node->connstr('postgres') ],
	'pg_dump of a database with a dictionary');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '--dbname', $node->connstr('restored'), $dump ],
	'pg_restore into a new database');
is($node->safe_psql('restored',
	"SELECT string_agg(term || '=' || valence, ',') FROM sentiment_lexicon_overrides"),
	'rad=3', 'overrides survive pg_dump and restore');
is($node->safe_psql('restored',
	"SELECT string_agg(topic_key || ':' || phrase || ':' || weight, ',') FROM sentiment_topic_keywords"),
	'tricks:trick:3', 'topic keywords survive pg_dump and restore');
is($node->safe_psql('restored', "SELECT sentiment_label FROM sentiment_analyze('so rad')"),
	'positive', 'and the restored database analyses with them');

$node->stop;
done_testing();
