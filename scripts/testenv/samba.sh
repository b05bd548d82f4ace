#!/usr/bin/env bash
# samba.sh start|stop STATE_DIR
#
# Runs a throw-away Samba Active Directory domain controller for the
# integration tests: realm EXAMPLE.TEST, domain EXAMPLE, host dc1, loopback
# only, LDAPS on 636 with the test CA from ca.sh (STATE_DIR/ca). The provision
# lives in STATE_DIR/samba and is reused on the next start. `start` writes the
# SSPR_TEST_AD_* variables into STATE_DIR/env.sh; `stop` stops the server by
# its PID.
#
# Once running, `start` also applies (idempotently, recorded in
# STATE_DIR/samba/configured) what the tests rely on:
#   * account lockout after 3 failed binds (domain policy), so tests can lock
#     their own users; a PSO "sspr-no-lockout" (precedence 1, no lockout)
#     shields Administrator and the service accounts from lockout;
#   * sspr-svc, a least-privilege service account with only the delegated
#     rights on CN=Users: the Reset-Password extended right and read/write
#     of pwdLastSet and lockoutTime on user objects;
#   * sspr-norights, a service account with no delegated rights;
#   * a PSO "sspr-test-pso" (precedence 10: min length 12, history 3, lockout
#     after 5 for 10 minutes) applied to nobody: tests apply it to their own
#     user (msDS-PSOAppliesTo) and remove it.
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

svc_pass='Sspr-Svc-Pass1!'
norights_pass='Sspr-NoRights-Pass1!'
svc_dn=CN=sspr-svc,CN=Users,$base_dn
norights_dn=CN=sspr-norights,CN=Users,$base_dn
pso_dn="CN=sspr-test-pso,CN=Password Settings Container,CN=System,$base_dn"
lockout_threshold=3
configured_version=2

export_env() {
	set_env "$state" SSPR_TEST_AD_ \
		SSPR_TEST_AD_URL="$url" SSPR_TEST_AD_BASE_DN="$base_dn" \
		SSPR_TEST_AD_BIND_DN="$admin_dn" SSPR_TEST_AD_BIND_PASSWORD="$(<"$dir/adminpass")" \
		SSPR_TEST_AD_CA_FILE="$ca/ca.pem" \
		SSPR_TEST_AD_SVC_DN="$svc_dn" SSPR_TEST_AD_SVC_PASSWORD="$svc_pass" \
		SSPR_TEST_AD_NORIGHTS_DN="$norights_dn" SSPR_TEST_AD_NORIGHTS_PASSWORD="$norights_pass" \
		SSPR_TEST_AD_PSO_DN="$pso_dn" SSPR_TEST_AD_LOCKOUT_THRESHOLD="$lockout_threshold"
}

# configure applies the test settings to the running DC, once per
# configured_version. samba-tool works on the local sam.ldb, which is safe
# while samba runs.
configure() {
	local marker=$dir/configured out=$dir/log/configure.out sid user done=0
	[[ -f $marker ]] && done=$(<"$marker")
	if [[ $done == "$configured_version" ]]; then
		return 0
	fi
	log "configuring test accounts, lockout and password policies"
	: >"$out"
	st() { samba-tool "$@" -s "$conf" >>"$out" 2>&1; }
	if [[ $done -lt 1 ]]; then
		configure_v1
	fi
	sid=$(samba-tool user show sspr-svc -s "$conf" --attributes=objectSid 2>>"$out" | awk '/^objectSid:/ {print $2}')
	[[ -n $sid ]] || die "cannot read the SID of sspr-svc (log: $out)"
	if [[ $done -lt 2 ]]; then
		# Fine-grained policies are readable only by administrators by
		# default; sspr-svc reads them to show users their rules.
		st dsacl set --objectdn="CN=Password Settings Container,CN=System,$base_dn" --action=allow \
			--sddl="(A;CI;RPLCLORC;;;$sid)" || die "granting sspr-svc read on PSOs failed (log: $out)"
	fi
	echo "$configured_version" >"$marker"
}

configure_v1() {
	local sid user
	st domain passwordsettings set --account-lockout-threshold="$lockout_threshold" ||
		die "setting the lockout threshold failed (log: $out)"
	for user in sspr-svc:"$svc_pass" sspr-norights:"$norights_pass"; do
		if ! samba-tool user show "${user%%:*}" -s "$conf" >/dev/null 2>&1; then
			st user create "${user%%:*}" "${user#*:}" --description="sspr test service account" ||
				die "creating ${user%%:*} failed (log: $out)"
		fi
		st user setexpiry "${user%%:*}" --noexpiry || die "setexpiry ${user%%:*} failed (log: $out)"
	done
	if ! samba-tool domain passwordsettings pso show sspr-no-lockout -s "$conf" >/dev/null 2>&1; then
		st domain passwordsettings pso create sspr-no-lockout 1 --account-lockout-threshold=0 \
			--min-pwd-length=7 --complexity=on --history-length=24 --min-pwd-age=0 --max-pwd-age=0 ||
			die "creating PSO sspr-no-lockout failed (log: $out)"
	fi
	for user in Administrator sspr-svc sspr-norights; do
		st domain passwordsettings pso apply sspr-no-lockout "$user" || true # already applied
	done
	if ! samba-tool domain passwordsettings pso show sspr-test-pso -s "$conf" >/dev/null 2>&1; then
		st domain passwordsettings pso create sspr-test-pso 10 --min-pwd-length=12 --complexity=on \
			--history-length=3 --min-pwd-age=0 --max-pwd-age=90 --account-lockout-threshold=5 \
			--account-lockout-duration=10 --reset-account-lockout-after=10 ||
			die "creating PSO sspr-test-pso failed (log: $out)"
	fi
	sid=$(samba-tool user show sspr-svc -s "$conf" --attributes=objectSid 2>>"$out" | awk '/^objectSid:/ {print $2}')
	[[ -n $sid ]] || die "cannot read the SID of sspr-svc (log: $out)"
	# Inherited by user objects (bf967aba-...) below CN=Users: Reset Password
	# (00299570-...), read/write pwdLastSet (bf967a0a-...) and lockoutTime
	# (28630ebf-...).
	local user_class=bf967aba-0de6-11d0-a285-00aa003049e2
	st dsacl set --objectdn="CN=Users,$base_dn" --action=allow \
		--sddl="(OA;CI;CR;00299570-246d-11d0-a768-00aa006e0529;$user_class;$sid)(OA;CI;RPWP;bf967a0a-0de6-11d0-a285-00aa003049e2;$user_class;$sid)(OA;CI;RPWP;28630ebf-41d5-11d1-a9c1-0000f80367c1;$user_class;$sid)" ||
		die "delegating rights to sspr-svc failed (log: $out)"
}

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
		configure
		export_env
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
configure
export_env
