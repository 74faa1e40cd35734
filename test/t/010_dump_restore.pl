# pg_dump keeps the source registry (pg_extension_config_dump): a restored
# database knows which tables are attached, under their new OIDs, and goes
# on processing them; results already written survive unchanged.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;

my $node = sp_node('dump');

$node->safe_psql('postgres', 'CREATE DATABASE source_db');
$node->safe_psql('source_db', q{
CREATE EXTENSION sentiment_proc;
CREATE SCHEMA app;
SELECT sentiment_attach('app.mentions');
SELECT sentiment_attach('reviews', topics_table => 'review_topics', embeddings_table => 'review_embeddings');
INSERT INTO app.mentions (text) VALUES ('I love this #brand'), ('I hate that'), (NULL);
INSERT INTO reviews (text) VALUES ('Good value');
SELECT sentiment_process_batch(100);
INSERT INTO app.mentions (text) VALUES ('written after the batch, still pending');
});

my $results = q{
SELECT entry_id, processing_status, sentiment_label, sentiment_score, processing_attempts,
	   (SELECT count(*) FROM app.mention_topics t WHERE t.mention_id = m.entry_id),
	   (SELECT count(*) FROM app.sentiment_embeddings e WHERE e.entry_id = m.entry_id)
  FROM app.mentions m ORDER BY 1};
my $before = $node->safe_psql('source_db', $results);

my $dump = $PostgreSQL::Test::Utils::tmp_check . '/source_db.dump';
$node->command_ok([ 'pg_dump', '--format=custom', '--file', $dump, '--dbname', $node->connstr('source_db') ],
	'pg_dump of a database with attached tables');
$node->safe_psql('postgres', 'CREATE DATABASE restored_db');
$node->command_ok([ 'pg_restore', '--exit-on-error', '--dbname', $node->connstr('restored_db'), $dump ],
	'pg_restore into a new database');

is($node->safe_psql('restored_db',
		'SELECT source_table, topics_table, embeddings_table FROM sentiment_sources ORDER BY 1::text'),
	"app.mentions|app.mention_topics|app.sentiment_embeddings\nreviews|review_topics|review_embeddings",
	'the registry is restored, pointing at the restored tables');
isnt($node->safe_psql('restored_db', q{SELECT 'app.mentions'::regclass::oid}),
	$node->safe_psql('source_db', q{SELECT 'app.mentions'::regclass::oid}),
	'the restored registry resolves names to the new OIDs');
is($node->safe_psql('restored_db', $results), $before, 'results, statuses and side rows survive');

is($node->safe_psql('restored_db', 'SELECT sentiment_process_batch(100)'), '1',
	'the restored database processes its pending row');
is($node->safe_psql('restored_db',
		q{SELECT processing_status || ' ' || processing_attempts FROM app.mentions WHERE entry_id = 4}),
	'completed 1', 'that row is completed once');
is($node->safe_psql('restored_db', 'SELECT sentiment_process_batch(100)'), '0',
	'and nothing is processed twice');

# New rows in a restored table still default to pending.
$node->safe_psql('restored_db', q{INSERT INTO reviews (text) VALUES ('Fresh review')});
is($node->safe_psql('restored_db', q{SELECT processing_status FROM reviews WHERE text = 'Fresh review'}),
	'pending', 'new rows in a restored table wait for processing');

$node->stop;
done_testing();
