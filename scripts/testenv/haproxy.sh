#!/usr/bin/env bash
# Installs Debian's HAProxy for the three-node test
# (cmd/sspr-load/cluster_test.go, TestThreeNodesBehindHAProxy), which puts
# three `sspr serve` processes behind it. Only the binary is used: the test
# writes its own configuration into a temporary directory and starts and
# stops its own haproxy process by PID on loopback, so the distribution's
# service is stopped and disabled here if the package started it.
# Pinned like the other apt packages of scripts/testenv: by the Debian 12
# release (haproxy 2.6.x, with security updates); another major version is
# refused, so a configuration written for 2.6 is not silently read by
# another. Idempotent: quick and silent when it is there. Meant for a fresh
# Debian 12 CI machine (root).
set -euo pipefail

package=haproxy
want_major=2.6

have_it() {
	command -v haproxy >/dev/null 2>&1 || return 1
	[[ $(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true) == "install ok installed" ]]
}

if ! have_it; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "haproxy.sh: must run as root to install $package" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "$package"; then
		apt-get update
		apt-get install -y --no-install-recommends "$package"
	fi
	have_it || {
		echo "haproxy.sh: $package installed but not usable" >&2
		exit 1
	}
	# The package's own service (port 80 and friends) is not what the
	# tests use; a CI container usually has no systemd running it anyway.
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then
		systemctl disable --now haproxy >/dev/null 2>&1 || true
	elif [[ -x /etc/init.d/haproxy ]]; then
		/etc/init.d/haproxy stop >/dev/null 2>&1 || true
	fi
	echo "haproxy.sh: installed $(haproxy -v | head -n1)"
fi

version=$(dpkg-query -W -f='${Version}' "$package")
if [[ $version != "$want_major".* ]]; then
	echo "haproxy.sh: $package $version installed, want $want_major.x (Debian 12)" >&2
	exit 1
fi
echo "haproxy.sh: haproxy $version ready"
