#!/usr/bin/env bash
# Run a make target of this tree where initdb can run: as root, as user
# postgres on a copy of the tree it owns (as scripts/test-server.sh does);
# otherwise in place.  Builds and installs the extension first.  Used by
# `make torture` and `make installcheck-valgrind`.
#
#   scripts/as-postgres.sh TARGET [VAR=value ...]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target=$1
shift
PG_CONFIG=${PG_CONFIG:-pg_config}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
make -s PG_CONFIG="$PG_CONFIG" || exit 1
if [ -w "$($PG_CONFIG --pkglibdir)" ] && [ -w "$($PG_CONFIG --sharedir)/extension" ]; then
	make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
else
	$SUDO make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
fi || exit 1

if [ "$(id -u)" -ne 0 ]; then
	exec make "$target" PG_CONFIG="$PG_CONFIG" "$@"
fi

id postgres >/dev/null 2>&1 ||
	useradd --system --create-home --home-dir /var/lib/postgresql --shell /bin/bash postgres
work=$(mktemp -d /tmp/sentiment_proc_run.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/main"
tar -C "$root" --exclude=.git --exclude=./node_modules -cf - . | tar -C "$work/main" -xf -
[ -d "$root/../shared" ] && ln -s "$(cd "$root/../shared" && pwd)" "$work/shared"
chown -R postgres: "$work"
args=""
[ $# -gt 0 ] && args=$(printf ' %q' "$@")
runuser -u postgres -- bash -c "cd '$work/main' && make $(printf %q "$target") PG_CONFIG='$PG_CONFIG'$args"
rc=$?
# keep what a failed run leaves behind for a look
if [ $rc -ne 0 ]; then
	keep=$(mktemp -d /tmp/sentiment_proc_failed.XXXXXX)
	cp -a "$work/main/tmp_check" "$work/main/test/valgrind" "$work/main/test/regression.diffs" "$work/main/test/results" "$work/main/test/output_iso" "$keep" 2>/dev/null
	echo "as-postgres: $target failed; logs kept in $keep" >&2
fi
exit $rc
