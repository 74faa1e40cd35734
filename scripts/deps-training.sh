#!/usr/bin/env bash
# Install the Debian packages tools/train_models.py needs (numpy, scipy,
# scikit-learn for Debian's /usr/bin/python3).  Developers only: the trained
# models are committed, so building, testing and running sentiment_proc need
# none of this.  Idempotent and quiet when everything is present; uses sudo
# when not root.
set -euo pipefail

packages=(python3-numpy python3-scipy python3-sklearn)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps-training: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
