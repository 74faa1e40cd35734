#!/usr/bin/perl
# The file-level call graph of the server glue, from its object files, and a
# check that it has no cycle (docs/development.md, "Layers of src/").
#
#   perl tools/call-graph.pl build/pg15/src        (or the .o files themselves)
#
# The unit list in src/sentiment_proc.h (beside this script, or --units
# FILE) is checked against the graph: it names every file, lists each file
# after the files it may call (its "->" line), and every call is one its
# caller's entry names.
#
# scripts/test.sh runs it on the objects of the server build.  It first
# tests itself on three small files of its own (so that it can fail).
#
# A file (unit) depends on another when its object file refers to a symbol
# the other defines: nm's undefined against defined symbols, which is exact
# (calls, function pointers taken and variables read alike; PostgreSQL's
# and the analyser library's symbols, defined in no object given, are not
# edges).  src/analyzer is a library below every unit and is not given.
#
# Prints the layers (0: calls no other unit; N: calls units of layers below
# N only), each unit with the units it calls, then "call graph: N passed, N
# failed".  A cycle fails, printed with the symbols that close it.  Exits
# non-zero on a failure.  Only Perl's core modules and nm.
use strict;
use warnings;
use File::Basename qw(basename);
use File::Temp qw(tempdir);
use FindBin;

my ($passed, $failed) = (0, 0);

# unit => { callee => [symbols] }
sub read_graph
{
	my @objs = @_;
	my (%defines, %uses, %graph);

	for my $o (@objs)
	{
		my $unit = basename($o, '.o');
		$graph{$unit} = {};
		open(my $nm, '-|', 'nm', '-P', $o) or die "nm $o: $!\n";
		while (<$nm>)
		{
			my ($sym, $type) = split;
			next unless defined $type;
			if ($type eq 'U') { push @{ $uses{$unit} }, $sym; }
			elsif ($type =~ /^[TDBRCGSV]$/) { $defines{$sym} = $unit; }
		}
		close($nm) or die "nm $o failed\n";
	}
	for my $unit (keys %uses)
	{
		for my $sym (@{ $uses{$unit} })
		{
			my $callee = $defines{$sym};
			next if !defined $callee || $callee eq $unit;
			push @{ $graph{$unit}{$callee} }, $sym;
		}
	}
	return \%graph;
}

# Strongly connected components (Tarjan), each a list of units.
sub components
{
	my ($g) = @_;
	my ($index, @stack, %on, %idx, %low, @comps) = (0);
	my $visit;
	$visit = sub {
		my ($v) = @_;
		$idx{$v} = $low{$v} = $index++;
		push @stack, $v;
		$on{$v} = 1;
		for my $w (sort keys %{ $g->{$v} })
		{
			if (!defined $idx{$w}) { $visit->($w); $low{$v} = $low{$w} if $low{$w} < $low{$v}; }
			elsif ($on{$w}) { $low{$v} = $idx{$w} if $idx{$w} < $low{$v}; }
		}
		if ($low{$v} == $idx{$v})
		{
			my @c;
			while (1) { my $w = pop @stack; $on{$w} = 0; push @c, $w; last if $w eq $v; }
			push @comps, [ sort @c ];
		}
	};
	$visit->($_) for grep { !defined $idx{$_} } sort keys %$g;
	return @comps;
}

# A shortest cycle through the first unit of a component, as a path.
sub a_cycle
{
	my ($g, $comp) = @_;
	my %in = map { $_ => 1 } @$comp;
	my $start = $comp->[0];
	my %prev = ($start => undef);
	my @queue = ($start);
	while (@queue)
	{
		my $v = shift @queue;
		for my $w (sort keys %{ $g->{$v} })
		{
			next unless $in{$w};
			if ($w eq $start)
			{
				my @path = ($start);
				for (my $u = $v; $u ne $start; $u = $prev{$u}) { unshift @path, $u; }
				return ($start, @path);
			}
			next if exists $prev{$w};
			$prev{$w} = $v;
			push @queue, $w;
		}
	}
	return ();
}

# Check one graph: print its layers, or its cycles.  Returns true when acyclic.
sub check_graph
{
	my ($g, $quiet) = @_;
	my @cycles = grep { @$_ > 1 } components($g);

	if (@cycles)
	{
		for my $c (@cycles)
		{
			my @path = a_cycle($g, $c);
			my @steps;
			for my $i (0 .. $#path - 1)
			{
				my ($from, $to) = @path[ $i, $i + 1 ];
				push @steps, "$from -> $to (" . join(', ', sort @{ $g->{$from}{$to} }) . ")";
			}
			print "cycle of " . scalar(@$c) . " files: " . join(' ', @$c) . "\n" unless $quiet;
			print "  for one: " . join("\n           ", @steps) . "\n" unless $quiet;
			next if $quiet;
			# every call inside it: one of them has to go
			my %in = map { $_ => 1 } @$c;
			print "  the calls inside it:\n";
			for my $from (@$c)
			{
				for my $to (sort grep { $in{$_} } keys %{ $g->{$from} })
				{
					print "    $from -> $to (" . join(', ', sort @{ $g->{$from}{$to} }) . ")\n";
				}
			}
		}
		return 0;
	}

	my %layer;
	my $depth;
	$depth = sub {
		my ($v) = @_;
		return $layer{$v} if defined $layer{$v};
		my $l = 0;
		for my $w (keys %{ $g->{$v} }) { my $d = $depth->($w) + 1; $l = $d if $d > $l; }
		return $layer{$v} = $l;
	};
	$depth->($_) for keys %$g;
	return 1 if $quiet;
	my $top = 0;
	for (values %layer) { $top = $_ if $_ > $top; }
	for my $l (0 .. $top)
	{
		print "layer $l:\n";
		for my $v (sort grep { $layer{$_} == $l } keys %layer)
		{
			my @callees = sort keys %{ $g->{$v} };
			print @callees ? sprintf("  %-16scalls %s\n", $v, join(' ', @callees)) : "  $v\n";
		}
	}
	return 1;
}

# The unit list of the header comment: [ [unit, [callees]], ... ] in order.
sub read_units
{
	my ($file) = @_;
	open(my $fh, '<', $file) or die "$file: $!\n";
	my ($in, @units) = (0);
	my $calls;
	while (<$fh>)
	{
		$in = 1 if /Units of the server glue/;
		next unless $in;
		last if m{^ \*/};
		if (/^ \*   (\w+)\.c\s/) { push @units, [ $1, [] ]; $calls = 0; }
		elsif (@units && /^ \*\s+->\s*(.*)$/) { $calls = 1; push @{ $units[-1][1] }, split(' ', $1); }
		elsif (@units && $calls && /^ \*\s+([\w ]+)$/) { push @{ $units[-1][1] }, split(' ', $1); }
	}
	close($fh);
	return @units;
}

sub check_units
{
	my ($g, $file) = @_;
	my @units = read_units($file);
	my (%pos, %may, @bad);
	for my $i (0 .. $#units) { $pos{ $units[$i][0] } = $i; $may{ $units[$i][0] } = { map { $_ => 1 } @{ $units[$i][1] } }; }

	for my $u (sort keys %$g) { push @bad, "  src/$u.c is not in the list" unless defined $pos{$u}; }
	for my $u (sort keys %pos) { push @bad, "  $u.c is listed but has no object file" unless exists $g->{$u}; }
	print "$_\n" for @bad;
	result(@units && !@bad, "the unit list in $file names every file of src/");

	@bad = ();
	for my $u (@units)
	{
		for my $c (@{ $u->[1] })
		{
			push @bad, "  $u->[0].c may call $c, which is not listed above it"
				unless defined $pos{$c} && $pos{$c} < $pos{ $u->[0] };
		}
	}
	print "$_\n" for @bad;
	result(@units && !@bad, "the unit list lists each file after the files it may call");

	@bad = ();
	for my $u (sort keys %$g)
	{
		next unless defined $pos{$u};
		for my $c (sort keys %{ $g->{$u} })
		{
			push @bad, "  $u.c calls $c.c (" . join(', ', sort @{ $g->{$u}{$c} }) . "), which its entry does not name"
				unless $may{$u}{$c};
		}
	}
	print "$_\n" for @bad;
	result(@units && !@bad, "every call between files is one the unit list allows");
}


sub result
{
	my ($ok, $what) = @_;
	if ($ok) { $passed++; print "ok - $what\n"; }
	else     { $failed++; print "FAILED - $what\n"; }
}

# The check must be able to fail: two files calling each other are a cycle,
# and a third that only calls them is not.
sub self_test
{
	my $dir = tempdir(CLEANUP => 1);
	my %src = (
		'a.c' => "int b(int); int a(int x) { return x ? b(x - 1) : 0; }\n",
		'b.c' => "int a(int); int b(int x) { return a(x); }\n",
		'c.c' => "int a(int); int c(void) { return a(3); }\n");
	for my $f (sort keys %src)
	{
		open(my $fh, '>', "$dir/$f") or die "$dir/$f: $!\n";
		print $fh $src{$f};
		close($fh);
		(my $o = $f) =~ s/\.c$/.o/;
		system($ENV{CC} // 'cc', '-c', '-o', "$dir/$o", "$dir/$f") == 0 or die "cc $f failed\n";
	}
	my $g = read_graph("$dir/a.o", "$dir/b.o", "$dir/c.o");
	result(!check_graph($g, 1), "self-test: a.c and b.c calling each other are a cycle");
	delete $g->{b}{a};
	result(check_graph($g, 1), "self-test: without b.c's call back, no cycle");
}

my $units_file = "$FindBin::Bin/../src/sentiment_proc.h";
$units_file =~ s{^\Q$FindBin::Bin\E/\.\./}{} if -f "src/sentiment_proc.h";
if (@ARGV >= 2 && $ARGV[0] eq '--units') { $units_file = $ARGV[1]; splice(@ARGV, 0, 2); }
my @objs = grep { -f $_ } map { -d $_ ? sort(glob("$_/*.o")) : $_ } @ARGV;
die "usage: $0 [--units FILE] DIR|OBJ... (the server glue's object files, src/*.o of a build)\n" unless @ARGV;
self_test();
if (@objs)
{
	my $g = read_graph(@objs);
	result(check_graph($g),
		"no cycle in the file-level call graph of " . scalar(@objs) . " files of src/");
	check_units($g, $units_file);
}
else
{
	result(0, "object files in @ARGV (the server build failed?)");
}
print "call graph: $passed passed, $failed failed\n";
exit($failed > 0);
