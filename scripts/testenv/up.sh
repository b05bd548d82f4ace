#!/usr/bin/env bash
# up.sh STATE_DIR: installs what the directory integration tests need, makes
# the test CA and starts Samba AD, OpenLDAP and 389 Directory Server with
# their state in STATE_DIR.
# Afterwards: `. STATE_DIR/env.sh` and run the tests.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ $# -ne 1 ]]; then
	echo "usage: $0 STATE_DIR" >&2
	exit 2
fi
state=$1
mkdir -p "$state"

"$here/install.sh"
"$here/ca.sh" "$state/ca"
"$here/samba.sh" start "$state"
"$here/openldap.sh" start "$state"
"$here/389ds.sh" start "$state"
"$here/freeradius.sh" start "$state"
"$here/postgres.sh" start "$state"
echo "up.sh: test directories are running; . $state/env.sh to use them"
