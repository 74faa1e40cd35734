#!/usr/bin/env bash
# The regression suite with the temporary instance's postgres under valgrind
# (make installcheck-valgrind; run as a user initdb accepts).  pg_regress gets
# a bindir in which postgres is a wrapper that starts the real server under
# valgrind; every backend and worker it forks runs there too.  Our analyser
# allocates with malloc, so valgrind checks every byte it touches; PostgreSQL's
# own palloc chunks are not instrumented in a non-valgrind build (a server
# built with USE_VALGRIND would check those as well).
#
# A process that reports an error leaves a non-empty log in test/valgrind/;
# the script prints them and fails.  test/valgrind.supp (ours) silences known
# reports from PostgreSQL itself, never from sentiment_proc.
#
#   test/valgrind.sh [regression tests...]    (default: the Makefile's REGRESS, in order)
#   test/valgrind.sh --tap [TAP tests...]     (default: all of test/t)
#
# With --tap the TAP tests run with the same wrapper: PostgreSQL::Test::Cluster
# starts its servers through pg_ctl, which looks for postgres beside itself
# (after resolving symbolic links), so the wrapper directory holds a copy of
# pg_ctl.  Every node of a test, its backends, background workers and the
# processes started after a crash-restart run under valgrind; initdb's
# bootstrap does not.  Time-outs are raised (PG_TEST_TIMEOUT_DEFAULT, 900 s
# unless set) as everything runs 20-50 times slower; tests that assert a
# duration of their own may still miss it.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$("$PG_CONFIG" --bindir)
command -v valgrind >/dev/null || { echo "valgrind is not installed (scripts/deps-test.sh installs it)"; exit 1; }

tap=0
if [ "${1:-}" = --tap ]; then
	tap=1
	shift
fi

out=$root/test/valgrind
rm -rf "$out"
mkdir -p "$out/bin" "$out/logs"
for f in "$bindir"/*; do
	case "$(basename "$f")" in
		postgres) ;;
		# a copy, so that it finds the wrapper beside it (see above)
		pg_ctl) [ $tap -eq 1 ] && cp "$f" "$out/bin/pg_ctl" || ln -s "$f" "$out/bin/pg_ctl" ;;
		*) ln -s "$f" "$out/bin/$(basename "$f")" ;;
	esac
done
cat >"$out/bin/postgres" <<EOF
#!/bin/sh
exec valgrind --quiet --trace-children=yes --track-origins=yes --num-callers=30 \\
	--suppressions="$root/test/valgrind.supp" --gen-suppressions=all \\
	--log-file="$out/logs/%p.log" "$bindir/postgres" "\$@"
EOF
chmod +x "$out/bin/postgres"

# the server starts slowly under valgrind
export PGCTLTIMEOUT=600

# Non-empty logs are processes that reported errors; prints them.
report_logs() {
	local log
	errors=0
	for log in "$out"/logs/*.log; do
		[ -s "$log" ] || continue
		errors=$((errors + 1))
		echo "---- $log"
		head -n 60 "$log"
	done
}

if [ $tap -eq 1 ]; then
	tests=("$@")
	[ ${#tests[@]} -gt 0 ] || tests=($(ls test/t/*.pl))
	pgxs=$(dirname "$("$PG_CONFIG" --pgxs)")
	export PG_TEST_TIMEOUT_DEFAULT=${PG_TEST_TIMEOUT_DEFAULT:-900}
	start=$(date +%s)
	rm -rf "$root/tmp_check" && mkdir -p "$root/tmp_check"
	# as the Makefile's prove_installcheck, with the wrapper first in PATH
	TESTDIR="$root" PATH="$out/bin:$bindir:$root:$PATH" PGPORT=65432 \
		PG_REGRESS="$pgxs/../../src/test/regress/pg_regress" \
		prove -I "$pgxs/../../src/test/perl/" -I ./ ${PROVE_FLAGS:-} "${tests[@]}" 2>&1 | tee "$out/prove.log"
	rc=${PIPESTATUS[0]}
	echo "valgrind: TAP tests took $(( $(date +%s) - start )) s"
	report_logs
	total=$(grep -oE 'Tests=[0-9]+' "$out/prove.log" | tail -1 | cut -d= -f2)
	failed=$(grep -oE 'Failed [0-9]+/[0-9]+ subtests' "$out/prove.log" | awk '{split($2, a, "/"); s += a[1]} END {print s + 0}')
	[ $rc -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
	echo "valgrind: $(ls "$out"/logs | wc -l) processes checked, $errors with errors"
	echo "valgrind-tap: $(( ${total:-0} - failed )) passed, $((failed + errors)) failed"
	[ $rc -eq 0 ] && [ $errors -eq 0 ]
	exit
fi

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=($(make -s --no-print-directory print-regress PG_CONFIG="$PG_CONFIG"))
start=$(date +%s)
"$("$PG_CONFIG" --pgxs | xargs dirname)/../test/regress/pg_regress" \
	--bindir="$out/bin" --inputdir=test --outputdir="$out" \
	--temp-instance="$out/tmp_check" --temp-config=test/sentiment_proc.conf \
	--dbname=contrib_regression "${tests[@]}" 2>&1 | tee "$out/regress.log"
rc=${PIPESTATUS[0]}
echo "valgrind: regression suite took $(( $(date +%s) - start )) s"

report_logs
passed=$(grep -cE '\.\.\. +ok( |$)' "$out/regress.log")
failed=$(grep -cE '\.\.\. +(FAILED|failed)' "$out/regress.log")
[ $rc -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
[ -f "$out/regression.diffs" ] && [ "$failed" -gt 0 ] && head -n 100 "$out/regression.diffs"
echo "valgrind: $(ls "$out"/logs | wc -l) processes checked, $errors with errors"
echo "valgrind: $passed passed, $((failed + errors)) failed"
[ $rc -eq 0 ] && [ $errors -eq 0 ]
