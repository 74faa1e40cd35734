#!/usr/bin/env bash
# The Debian package end to end: `make deb`, install the .deb with apt-get,
# run the regression suite against the installed files (debian/tests/
# installcheck: a temporary instance of the system PostgreSQL 15, as user
# postgres), purge the package and check its files are gone.
#
# Installing the package replaces whatever sentiment_proc files are in the
# system PostgreSQL directories (a `make install` with the system pg_config
# puts them there): they are saved first and put back after the purge, so
# the system is left as it was.  Run it after the other suites (scripts/
# test.sh runs it last).  Prints "deb: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/as-postgres.sh
root=$(pwd)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT=($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq)
PKG=postgresql-15-sentiment-proc
PGLIB=/usr/lib/postgresql/15/lib
PGEXT=/usr/share/postgresql/15/extension

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAILED - $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
finish() { echo "deb: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

work=$(mktemp -d /tmp/sentiment_proc_deb.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# sentiment_proc files in the system directories now (not the package's)
system_files() {
	find "$PGLIB" "$PGEXT" -maxdepth 1 -name 'sentiment_proc*' 2>/dev/null
	find "$PGLIB/bitcode" -maxdepth 1 -name 'sentiment_proc*' 2>/dev/null
}
fingerprint() {
	{ system_files | sort | while read -r f; do
		if [ -d "$f" ]; then find "$f" -type f -exec sha256sum {} + | sort -k2; else sha256sum "$f"; fi
	done; } 2>/dev/null
}

echo "== deb: build"
if make deb >"$work/build.log" 2>&1; then
	pass "make deb builds the source package and $PKG"
else
	tail -n 60 "$work/build.log"
	fail "make deb"
	finish
fi
deb=$(ls build/deb/${PKG}_*.deb 2>/dev/null | head -1)
check "the .deb is there: ${deb:-none}" test -n "$deb"
[ -n "$deb" ] || finish
check "the source package is there (.dsc, .orig.tar.gz, .debian.tar.xz)" \
	bash -c 'ls build/deb/sentiment-proc_*.dsc build/deb/sentiment-proc_*.orig.tar.gz build/deb/sentiment-proc_*.debian.tar.* >/dev/null'
check "the package holds the module, the control file and the Prometheus examples" \
	bash -c "dpkg-deb -c '$deb' >'$work/contents' &&
	         grep -q '$PGLIB/sentiment_proc.so' '$work/contents' &&
	         grep -q '$PGEXT/sentiment_proc.control' '$work/contents' &&
	         grep -q 'examples/sentiment_proc_queries.yaml' '$work/contents'"

# Save what is in the system directories, then clear them: dpkg would
# overwrite such files silently, and the purge would leave nothing.
before=$(fingerprint)
saved=$(system_files)
if [ -n "$saved" ]; then
	echo "== deb: saving $(echo "$saved" | wc -l) sentiment_proc files of the system PostgreSQL"
	# shellcheck disable=SC2086
	$SUDO tar -C / -cpf "$work/saved.tar" $(echo "$saved" | sed 's|^/||')
	# shellcheck disable=SC2086
	$SUDO rm -rf $saved
fi
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'install ok installed'; then
	echo "== deb: $PKG is installed already (an earlier run?); purging it first"
	"${APT[@]}" purge "$PKG" >/dev/null
fi

echo "== deb: install $deb"
if "${APT[@]}" install "./$deb" >"$work/install.log" 2>&1; then
	pass "apt-get install ./$(basename "$deb")"
else
	cat "$work/install.log"
	fail "apt-get install"
fi
version=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null)
check "$PKG $version is installed" bash -c "dpkg-query -W -f='\${Status}' $PKG | grep -q 'install ok installed'"
check "dpkg --verify: the installed files are the package's" bash -c "[ -z \"\$(dpkg --verify $PKG)\" ]"
dpkg -L "$PKG" 2>/dev/null | while read -r f; do [ -d "$f" ] || echo "$f"; done >"$work/files"
check "the module is installed where the system PostgreSQL loads it" test -f "$PGLIB/sentiment_proc.so"

echo "== deb: regression suite against the installed files"
mkdir "$work/src"
cp -r Makefile sentiment_proc.control test debian "$work/src/"
rm -rf "$work/src/test/results" "$work/src/test/tmp_check_regress" "$work/src/test/regression."*
ensure_postgres_user
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$work/src"
as_postgres bash -c "cd '$work/src' && AUTOPKGTEST_TMP='$work/src/run' && mkdir -p \"\$AUTOPKGTEST_TMP\" && export AUTOPKGTEST_TMP && debian/tests/installcheck" \
	>"$work/regress.log" 2>&1
rc=$?
cat "$work/regress.log"
ok=$(grep -cE '\.\.\. +ok( |$)' "$work/regress.log")
bad=$(grep -cE '\.\.\. +(FAILED|failed)' "$work/regress.log")
passed=$((passed + ok))
failed=$((failed + bad))
[ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && fail "installcheck ended with status $rc"
[ "$ok" -eq 0 ] && fail "no regression test ran"

echo "== deb: purge"
if "${APT[@]}" purge "$PKG" >"$work/purge.log" 2>&1; then
	pass "apt-get purge $PKG"
else
	cat "$work/purge.log"
	fail "apt-get purge"
fi
check "$PKG is no longer known to dpkg" bash -c "! dpkg-query -W -f='\${Status}' $PKG 2>/dev/null | grep -q installed"
left=$(while read -r f; do [ -e "$f" ] && echo "$f"; done <"$work/files")
check "the package's $(wc -l <"$work/files") files are gone${left:+ (left: $left)}" test -z "$left"
check "no sentiment_proc file is left in the system PostgreSQL" test -z "$(system_files)"

if [ -f "$work/saved.tar" ]; then
	$SUDO tar -C / -xpf "$work/saved.tar"
fi
check "the system PostgreSQL directories are as before the test" test "$(fingerprint)" = "$before"
finish
