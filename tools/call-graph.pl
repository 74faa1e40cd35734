#!/usr/bin/perl
# The file-level call graph of the server glue, from its object files, and a
# check that it has no cycle (docs/development.md, "Layers of src/").
#
#   perl tools/call-graph.pl build/pg15/src        (or the .o files themselves)
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
			printf "  %-16s%s\n", $v, @callees ? "calls " . join(' ', @callees) : "";
		}
	}
	return 1;
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

my @objs = grep { -f $_ } map { -d $_ ? sort(glob("$_/*.o")) : $_ } @ARGV;
die "usage: $0 DIR|OBJ... (the server glue's object files, src/*.o of a build)\n" unless @ARGV;
self_test();
if (@objs)
{
	result(check_graph(read_graph(@objs)),
		"no cycle in the file-level call graph of " . scalar(@objs) . " files of src/");
}
else
{
	result(0, "object files in @ARGV (the server build failed?)");
}
print "call graph: $passed passed, $failed failed\n";
exit($failed > 0);
