#!/usr/bin/env bash
# Server-side suites: build and install the extension, then run the
# regression, isolation and TAP suites, each on its own temporary instance
# preloaded with pg_cron and sentiment_proc (test/sentiment_proc.conf).
#
# initdb refuses to run as root, so as root the suites run as user postgres
# (created when missing) on a copy of the tree it owns; a non-root developer
# runs them in place (scripts/lib/as-postgres.sh).  Prints one
# "SUITE: N passed, N failed" line per suite and exits non-zero when anything
# failed.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/as-postgres.sh

echo "== build and install"
build_and_install || { echo "build or install failed"; echo "regress: 0 passed, 1 failed"; exit 1; }

tree_for_postgres || { echo "could not prepare a tree for user postgres"; echo "regress: 0 passed, 1 failed"; exit 1; }
tree=$SP_TREE
logs=$(mktemp -d)
trap 'rm -rf "$logs"; tree_cleanup' EXIT
chmod 777 "$logs"
status=0

# Count pg_regress-style result lines ("test name ... ok" / "... FAILED").
regress_summary() {
	local name=$1 log=$2 rc=$3 passed failed
	passed=$(grep -cE '\.\.\. +ok( |$)' "$log")
	failed=$(grep -cE '\.\.\. +(FAILED|failed)' "$log")
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
	echo "$name: $passed passed, $failed failed"
}

echo "== regression"
in_tree "make installcheck-regress" >"$logs/regress" 2>&1
rc=$?
cat "$logs/regress"
if [ $rc -ne 0 ]; then
	status=1
	for f in "$tree/test/regression.diffs"; do [ -f "$f" ] && cat "$f"; done
	tail -n 50 "$tree"/test/log/postmaster.log 2>/dev/null
fi
regress_summary regress "$logs/regress" $rc

echo "== isolation"
if ls "$tree"/test/specs/*.spec >/dev/null 2>&1; then
	in_tree "make installcheck-isolation" >"$logs/iso" 2>&1
	rc=$?
	cat "$logs/iso"
	if [ $rc -ne 0 ]; then
		status=1
		[ -f "$tree/test/output_iso/regression.diffs" ] && cat "$tree/test/output_iso/regression.diffs"
	fi
	regress_summary isolation "$logs/iso" $rc
else
	echo "isolation: 0 passed, 0 failed"
fi

echo "== TAP"
if ls "$tree"/test/t/*.pl >/dev/null 2>&1; then
	in_tree "make installcheck-tap" >"$logs/tap" 2>&1
	rc=$?
	cat "$logs/tap"
	total=$(grep -oE 'Tests=[0-9]+' "$logs/tap" | tail -1 | cut -d= -f2)
	failed=$(grep -oE 'Failed [0-9]+/[0-9]+ subtests' "$logs/tap" | awk '{split($2, a, "/"); s += a[1]} END {print s + 0}')
	total=${total:-0}
	if [ $rc -ne 0 ]; then
		status=1
		[ "$failed" -eq 0 ] && failed=1
		for f in "$tree"/tmp_check/log/regress_log_*; do
			[ -f "$f" ] || continue
			echo "---- $f (last 80 lines)"
			tail -n 80 "$f"
		done
	fi
	passed=$((total - failed))
	[ $passed -lt 0 ] && passed=0
	echo "tap: $passed passed, $failed failed"
else
	echo "tap: 0 passed, 0 failed"
fi

exit $status
