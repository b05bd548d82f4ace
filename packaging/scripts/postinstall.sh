#!/bin/sh
# sspr postinstall (deb postinst, rpm %post). POSIX sh: it runs on Debian and
# on RPM systems, with or without systemd as PID 1 (containers, chroots).
#
#   deb: $1 = configure, $2 = the version replaced ("" on a first install)
#   rpm: $1 = number of sspr packages installed after this one (1 = first)
set -e

case "$1" in
configure) first_install=$([ -z "$2" ] && echo yes || echo no) ;;
1) first_install=yes ;;
[0-9]*) first_install=no ;;
*) exit 0 ;; # deb abort-upgrade, abort-remove, ...: nothing to redo
esac

# Configuration and secrets: readable by the service's group, writable by
# root only (the service never rewrites them).
install -d -o root -g sspr -m 0750 /etc/sspr
chgrp sspr /etc/sspr/sspr.yaml
chmod 0640 /etc/sspr/sspr.yaml

# The state directory. systemd creates it too (StateDirectory=, 0700), but
# without systemd (containers, sysvinit, a chroot) it must already exist,
# with the same owner and mode.
install -d -o sspr -g sspr -m 0700 /var/lib/sspr

# Secrets the shipped configuration points at, made once and never replaced
# (the HMAC key also keys the audit log's hash chain: a new one would make
# the log written so far fail verification). 0600 and owned by the service
# user: sspr warns about key files anyone else can read.
if [ ! -e /etc/sspr/hmac_key ]; then
	(
		umask 0077
		head -c 32 /dev/urandom | base64 >/etc/sspr/hmac_key.new
	)
	chown sspr:sspr /etc/sspr/hmac_key.new
	chmod 0600 /etc/sspr/hmac_key.new
	mv /etc/sspr/hmac_key.new /etc/sspr/hmac_key
fi
if [ ! -e /etc/sspr/keyring ]; then
	(
		umask 0077
		/usr/bin/sspr keys generate --out /etc/sspr/keyring.new >/dev/null
	)
	chown sspr:sspr /etc/sspr/keyring.new
	chmod 0600 /etc/sspr/keyring.new
	mv /etc/sspr/keyring.new /etc/sspr/keyring
fi

configured=no
if /usr/bin/sspr config check /etc/sspr/sspr.yaml >/dev/null 2>&1; then
	configured=yes
fi

if command -v systemctl >/dev/null 2>&1; then
	if [ "$first_install" = yes ]; then
		# Works offline too (it only writes the symlink), so an image
		# built in a chroot boots with sspr enabled.
		systemctl enable sspr.service >/dev/null 2>&1 || true
	fi
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null 2>&1 || true
		if [ "$configured" = yes ]; then
			if [ "$first_install" = yes ]; then
				systemctl start sspr.service || true
			else
				systemctl try-restart sspr.service || true
			fi
		fi
	fi
fi

if [ "$configured" = no ]; then
	cat <<'MSG'
sspr is installed but not started: it needs your directory and mail relay.
  1. Edit /etc/sspr/sspr.yaml (every key is explained in
     /usr/share/doc/sspr/sspr.example.yaml).
  2. Run: sspr config check /etc/sspr/sspr.yaml
  3. Run: systemctl start sspr
MSG
fi
exit 0
