#!/usr/bin/env bash
# 389ds.sh start|stop STATE_DIR
#
# Runs a 389 Directory Server instance "sspr-test" for the integration tests,
# on loopback high ports: ldap://127.0.0.1:3891 and ldaps://127.0.0.1:6361,
# TLS with the test CA from ca.sh (STATE_DIR/ca). Suffix dc=example,dc=test
# with ou=people, ou=services, ou=groups; the global password policy checks
# syntax (min length 8), keeps a history of 5 and locks after 5 failures for
# 10 minutes; the memberOf plug-in is on; a service account
# cn=sspr,ou=services,dc=example,dc=test may read people and write their
# password and lockout attributes.
#
# 389-DS's own tool (dscreate) insists on systemd to start the instance it
# creates; there is none here, so dscreate runs with lib389's systemd
# detection switched off (a three-line Python wrapper) and the server is
# started directly with ns-slapd. Instance files live where 389-DS keeps them
# (/etc/dirsrv/slapd-sspr-test, /var/lib/dirsrv/slapd-sspr-test, ...);
# STATE_DIR/389ds records that this script made them. `start` writes the
# SSPR_TEST_389_* variables into STATE_DIR/env.sh.
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
dir=$state/389ds
inst=sspr-test
conf_dir=/etc/dirsrv/slapd-$inst
pidfile=/run/dirsrv/slapd-$inst.pid
ca=$state/ca
port=${SSPR_TEST_389_PORT:-3891}
tls_port=${SSPR_TEST_389_TLS_PORT:-6361}
url=ldap://127.0.0.1:$port
ldaps_url=ldaps://127.0.0.1:$tls_port
suffix=dc=example,dc=test
admin_dn="cn=Directory Manager"
admin_pass='Sspr-389-Admin1!'
service_dn=cn=sspr,ou=services,$suffix
service_pass='Sspr-389-Service1!'
generation=1

export_env() {
	set_env "$state" SSPR_TEST_389_ \
		SSPR_TEST_389_URL="$ldaps_url" SSPR_TEST_389_LDAP_URL="$url" SSPR_TEST_389_BASE_DN="$suffix" \
		SSPR_TEST_389_BIND_DN="$service_dn" SSPR_TEST_389_BIND_PASSWORD="$service_pass" \
		SSPR_TEST_389_ADMIN_DN="$admin_dn" SSPR_TEST_389_ADMIN_PASSWORD="$admin_pass" \
		SSPR_TEST_389_CA_FILE="$ca/ca.pem"
}

ldap_as_admin() {
	LDAPCONF=/dev/null LDAPTLS_CACERT=$ca/ca.pem LDAPTLS_REQCERT=demand \
		timeout 20 "$@" -x -H "$ldaps_url" -D "$admin_dn" -w "$admin_pass"
}

ready() {
	LDAPCONF=/dev/null LDAPTLS_CACERT=$ca/ca.pem LDAPTLS_REQCERT=demand \
		timeout 5 ldapsearch -x -LLL -H "$ldaps_url" -b "" -s base vendorName >/dev/null
}

running_pid() {
	[[ -f $pidfile ]] && alive "$(<"$pidfile")" && echo "$(<"$pidfile")"
}

if [[ $action == stop ]]; then
	stop_pid "$pidfile" ns-slapd
	unset_env "$state" SSPR_TEST_389_
	exit 0
fi

[[ $(id -u) -eq 0 ]] || die "389-DS instances are created as root (they run as the dirsrv user)"
if ! command -v ns-slapd >/dev/null || ! command -v dscreate >/dev/null; then
	die "389-ds-base is not installed: run install.sh"
fi

if pid=$(running_pid); then
	if ready 2>/dev/null; then
		log "already running (PID $pid)"
		export_env
		exit 0
	fi
	die "PID $pid is alive but does not answer; run '$0 stop $state' first"
fi

"$here/ca.sh" "$ca" >/dev/null
mkdir -p "$dir"

create() {
	log "creating instance $inst (dscreate without systemd)"
	rm -rf "$conf_dir" "/var/lib/dirsrv/slapd-$inst" "/var/log/dirsrv/slapd-$inst" "/var/lock/dirsrv/slapd-$inst"
	cat >"$dir/instance.inf" <<INF
[general]
full_machine_name = localhost
start = False
strict_host_checking = False
[slapd]
instance_name = $inst
port = $port
secure_port = $tls_port
root_password = $admin_pass
self_sign_cert = False
ldapi = /run/dirsrv/slapd-$inst.socket
[backend-userroot]
sample_entries = no
suffix = $suffix
create_suffix_entry = True
INF
	chmod 600 "$dir/instance.inf"
	cat >"$dir/dscreate-nosystemd.py" <<'PY'
# dscreate, with lib389's "is systemd running?" answered no: the instance is
# then started with ns-slapd itself.
import runpy, sys
import lib389.paths
lib389.paths.Paths.with_systemd = property(lambda self: False)
sys.argv = ["dscreate"] + sys.argv[1:]
runpy.run_path("/usr/sbin/dscreate", run_name="__main__")
PY
	/usr/bin/python3 "$dir/dscreate-nosystemd.py" from-file "$dir/instance.inf" >"$dir/dscreate.out" 2>&1 ||
		{
			tail -n 30 "$dir/dscreate.out" >&2
			die "dscreate failed (log: $dir/dscreate.out)"
		}
	# The test certificate, and TLS on loopback only.
	openssl pkcs12 -export -in "$ca/server.pem" -inkey "$ca/server.key" -certfile "$ca/ca.pem" \
		-name Server-Cert -out "$dir/server.p12" -passout pass:sspr-p12 2>/dev/null
	pk12util -i "$dir/server.p12" -d "sql:$conf_dir" -k "$conf_dir/pwdfile.txt" -W sspr-p12 >"$dir/pk12util.out" 2>&1 ||
		die "importing the server certificate failed (log: $dir/pk12util.out)"
	certutil -M -d "sql:$conf_dir" -n "sspr test CA" -t "CT,," -f "$conf_dir/pwdfile.txt" ||
		die "trusting the test CA failed"
	rm -f "$dir/server.p12"
	/usr/bin/python3 - "$conf_dir/dse.ldif" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
i = s.index("dn: cn=config\n")
j = s.index("\n\n", i)
block = s[i:j]
for a in ("nsslapd-security", "nsslapd-listenhost", "nsslapd-securelistenhost"):
    block = re.sub(r"\n%s: .*" % a, "", block)
block += "\nnsslapd-security: on\nnsslapd-listenhost: 127.0.0.1\nnsslapd-securelistenhost: 127.0.0.1"
s = s[:i] + block + s[j:]
# The memberOf plug-in, off by default.
s = re.sub(r"(dn: cn=MemberOf Plugin,cn=plugins,cn=config\n(?:.+\n)*?)nsslapd-pluginEnabled: off",
           r"\1nsslapd-pluginEnabled: on", s)
open(p, "w").write(s)
PY
	echo "$generation" >"$dir/created"
}

if [[ ! -f $conf_dir/dse.ldif || ! -f $dir/created || $(<"$dir/created") != "$generation" ]]; then
	create
fi

for p in "$port" "$tls_port"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		die "127.0.0.1:$p is already in use"
	fi
done

install -d -o dirsrv -g dirsrv -m 770 /run/dirsrv
log "starting ns-slapd"
ns-slapd -D "$conf_dir" -i "$pidfile" >"$dir/ns-slapd.out" 2>&1 ||
	{
		cat "$dir/ns-slapd.out" >&2
		tail -n 30 "/var/log/dirsrv/slapd-$inst/errors" >&2 || true
		die "ns-slapd did not start"
	}
deadline=$((SECONDS + 60))
until ready 2>/dev/null; do
	if ((SECONDS >= deadline)); then
		tail -n 30 "/var/log/dirsrv/slapd-$inst/errors" >&2 || true
		die "389-DS did not answer on $ldaps_url within 60 s"
	fi
	sleep 0.25
done

# Entries, ACIs and the password policy; -c: what exists stays (68).
rc=0
ldap_as_admin ldapadd -c >"$dir/init.out" 2>&1 <<LDIF || rc=$?
dn: ou=people,$suffix
objectClass: organizationalUnit
ou: people
aci: (targetattr="*")(version 3.0; acl "sspr reads people"; allow (read, search, compare) userdn="ldap:///$service_dn";)
aci: (targetattr="accountUnlockTime || passwordRetryCount || retryCountResetTime || passwordExpirationTime || pwdUpdateTime || nsAccountLock || pwdpolicysubentry || memberOf")(version 3.0; acl "sspr reads account state"; allow (read, search, compare) userdn="ldap:///$service_dn";)
aci: (targetattr="userPassword || accountUnlockTime || passwordRetryCount || retryCountResetTime || passwordExpirationTime")(version 3.0; acl "sspr resets and unlocks"; allow (write) userdn="ldap:///$service_dn";)
aci: (targetattr="userPassword")(version 3.0; acl "people change their own password"; allow (write) userdn="ldap:///self";)

dn: ou=services,$suffix
objectClass: organizationalUnit
ou: services

dn: ou=groups,$suffix
objectClass: organizationalUnit
ou: groups
aci: (targetattr="*")(version 3.0; acl "sspr reads groups"; allow (read, search, compare) userdn="ldap:///$service_dn";)

dn: $service_dn
objectClass: top
objectClass: person
cn: sspr
sn: sspr service account
userPassword: $service_pass
LDIF
if [[ $rc -ne 0 && $rc -ne 68 ]]; then
	cat "$dir/init.out" >&2
	die "loading the initial entries failed"
fi
ldap_as_admin ldapmodify >"$dir/policy.out" 2>&1 <<LDIF || { cat "$dir/policy.out" >&2; die "setting the password policy failed"; }
dn: cn=config
changetype: modify
replace: passwordCheckSyntax
passwordCheckSyntax: on
-
replace: passwordMinLength
passwordMinLength: 8
-
replace: passwordHistory
passwordHistory: on
-
replace: passwordInHistory
passwordInHistory: 5
-
replace: passwordLockout
passwordLockout: on
-
replace: passwordMaxFailure
passwordMaxFailure: 5
-
replace: passwordUnlock
passwordUnlock: on
-
replace: passwordLockoutDuration
passwordLockoutDuration: 600
-
replace: passwordResetFailureCount
passwordResetFailureCount: 600
-
replace: passwordMinAge
passwordMinAge: 0
-
replace: nsslapd-pwpolicy-local
nsslapd-pwpolicy-local: on
LDIF
# The service account reads the global password policy.
ldap_as_admin ldapmodify -c >"$dir/aci.out" 2>&1 <<LDIF || true
dn: cn=config
changetype: modify
add: aci
aci: (targetattr="objectClass || cn || passwordCheckSyntax || passwordMinLength || passwordMinCategories || passwordHistory || passwordInHistory || passwordExp || passwordMaxAge || passwordMinAge || passwordLockout || passwordMaxFailure || passwordUnlock || passwordLockoutDuration || passwordResetFailureCount || passwordMustChange || passwordMaxRepeats")(version 3.0; acl "sspr reads the password policy"; allow (read, search, compare) userdn="ldap:///$service_dn";)
LDIF
log "ready on $ldaps_url and $url (PID $(<"$pidfile"))"
export_env
