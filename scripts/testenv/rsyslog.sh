#!/usr/bin/env bash
# Installs Debian's rsyslog with its TLS driver (rsyslog-gnutls): the SIEM
# export's tests (internal/testenv/rsyslogtest) start their own rsyslogd on
# loopback, with its own config, PID file and output file, and check what
# sspr sent over syslog-over-TLS (RFC 5425) arrived whole. Nothing here
# starts Debian's own rsyslog service: a policy-rc.d guard keeps the
# package scripts from starting it. Idempotent: quick and silent when
# everything is there. Meant for a fresh Debian 12 CI machine (root).
set -euo pipefail

packages=(rsyslog rsyslog-gnutls)

have_all() {
	PATH="$PATH:/usr/sbin:/sbin" command -v rsyslogd >/dev/null 2>&1 || return 1
	local pkg
	for pkg in "${packages[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == "install ok installed" ]] || return 1
	done
	return 0
}

if have_all; then
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "rsyslog.sh: must run as root to install: ${packages[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
created_policy_rc=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	created_policy_rc=1
fi
cleanup() {
	if [[ $created_policy_rc -eq 1 ]]; then
		rm -f /usr/sbin/policy-rc.d
	fi
}
trap cleanup EXIT
if ! apt-get install -y -q --no-install-recommends "${packages[@]}"; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${packages[@]}"
fi
have_all || {
	echo "rsyslog.sh: ${packages[*]} installed but rsyslogd not found" >&2
	exit 1
}
echo "rsyslog.sh: installed ${packages[*]}"
