# Private temporary PostgreSQL for the demo and the benchmarks (sourced;
# callers cd to the top of the checkout first).
#
#   tempdb_start [conf lines...]  initdb in a fresh directory, start on its own
#                                 port with its socket in that directory,
#                                 preloaded with pg_cron and sentiment_proc;
#                                 exports PGHOST, PGPORT, PGUSER, PGDATABASE
#   tempdb_stop                   stop it and remove the directory
#   psql_q ARGS...                psql as the instance's owner, quiet, stopping
#                                 at the first error
#   psql_v ARGS...                the same, printing bare values (-At)
#
# It is owned by user postgres as root (initdb refuses root), otherwise by the
# calling user: scripts/lib/as-postgres.sh (as_postgres, build_and_install,
# sourced here) runs the commands.  Only a Unix socket is opened: nothing
# listens on the network.

. scripts/lib/as-postgres.sh

tempdb_start() {
	local owner
	ensure_postgres_user || return 1
	if [ "$(id -u)" -eq 0 ]; then owner=postgres; else owner=$(id -un); fi
	TEMPDB_DIR=$(mktemp -d /tmp/sentiment_proc_db.XXXXXX)
	chown "$owner" "$TEMPDB_DIR"
	chmod 700 "$TEMPDB_DIR"
	# Its own port (the socket lives in the private directory, so even a
	# clash with another instance's port number cannot interfere).
	export PGPORT=$((20000 + RANDOM % 20000))
	export PGHOST=$TEMPDB_DIR
	export PGUSER=$owner
	export PGDATABASE=postgres
	as_postgres initdb --no-sync -A trust -U "$owner" -D "$TEMPDB_DIR/data" >"$TEMPDB_DIR/initdb.log" 2>&1 ||
		{ cat "$TEMPDB_DIR/initdb.log"; return 1; }
	{
		echo "port = $PGPORT"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$TEMPDB_DIR'"
		echo "shared_preload_libraries = 'pg_cron,sentiment_proc'"
		echo "cron.database_name = 'postgres'"
		for line in "$@"; do echo "$line"; done
	} | as_postgres tee -a "$TEMPDB_DIR/data/postgresql.conf" >/dev/null
	as_postgres pg_ctl -D "$TEMPDB_DIR/data" -l "$TEMPDB_DIR/server.log" -w -t 60 start >/dev/null ||
		{ tail -n 30 "$TEMPDB_DIR/server.log"; return 1; }
}

tempdb_stop() {
	[ -n "${TEMPDB_DIR:-}" ] && [ -d "$TEMPDB_DIR" ] || return 0
	as_postgres pg_ctl -D "$TEMPDB_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$TEMPDB_DIR"
	TEMPDB_DIR=
}

psql_q() { as_postgres psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_v() { as_postgres psql -X -At -v ON_ERROR_STOP=1 "$@"; }
