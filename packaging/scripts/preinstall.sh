#!/bin/sh
# sspr preinstall (deb preinst, rpm %pre): the service user must exist before
# the files are unpacked, so postinstall can hand them to it.
set -e

if ! getent group sspr >/dev/null; then
	groupadd --system sspr
fi
if ! getent passwd sspr >/dev/null; then
	nologin=/usr/sbin/nologin
	[ -x "$nologin" ] || nologin=/sbin/nologin
	useradd --system --gid sspr --home-dir /var/lib/sspr --no-create-home \
		--shell "$nologin" --comment "sspr self-service password reset" sspr
fi
exit 0
