#!/bin/sh
# sspr preremove (deb prerm, rpm %preun): stop the service when the package
# goes away, not when it is upgraded (postinstall restarts it then).
#
#   deb: $1 = remove | upgrade | deconfigure | failed-upgrade
#   rpm: $1 = number of sspr packages left afterwards (0 = erase)
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

if command -v systemctl >/dev/null 2>&1; then
	if [ -d /run/systemd/system ]; then
		systemctl stop sspr.service >/dev/null 2>&1 || true
	fi
	systemctl disable sspr.service >/dev/null 2>&1 || true
fi
exit 0
