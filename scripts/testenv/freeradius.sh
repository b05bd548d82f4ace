#!/usr/bin/env bash
# freeradius.sh start|stop STATE_DIR
#
# Runs a private FreeRADIUS 3 for the RADIUS factor's tests, on
# 127.0.0.1 and a high UDP port (18120 by default; SSPR_TEST_RADIUS_PORT),
# from a copy of Debian's /etc/freeradius/3.0 with only the modules it needs,
# no proxying (which would open sockets on every address) and one client,
# 127.0.0.1, with a generated secret and require_message_authenticator = yes
# (BlastRADIUS, CVE-2024-3596). Every reply carries a Message-Authenticator.
#
# Users:
#   sspr-static / a static password             Access-Accept on the password
#   sspr-chal   / a first password, then 246810 Access-Challenge with State and
#                                               a Reply-Message, then Access-
#                                               Accept when the second round
#                                               carries that State and code
# Installs freeradius (Debian) when missing. `start` writes the
# SSPR_TEST_RADIUS_* variables into STATE_DIR/env.sh; `stop` stops the
# server by its PID and removes them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

if [[ $# -ne 2 || ($1 != start && $1 != stop) ]]; then
	echo "usage: $0 start|stop STATE_DIR" >&2
	exit 2
fi
action=$1
mkdir -p "$2"
state=$(cd "$2" && pwd)
dir=$state/freeradius
raddb=$dir/raddb
pidfile=$state/freeradius.pid
logfile=$dir/radiusd.out
port=${SSPR_TEST_RADIUS_PORT:-18120}
chal_state=0x737370722d6368616c6c656e6765 # "sspr-challenge"

if [[ $action == stop ]]; then
	stop_pid "$pidfile" freeradius
	unset_env "$state" SSPR_TEST_RADIUS_
	exit 0
fi

if [[ -f $pidfile ]] && alive "$(<"$pidfile")"; then
	log "freeradius: already running (PID $(<"$pidfile"))"
	exit 0
fi

if ! command -v freeradius >/dev/null 2>&1 || [[ ! -d /etc/freeradius/3.0 ]]; then
	[[ $(id -u) -eq 0 ]] || die "freeradius is not installed and installing needs root"
	export DEBIAN_FRONTEND=noninteractive
	created_policy_rc=0
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		created_policy_rc=1
	fi
	apt-get install -y -q --no-install-recommends freeradius freeradius-utils ||
		{ apt-get update -q && apt-get install -y -q --no-install-recommends freeradius freeradius-utils; }
	[[ $created_policy_rc -eq 0 ]] || rm -f /usr/sbin/policy-rc.d
fi

# A fresh configuration each start: it is small and derived.
rm -rf "$raddb"
mkdir -p "$dir" "$dir/log" "$dir/run"
cp -a /etc/freeradius/3.0 "$raddb"
rm -f "$raddb"/sites-enabled/* "$raddb"/mods-enabled/*
for m in always pap expr; do
	ln -s ../mods-available/$m "$raddb/mods-enabled/$m"
done

if [[ ! -f $dir/secret ]]; then
	(umask 077 && openssl rand -hex 16 >"$dir/secret")
fi
if [[ ! -f $dir/static-password ]]; then
	(umask 077 && printf 'Static-%s' "$(openssl rand -hex 6)" >"$dir/static-password")
fi
if [[ ! -f $dir/chal-password ]]; then
	(umask 077 && printf 'First-%s' "$(openssl rand -hex 6)" >"$dir/chal-password")
fi
secret=$(<"$dir/secret")
static_pass=$(<"$dir/static-password")
chal_pass=$(<"$dir/chal-password")

# radiusd.conf: our directories, no proxying, run as the invoking user.
sed -i \
	-e "s|^logdir = .*|logdir = $dir/log|" \
	-e "s|^run_dir = .*|run_dir = $dir/run|" \
	-e "s|^proxy_requests *= *yes|proxy_requests = no|" \
	-e 's|^\$INCLUDE proxy.conf|#&|' \
	-e 's|^\(\s*\)user = freerad|\1#user = freerad|' \
	-e 's|^\(\s*\)group = freerad|\1#group = freerad|' \
	"$raddb/radiusd.conf"

cat >"$raddb/clients.conf" <<EOF
client sspr-tests {
	ipaddr = 127.0.0.1
	secret = $secret
	require_message_authenticator = yes
	nas_type = other
}
EOF

cat >"$raddb/sites-enabled/sspr" <<EOF
server sspr {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = $port
	}
	authorize {
		if (&User-Name == "sspr-chal") {
			if (!&State) {
				if (&User-Password == "$chal_pass") {
					update reply {
						&Reply-Message := "Enter the code shown on your token"
						&State := $chal_state
						&Message-Authenticator := 0x00
					}
					update control {
						&Response-Packet-Type := Access-Challenge
					}
					handled
				}
				reject
			}
			elsif (&State == $chal_state && &User-Password == "246810") {
				update control {
					&Auth-Type := Accept
				}
				ok
			}
			else {
				reject
			}
		}
		elsif (&User-Name == "sspr-static") {
			update control {
				&Cleartext-Password := "$static_pass"
			}
			pap
		}
		else {
			reject
		}
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
	post-auth {
		update reply {
			&Message-Authenticator := 0x00
		}
		Post-Auth-Type REJECT {
			update reply {
				&Message-Authenticator := 0x00
			}
		}
	}
}
EOF

freeradius -CX -d "$raddb" >"$dir/check.out" 2>&1 || {
	tail -30 "$dir/check.out" >&2
	die "freeradius: configuration check failed (see $dir/check.out)"
}

freeradius -f -l stdout -d "$raddb" >"$logfile" 2>&1 &
pid=$!
echo "$pid" >"$pidfile"
for ((i = 0; i < 100; i++)); do
	alive "$pid" || {
		tail -30 "$logfile" >&2
		rm -f "$pidfile"
		die "freeradius: exited at start (see $logfile)"
	}
	if ss -lun "sport = :$port" 2>/dev/null | grep -q "127.0.0.1:$port"; then
		break
	fi
	sleep 0.1
done
ss -lun "sport = :$port" 2>/dev/null | grep -q "127.0.0.1:$port" || die "freeradius: not listening on 127.0.0.1:$port"

set_env "$state" SSPR_TEST_RADIUS_ \
	SSPR_TEST_RADIUS_ADDR="127.0.0.1:$port" \
	SSPR_TEST_RADIUS_SECRET="$secret" \
	SSPR_TEST_RADIUS_STATIC_USER=sspr-static \
	SSPR_TEST_RADIUS_STATIC_PASSWORD="$static_pass" \
	SSPR_TEST_RADIUS_CHALLENGE_USER=sspr-chal \
	SSPR_TEST_RADIUS_CHALLENGE_PASSWORD="$chal_pass" \
	SSPR_TEST_RADIUS_CHALLENGE_CODE=246810
log "freeradius: running as PID $pid on 127.0.0.1:$port"
