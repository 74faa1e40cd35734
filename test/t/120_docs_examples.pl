# The documentation's examples, run as written: every ```sql block of the
# files below, in order, in one database "app" of a temporary server, and
# every postgresql.conf block (a fence without a language whose lines are
# "name = value") applied to the server, which is then restarted.  A block
# that errors fails the test, naming the file and line.
#
# An HTML comment on the line before a block (invisible in the rendered
# page) changes how it runs:
#
#   <!-- docs-test: skip (REASON) -->            not run; the reason is required
#   <!-- docs-test: as ROLE -->                   run after SET ROLE ROLE: the
#                                                 docs promise ROLE may do this
#   <!-- docs-test: fresh database (REASON) -->   drop and create "app" first
#
# Roles are the server's, so a recipe runs once per run; files run in the
# order of @files, each continuing where the one before left the database.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use SentimentProc::Test;

my $root = $ENV{TESTDIR} || "$FindBin::RealBin/../..";
my @files = qw(README.md docs/usage.md docs/settings-and-roles.md docs/failures.md docs/monitoring.md
  docs/models.md docs/results.md docs/migration.md docs/workers.md docs/reliability.md docs/load.md
  docs/prometheus.md docs/pgvector.md docs/citus.md docs/packaging.md docs/development.md);

my $node = sp_node('docs', pg_cron => 1, conf => "max_worker_processes = 20\n");
$node->safe_psql('postgres', 'CREATE DATABASE app');

# The blocks of one file: { line, lang, text, marker }.
sub blocks_of
{
	my ($file) = @_;
	open(my $fh, '<', "$root/$file") or die "$root/$file: $!";
	my (@blocks, $marker, $in, $indent);
	my $n = 0;
	while (my $line = <$fh>)
	{
		$n++;
		if ($in)
		{
			if ($line =~ /^\s*```\s*$/)
			{
				push @blocks, $in;
				undef $in;
				next;
			}
			$line =~ s/^ {0,$indent}//;
			$in->{text} .= $line;
			next;
		}
		if ($line =~ /^(\s*)```(\w*)\s*$/)
		{
			$indent = length $1;
			$in = { line => $n, lang => $2, text => '', marker => $marker };
			undef $marker;
			next;
		}
		if ($line =~ /^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$/)
		{
			$marker = $1;
			next;
		}
		undef $marker if $line =~ /\S/;
	}
	close $fh;
	return @blocks;
}

# postgresql.conf lines of a block, or undef when it is not one.
sub conf_lines
{
	my ($text) = @_;
	my @lines;
	for my $l (split /\n/, $text)
	{
		next if $l =~ /^\s*(#.*)?$/;
		return undef unless $l =~ /^\s*([a-z_][a-z0-9_.]*)\s*=\s*('(?:[^']|'')*'|[^\s#]+)/;
		push @lines, "$1 = $2";
	}
	return @lines ? \@lines : undef;
}

my ($ran, $skipped, $confs) = (0, 0, 0);
for my $file (@files)
{
	for my $b (blocks_of($file))
	{
		my $where = "$file:$b->{line}";
		my $marker = $b->{marker} // '';
		my $role;
		if ($marker =~ /^skip\b\s*(.*)$/)
		{
			my $reason = $1;
			ok($reason =~ /^\(\s*\S.*\)$/, "$where: skipped with a reason $reason");
			$skipped++;
			next;
		}
		elsif ($marker =~ /^as\s+([a-z_][a-z0-9_]*)$/)
		{
			$role = $1;
		}
		elsif ($marker =~ /^fresh database\b/)
		{
			$node->safe_psql('postgres', 'DROP DATABASE app WITH (FORCE)');
			$node->safe_psql('postgres', 'CREATE DATABASE app');
		}
		elsif ($marker ne '')
		{
			fail("$where: unknown docs-test marker '$marker'");
			next;
		}

		if ($b->{lang} eq '' && (my $conf = conf_lines($b->{text})))
		{
			$node->append_conf('postgresql.conf', join("\n", "# $where", @$conf) . "\n");
			$node->stop;
			ok($node->start(fail_ok => 1), "$where: the server restarts with the documented settings (@$conf)")
			  or BAIL_OUT("$where: the server does not start: " . slurp_file($node->logfile));
			$confs++;
			next;
		}
		next unless $b->{lang} eq 'sql';

		my $sql = $b->{text};
		$sql = "SET ROLE $role;\n$sql\nRESET ROLE;\n" if $role;
		my ($ret, $out, $err) = $node->psql('app', $sql, on_error_stop => 1);
		my $first = (split /\n/, $b->{text})[0];
		ok($ret == 0 && $err !~ /ERROR/,
			"$where: runs" . ($role ? " as $role" : '') . " ($first)")
		  or diag("$where failed:\n$err");
		$ran++;
	}
}
cmp_ok($ran, '>=', 10, "$ran SQL examples ran, $confs settings blocks were applied, $skipped were skipped");

$node->stop;
done_testing();
