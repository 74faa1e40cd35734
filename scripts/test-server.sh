#!/usr/bin/env bash
# Server-side suites: build and install the extension, then run the
# regression, isolation and TAP suites, each on its own temporary instance
# preloaded with pg_cron and sentiment_proc (test/sentiment_proc.conf).
#
#   scripts/test-server.sh [PG_CONFIG...]
#
# Runs every suite on each PostgreSQL given (by default the one PG_CONFIG or
# the first pg_config in PATH names), one after the other.  Each major builds
# in its own directory, build/pgNN (scripts/lib/as-postgres.sh:
# use_build_dir), kept between runs, with warnings as errors.  The major
# after the first also runs the tests that need an older install beside it
# (test/t/120_cross_major.pl, 121_pg_upgrade.pl): SP_OLD_INSTALL names a
# private copy of the first one with this build installed (build/pgNN-install).
#
# initdb refuses to run as root, so as root the suites run as user postgres
# (created when missing) on a copy of the build directory it owns; a non-root
# developer runs them in place (scripts/lib/as-postgres.sh).  Prints one
# "SUITE (pgNN): N passed, N failed" line per suite and major and exits
# non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/as-postgres.sh

export SP_WERROR=1
[ $# -gt 0 ] || set -- "$PG_CONFIG"
status=0
old_install=${SP_OLD_INSTALL:-}

# Count pg_regress-style result lines: "test name ... ok" / "... FAILED"
# (15), "ok 1 - name" / "not ok 1 - name" (16 and later).
regress_summary() {
	local name=$1 log=$2 rc=$3 passed failed
	passed=$(grep -cE '(\.\.\. +ok( |$))|(^ok [0-9]+ )' "$log")
	failed=$(grep -cE '(\.\.\. +(FAILED|failed))|(^not ok [0-9]+ )' "$log")
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
	echo "$name: $passed passed, $failed failed"
}

# Every suite on one major: PG_CONFIG names it.
run_major() {
	local label=$1 tree logs rc total failed passed
	echo "== $label: build and install ($("$PG_CONFIG" --version), build/$label)"
	if ! use_build_dir || ! build_and_install; then
		echo "build or install failed"; echo "regress ($label): 0 passed, 1 failed"; return 1
	fi
	tree_for_postgres || { echo "could not prepare a tree for user postgres"; echo "regress ($label): 0 passed, 1 failed"; return 1; }
	tree=$SP_TREE
	logs=$(mktemp -d)
	chmod 777 "$logs"
	local st=0

	echo "== $label: regression"
	in_tree "make installcheck-regress" >"$logs/regress" 2>&1
	rc=$?
	cat "$logs/regress"
	if [ $rc -ne 0 ]; then
		st=1
		for f in "$tree/test/regression.diffs"; do [ -f "$f" ] && cat "$f"; done
		tail -n 50 "$tree"/test/log/postmaster.log 2>/dev/null
	fi
	regress_summary "regress ($label)" "$logs/regress" $rc

	echo "== $label: isolation"
	if ls "$tree"/test/specs/*.spec >/dev/null 2>&1; then
		in_tree "make installcheck-isolation" >"$logs/iso" 2>&1
		rc=$?
		cat "$logs/iso"
		if [ $rc -ne 0 ]; then
			st=1
			[ -f "$tree/test/output_iso/regression.diffs" ] && cat "$tree/test/output_iso/regression.diffs"
		fi
		regress_summary "isolation ($label)" "$logs/iso" $rc
	else
		echo "isolation ($label): 0 passed, 0 failed"
	fi

	echo "== $label: TAP"
	if ls "$tree"/test/t/*.pl >/dev/null 2>&1; then
		in_tree "SP_OLD_INSTALL=$(printf %q "$old_install") make installcheck-tap" >"$logs/tap" 2>&1
		rc=$?
		cat "$logs/tap"
		total=$(grep -oE 'Tests=[0-9]+' "$logs/tap" | tail -1 | cut -d= -f2)
		failed=$(grep -oE 'Failed [0-9]+/[0-9]+ subtests' "$logs/tap" | awk '{split($2, a, "/"); s += a[1]} END {print s + 0}')
		total=${total:-0}
		if [ $rc -ne 0 ]; then
			st=1
			[ "$failed" -eq 0 ] && failed=1
			for f in "$tree"/tmp_check/log/regress_log_*; do
				[ -f "$f" ] || continue
				echo "---- $f (last 80 lines)"
				tail -n 80 "$f"
			done
		fi
		passed=$((total - failed))
		[ $passed -lt 0 ] && passed=0
		echo "tap ($label): $passed passed, $failed failed"
	else
		echo "tap ($label): 0 passed, 0 failed"
	fi
	rm -rf "$logs"
	tree_cleanup
	return $st
}

trap 'tree_cleanup' EXIT
for PG_CONFIG in "$@"; do
	export PG_CONFIG
	SP_ROOT=$SP_SRC SP_TREE=$SP_SRC
	major=$(pg_major)
	if [ -z "$major" ]; then
		echo "== $PG_CONFIG: not a PostgreSQL pg_config"; echo "regress ($PG_CONFIG): 0 passed, 1 failed"; status=1; continue
	fi
	start=$(date +%s)
	run_major "pg$major" || status=1
	echo "== pg$major: server suites took $(( $(date +%s) - start )) s"
	# the next majors' cross-version tests start nodes of this one: a
	# private copy of it with this build (build/pgNN-install)
	if [ -z "$old_install" ]; then
		old_install=$(stage_install "$SP_SRC/build/pg$major-install") ||
			{ echo "== pg$major: could not stage a copy for the cross-version tests; they will be skipped"; old_install=; }
	fi
done
exit $status
