# Running things where initdb can run (sourced; needs bash).
#
# initdb, and so pg_regress --temp-instance and PostgreSQL::Test::Cluster,
# refuses to run as root.  As root everything here runs as user postgres
# (created when missing); a non-root user runs it as themself, in place.
#
#   build_and_install        make, then make install (sudo only when the
#                            PostgreSQL directories are not writable)
#   ensure_postgres_user     create the system user postgres if it is missing
#   as_postgres CMD...       run CMD as postgres when root, else as is; passes
#                            PG_CONFIG and the PGHOST, PGPORT, PGUSER and
#                            PGDATABASE that are set, with PostgreSQL's bindir
#                            first in PATH
#   tree_for_postgres        set SP_TREE to a tree the suites may write in:
#                            as root a copy of this checkout owned by
#                            postgres (built products keep their times, so
#                            nothing is rebuilt; ../shared is linked beside
#                            it, as in CI), removed by tree_cleanup;
#                            otherwise the checkout itself
#   in_tree 'SHELL COMMAND'  run the command in SP_TREE with as_postgres
#   tree_cleanup             remove the copy, if any
#
# Callers cd to the top of the checkout before sourcing and honour PG_CONFIG.

PG_CONFIG=${PG_CONFIG:-pg_config}
export PG_CONFIG
SP_ROOT=$(pwd)
SP_TREE=$SP_ROOT
SP_COPY=

build_and_install() {
	local sudo=""
	make -s PG_CONFIG="$PG_CONFIG" >/dev/null || return 1
	if [ "$(id -u)" -ne 0 ] &&
		{ [ ! -w "$("$PG_CONFIG" --pkglibdir)" ] || [ ! -w "$("$PG_CONFIG" --sharedir)/extension" ]; }; then
		sudo=sudo
	fi
	$sudo make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
}

ensure_postgres_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	id postgres >/dev/null 2>&1 ||
		useradd --system --create-home --home-dir /var/lib/postgresql --shell /bin/bash postgres
}

as_postgres() {
	local v vars
	vars=(PG_CONFIG="$PG_CONFIG" PATH="$("$PG_CONFIG" --bindir):$PATH")
	for v in PGHOST PGPORT PGUSER PGDATABASE; do
		[ -n "${!v:-}" ] && vars+=("$v=${!v}")
	done
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- env "${vars[@]}" "$@"
	else
		env "${vars[@]}" "$@"
	fi
}

tree_for_postgres() {
	[ "$(id -u)" -eq 0 ] || return 0
	ensure_postgres_user || return 1
	SP_COPY=$(mktemp -d /tmp/sentiment_proc_run.XXXXXX)
	SP_TREE=$SP_COPY/main
	mkdir "$SP_TREE"
	tar -C "$SP_ROOT" --exclude=.git --exclude=./node_modules -cf - . | tar -C "$SP_TREE" -xf -
	[ -d "$SP_ROOT/../shared" ] && ln -s "$(cd "$SP_ROOT/../shared" && pwd)" "$SP_COPY/shared"
	chown -R postgres: "$SP_COPY"
}

in_tree() {
	as_postgres bash -c "cd $(printf %q "$SP_TREE") && $1"
}

tree_cleanup() {
	[ -n "$SP_COPY" ] && rm -rf "$SP_COPY"
	SP_COPY=
	SP_TREE=$SP_ROOT
}
