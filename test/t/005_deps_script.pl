# scripts/deps.sh, the DBA's install step, on a server that already runs
# PostgreSQL 15: it installs only the build's packages, says what first,
# never installs or upgrades a server package, never writes a system
# setting, and stops with advice when the headers and the server differ in
# minor release.  dpkg-query, apt-cache, apt-get and sudo are stand-ins
# that record how they were called, so nothing is installed (run as a user
# other than root, as the test suites are, every change would go through
# sudo).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;

my $root = $ENV{TESTDIR} || "$FindBin::RealBin/../..";
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $calls = "$tmp/calls";

# The stand-ins.  STATE: "package=version" lines of what is installed;
# CANDIDATE: the version apt would install of the headers; ARCHIVE: the
# versions the archive has of them.
sub stub
{
	my ($name, $body) = @_;
	open(my $fh, '>', "$tmp/$name") or die;
	print $fh "#!/bin/bash\necho \"$name \$*\" >>'$calls'\n$body\n";
	close $fh;
	chmod 0755, "$tmp/$name";
}
stub('dpkg-query', q{
pkg=${@: -1}
v=$(grep "^$pkg=" "$STATE" | cut -d= -f2)
case "$*" in
*Status*) [ -n "$v" ] && printf 'install ok installed' || printf 'unknown ok not-installed' ;;
*Version*) printf '%s' "$v" ;;
esac});
stub('apt-cache', q{
case $1 in
policy) echo "  Candidate: $CANDIDATE" ;;
madison) for v in $ARCHIVE; do echo " postgresql-server-dev-15 | $v | http://deb.debian.org"; done ;;
esac});
stub('apt-get', q{
if [[ " $* " == *" -s "* ]]; then
	for a in "$@"; do case $a in -*|install) ;; *) echo "Inst ${a%%=*} (${a#*=} Debian:12 [amd64])" ;; esac; done
fi});
# (runs only the stand-ins: anything else is recorded, never run)
stub('sudo', q{[ "$1" = apt-get ] && exec "$(dirname "$0")/apt-get" "${@:2}"; exit 0});
stub('node', 'exit 0');
stub('npm', 'exit 0');

sub run_deps
{
	my (%env) = @_;
	unlink $calls;
	open(my $st, '>', "$tmp/state") or die;
	print $st "$_\n" for @{ $env{installed} };
	close $st;
	local $ENV{PATH} = "$tmp:$ENV{PATH}";
	local $ENV{STATE} = "$tmp/state";
	local $ENV{CANDIDATE} = $env{candidate} // '15.20-0+deb12u1';
	local $ENV{ARCHIVE} = $env{archive} // '15.20-0+deb12u1';
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run([ 'bash', "$root/scripts/deps.sh", @{ $env{args} // [] } ], '>', \$out, '2>', \$err);
	my $log = -e $calls ? slurp_file($calls) : '';
	return ($ok, "$out$err", $log);
}

my @server = ('postgresql-15=15.18-0+deb12u1', 'postgresql-client-15=15.18-0+deb12u1');
my @build = ('build-essential=12.9', 'pkg-config=1.8.1-1', 'libicu-dev=72.1-3');

# Everything there: nothing to do.
my ($ok, $out, $log) = run_deps(installed => [ @server, @build, 'postgresql-server-dev-15=15.18-0+deb12u1' ]);
ok($ok, 'all present: exits 0');
like($out, qr/everything the build needs is installed/, 'and says so');
unlike($log, qr/apt-get/, 'without calling apt-get');

# Headers missing, the archive has moved on to 15.20: pinned to the server's 15.18.
($ok, $out, $log) = run_deps(installed => [ @server, @build ], candidate => '15.20-0+deb12u1',
	archive => '15.20-0+deb12u1 15.18-0+deb12u1', args => ['--yes']);
ok($ok, 'headers missing: exits 0');
like($out, qr/will install: postgresql-server-dev-15=15\.18-0\+deb12u1/, 'it says first what it installs: the headers of the server\'s release');
like($log, qr/^apt-get install -y --no-install-recommends --no-upgrade postgresql-server-dev-15=15\.18-0\+deb12u1$/m,
	'and installs exactly that, upgrading nothing');
unlike($log, qr/apt-get.* install .*postgresql-15(\s|=|$)/m, 'the server package is never named to apt-get');

# The archive no longer has the server's release: stop, change nothing.
($ok, $out, $log) = run_deps(installed => [ @server, @build ], candidate => '15.20-0+deb12u1',
	archive => '15.20-0+deb12u1');
ok(!$ok, 'no headers of the server\'s release: exits non-zero');
like($out, qr/Nothing was changed.*maintenance window/s, 'with advice');
unlike($log, qr/apt-get install(?! -s)/, 'and installs nothing');

# Installed headers newer than the server: stop with advice.
($ok, $out, $log) = run_deps(installed => [ @server, @build, 'postgresql-server-dev-15=15.20-0+deb12u1' ]);
ok(!$ok, 'headers newer than the server: exits non-zero');
like($out, qr/not of the\s+server's minor release.*postgresql-server-dev-15=15\.18-0\+deb12u1/s,
	'naming the headers to install instead');
unlike($log, qr/apt-get/, 'without calling apt-get');

# --dry-run lists and changes nothing.
($ok, $out, $log) = run_deps(installed => [@server], args => ['--dry-run'], archive => '15.20-0+deb12u1 15.18-0+deb12u1');
ok($ok, '--dry-run exits 0');
like($out, qr/will install: build-essential pkg-config libicu-dev postgresql-server-dev-15=15\.18/, 'and lists the build\'s packages');
unlike($log, qr/apt-get (update|install(?! -s))/, 'without updating or installing');

# The server's major decides the headers: PostgreSQL 18 installed, its own.
($ok, $out, $log) = run_deps(installed => [ 'postgresql-18=18.1-1.pgdg120+2', @build ],
	candidate => '18.1-1.pgdg120+2', archive => '18.1-1.pgdg120+2', args => ['--dry-run']);
ok($ok && $out =~ /will install: postgresql-server-dev-18\b/, 'with PostgreSQL 18 installed, the 18 headers')
  or diag($out);
($ok, $out, $log) = run_deps(installed => [ @server, 'postgresql-18=18.1-1.pgdg120+2', @build ], args => ['--dry-run']);
ok(!$ok && $out =~ /--pg-major/, 'with two majors installed, it asks which') or diag($out);

# Never a write outside the checkout: the script has no redirection or tee
# into /etc, and no createcluster.d setting.
my $script = slurp_file("$root/scripts/deps.sh");
unlike($script, qr{createcluster|tee\s|>\s*/etc}, 'deps.sh writes no system setting');
my $test_script = slurp_file("$root/scripts/deps-test.sh");
ok($test_script =~ /createcluster\.d/ && $test_script =~ /^# .*test machines? only/m,
	'deps-test.sh, which does, says it is for test machines only');

done_testing();
