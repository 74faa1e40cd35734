# pg_dump keeps the source registry (pg_extension_config_dump): a restored
# database knows which tables are attached, under their new OIDs, with their
# sentiment models, triggers, the lexicon overrides and topic dictionary, and
# goes on processing them; results already written survive unchanged.
# scripts/test.sh runs it on every major (15 and 18).
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
SELECT sentiment_attach('reviews', topics_table => 'review_topics', embeddings_table => 'review_embeddings',
						sentiment_model => 'social');
INSERT INTO sentiment_lexicon_overrides (term, valence, note) VALUES ('glorious', 3.1, 'house style');
INSERT INTO sentiment_topic_keywords (topic_key, phrase, weight) VALUES ('delivery', 'parcel', 2);
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
is($node->safe_psql('restored_db', q{SELECT source_table || ' ' || sentiment_model FROM sentiment_sources ORDER BY 1::text}),
	"app.mentions vader\nreviews social", 'each source keeps its sentiment model');
my $triggers = q{SELECT string_agg(tgrelid::regclass || ' ' || tgname || ' ' || tgenabled::text, ',' ORDER BY tgrelid::regclass::text, tgname)
	FROM pg_trigger WHERE tgrelid IN ('app.mentions'::regclass, 'reviews'::regclass) AND NOT tgisinternal};
is($node->safe_psql('restored_db', $triggers), $node->safe_psql('source_db', $triggers),
	'the triggers of the attached tables are restored');
like($node->safe_psql('restored_db', $triggers), qr/sentiment_text_edit.*sentiment_wakeup/, 'edit and wake-up triggers among them');
my $dictionary = q{SELECT (SELECT string_agg(term || ' ' || valence || ' ' || note, ',') FROM sentiment_lexicon_overrides)
	|| ' / ' || (SELECT string_agg(topic_key || ' ' || phrase || ' ' || weight, ',') FROM sentiment_topic_keywords)};
is($node->safe_psql('restored_db', $dictionary), 'glorious 3.1 house style / delivery parcel 2',
	'the lexicon overrides and the topic dictionary are restored');

is($node->safe_psql('restored_db', 'SELECT sentiment_process_batch(100)'), '1',
	'the restored database processes its pending row');
is($node->safe_psql('restored_db',
		q{SELECT processing_status || ' ' || processing_attempts FROM app.mentions WHERE entry_id = 4}),
	'completed 1', 'that row is completed once');
is($node->safe_psql('restored_db', 'SELECT sentiment_process_batch(100)'), '0',
	'and nothing is processed twice');

# New rows in a restored table still default to pending, and are analysed
# with the table's model and the restored dictionary.
$node->safe_psql('restored_db', q{INSERT INTO reviews (text) VALUES ('Fresh review: a glorious parcel')});
is($node->safe_psql('restored_db', q{SELECT processing_status FROM reviews WHERE text LIKE 'Fresh review%'}),
	'pending', 'new rows in a restored table wait for processing');
is($node->safe_psql('restored_db', 'SELECT sentiment_process_batch(100)'), '1', 'and are processed');
is($node->safe_psql('restored_db', q{
	SELECT r.sentiment_score = (sentiment_analyze(r.text, 'social')).sentiment_score
	   AND r.sentiment_score <> (sentiment_analyze(r.text, 'vader')).sentiment_score
	  FROM reviews r WHERE r.text LIKE 'Fresh review%'}),
	't', "with the table's own model (social)");
is($node->safe_psql('restored_db', q{
	SELECT string_agg(topic_key, ',') FROM review_topics t JOIN reviews r ON r.entry_id = t.mention_id
	 WHERE r.text LIKE 'Fresh review%'}),
	'delivery', 'and the restored topic dictionary');
is($node->safe_psql('restored_db', q{SELECT round((sentiment_analyze('glorious')).sentiment_score::numeric, 4)}),
	$node->safe_psql('source_db', q{SELECT round((sentiment_analyze('glorious')).sentiment_score::numeric, 4)}),
	'the lexicon override scores the same in the restored database');

# An edit of a restored row puts it back to pending (the edit trigger works).
$node->safe_psql('restored_db', q{UPDATE app.mentions SET text = 'I hate that, edited' WHERE entry_id = 2});
is($node->safe_psql('restored_db', 'SELECT processing_status FROM app.mentions WHERE entry_id = 2'),
	'pending', 'an edited row is pending again');
is($node->safe_psql('restored_db', 'SELECT sentiment_process_batch(100)'), '1', 'and processed once more');

$node->stop;
done_testing();
