# The same results on every major: the same 10,000 mentions
# (bench/gen_mentions.py, deterministic) processed by a server of this major
# and by one of the older major beside it (SP_OLD_INSTALL, which
# scripts/test-server.sh sets on its second major) give the same labels,
# scores, emotions, influence weights, topics and embeddings, to the last bit,
# for both sentiment models and with a lexicon override and a topic
# dictionary in force.  Skipped, saying why, without an older install.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SentimentProc::Test;
use Test::More;

my $old_install = sp_old_install();
my $rows = 10000;

my $tsv = "$PostgreSQL::Test::Utils::tmp_check/cross_major_mentions.tsv";
system("python3 '$FindBin::RealBin/../../bench/gen_mentions.py' $rows --seed 21 > '$tsv'") == 0
  or BAIL_OUT('bench/gen_mentions.py failed');

my %node = (
	old => sp_node('old_major', install_path => $old_install),
	new => sp_node('new_major'));
my %major = (old => sp_pg_major($old_install), new => sp_pg_major());
note "comparing PostgreSQL $major{old} ($old_install) with PostgreSQL $major{new}";

for my $side ('old', 'new')
{
	my $n = $node{$side};
	$n->safe_psql('postgres', qq{
CREATE EXTENSION sentiment_proc;
INSERT INTO sentiment_lexicon_overrides (term, valence) VALUES ('refund', -1.5), ('meh', NULL);
INSERT INTO sentiment_topic_keywords (topic_key, phrase, weight) VALUES
	('travel', 'flight', 1), ('travel', 'delayed', 0.5), ('coffee', 'espresso', 1), ('phones', 'battery life', 2);
CREATE TABLE vader_mentions (entry_id bigint PRIMARY KEY, text text);
CREATE TABLE social_mentions (entry_id bigint PRIMARY KEY, text text);
SELECT sentiment_attach('vader_mentions', topics_table => 'vader_topics', embeddings_table => 'vader_embeddings');
SELECT sentiment_attach('social_mentions', topics_table => 'social_topics', embeddings_table => 'social_embeddings',
						sentiment_model => 'social');
COPY vader_mentions (entry_id, text) FROM '$tsv';
INSERT INTO social_mentions (entry_id, text) SELECT entry_id, text FROM vader_mentions;
});
	my ($done, $batches) = (0, 0);
	while ($batches++ < 10)
	{
		my $got = $n->safe_psql('postgres', 'SELECT sentiment_process_batch(10000)');
		last if $got == 0;
		$done += $got;
	}
	is($done, 2 * $rows, "PostgreSQL $major{$side}: every row of both tables processed");
	is($n->safe_psql('postgres',
			q{SELECT count(*) FROM vader_mentions WHERE processing_status <> 'completed'}
			  . q{ UNION ALL SELECT count(*) FROM social_mentions WHERE processing_status <> 'completed'}),
		"0\n0", "PostgreSQL $major{$side}: all completed");
}

# Each result set as one digest per table, then, when they differ, the first
# rows that do.  Floats are printed exactly (shortest round-trip form).
my %queries;
for my $t ('vader', 'social')
{
	$queries{"$t labels, scores, emotions, influence"} =
	  "SELECT entry_id, sentiment_label, sentiment_score, emotion_label, emotion_score, influence_weight, "
	  . "processing_attempts FROM ${t}_mentions";
	$queries{"$t topics"} =
	  "SELECT mention_id AS entry_id, topic_key, weight, sentiment FROM ${t}_topics";
	$queries{"$t embeddings"} = "SELECT entry_id, embedding::real[] FROM ${t}_embeddings";
}
# Calls as well as stored results: the analysis function itself.
$queries{'sentiment_analyze, both models'} =
  q{SELECT m.entry_id, a.* FROM vader_mentions m, LATERAL (VALUES ('vader'), ('social')) v(model), }
  . q{LATERAL sentiment_analyze(m.text, v.model) a WHERE m.entry_id % 10 = 0};

for my $what (sort keys %queries)
{
	my $q = $queries{$what};
	my %digest = map {
		$_ => $node{$_}->safe_psql('postgres',
			"SELECT count(*) || ' ' || md5(string_agg(r::text, E'\\n' ORDER BY r::text COLLATE \"C\")) FROM ($q) r")
	} ('old', 'new');
	if (is($digest{new}, $digest{old}, "$what: the same on $major{old} and $major{new}"))
	{
		my ($count) = split / /, $digest{new};
		cmp_ok($count, '>', 0, "$what: there are rows to compare");
		next;
	}
	# name the first rows that differ
	my %rows = map {
		$_ => [ split /\n/, $node{$_}->safe_psql('postgres', "SELECT r::text FROM ($q) r ORDER BY entry_id, r::text COLLATE \"C\"") ]
	} ('old', 'new');
	my @diff;
	for my $i (0 .. $#{ $rows{old} })
	{
		my ($o, $n) = ($rows{old}[$i] // '', $rows{new}[$i] // '');
		push @diff, "  $major{old}: $o\n  $major{new}: $n" if $o ne $n;
		last if @diff >= 3;
	}
	diag("$what: first differences\n" . join("\n", @diff));
}

$_->stop for values %node;
done_testing();
