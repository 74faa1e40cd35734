#!/usr/bin/env bash
# Run a make target of this tree where initdb can run: as root, as user
# postgres on a copy of the tree it owns; otherwise in place (the helpers are
# in scripts/lib/as-postgres.sh).  Builds (in build/pgNN, NN the major of
# PG_CONFIG, warnings as errors) and installs the extension first.
# Used by `make torture` and `make installcheck-valgrind`, and handy for one
# suite: scripts/as-postgres.sh installcheck-tap PROVE_TESTS=test/t/040_worker_basic.pl
#
#   scripts/as-postgres.sh TARGET [VAR=value ...]
#   PG_CONFIG=/usr/local/pgsql-18/bin/pg_config scripts/as-postgres.sh TARGET ...   (another major)
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/as-postgres.sh
target=$1
shift

export SP_WERROR=1
use_build_dir || exit 1
build_and_install || exit 1
tree_for_postgres || exit 1
trap tree_cleanup EXIT
in_tree "make $(printf ' %q' "$target" PG_CONFIG="$PG_CONFIG" "$@")"
rc=$?
# keep what a failed run leaves behind for a look
if [ $rc -ne 0 ] && [ "$SP_TREE" != "$SP_ROOT" ]; then
	keep=$(mktemp -d /tmp/sentiment_proc_failed.XXXXXX)
	cp -a "$SP_TREE/tmp_check" "$SP_TREE/test/valgrind" "$SP_TREE/test/regression.diffs" "$SP_TREE/test/results" \
		"$SP_TREE/test/output_iso" "$keep" 2>/dev/null
	echo "as-postgres: $target failed; logs kept in $keep" >&2
fi
exit $rc
