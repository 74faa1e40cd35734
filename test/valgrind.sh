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
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$("$PG_CONFIG" --bindir)
command -v valgrind >/dev/null || { echo "valgrind is not installed (scripts/deps.sh installs it)"; exit 1; }

out=$root/test/valgrind
rm -rf "$out"
mkdir -p "$out/bin" "$out/logs"
for f in "$bindir"/*; do
	[ "$(basename "$f")" = postgres ] || ln -s "$f" "$out/bin/$(basename "$f")"
done
cat >"$out/bin/postgres" <<EOF
#!/bin/sh
exec valgrind --quiet --trace-children=yes --track-origins=yes --num-callers=30 \\
	--suppressions="$root/test/valgrind.supp" --gen-suppressions=all \\
	--log-file="$out/logs/%p.log" "$bindir/postgres" "\$@"
EOF
chmod +x "$out/bin/postgres"

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=($(make -s --no-print-directory print-regress PG_CONFIG="$PG_CONFIG"))

# the server starts slowly under valgrind
export PGCTLTIMEOUT=600
start=$(date +%s)
"$("$PG_CONFIG" --pgxs | xargs dirname)/../test/regress/pg_regress" \
	--bindir="$out/bin" --inputdir=test --outputdir="$out" \
	--temp-instance="$out/tmp_check" --temp-config=test/sentiment_proc.conf \
	--dbname=contrib_regression "${tests[@]}" 2>&1 | tee "$out/regress.log"
rc=${PIPESTATUS[0]}
echo "valgrind: regression suite took $(( $(date +%s) - start )) s"

errors=0
for log in "$out"/logs/*.log; do
	[ -s "$log" ] || continue
	errors=$((errors + 1))
	echo "---- $log"
	head -n 60 "$log"
done
passed=$(grep -cE '\.\.\. +ok( |$)' "$out/regress.log")
failed=$(grep -cE '\.\.\. +(FAILED|failed)' "$out/regress.log")
[ $rc -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
[ -f "$out/regression.diffs" ] && [ "$failed" -gt 0 ] && head -n 100 "$out/regression.diffs"
echo "valgrind: $(ls "$out"/logs | wc -l) processes checked, $errors with errors"
echo "valgrind: $passed passed, $((failed + errors)) failed"
[ $rc -eq 0 ] && [ $errors -eq 0 ]
