#!/usr/bin/env bash
# The README's test command: installs what it needs, builds, and runs every
# suite (analyser unit tests, parity, fuzzing, then the server-side suites on
# a private temporary PostgreSQL).  Ends with "tests: N passed, N failed" and
# exits non-zero when any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh || { echo "deps: installing the required packages failed"; exit 1; }
# pgvector is optional (Debian 12 has no package): built from the tarball in
# ../shared when it is there; its suite (test/t/100_pgvector.pl) skips without it.
if [ -x ../shared/pgvector/install.sh ]; then
	../shared/pgvector/install.sh || echo "pgvector: install failed; its tests will be skipped"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

echo "== analyser: build, unit tests, parity, fuzz"
make -s -C src/analyzer check 2>&1 | tee -a "$log" || { status=1; echo "analyzer: 0 passed, 1 failed" >>"$log"; }

echo "== server: build, install, regression, isolation, TAP"
scripts/test-server.sh 2>&1 | tee -a "$log" || status=1

# Each suite prints "NAME: N passed, N failed"; add them up.
awk '/: [0-9]+ passed, [0-9]+ failed/ {
	for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
} END { printf "tests: %d passed, %d failed\n", p, f; exit (f > 0) }' "$log" || status=1
exit $status
