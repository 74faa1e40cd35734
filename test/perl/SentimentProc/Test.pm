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

our @EXPORT = qw(sp_node have_pg_cron have_citus sp_citus_node sp_citus_add_node sp_citus_cluster sp_pg_major
  sp_old_install);

# True when the PostgreSQL the tests run against (the pg_config first in
# PATH, as prove_installcheck sets it) has the library NAME installed.
sub have_library
{
	my ($name) = @_;
	my $libdir = `pg_config --pkglibdir`;
	chomp $libdir;
	return -f "$libdir/$name.so";
}

sub have_pg_cron { return have_library('pg_cron'); }

# The major version (15, 18) of PG_CONFIG, or of the install at PATH/bin.
sub sp_pg_major
{
	my ($install) = @_;
	my $pg_config = defined $install ? "$install/bin/pg_config" : 'pg_config';
	my $v = `$pg_config --version`;
	return $v =~ /^PostgreSQL (\d+)/ ? $1 : 0;
}

# The older major's install the cross-version tests start nodes of (a
# directory with bin/ and lib/, like /usr/lib/postgresql/15), as
# scripts/test-server.sh names it in SP_OLD_INSTALL when it runs the suites
# on a second major.  The whole test is skipped, saying why, when there is
# none or it lacks sentiment_proc or pg_cron.
sub sp_old_install
{
	my $old = $ENV{SP_OLD_INSTALL} // '';
	plan skip_all => 'needs an older major installed beside this one (SP_OLD_INSTALL): scripts/test-server.sh '
	  . 'sets it when it runs the suites on 15 and then 18'
	  unless $old ne '' && -x "$old/bin/pg_config";
	my $major = sp_pg_major($old);
	plan skip_all => "SP_OLD_INSTALL=$old is PostgreSQL $major, not older than this PostgreSQL " . sp_pg_major()
	  unless $major && $major < sp_pg_major();
	my $libdir = `$old/bin/pg_config --pkglibdir`;
	chomp $libdir;
	for my $lib ('sentiment_proc', 'pg_cron')
	{
		plan skip_all => "$lib is not installed in PostgreSQL $major ($libdir)" unless -f "$libdir/$lib.so";
	}
	return $old;
}

# Citus: scripts/test.sh builds it from ../shared/citus when it can.
sub have_citus { return have_library('citus'); }

# sp_citus_node(NAME, conf => 'lines', pg_cron => 1): a started node of a
# Citus cluster on this machine, Citus and sentiment_proc preloaded (pg_cron
# too, for the coordinator that runs it), with the Citus extension created.
# The whole test is skipped, saying how to install Citus, where it is missing.
sub sp_citus_node
{
	my ($name, %opt) = @_;

	plan skip_all => 'Citus 13.2 supports PostgreSQL 15 to 17, and this is PostgreSQL ' . sp_pg_major()
	  . ': the Citus suites run on 15'
	  if !have_citus() && sp_pg_major() > 17;
	plan skip_all => 'Citus is not installed: ../shared/citus/install.sh builds it (scripts/test.sh runs it '
	  . 'when ../shared is there), or install Citus 12.1+ / 13.x for PostgreSQL 15 from your packages'
	  unless have_citus();
	plan skip_all => 'pg_cron is not installed (Debian: postgresql-15-cron, which scripts/deps-test.sh installs)'
	  if $opt{pg_cron} && !have_pg_cron();

	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'citus" . ($opt{pg_cron} ? ',pg_cron' : '') . ",sentiment_proc'\n"
		  . ($opt{pg_cron} ? "cron.database_name = 'postgres'\ncron.use_background_workers = on\n" : '')
		  . "max_prepared_transactions = 100\nwal_level = logical\nmax_worker_processes = 24\n"
		  # shard moves and splits replicate logically
		  . "max_wal_senders = 10\nmax_replication_slots = 10\n"
		  . citus_output_plugin_conf()
		  . "citus.shard_replication_factor = 1\n"
		  # shard moves connect back to this node: through its socket, not TCP
		  . "citus.local_hostname = '" . $node->host . "'\n"
		  . ($opt{conf} // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus');
	return $node;
}

# PostgreSQL 15.20 and later name the libraries that may serve as logical
# decoding output plugins; Citus's shard splits use its own.
sub citus_output_plugin_conf
{
	my $has = `postgres --describe-config 2>/dev/null | grep -c '^output_plugin_libraries'`;
	chomp $has;
	return $has ? "output_plugin_libraries = 'pgoutput, test_decoding, citus'\n" : '';
}

# Add a worker node to the cluster of the coordinator.
sub sp_citus_add_node
{
	my ($coordinator, $worker) = @_;
	$coordinator->safe_psql('postgres',
		"SELECT citus_add_node('" . $worker->host . "', " . $worker->port . ")");
}

# sp_citus_cluster(coordinator_conf => 'lines', worker_conf => 'lines', pg_cron => 1):
# a coordinator (pg_cron on it when asked) and two worker nodes, as
# sp_citus_node starts them, the worker nodes added; returns them all,
# the coordinator first.
sub sp_citus_cluster
{
	my (%opt) = @_;
	my $coord = sp_citus_node('coordinator', conf => $opt{coordinator_conf}, pg_cron => $opt{pg_cron});
	my @nodes = map { sp_citus_node("worker$_", conf => $opt{worker_conf}) } 1 .. 2;

	$coord->safe_psql('postgres',
		"SELECT citus_set_coordinator_host('" . $coord->host . "', " . $coord->port . ")");
	sp_citus_add_node($coord, $_) for @nodes;
	return ($coord, @nodes);
}

# sp_node(NAME, conf => 'lines for postgresql.conf', pg_cron => 1,
#         init => { options of PostgreSQL::Test::Cluster::init },
#         install_path => another install's directory, see sp_old_install)
#
# conf may also be a function that gets the node (before it starts) and
# returns the lines, for settings that name its host or port.
# A started node preloaded with sentiment_proc (and pg_cron before it, with
# cron.database_name = 'postgres', when pg_cron => 1; the whole test is
# skipped when pg_cron is missing).  conf is appended after those lines.
sub sp_node
{
	my ($name, %opt) = @_;

	plan skip_all => 'pg_cron is not installed (Debian: postgresql-15-cron, which scripts/deps-test.sh installs)'
	  if $opt{pg_cron} && !have_pg_cron();

	my $node = PostgreSQL::Test::Cluster->new($name,
		defined $opt{install_path} ? (install_path => $opt{install_path}) : ());
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
