#!/usr/bin/env bash
# Every benchmark under bench/ and every script under scripts/ at a smoke
# size (a few thousand rows, a few seconds each), so that a rename cannot
# break one unseen.  Each is one check: it must exit 0 and print its figures
# (a line the check names).  Not a measurement: the figures are not judged.
#
#   scripts/test-scripts.sh [LABEL]      (LABEL names the major, e.g. pg15)
#
# Expects this checkout's build installed in PG_CONFIG's PostgreSQL and its
# dependencies present (scripts/test.sh runs it after scripts/test-server.sh):
# the scripts run with SP_INSTALLED=1, so none builds, installs or runs
# scripts/deps-test.sh.  They run in a scratch copy of the checkout, so
# what they write (bench/out) never replaces a developer's figures.  The ones
# that need pgvector or Citus skip, saying so, where PG_CONFIG's PostgreSQL
# lacks it.  Run elsewhere: scripts/test.sh itself, scripts/test-server.sh,
# scripts/as-postgres.sh (under them) and scripts/test-deb.sh (its own stage).
# Prints "scripts (LABEL): N passed, N failed"; exits non-zero when any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
label=${1:-pg$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')}
export PG_CONFIG SP_INSTALLED=1
# each script gets this long at most (the smoke sizes take a few seconds)
limit=${SP_SCRIPT_TIMEOUT:-120}

copy=$(mktemp -d /tmp/sentiment_proc_scripts.XXXXXX)
trap 'rm -rf "$copy"' EXIT
tar -C "$src" --exclude=./.git --exclude=./build --exclude=./node_modules --exclude=./tmp_check \
	--exclude=./bench/out --exclude=./test/results --exclude=./test/output_iso --exclude='./test/tmp_check_*' \
	-cf - . | tar -C "$copy" -xf - || { echo "scripts ($label): 0 passed, 1 failed"; exit 1; }
chmod 755 "$copy"
cd "$copy"

extdir=$("$PG_CONFIG" --sharedir)/extension
passed=0 failed=0 skipped=0
# check NAME FIGURES_REGEX COMMAND... : run COMMAND (bash -c) in the copy;
# it passes when it exits 0 and its output has a line matching FIGURES_REGEX.
check() {
	local name=$1 want=$2 log t0 rc secs
	shift 2
	log=$(mktemp)
	t0=$(date +%s)
	timeout --kill-after=10 "$limit" bash -c "$*" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	if [ $rc -eq 0 ] && grep -Eq "$want" "$log"; then
		passed=$((passed + 1))
		echo "ok     $name (${secs}s): $(grep -E "$want" "$log" | head -1 | sed 's/^ *//')"
	else
		failed=$((failed + 1))
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			echo "FAILED $name: no end within ${limit}s; its last lines:"
		elif [ $rc -ne 0 ]; then
			echo "FAILED $name: exit status $rc (${secs}s); its last lines:"
		else
			echo "FAILED $name: exit 0 but no line matching /$want/; its last lines:"
		fi
		tail -n 25 "$log" | sed 's/^/    /'
	fi
	rm -f "$log"
}
# skip NAME REASON: not counted, said
skip() { skipped=$((skipped + 1)); echo "skip   $1: $2"; }

# the analyser's, with no server
check analyzer_bench 'texts/s' 'make -s -C src/analyzer bench'
check analysis_bench 'texts/s' 'make -s -C bench analysis_bench >/dev/null && bench/analysis_bench 0.1'
check gen_mentions.py '^3000$' 'python3 bench/gen_mentions.py 3000 --seed 3 | wc -l; python3 bench/gen_mentions.py 3 --seed 4 --originals-only | grep -c .'
check plot.sh 'wrote .*smoke\.png' 'printf "x,rows_per_s,series\n1,100,a\n2,180,a\n" >/tmp/$$.csv &&
	bench/plot.sh workers /tmp/$$.csv /tmp/$$.smoke.png; rc=$?; rm -f /tmp/$$.csv /tmp/$$.smoke.png; exit $rc'
# the server's, each on its own private temporary instance
check demo.sh 'ms_from_insert_to_all_done' 'scripts/demo.sh'
check deps.sh '^deps: ' 'scripts/deps.sh --dry-run'
check deps-training.sh 'deps-training: ' 'scripts/deps-training.sh --dry-run'
check 'plot.sh run' 'figures written to' 'bench/plot.sh run 3000 2'
check process_bench.sh 'sentiment_process_batch\(100\), 1 session: +[0-9]+ rows/s' \
	'BATCH=100 SLICE=4 bench/process_bench.sh 2400 "$PG_CONFIG"'
check worker_bench.sh 'throughput 1 worker [0-9]+ rows/s' 'IDLE_SECONDS=1 bench/worker_bench.sh 3000 50 3'
check memory_bench.sh '[0-9]+ kB' 'bench/memory_bench.sh 4000 2'
check load_bench.sh 'nothing lost or doubled: ok' 'DURATION=3 CLIENTS=2 THREADS=1 bench/load_bench.sh'
if [ -f "$extdir/vector.control" ]; then
	check pgvector_bench.sh 'recall' 'EF_SWEEP=200 bench/pgvector_bench.sh 2000 5 1000'
	check pgvector_lane_bench.sh 'rows/s' 'ROUNDS=1 bench/pgvector_lane_bench.sh 2000'
	check similar_profile.sh 'call' 'bench/similar_profile.sh 2000 10'
else
	for s in pgvector_bench.sh pgvector_lane_bench.sh similar_profile.sh; do
		skip "$s" "pgvector is not installed in $("$PG_CONFIG" --version) (../shared/pgvector/install.sh)"
	done
fi
if [ -f "$extdir/citus.control" ]; then
	check citus_bench.sh 'rows/s' 'bench/citus_bench.sh 3000 50 3'
else
	skip citus_bench.sh "Citus is not installed in $("$PG_CONFIG" --version) (../shared/citus/install.sh)"
fi

echo "scripts ($label): $passed passed, $failed failed ($skipped skipped)"
[ $failed -eq 0 ]
