#!/usr/bin/env bash
# Install the Debian packages tools/train_models.py needs (numpy, scipy,
# scikit-learn for Debian's /usr/bin/python3).  Developers only: the trained
# models are committed, so building, testing and running sentiment_proc need
# none of this.  Idempotent and quiet when everything is present; uses sudo
# when not root.  --dry-run only says what is missing.
set -euo pipefail
dry_run=0
[ "${1:-}" = --dry-run ] && dry_run=1

packages=(python3-numpy python3-scipy python3-sklearn)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ $dry_run = 1 ]; then
	echo "deps-training: ${missing[*]:-nothing} to install"
	exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps-training: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
