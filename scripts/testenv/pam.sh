#!/usr/bin/env bash
# Installs what the login-screen agent's tests need: gcc and the PAM headers
# (to build pam/pam_sspr.so), pamtester (a real PAM application) and
# pam_wrapper (runs a PAM stack from a private folder, so the tests never
# touch /etc/pam.d). Idempotent: quick and silent when everything is there.
set -euo pipefail

packages=(gcc make libc6-dev libpam0g-dev pamtester libpam-wrapper libpam-modules)

missing=()
for pkg in "${packages[@]}"; do
	[[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == "install ok installed" ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "pam.sh: PAM test tools already installed"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "pam.sh: must run as root to install: ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
	apt-get update
	apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "pam.sh: installed ${missing[*]}"
