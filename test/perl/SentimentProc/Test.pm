# Shared set-up of the TAP tests (test/t/*.pl), loaded with
#
#   use FindBin;
#   use lib "$FindBin::RealBin/../perl";
#   use SentimentProc::Test;
#
# sp_node creates and starts a node with sentiment_proc preloaded; tests that
# need pg_cron ask for it and are skipped, with a message saying why, where it
# is not installed.
package SentimentProc::Test;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use Test::More;

our @EXPORT = qw(sp_node have_pg_cron);

# True when the PostgreSQL the tests run against has pg_cron installed (the
# pg_config first in PATH, as prove_installcheck sets it).
sub have_pg_cron
{
	my $libdir = `pg_config --pkglibdir`;
	chomp $libdir;
	return -f "$libdir/pg_cron.so";
}

# sp_node(NAME, conf => 'lines for postgresql.conf', pg_cron => 1,
#         init => { options of PostgreSQL::Test::Cluster::init })
#
# conf may also be a function that gets the node (before it starts) and
# returns the lines, for settings that name its host or port.
# A started node preloaded with sentiment_proc (and pg_cron before it, with
# cron.database_name = 'postgres', when pg_cron => 1; the whole test is
# skipped when pg_cron is missing).  conf is appended after those lines.
sub sp_node
{
	my ($name, %opt) = @_;

	plan skip_all => 'pg_cron is not installed (Debian: postgresql-15-cron, which scripts/deps.sh installs)'
	  if $opt{pg_cron} && !have_pg_cron();

	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $opt{init} // {} });
	my $conf = $opt{pg_cron}
	  ? "shared_preload_libraries = 'pg_cron,sentiment_proc'\ncron.database_name = 'postgres'\n"
	  : "shared_preload_libraries = 'sentiment_proc'\n";
	my $extra = ref $opt{conf} eq 'CODE' ? $opt{conf}->($node) : $opt{conf} // '';
	$node->append_conf('postgresql.conf', $conf . $extra);
	$node->start;
	return $node;
}

1;
