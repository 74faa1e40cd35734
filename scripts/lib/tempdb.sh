# Private temporary PostgreSQL for the demo and the benchmarks (sourced).
#
#   tempdb_start [conf lines...]  initdb in a fresh directory, start on its own
#                                 port with its socket in that directory,
#                                 preloaded with pg_cron and sentiment_proc;
#                                 exports PGHOST, PGPORT, PGUSER, PGDATABASE
#   tempdb_stop                   stop it and remove the directory
#   as_pg CMD...                  run CMD as the instance's owner
#
# initdb refuses root, so as root the instance belongs to user postgres
# (created when missing); otherwise to the calling user.  Only a Unix socket
# is opened: nothing listens on the network.

PG_CONFIG=${PG_CONFIG:-pg_config}
PGBIN=$("$PG_CONFIG" --bindir)

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- env PGHOST="${PGHOST:-}" PGPORT="${PGPORT:-}" PGUSER="${PGUSER:-}" \
			PGDATABASE="${PGDATABASE:-}" PATH="$PGBIN:$PATH" "$@"
	else
		PATH="$PGBIN:$PATH" "$@"
	fi
}

tempdb_start() {
	local owner
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 ||
			useradd --system --create-home --home-dir /var/lib/postgresql --shell /bin/bash postgres
		owner=postgres
	else
		owner=$(id -un)
	fi
	TEMPDB_DIR=$(mktemp -d /tmp/sentiment_proc_db.XXXXXX)
	chown "$owner" "$TEMPDB_DIR"
	chmod 700 "$TEMPDB_DIR"
	# Its own port (the socket lives in the private directory, so even a
	# clash with another instance's port number cannot interfere).
	export PGPORT=$((20000 + RANDOM % 20000))
	export PGHOST=$TEMPDB_DIR
	export PGUSER=$owner
	export PGDATABASE=postgres
	as_pg initdb --no-sync -A trust -U "$owner" -D "$TEMPDB_DIR/data" >"$TEMPDB_DIR/initdb.log" 2>&1 ||
		{ cat "$TEMPDB_DIR/initdb.log"; return 1; }
	{
		echo "port = $PGPORT"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$TEMPDB_DIR'"
		echo "shared_preload_libraries = 'pg_cron,sentiment_proc'"
		echo "cron.database_name = 'postgres'"
		for line in "$@"; do echo "$line"; done
	} | as_pg tee -a "$TEMPDB_DIR/data/postgresql.conf" >/dev/null
	as_pg pg_ctl -D "$TEMPDB_DIR/data" -l "$TEMPDB_DIR/server.log" -w -t 60 start >/dev/null ||
		{ tail -n 30 "$TEMPDB_DIR/server.log"; return 1; }
}

tempdb_stop() {
	[ -n "${TEMPDB_DIR:-}" ] && [ -d "$TEMPDB_DIR" ] || return 0
	as_pg pg_ctl -D "$TEMPDB_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$TEMPDB_DIR"
	TEMPDB_DIR=
}

# Build and install the extension (the analyser library is built first by
# the Makefile); sudo only when the PostgreSQL directories need it.
build_and_install() {
	local sudo=""
	make -s PG_CONFIG="$PG_CONFIG" >/dev/null
	if [ ! -w "$("$PG_CONFIG" --pkglibdir)" ] || [ ! -w "$("$PG_CONFIG" --sharedir)/extension" ]; then
		sudo=sudo
	fi
	$sudo make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
}
