# Server encodings.  A SQL_ASCII database stores any bytes, so the analyser
# sees invalid sequences (it reads them as U+FFFD; a hashtag ends at one)
# through sentiment_analyze and sentiment_process_batch; LATIN1, WIN1252 and
# EUC_JP databases hold text in another encoding, converted to UTF-8 for the
# analyser and back for topic keys.  The same text gives the same result in
# every encoding; never a crash, never text invalid in the database's
# encoding.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;

my $node = sp_node('encodings');

$node->safe_psql('postgres', q{
CREATE DATABASE sp_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
CREATE DATABASE sp_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
});

# ---- SQL_ASCII: arbitrary bytes ----------------------------------------------
$node->safe_psql('sp_ascii', q{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
-- invalid UTF-8: lone continuation bytes, a truncated sequence, overlong
-- forms, surrogates encoded in UTF-8, bytes that never occur in UTF-8
INSERT INTO sentiment_data (text) VALUES
	(E'I love it \xff\xfe'),
	(E'\x80\x81\x82 great \xc0\xaf'),
	(E'bad \xe2\x82'),
	(E'\xed\xa0\x80 awful \xf8\x88\x80\x80\x80'),
	(E'#caf\xe9 is nice'),
	(E'\xf4\x90\x80\x80 #\xff\xff');
});

is($node->safe_psql('sp_ascii', q{
	SELECT a.sentiment_label || ' ' || (a.sentiment_score = b.sentiment_score)
	  FROM sentiment_analyze(E'I love it \xff\xfe') a, sentiment_analyze('I love it') b}),
	'positive true', 'SQL_ASCII: invalid bytes beside words change nothing in the compound');
is($node->safe_psql('sp_ascii', q{SELECT sentiment_label FROM sentiment_analyze(E'\x80\x81\x82 great \xc0\xaf')}),
	'positive', 'SQL_ASCII: lone continuation bytes and an overlong form are skipped over');
is($node->safe_psql('sp_ascii', q{SELECT sentiment_label FROM sentiment_analyze(E'bad \xe2\x82')}),
	'negative', 'SQL_ASCII: a truncated sequence at the end');
is($node->safe_psql('sp_ascii', q{SELECT sentiment_label FROM sentiment_analyze(repeat(E'\xff', 100000))}),
	'neutral', 'SQL_ASCII: 100,000 invalid bytes');

is($node->safe_psql('sp_ascii', 'SELECT sentiment_process_batch(100)'), '6',
	'SQL_ASCII: the batch finishes every row');
is($node->safe_psql('sp_ascii', q{
	SELECT string_agg(entry_id || ':' || processing_status || ':' || sentiment_label, ' ' ORDER BY entry_id)
	  FROM sentiment_data}),
	'1:completed:positive 2:completed:positive 3:completed:negative 4:completed:negative 5:completed:positive 6:completed:neutral',
	'SQL_ASCII: each row completed with its label');
is($node->safe_psql('sp_ascii', q{
	SELECT count(*) FROM sentiment_data d, sentiment_analyze(d.text) a
	 WHERE d.sentiment_score IS DISTINCT FROM a.sentiment_score}), '0',
	'SQL_ASCII: stored results equal sentiment_analyze');
is($node->safe_psql('sp_ascii', 'SELECT count(*) FROM sentiment_embeddings'), '6',
	'SQL_ASCII: one embedding per row');
# topic keys are whatever the analyser made of the bytes; they must be there
# and, being text in a SQL_ASCII database, readable
my $keys = $node->safe_psql('sp_ascii',
	q{SELECT string_agg(mention_id || ':' || encode(convert_to(topic_key, 'SQL_ASCII'), 'hex'), ' ' ORDER BY mention_id, topic_key) FROM mention_topics});
is($keys, '5:636166', 'SQL_ASCII: a hashtag ends at an invalid byte (caf, from caf and byte E9; none from two FF bytes)');

# ---- LATIN1: text in another encoding ------------------------------------------
# A correct result or a clear error, and no text invalid in LATIN1 stored.
$node->safe_psql('sp_latin1', q{
CREATE EXTENSION sentiment_proc;
SELECT sentiment_attach('sentiment_data');
INSERT INTO sentiment_data (text) VALUES ('I love it'), (convert_from('\x436166e920e97461697420676f6f64202343414645', 'LATIN1')),
	(convert_from('\x23c974e920e97461697420676f6f64', 'LATIN1'));
});
my ($ret, $out, $err) = $node->psql('sp_latin1', q{SELECT sentiment_label FROM sentiment_analyze('I love it')});
is($ret, 0, 'LATIN1: ASCII text is analysed') or diag($err);
is($out, 'positive', 'LATIN1: with its label');
($ret, $out, $err) = $node->psql('sp_latin1', 'SELECT sentiment_process_batch(100)');
is($ret, 0, 'LATIN1: the batch runs') or diag($err);
is($node->safe_psql('sp_latin1', q{
	SELECT string_agg(entry_id || ':' || processing_status, ' ' ORDER BY entry_id) FROM sentiment_data}),
	'1:completed 2:completed 3:completed', 'LATIN1: every row completed');
is($node->safe_psql('sp_latin1', q{
	SELECT string_agg(topic_key, ' ' ORDER BY topic_key) FROM mention_topics WHERE mention_id = 2}),
	'cafe', 'LATIN1: the hashtag is its topic');
# Non-ASCII letters are converted to UTF-8 for the analyser: #Été is a topic.
is($node->safe_psql('sp_latin1', "SET client_encoding = 'UTF8'; SELECT topic_key FROM mention_topics WHERE mention_id = 3"),
	"\xc3\xa9t\xc3\xa9", 'LATIN1: a hashtag with non-ASCII letters is a topic');
# every stored text must survive a round trip through UTF-8
($ret, $out, $err) = $node->psql('sp_latin1', q{
	SELECT count(*) FROM mention_topics WHERE convert_from(convert_to(topic_key, 'UTF8'), 'UTF8') IS NULL});
is($ret, 0, 'LATIN1: topic keys are valid LATIN1') or diag($err);

# ---- the same text, the same result, in every server encoding ------------------
# UTF8, LATIN1, WIN1252, EUC_JP and SQL_ASCII databases (C locale), the
# same domain word and topic dictionary, the same mentions sent as UTF-8:
# labels, scores, emotions, topics and embeddings are identical, through
# both sentiment_analyze and the batch.
my %dbs = (sp_e_utf8 => 'UTF8', sp_e_latin1 => 'LATIN1', sp_e_win1252 => 'WIN1252',
	sp_e_eucjp => 'EUC_JP', sp_e_ascii => 'SQL_ASCII');
my @texts = (
	"C'est g\x{e9}nial, j'adore le caf\x{e9} cr\x{e8}me #\x{c9}t\x{e9}",
	"\x{dc}ber schlecht, NICHT gut #M\x{fc}nchen",
	"\x{d1}and\x{fa} is GREAT :) #Espa\x{f1}a",
	"plain ascii is terrible #boring");
my @japanese = ("\x{6771}\x{4eac}\x{306f}\x{6700}\x{9ad8} #\x{6771}\x{4eac} :)");
my %result;
for my $db (sort keys %dbs)
{
	$node->safe_psql('postgres',
		"CREATE DATABASE $db ENCODING '$dbs{$db}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
	my @mine = (@texts, ($dbs{$db} =~ /^(UTF8|EUC_JP|SQL_ASCII)$/ ? @japanese : ()));
	my $values = join(', ', map { (my $t = $_) =~ s/'/''/g; "('$t')" } @mine);
	my $sql = "SET client_encoding = 'UTF8';
CREATE EXTENSION sentiment_proc;
INSERT INTO sentiment_lexicon_overrides (term, valence) VALUES ('g\x{e9}nial', 3.1);
INSERT INTO sentiment_topic_keywords (topic_key, phrase) VALUES ('caf\x{e9}', 'caf\x{e9} cr\x{e8}me');
SELECT sentiment_attach('sentiment_data');
INSERT INTO sentiment_data (text) VALUES $values;
SELECT sentiment_process_batch(100);";
	utf8::encode($sql);
	$node->safe_psql($db, $sql);
	my $q = "SET client_encoding = 'UTF8';
SELECT string_agg(format('%s|%s|%s|%s|%s|%s', d.entry_id, d.sentiment_label, round(d.sentiment_score::numeric, 6),
		d.emotion_label, (SELECT string_agg(t.topic_key, ',' ORDER BY t.topic_key) FROM mention_topics t WHERE t.mention_id = d.entry_id),
		md5(e.embedding::text)), E'\\n' ORDER BY d.entry_id)
  FROM sentiment_data d JOIN sentiment_embeddings e ON e.entry_id = d.entry_id;";
	$result{$db} = $node->safe_psql($db, $q);
	my $a = "SET client_encoding = 'UTF8';
SELECT string_agg(format('%s|%s|%s', a.sentiment_label, round(a.sentiment_score::numeric, 6), array_to_string(a.topics, ',')),
		E'\\n' ORDER BY d.entry_id)
  FROM sentiment_data d, sentiment_analyze(d.text) a;";
	$result{"$db analyze"} = $node->safe_psql($db, $a);
}
my @reference = split /\n/, $result{sp_e_utf8};
like($reference[0], qr/\|positive\|.*\|caf\x{c3}\x{a9},\x{c3}\x{a9}t\x{c3}\x{a9}\|/,
	'UTF8: the domain word, the dictionary phrase and the accented hashtag count');
like($reference[4], qr/\|positive\|/, 'UTF8: the Japanese mention is analysed');
for my $db (sort keys %dbs)
{
	next if $db eq 'sp_e_utf8';
	my $n = $dbs{$db} =~ /^(UTF8|EUC_JP|SQL_ASCII)$/ ? 5 : 4;
	is($result{$db}, join("\n", @reference[0 .. $n - 1]),
		"$dbs{$db}: the batch stores the same results as in UTF8");
	my @ref_analyze = split /\n/, $result{'sp_e_utf8 analyze'};
	is($result{"$db analyze"}, join("\n", @ref_analyze[0 .. $n - 1]),
		"$dbs{$db}: sentiment_analyze gives the same results as in UTF8");
}

ok($node->safe_psql('postgres', 'SELECT 1') eq '1', 'the server is still up');
my $log = slurp_file($node->logfile);
unlike($log, qr/(PANIC|TRAP|terminated by signal)/, 'no crash');

$node->stop;
done_testing();

