#!/bin/sh
# sspr-agent postinst. $1 = configure, $2 = the version replaced ("" on a
# first install).
set -e

case "$1" in
configure) ;;
*) exit 0 ;; # abort-upgrade, abort-remove, ...: nothing to redo
esac

chown root:root /etc/sspr/agent.yaml
chmod 0640 /etc/sspr/agent.yaml

# Bring the profile into the PAM stacks as the admin chose: --package keeps
# a profile off that the admin turned off (and ours is Default: no, so a
# first install changes nothing); on an upgrade an enabled profile gets its
# current lines.
pam-auth-update --package

if [ -z "$2" ]; then
	cat <<'MSG'
sspr-agent is installed; the login prompt does not offer a reset yet.
  1. Edit /etc/sspr/agent.yaml (server_url, help_desk, ...).
  2. Register this machine: sspr-agent register --token TOKEN
     (an admin runs `sspr agents token MACHINE-NAME` on the server).
  3. Run: sspr-agent doctor
  4. Turn it on: pam-auth-update --enable sspr
MSG
fi
