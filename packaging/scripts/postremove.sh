#!/bin/sh
# sspr postremove (deb postrm, rpm %postun).
#
# The database (/var/lib/sspr), the generated secrets (/etc/sspr/hmac_key,
# /etc/sspr/keyring) and the sspr user are kept, even on purge: the database
# holds the tamper-evident audit log and the enrolled factors, and it is
# useless without the HMAC key and the key ring. Remove them by hand once a
# backup exists (docs/install.md).
set -e

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
