#!/usr/bin/env bash
# The README's test command: installs what it needs, builds, and runs every
# suite (analyser unit tests, parity, fuzzing, then the server-side suites on
# a private temporary PostgreSQL).  Ends with "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/deps.sh

log=$(mktemp -d)/summary
trap 'rm -rf "$(dirname "$log")"' EXIT

echo "== analyser: build, unit tests, parity, fuzz"
make -s -C src/analyzer check 2>&1 | tee -a "$log"

echo "== server: build, install, regression, isolation, TAP"
scripts/test-server.sh 2>&1 | tee -a "$log"

# Each suite prints "NAME: N passed, N failed"; add them up.
awk '/: [0-9]+ passed, [0-9]+ failed/ {
	for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
} END { printf "tests: %d passed, %d failed\n", p, f; exit (f > 0) }' "$log"
