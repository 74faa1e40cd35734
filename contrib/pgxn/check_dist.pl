#!/usr/bin/perl
# Check a PGXN release before it is uploaded (make distcheck):
#
#   perl contrib/pgxn/check_dist.pl META.json sentiment_proc.control sentiment_proc-1.2.zip
#
# META.json against the PGXN Meta Spec 1.0.0 (required keys and their
# forms; the checks a PGXN upload makes that matter for us), its version
# against the control file's default_version, and the archive: one top
# folder NAME-VERSION/ holding META.json (the same), the control file, the
# Makefile, sql/ and src/.  Only Perl's core modules.  Prints one line per
# check and "pgxn: N passed, N failed"; exits non-zero when one failed.
use strict;
use warnings;
use JSON::PP;
use IO::Uncompress::Unzip qw($UnzipError);

my ($meta_file, $control_file, $zip) = @ARGV;
die "usage: $0 META.json NAME.control NAME-VERSION.zip\n" unless $zip;

my ($passed, $failed) = (0, 0);
sub check
{
	my ($ok, $what) = @_;
	if ($ok) { $passed++; print "ok - $what\n"; }
	else     { $failed++; print "FAILED - $what\n"; }
	return $ok;
}
sub finish
{
	print "pgxn: $passed passed, $failed failed\n";
	exit($failed ? 1 : 0);
}
sub slurp
{
	my $f = shift;
	open(my $fh, '<:raw', $f) or die "$f: $!\n";
	local $/;
	return scalar <$fh>;
}

# Semantic versions as the spec wants them (2.0.0-beta1 style pre-releases).
my $semver = qr/^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-[0-9A-Za-z-]+)?$/;
# A prerequisite: 0 (any), a version, or comparisons like ">= 1.2.0, < 2.0.0".
my $verspec = qr/^(?:0|(?:(?:[<>]=?|==|!=)\s*)?[0-9]+(?:\.[0-9]+){0,2}(?:-[0-9A-Za-z-]+)?)$/;

# ---- META.json ----------------------------------------------------------------
my $meta = eval { JSON::PP->new->utf8->relaxed(0)->decode(slurp($meta_file)) };
check(!!(ref $meta eq 'HASH'), "$meta_file is a JSON object" . ($@ ? ": $@" : '')) or finish();

for my $key (qw(name version abstract maintainer license provides meta-spec))
{
	check(!!defined $meta->{$key}, "required key '$key' is there");
}
check(!!(ref $meta->{'meta-spec'} eq 'HASH' && ($meta->{'meta-spec'}{version} // '') eq '1.0.0'),
	'meta-spec version is 1.0.0');
my $name = $meta->{name} // '';
check(scalar($name =~ /^[^\s\/\\:]{2,}$/), "name '$name' is a valid distribution name");
my $version = $meta->{version} // '';
check(scalar($version =~ $semver), "version '$version' is a semantic version");
check(!!(defined $meta->{abstract} && !ref $meta->{abstract} && $meta->{abstract} =~ /\S/), 'abstract is a sentence');
my $maint = $meta->{maintainer};
check(!!((defined $maint && !ref $maint && $maint =~ /\S/)
	  || (ref $maint eq 'ARRAY' && @$maint && !grep { ref || !/\S/ } @$maint)),
	'maintainer is a string or a list of strings');
my %licences = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd freebsd gfdl_1_2
  gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1 openssl perl_5 postgresql qpl_1_0
  ssleay sun zlib open_source restricted unrestricted unknown);
my $lic = $meta->{license};
check(!!((defined $lic && !ref $lic && $licences{$lic})
	  || (ref $lic eq 'ARRAY' && @$lic && !grep { ref || !$licences{$_} } @$lic)
	  || (ref $lic eq 'HASH' && %$lic)),
	'license is one the spec knows (' . (ref $lic ? 'list or map' : $lic // 'none') . ')');
check(!!(!defined $meta->{release_status} || $meta->{release_status} =~ /^(stable|testing|unstable)$/),
	'release_status is stable, testing or unstable');
my %allowed = map { $_ => 1 } qw(name abstract description version maintainer license provides
  prereqs release_status resources generated_by no_index tags meta-spec);
check(!grep({ !$allowed{$_} && !/^[xX]_/ } keys %$meta) ? 1 : 0, 'no unknown top-level keys (custom ones start with x_)');

# provides: the extension itself, with the same version and files that exist
my $prov = ref $meta->{provides} eq 'HASH' ? $meta->{provides} : {};
check(!!exists $prov->{$name}, "provides names the extension '$name'");
for my $ext (sort keys %$prov)
{
	my $p = $prov->{$ext};
	check(!!(ref $p eq 'HASH' && defined $p->{file} && ($p->{version} // '') =~ $semver),
		"provides.$ext has a file and a semantic version");
}

# prereqs: known phases and relationships, versions in a known form
my $pre = $meta->{prereqs} // {};
my @bad;
if (ref $pre eq 'HASH')
{
	for my $phase (keys %$pre)
	{
		push @bad, "phase $phase" unless $phase =~ /^(configure|build|test|runtime|develop)$/;
		for my $rel (keys %{ $pre->{$phase} })
		{
			push @bad, "$phase.$rel" unless $rel =~ /^(requires|recommends|suggests|conflicts)$/;
			while (my ($dep, $v) = each %{ $pre->{$phase}{$rel} })
			{
				# a range is comparisons joined by commas
				push @bad, "$phase.$rel.$dep = $v" if grep { $_ !~ $verspec } split /\s*,\s*/, "$v";
			}
		}
	}
}
else { push @bad, 'prereqs is not a map'; }
check(!@bad, 'prereqs are well formed' . (@bad ? ': ' . join(', ', @bad) : ''));

# ---- against the control file ---------------------------------------------------
my $control = slurp($control_file);
my ($default) = $control =~ /^\s*default_version\s*=\s*'([^']*)'/m;
(my $control_name = $control_file) =~ s{^.*/|\.control$}{}g;
check($name eq $control_name, "name is the extension's ($control_name)");
check(!!defined $default, "the control file has default_version" . (defined $default ? " '$default'" : ''));
$default //= '';
# PGXN versions have three parts; the control file's 1.2 is 1.2.0
my $padded = join('.', (split(/\./, $default), 0, 0)[0 .. 2]);
check($version eq $padded, "version $version is the control file's $default");
check(($prov->{$name}{version} // '') eq $padded, "provides.$name.version is the control file's $default");

# ---- the archive ----------------------------------------------------------------
my $top = "$name-$default/";
(my $zip_base = $zip) =~ s{^.*/}{};
check($zip_base eq "$name-$default.zip", "the archive is named $name-$default.zip");
my (%members, $inner_meta);
my $u = IO::Uncompress::Unzip->new($zip);
check($u, "$zip opens as a zip archive" . ($u ? '' : ": $UnzipError")) or finish();
for (my $status = 1; $status > 0; $status = $u->nextStream())
{
	my $member = $u->getHeaderInfo()->{Name};
	$members{$member} = 1;
	if ($member eq "${top}META.json")
	{
		local $/;
		$inner_meta = <$u>;
	}
}
my @outside = grep { index($_, $top) != 0 } sort keys %members;
check(!@outside, "every member is under $top" . (@outside ? " (not: @outside[0 .. ($#outside < 4 ? $#outside : 4)])" : ''));
for my $want ('META.json', "$name.control", 'Makefile', 'README.md')
{
	check(!!$members{"$top$want"}, "the archive holds $want");
}
check(scalar(grep({ m{^\Q$top\Esql/.+\.sql$} } keys %members)), 'the archive holds sql/ with SQL scripts');
check(scalar(grep({ m{^\Q$top\Esrc/.+\.c$} } keys %members)), 'the archive holds src/ with the C sources');
for my $ext (sort keys %$prov)
{
	for my $k ('file', 'docfile')
	{
		my $f = $prov->{$ext}{$k} // next;
		check(!!$members{"$top$f"}, "provides.$ext.$k ($f) is in the archive");
	}
}
check(!!(defined $inner_meta && $inner_meta eq slurp($meta_file)),
	"the archive's META.json is this one (commit it before make dist)");
finish();
