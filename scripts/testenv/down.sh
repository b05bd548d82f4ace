#!/usr/bin/env bash
# down.sh STATE_DIR: stops the 389-DS, OpenLDAP and Samba servers up.sh started.
# Their data stays in STATE_DIR for a fast restart; delete it to start afresh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ $# -ne 1 ]]; then
	echo "usage: $0 STATE_DIR" >&2
	exit 2
fi
status=0
"$here/postgres.sh" stop "$1" || status=1
"$here/freeradius.sh" stop "$1" || status=1
"$here/389ds.sh" stop "$1" || status=1
"$here/openldap.sh" stop "$1" || status=1
"$here/samba.sh" stop "$1" || status=1
exit "$status"
