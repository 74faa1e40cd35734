#!/usr/bin/env bash
# Server-side suites: build and install the extension, then run the
# regression, isolation and TAP suites, each on its own temporary instance
# preloaded with pg_cron and sentiment_proc (test/sentiment_proc.conf).
#
# initdb refuses to run as root, so as root the suites run as user postgres
# (created when missing) on a copy of the tree it owns; a non-root developer
# runs them in place.  Prints one "SUITE: N passed, N failed" line per suite
# and exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
export PG_CONFIG

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

echo "== build"
make -s PG_CONFIG="$PG_CONFIG" || { echo "build failed"; echo "regress: 0 passed, 1 failed"; exit 1; }
echo "== install"
if [ -w "$($PG_CONFIG --pkglibdir)" ] && [ -w "$($PG_CONFIG --sharedir)/extension" ]; then
	make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
else
	$SUDO make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
fi || { echo "install failed"; echo "regress: 0 passed, 1 failed"; exit 1; }

run=(bash -c)
tree=$root
if [ "$(id -u)" -eq 0 ]; then
	if ! id postgres >/dev/null 2>&1; then
		useradd --system --create-home --home-dir /var/lib/postgresql --shell /bin/bash postgres
	fi
	work=$(mktemp -d /tmp/sentiment_proc_test.XXXXXX)
	trap 'rm -rf "$work"' EXIT
	tree=$work/main
	mkdir "$tree"
	# Built products are copied with their times, so nothing is rebuilt.
	tar -C "$root" --exclude=.git --exclude=./node_modules -cf - . | tar -C "$tree" -xf -
	# Tests find the evaluation data beside the checkout, as in CI.
	[ -d "$root/../shared" ] && ln -s "$(cd "$root/../shared" && pwd)" "$work/shared"
	chown -R postgres: "$work"
	run=(runuser -u postgres -- bash -c)
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs" ${work:+"$work"}' EXIT
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
"${run[@]}" "cd '$tree' && make installcheck-regress PG_CONFIG='$PG_CONFIG'" >"$logs/regress" 2>&1
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
	"${run[@]}" "cd '$tree' && make installcheck-isolation PG_CONFIG='$PG_CONFIG'" >"$logs/iso" 2>&1
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
	"${run[@]}" "cd '$tree' && make installcheck-tap PG_CONFIG='$PG_CONFIG'" >"$logs/tap" 2>&1
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
