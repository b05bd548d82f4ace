#!/bin/sh
# sspr-agent postrm. $1 = remove | purge | upgrade | disappear | abort-...
set -e

case "$1" in
remove | purge | disappear)
	# prerm took the profile out; should prerm not have run (disappear),
	# rebuild the stacks without it now that the profile file is gone.
	if command -v pam-auth-update >/dev/null 2>&1; then
		pam-auth-update --package
	fi
	;;
esac

if [ "$1" = purge ]; then
	# The machine's registration is its credential: a purge forgets it
	# (register again with a new token). /etc/sspr stays if the server
	# package (or anything else) still keeps files there.
	rm -f /etc/sspr/agent-identity.json
	rmdir /etc/sspr 2>/dev/null || true
fi
