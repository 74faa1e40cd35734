# Running things where initdb can run (sourced; needs bash).
#
# initdb, and so pg_regress --temp-instance and PostgreSQL::Test::Cluster,
# refuses to run as root.  As root everything here runs as user postgres
# (created when missing); a non-root user runs it as themself, in place.
#
#   pg_major                 the major version of PG_CONFIG's PostgreSQL (15, 18)
#   use_build_dir            build in build/pgNN (NN: PG_CONFIG's major), a
#                            copy of the checkout that keeps that major's
#                            build products between runs: each major has its
#                            own, so none needs a make clean, and only what
#                            changed is rebuilt.  SP_ROOT becomes that copy.
#   build_and_install        make, then make install (sudo only when the
#                            PostgreSQL directories are not writable); with
#                            SP_WERROR=1 warnings are errors (the test scripts)
#   SP_INSTALLED=1           this build is installed in PG_CONFIG's PostgreSQL
#                            already (scripts/test-scripts.sh): use_build_dir
#                            and build_and_install do nothing
#   stage_install DIR        a private copy of PG_CONFIG's PostgreSQL in DIR
#                            with this build installed in it; prints its
#                            install directory (see below)
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
SP_SRC=$(pwd)
SP_ROOT=$SP_SRC
SP_TREE=$SP_ROOT
SP_COPY=

pg_major() {
	"$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p'
}

# The copy is made afresh from the checkout each time (so files deleted there
# go too), with the source files' times; the major's own products (objects,
# bitcode, the module) are moved over from the previous copy, so make rebuilds
# only what is older than its sources.  The analyser does not depend on
# PostgreSQL: it is built once, in the checkout, and copied.
use_build_dir() {
	local major dir new
	[ "${SP_INSTALLED:-}" = 1 ] && return 0
	major=$(pg_major)
	[ -n "$major" ] || { echo "use_build_dir: no PostgreSQL at PG_CONFIG=$PG_CONFIG" >&2; return 1; }
	make -s -C "$SP_SRC/src/analyzer" lib >/dev/null || return 1
	dir=$SP_SRC/build/pg$major
	new=$dir.new
	rm -rf "$new"
	mkdir -p "$new" || return 1
	tar -C "$SP_SRC" --exclude=./.git --exclude=./build --exclude=./node_modules --exclude=./tmp_check \
		--exclude=./test/results --exclude=./test/output_iso --exclude='./test/tmp_check_*' -cf - . |
		tar -C "$new" -xf - || return 1
	rm -f "$new"/src/*.o "$new"/src/*.bc "$new"/*.so "$new"/*.bc
	if [ -d "$dir" ]; then
		(cd "$dir" && find . -maxdepth 2 \( -path './src/*.o' -o -path './src/*.bc' -o -path './*.so' -o -path './*.bc' \) \
			-exec mv {} "$new/{}" \;)
		rm -rf "$dir"
	fi
	mv "$new" "$dir" && SP_ROOT=$dir && SP_TREE=$dir
}

build_and_install() {
	local sudo=""
	[ "${SP_INSTALLED:-}" = 1 ] && return 0
	make -s -C "$SP_ROOT" PG_CONFIG="$PG_CONFIG" WERROR="${SP_WERROR:-0}" >/dev/null || return 1
	if [ "$(id -u)" -ne 0 ] &&
		{ [ ! -w "$("$PG_CONFIG" --pkglibdir)" ] || [ ! -w "$("$PG_CONFIG" --sharedir)/extension" ]; }; then
		sudo=sudo
	fi
	$sudo make -s -C "$SP_ROOT" install PG_CONFIG="$PG_CONFIG" >/dev/null
}

# For tests that run servers of two majors at once (test/t/120_cross_major.pl,
# 121_pg_upgrade.pl): the older major's binaries, libraries and shared files
# copied into DIR under their own paths, then `make install DESTDIR=DIR`, so
# those servers load exactly this build whatever is installed in the system
# meanwhile.  PostgreSQL finds its files relative to its binaries, so the copy
# works where it is.  Prints the directory to give PostgreSQL::Test::Cluster
# as install_path (the parent of the copied bindir).
stage_install() {
	local dir=$1 d
	rm -rf "$dir"
	# binaries, libraries, shared files and server headers (so that the copy's
	# pg_config can build too)
	for d in bindir pkglibdir sharedir includedir-server; do
		d=$("$PG_CONFIG" --$d) && mkdir -p "$dir$d" && cp -a "$d/." "$dir$d/" || return 1
	done
	make -s -C "$SP_ROOT" install DESTDIR="$dir" PG_CONFIG="$PG_CONFIG" >/dev/null || return 1
	chmod -R a+rX "$dir"
	echo "$dir$(dirname "$("$PG_CONFIG" --bindir)")"
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
	[ -d "$SP_SRC/../shared" ] && ln -s "$(cd "$SP_SRC/../shared" && pwd)" "$SP_COPY/shared"
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
