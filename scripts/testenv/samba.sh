#!/usr/bin/env bash
# samba.sh start|stop STATE_DIR
#
# Runs a throw-away Samba Active Directory domain controller for the
# integration tests: realm EXAMPLE.TEST, domain EXAMPLE, host dc1, loopback
# only, LDAPS on 636 with the test CA from ca.sh (STATE_DIR/ca). The provision
# lives in STATE_DIR/samba and is reused on the next start. `start` writes the
# SSPR_TEST_AD_* variables into STATE_DIR/env.sh; `stop` stops the server by
# its PID.
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
dir=$state/samba
conf=$dir/etc/smb.conf
pidfile=$state/samba.pid
logfile=$dir/log/samba.out
ca=$state/ca
admin_pass=${SSPR_TEST_AD_ADMIN_PASSWORD:-'Sspr-Adm1n-Pass!'}
url=ldaps://127.0.0.1:636
base_dn=DC=example,DC=test
admin_dn=CN=Administrator,CN=Users,DC=example,DC=test

rootdse() {
	LDAPCONF=/dev/null LDAPTLS_CACERT=$ca/ca.pem LDAPTLS_REQCERT=demand \
		timeout 5 ldapsearch -x -LLL -H "$url" -b "" -s base defaultNamingContext
}

if [[ $action == stop ]]; then
	stop_pid "$pidfile" samba
	unset_env "$state" SSPR_TEST_AD_
	exit 0
fi

[[ $(id -u) -eq 0 ]] || die "Samba's DC needs root (ports 88, 389, 636, ...)"
command -v samba >/dev/null || die "samba is not installed: run install.sh"

if [[ -f $pidfile ]] && alive "$(<"$pidfile")"; then
	if rootdse >/dev/null 2>&1; then
		log "already running (PID $(<"$pidfile"))"
		set_env "$state" SSPR_TEST_AD_ \
			SSPR_TEST_AD_URL="$url" SSPR_TEST_AD_BASE_DN="$base_dn" \
			SSPR_TEST_AD_BIND_DN="$admin_dn" SSPR_TEST_AD_BIND_PASSWORD="$(<"$dir/adminpass")" \
			SSPR_TEST_AD_CA_FILE="$ca/ca.pem"
		exit 0
	fi
	die "PID $(<"$pidfile") is alive but LDAPS does not answer; run '$0 stop $state' first"
fi

"$here/ca.sh" "$ca" >/dev/null

if [[ ! -f $dir/private/sam.ldb || ! -f $conf || ! -f $dir/adminpass ]]; then
	log "provisioning EXAMPLE.TEST into $dir"
	rm -rf "$dir"
	mkdir -p "$dir/run" "$dir/log" "$dir/tls"
	# An empty config file, so nothing leaks in from /etc/samba/smb.conf
	# (shares, a DNS forwarder taken from resolv.conf, ...).
	: >"$dir/empty.conf"
	samba-tool domain provision -s "$dir/empty.conf" --targetdir="$dir" \
		--server-role=dc --dns-backend=SAMBA_INTERNAL --use-rfc2307 \
		--realm=EXAMPLE.TEST --domain=EXAMPLE --host-name=dc1 \
		--adminpass="$admin_pass" \
		--option="interfaces = lo" --option="bind interfaces only = yes" \
		--option="server services = -dns -nbt -dnsupdate" \
		--option="pid directory = $dir/run" \
		--option="log file = $dir/log/log.%m" \
		>"$dir/log/provision.out" 2>&1 ||
		{
			tail -n 30 "$dir/log/provision.out" >&2
			die "provisioning failed (log: $dir/log/provision.out)"
		}
	# Not every --option reaches the generated smb.conf; these must.
	extra=$(
		cat <<CONF
	prefork children = 2
	old password allowed period = 0
	tls enabled = yes
	tls keyfile = $dir/tls/key.pem
	tls certfile = $dir/tls/cert.pem
	tls cafile = $dir/tls/ca.pem
CONF
	)
	awk -v extra="$extra" '{print} /^\[global\]/ {print extra}' "$conf" >"$conf.new"
	mv "$conf.new" "$conf"
	# Reset freely in tests; keep complexity and history at Samba's defaults.
	samba-tool domain passwordsettings set -s "$conf" --min-pwd-age=0 \
		>>"$dir/log/provision.out" 2>&1 || die "passwordsettings failed (log: $dir/log/provision.out)"
	printf '%s' "$admin_pass" >"$dir/adminpass"
	chmod 600 "$dir/adminpass"
fi

# Samba wants its key private to its owner; copy the test certificate in.
install -m 600 "$ca/server.key" "$dir/tls/key.pem"
install -m 644 "$ca/server.pem" "$dir/tls/cert.pem"
install -m 644 "$ca/ca.pem" "$dir/tls/ca.pem"

for port in 88 389 636 3268 3269; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		die "127.0.0.1:$port is already in use (another Samba or LDAP server?)"
	fi
done

log "starting samba"
samba -F --no-process-group -s "$conf" </dev/null >"$logfile" 2>&1 &
pid=$!
echo "$pid" >"$pidfile"

deadline=$((SECONDS + 60))
until rootdse >/dev/null 2>&1; do
	if ! alive "$pid"; then
		tail -n 40 "$logfile" >&2 || true
		die "samba (PID $pid) exited during start-up (log: $logfile)"
	fi
	if ((SECONDS >= deadline)); then
		tail -n 40 "$logfile" >&2 || true
		die "samba (PID $pid) did not answer an LDAPS RootDSE search on $url within 60 s (log: $logfile)"
	fi
	sleep 0.5
done
log "ready on $url (PID $pid)"

set_env "$state" SSPR_TEST_AD_ \
	SSPR_TEST_AD_URL="$url" SSPR_TEST_AD_BASE_DN="$base_dn" \
	SSPR_TEST_AD_BIND_DN="$admin_dn" SSPR_TEST_AD_BIND_PASSWORD="$(<"$dir/adminpass")" \
	SSPR_TEST_AD_CA_FILE="$ca/ca.pem"
