#!/usr/bin/env bash
# Installs the small command-line tools some unit tests compare sspr against:
# oathtool (an independent RFC 4226 / RFC 6238 implementation, used by the
# TOTP factor's tests) and pdftoppm (poppler-utils: the admin reports' PDF export is
# rendered to PNG and checked). Idempotent: quick and silent when everything is there.
# Meant for a fresh Debian 12 CI machine (root).
set -euo pipefail

packages=(oathtool poppler-utils)
commands=(oathtool pdftoppm)

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
	echo "tools.sh: test tools already installed"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "tools.sh: must run as root to install: ${packages[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${packages[@]}"; then
	apt-get update
	apt-get install -y --no-install-recommends "${packages[@]}"
fi
have_all || {
	echo "tools.sh: ${packages[*]} installed but not usable" >&2
	exit 1
}
echo "tools.sh: installed ${packages[*]}"
