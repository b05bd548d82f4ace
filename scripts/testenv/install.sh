#!/usr/bin/env bash
# Installs the Debian packages the directory integration tests need: a Samba
# Active Directory domain controller, OpenLDAP slapd with ppolicy, and the
# command-line clients used to set them up, and PostgreSQL 15 for the
# store tests on PostgreSQL. Meant for a fresh Debian 12 CI
# machine (root, no systemd, no docker); quick and idempotent when everything
# is already there.
set -euo pipefail

packages=(
	samba samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind
	ldap-utils ldb-tools krb5-user slapd openssl
	389-ds-base libnss3-tools
	postgresql-15 postgresql-client-15
)

# True when every package is installed and its commands are on the PATH.
have_all() {
	local cmd pkg
	for cmd in samba samba-tool slapd slapadd ldapsearch ldbsearch kinit openssl ns-slapd dscreate pk12util certutil /usr/lib/postgresql/15/bin/initdb /usr/lib/postgresql/15/bin/pg_dump; do
		PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || return 1
	done
	for pkg in "${packages[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == "install ok installed" ]] || return 1
	done
	return 0
}

if have_all; then
	echo "install.sh: directory test packages already installed"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "install.sh: must run as root to install: ${packages[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Keep package scripts from starting Debian's default daemons (on all
# interfaces) while installing; only remove the guard if we created it.
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

# No default slapd database or daemon: the tests run their own instance.
echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
# krb5-user asks for a default realm; the tests do not need one.
echo 'krb5-config krb5-config/default_realm string EXAMPLE.TEST' | debconf-set-selections

apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"

if ! have_all; then
	echo "install.sh: packages installed but some commands are still missing" >&2
	exit 1
fi
echo "install.sh: installed ${packages[*]}"
