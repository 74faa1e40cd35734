#!/usr/bin/env bash
# The README's test command: installs what it needs, builds, and runs every
# suite (analyser unit tests, parity, fuzzing, then the server-side suites on
# private temporary instances of PostgreSQL 15 and 18).  Ends with "tests: N passed, N failed" and
# exits non-zero when any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps-test.sh || { echo "deps: installing the required packages failed"; exit 1; }
# pgvector is optional (Debian 12 has no package): built from the tarball in
# ../shared when it is there; its suite (test/t/100_pgvector.pl) skips without it.
if [ -x ../shared/pgvector/install.sh ]; then
	../shared/pgvector/install.sh || echo "pgvector: install failed; its tests will be skipped"
fi
# Citus likewise (Debian 12 has no package; 2-4 minutes, once per machine):
# its suite (test/t/110_citus.pl) skips, saying how to install it, without it.
if [ -x ../shared/citus/install.sh ]; then
	../shared/citus/install.sh || echo "citus: install failed; its tests will be skipped"
fi
# PostgreSQL 18 beside Debian's 15: Debian 12 has no package, so
# ../shared/postgresql/install.sh builds it into /usr/local/pgsql-18 (4-7
# minutes, once per machine), with pgvector for it.  The server suites then
# run on 15 and on 18.  SP_PG18_CONFIG names another 18, installed by other
# means (or none: empty).
pg18=${SP_PG18_CONFIG-/usr/local/pgsql-18/bin/pg_config}
if [ "$pg18" = /usr/local/pgsql-18/bin/pg_config ] && [ -x ../shared/postgresql/install.sh ]; then
	../shared/postgresql/install.sh || echo "postgresql 18: install failed; the suites on 18 will be skipped"
	if [ -x "$pg18" ] && [ -x ../shared/pgvector/install.sh ]; then
		PG_CONFIG=$pg18 ../shared/pgvector/install.sh || echo "pgvector for 18: install failed; its tests on 18 will be skipped"
	fi
fi
majors=("${PG_CONFIG:-pg_config}")
if [ -n "$pg18" ] && [ -x "$pg18" ]; then
	majors+=("$pg18")
elif [ -n "$pg18" ] && [ ! -x ../shared/postgresql/install.sh ]; then
	echo "== PostgreSQL 18: skipped, the server suites run on 15 only: $pg18 is not installed and" \
		"../shared/postgresql/install.sh, which builds it, is not beside this checkout"
else
	echo "== PostgreSQL 18: skipped, the server suites run on 15 only"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

echo "== analyser: build, unit tests, parity, fuzz"
make -s -C src/analyzer check 2>&1 | tee -a "$log" || { status=1; echo "analyzer: 0 passed, 1 failed" >>"$log"; }

echo "== function length: none over 120 lines in src/ and sql/objects/"
tools/check-function-length.sh 2>&1 | tee -a "$log" || status=1

echo "== server: build, install, regression, isolation, TAP on each major"
scripts/test-server.sh "${majors[@]}" 2>&1 | tee -a "$log" || status=1

# The glue's layers: no cycle in the file-level call graph of src/, read with
# nm from the objects the first major's build left in build/pgNN.
echo "== call graph: the layers of src/ (tools/call-graph.pl)"
first=$("${majors[0]}" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
perl tools/call-graph.pl "build/pg$first/src" 2>&1 | tee -a "$log" || status=1

# -- PGXN release and Debian package (make distcheck, scripts/test-deb.sh).
# The package step comes last: installing the .deb replaces the files that
# `make install` put into the system PostgreSQL; test-deb.sh puts them back.
echo "== pgxn: META.json and the release archive"
make -s distcheck 2>&1 | tee -a "$log" ||
	{ status=1; grep -q '^pgxn: ' "$log" || echo "pgxn: 0 passed, 1 failed" | tee -a "$log"; }
echo "== deb: build the package, install it, regression suite on the installed files, purge"
scripts/test-deb.sh 2>&1 | tee -a "$log" || status=1
# -- end of PGXN release and Debian package

# Each suite prints "NAME: N passed, N failed"; add them up.
awk '/: [0-9]+ passed, [0-9]+ failed/ {
	for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
} END { printf "tests: %d passed, %d failed\n", p, f; exit (f > 0) }' "$log" || status=1
exit $status
