#!/usr/bin/env bash
# What building sentiment_proc needs, for a DBA on a server that already runs
# PostgreSQL (the README's Install step):
#
#   build-essential pkg-config       compilers, make
#   libicu-dev                       Unicode case and white-space rules
#   postgresql-server-dev-NN         PGXS and the headers of the server's
#                                    major: the one postgresql-NN installed
#                                    (15 to 18), or --pg-major NN; 15 when
#                                    no server package is installed
#   nodejs npm                       the first build fetches the pinned lexicon
#                                    with npm pack (a working node and npm from
#                                    elsewhere, nvm or NodeSource, are accepted)
#
# It prints what it will install before installing, and installs nothing else.
# It never installs, upgrades or restarts the server (postgresql-NN) and never
# writes settings outside this checkout.  The module must be built with the
# headers of the server's minor release; when the headers apt would install
# (or the ones installed) are of another minor than the running server's
# package, it stops and says what to do instead of upgrading anything.
#
#   scripts/deps.sh            show the list, then install it (apt-get asks
#                              before installing unless --yes is given)
#   scripts/deps.sh --dry-run  only show what is missing
#   scripts/deps.sh --yes      install without apt-get's question
#   scripts/deps.sh --pg-major 18   for that major (when several are installed)
#
# Test and demo machines use scripts/deps-test.sh, which installs the test
# tools and the server and changes system settings.
set -euo pipefail

dry_run=0
yes=0
major=
while [ $# -gt 0 ]; do
	case $1 in
	--dry-run | -n) dry_run=1 ;;
	--yes | -y) yes=1 ;;
	--pg-major) major=${2:-}; shift ;;
	-h | --help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "deps: unknown option $1 (--dry-run, --yes, --pg-major NN)" >&2; exit 2 ;;
	esac
	shift
done

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# The server's major: the one installed, or the one asked for.
if [ -z "$major" ]; then
	servers=()
	for v in 15 16 17 18; do installed "postgresql-$v" && servers+=("$v"); done
	if [ ${#servers[@]} -gt 1 ]; then
		echo "deps: PostgreSQL ${servers[*]} are installed: say which to build for, --pg-major NN" >&2
		exit 2
	fi
	major=${servers[0]:-15}
fi
case $major in
15 | 16 | 17 | 18) ;;
*) echo "deps: sentiment_proc builds for PostgreSQL 15 to 18, not '$major'" >&2; exit 2 ;;
esac
server_pkg=postgresql-$major
dev_pkg=postgresql-server-dev-$major

packages=(build-essential pkg-config libicu-dev "$dev_pkg" nodejs npm)

version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }
# Upstream minor release of a Debian version: 15.20-0+deb12u1 -> 15.20,
# 15.20-1.pgdg120+1 -> 15.20.
upstream() { local v=${1#*:}; echo "${v%%-*}"; }
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2; exit }'; }

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
if command -v node >/dev/null && command -v npm >/dev/null; then
	filtered=()
	for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
	missing=("${filtered[@]}")
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Fresh package lists, so that the checks below see what apt would install.
if [ ${#missing[@]} -gt 0 ] && [ $dry_run -eq 0 ]; then
	echo "deps: missing ${missing[*]}; refreshing the package lists (apt-get update)"
	$SUDO apt-get update -qq
fi

# The headers must match the server's minor release (a module built with
# newer headers may use symbols an older server lacks).
install_list=("${missing[@]}")
if installed $server_pkg; then
	server=$(version $server_pkg)
	if installed $dev_pkg; then
		dev=$(version $dev_pkg)
		if [ "$(upstream "$dev")" != "$(upstream "$server")" ]; then
			cat >&2 <<EOF
deps: the installed headers ($dev_pkg $dev) are not of the
      server's minor release ($server_pkg $server).  Nothing was changed.
      Either upgrade the server in a maintenance window first (apt-get install
      $server_pkg restarts the clusters), then run this again; or install
      the headers of the server's release:
        apt-get install $dev_pkg=$server
      if your archive still has it; or build on another machine whose server
      and headers are both of release $(upstream "$server").
EOF
			exit 1
		fi
	elif [[ " ${missing[*]} " == *" $dev_pkg "* ]]; then
		cand=$(candidate $dev_pkg)
		if [ -n "$cand" ] && [ "$cand" != "(none)" ] && [ "$(upstream "$cand")" != "$(upstream "$server")" ]; then
			# Pin the headers to the server's exact version when the archive has it.
			if apt-cache madison $dev_pkg 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
				grep -qxF "$server"; then
				for i in "${!install_list[@]}"; do
					[ "${install_list[$i]}" = $dev_pkg ] &&
						install_list[$i]="$dev_pkg=$server"
				done
			else
				cat >&2 <<EOF
deps: apt would install $dev_pkg $cand, but the server is
      $server_pkg $server (release $(upstream "$server")), and the archive has no
      headers of that release.  Nothing was changed.  Upgrade the server in a
      maintenance window first (apt-get install $server_pkg restarts the
      clusters), then run this again; or build on another machine whose server
      and headers are both of release $(upstream "$server").
EOF
				exit 1
			fi
		fi
	fi
else
	echo "deps: no $server_pkg server package here: build only, then install on a server of the" \
		"same minor release as $dev_pkg or a later one"
fi

if [ ${#install_list[@]} -eq 0 ]; then
	echo "deps: everything the build needs is installed"
	exit 0
fi
# Ask apt first what it would do (a simulation changes nothing): stop if it
# would touch a server package or remove anything, else show the full list.
plan=$(LC_ALL=C apt-get -s install --no-install-recommends --no-upgrade "${install_list[@]}" 2>&1) || {
	echo "$plan" >&2
	echo "deps: apt-get cannot install ${install_list[*]} as things are; nothing was changed" >&2
	exit 1
}
touched=$(echo "$plan" | awk '/^(Inst|Remv) postgresql-[0-9]+ / || /^Remv / { print $2 }' | sort -u | tr '\n' ' ')
if [ -n "$touched" ]; then
	echo "deps: installing ${install_list[*]} would change or remove: $touched" >&2
	echo "      Nothing was changed: install the build packages by hand in a maintenance window." >&2
	exit 1
fi
new=$(echo "$plan" | awk '/^Inst / && $3 !~ /^\[/ { print $2 }' | tr '\n' ' ')
upgraded=$(echo "$plan" | awk '/^Inst / && $3 ~ /^\[/ { print $2 }' | tr '\n' ' ')
echo "deps: will install: ${install_list[*]}"
echo "      new packages with their dependencies: ${new:-none}"
[ -z "$upgraded" ] || echo "      upgraded as dependencies (no server package): $upgraded"
[ $dry_run -eq 1 ] && exit 0

assume=()
[ $yes -eq 1 ] && assume=(-y)
# --no-upgrade: the packages named here that are already installed keep their
# version; apt-get shows its own list again and asks unless --yes.
$SUDO apt-get install "${assume[@]}" --no-install-recommends --no-upgrade "${install_list[@]}"
