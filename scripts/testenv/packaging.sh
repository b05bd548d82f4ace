#!/usr/bin/env bash
# Installs what the packaging tests (packaging/packaging_test.go) need:
# mmdebstrap (a fresh Debian root to install the .deb into), rpm (to read
# the .rpm) and buildah (to build and run the OCI image). Idempotent: quick
# and silent when everything is there. Meant for a fresh Debian 12 CI
# machine (root). nfpm itself comes from the Go module proxy (pinned in
# scripts/package.sh), not from apt.
set -euo pipefail

packages=(mmdebstrap rpm buildah)
commands=(mmdebstrap rpm buildah)

have_all() {
	local cmd pkg
	for cmd in "${commands[@]}"; do
		command -v "$cmd" >/dev/null 2>&1 || return 1
	done
	for pkg in "${packages[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == "install ok installed" ]] || return 1
	done
	return 0
}

if have_all; then
	echo "packaging.sh: packaging tools already installed"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "packaging.sh: must run as root to install: ${packages[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${packages[@]}"; then
	apt-get update
	apt-get install -y --no-install-recommends "${packages[@]}"
fi
have_all || {
	echo "packaging.sh: ${packages[*]} installed but not usable" >&2
	exit 1
}
echo "packaging.sh: installed ${packages[*]}"
