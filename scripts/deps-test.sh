#!/usr/bin/env bash
# Install the Debian packages the test command, the demo and the benchmarks
# need: the build's packages plus the server, pg_cron, clang, valgrind,
# gnuplot, Prometheus and the packaging tools.  For test and demo machines
# only; a DBA building for a server uses scripts/deps.sh, which installs the
# build's packages and nothing else.
#
# Side effects across the system, acceptable on a test machine only:
# - writes /etc/postgresql-common/createcluster.d/sentiment_proc.conf
#   (create_main_cluster = false): no future PostgreSQL package creates a
#   'main' cluster (the tests only use private temporary instances);
# - installs or upgrades postgresql-15 to the headers' version, which
#   restarts the machine's clusters;
# - disables the Prometheus services the packages start.
# Idempotent and quiet when everything is present; uses sudo when not root.
set -euo pipefail

packages=(
	build-essential pkg-config clang libclang-rt-dev    # compilers; libFuzzer and sanitizers
	libicu-dev                                          # Unicode case and white-space rules
	nodejs npm                                          # fetch and unpack the lexicon packages
	postgresql-15 postgresql-server-dev-15              # server and PGXS headers
	postgresql-15-cron                                  # scheduled batches
	libipc-run-perl                                     # PostgreSQL::Test::Cluster (TAP)
	gnuplot-nox                                         # benchmark plots
	valgrind                                            # make installcheck-valgrind
	python3-psycopg2                                    # examples/python client (TAP 056)
	# -- Prometheus metrics and packaging (contrib/prometheus, debian/, make deb, make dist)
	prometheus-postgres-exporter prometheus             # test/t/100_prometheus.pl: the exporter, promtool
	postgresql-server-dev-all debhelper dpkg-dev fakeroot   # make deb: pg_buildext, dh, dpkg-buildpackage
	# -- end of Prometheus metrics and packaging
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nodejs/npm may come from elsewhere (nvm, NodeSource): accept working commands.
if command -v node >/dev/null && command -v npm >/dev/null; then
	filtered=()
	for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
	missing=("${filtered[@]}")
fi
# The module is built against postgresql-server-dev-15's headers: the server
# must be the same minor release (a newer header may use symbols an older
# server lacks).  A machine image may carry an older postgresql-15.
version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }
if [[ " ${missing[*]} " == *" postgresql-server-dev-15 "* ]] ||
	{ [ -n "$(version postgresql-server-dev-15)" ] && [ "$(version postgresql-15)" != "$(version postgresql-server-dev-15)" ]; }; then
	missing+=(postgresql-15)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Debian's postgresql-common would create and start a 'main' cluster; we only
# ever use private temporary instances.
$SUDO mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/sentiment_proc.conf >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# -- Prometheus metrics and packaging: the two packages above enable and start
# their services (Prometheus on :9090, the exporter on :9187, all addresses);
# the tests start their own exporter on 127.0.0.1, so stop those we just
# installed.
if [ -d /run/systemd/system ]; then
	for svc in prometheus prometheus-postgres-exporter; do
		[[ " ${missing[*]} " == *" $svc "* ]] && $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
	done
fi
# -- end of Prometheus metrics and packaging
