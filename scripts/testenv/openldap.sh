#!/usr/bin/env bash
# openldap.sh start|stop STATE_DIR
#
# Runs a private OpenLDAP slapd 2.5 for the integration tests, on loopback
# high ports: ldap://127.0.0.1:3890 (StartTLS available) and
# ldaps://127.0.0.1:6360, TLS with the test CA from ca.sh (STATE_DIR/ca).
# Suffix dc=example,dc=test with ou=people, ou=services and ou=policies; the
# ppolicy overlay with a default policy (quality checked, minimum length 8,
# history 5, lockout after 5 failures); a service account
# cn=sspr,ou=services,dc=example,dc=test that may read people and WRITE (not
# manage) their userPassword, so ppolicy checks its resets like a user's
# change, and may write the ppolicy state attributes (pwdAccountLockedTime,
# pwdReset) to unlock and force a change. A second policy
# cn=strict,ou=policies (min length 10, history 2, lockout after 3 for 5
# minutes, max age 30 days) for per-user policy tests (pwdPolicySubentry),
# and ou=groups for group tests. Data lives in STATE_DIR/openldap and is
# reused on the next start; entries added later are added online.
# `start` writes the SSPR_TEST_LDAP_* variables into STATE_DIR/env.sh.
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
dir=$state/openldap
conf=$dir/slapd.conf
pidfile=$state/openldap.pid
logfile=$dir/slapd.out
ca=$state/ca
port=${SSPR_TEST_LDAP_PORT:-3890}
tls_port=${SSPR_TEST_LDAP_TLS_PORT:-6360}
url=ldap://127.0.0.1:$port
ldaps_url=ldaps://127.0.0.1:$tls_port
suffix=dc=example,dc=test
admin_dn=cn=admin,$suffix
service_dn=cn=sspr,ou=services,$suffix
policy_dn=cn=default,ou=policies,$suffix
policy2_dn=cn=strict,ou=policies,$suffix
admin_pass='Sspr-Ldap-Admin1!'
service_pass='Sspr-Service-Pass1!'

export_env() {
	set_env "$state" SSPR_TEST_LDAP_ \
		SSPR_TEST_LDAP_URL="$url" SSPR_TEST_LDAP_LDAPS_URL="$ldaps_url" \
		SSPR_TEST_LDAP_BASE_DN="$suffix" \
		SSPR_TEST_LDAP_BIND_DN="$service_dn" SSPR_TEST_LDAP_BIND_PASSWORD="$(<"$dir/servicepass")" \
		SSPR_TEST_LDAP_ADMIN_DN="$admin_dn" SSPR_TEST_LDAP_ADMIN_PASSWORD="$(<"$dir/adminpass")" \
		SSPR_TEST_LDAP_CA_FILE="$ca/ca.pem" \
		SSPR_TEST_LDAP_POLICY_DN="$policy_dn" SSPR_TEST_LDAP_POLICY2_DN="$policy2_dn" \
		SSPR_TEST_LDAP_GROUPS_DN="ou=groups,$suffix"
}

# add_later adds, as the rootDN, the entries that came after the first
# version of this script (existing data directories lack them).
add_later() {
	local rc=0
	LDAPCONF=/dev/null LDAPTLS_CACERT=$ca/ca.pem LDAPTLS_REQCERT=demand \
		timeout 10 ldapadd -c -x -ZZ -H "$url" -D "$admin_dn" -w "$(<"$dir/adminpass")" \
		>"$dir/add_later.out" 2>&1 <<LDIF || rc=$?
dn: ou=groups,$suffix
objectClass: organizationalUnit
ou: groups

dn: $policy2_dn
objectClass: top
objectClass: device
objectClass: pwdPolicy
cn: strict
pwdAttribute: userPassword
pwdCheckQuality: 2
pwdMinLength: 10
pwdInHistory: 2
pwdMaxFailure: 3
pwdLockout: TRUE
pwdLockoutDuration: 300
pwdFailureCountInterval: 600
pwdMaxAge: 2592000
pwdAllowUserChange: TRUE
pwdMustChange: TRUE
pwdSafeModify: FALSE
LDIF
	# 68: already exists, expected on every start but the first.
	if [[ $rc -ne 0 && $rc -ne 68 ]]; then
		cat "$dir/add_later.out" >&2
		die "adding the groups OU and the second password policy failed"
	fi
}

ready() {
	LDAPCONF=/dev/null LDAPTLS_CACERT=$ca/ca.pem LDAPTLS_REQCERT=demand \
		timeout 5 ldapsearch -x -LLL -H "$ldaps_url" -b "" -s base namingContexts >/dev/null &&
		LDAPCONF=/dev/null LDAPTLS_CACERT=$ca/ca.pem LDAPTLS_REQCERT=demand \
			timeout 5 ldapsearch -x -ZZ -LLL -H "$url" -D "$service_dn" -w "$(<"$dir/servicepass")" \
			-b "ou=people,$suffix" -s base dn >/dev/null
}

if [[ $action == stop ]]; then
	stop_pid "$pidfile" slapd
	unset_env "$state" SSPR_TEST_LDAP_
	exit 0
fi

command -v slapd >/dev/null || die "slapd is not installed: run install.sh"

if [[ -f $pidfile ]] && alive "$(<"$pidfile")"; then
	if ready 2>/dev/null; then
		log "already running (PID $(<"$pidfile"))"
		add_later
		export_env
		exit 0
	fi
	die "PID $(<"$pidfile") is alive but does not answer; run '$0 stop $state' first"
fi

"$here/ca.sh" "$ca" >/dev/null
mkdir -p "$dir/data" "$dir/tls"
install -m 600 "$ca/server.key" "$dir/tls/key.pem"
install -m 644 "$ca/server.pem" "$dir/tls/cert.pem"
install -m 644 "$ca/ca.pem" "$dir/tls/ca.pem"
[[ -f $dir/adminpass ]] || { printf '%s' "$admin_pass" >"$dir/adminpass" && chmod 600 "$dir/adminpass"; }
[[ -f $dir/servicepass ]] || { printf '%s' "$service_pass" >"$dir/servicepass" && chmod 600 "$dir/servicepass"; }

# The config is rewritten on every start (cheap, and picks up changes to this
# script); the data is kept.
cat >"$conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema

modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy

pidfile $dir/slapd.pid
argsfile $dir/slapd.args

TLSCACertificateFile $dir/tls/ca.pem
TLSCertificateFile $dir/tls/cert.pem
TLSCertificateKeyFile $dir/tls/key.pem

database mdb
maxsize 268435456
directory $dir/data
suffix "$suffix"
rootdn "$admin_dn"
rootpw $(slappasswd -s "$(<"$dir/adminpass")")
index objectClass eq
index uid,mail,cn eq

overlay ppolicy
ppolicy_default "$policy_dn"
ppolicy_hash_cleartext
ppolicy_use_lockout

# The service account may WRITE (not manage) people's passwords: ppolicy then
# checks quality and history on its resets as it would on a user's change.
access to dn.subtree="ou=people,$suffix" attrs=userPassword
	by dn.exact="$service_dn" write
	by self write
	by anonymous auth
	by * none
access to attrs=userPassword
	by self write
	by anonymous auth
	by * none
# ... and may unlock (pwdAccountLockedTime) and force a change (pwdReset).
access to dn.subtree="ou=people,$suffix" attrs=pwdAccountLockedTime,pwdReset,pwdFailureTime
	by dn.exact="$service_dn" manage
	by self read
	by * none
access to dn.subtree="ou=people,$suffix"
	by dn.exact="$service_dn" read
	by self read
	by * none
access to *
	by users read
	by * none

# Operation counters (cn=Monitor) for the load program, which counts the
# directory requests a flow costs from the directory's side.
database monitor
access to dn.subtree="cn=Monitor"
	by users read
	by * none
CONF

if [[ ! -f $dir/data/data.mdb ]]; then
	log "loading initial entries into $dir/data"
	cat >"$dir/init.ldif" <<LDIF
dn: $suffix
objectClass: top
objectClass: dcObject
objectClass: organization
o: sspr test
dc: example

dn: ou=people,$suffix
objectClass: organizationalUnit
ou: people

dn: ou=services,$suffix
objectClass: organizationalUnit
ou: services

dn: ou=policies,$suffix
objectClass: organizationalUnit
ou: policies

dn: $policy_dn
objectClass: top
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdCheckQuality: 2
pwdMinLength: 8
pwdInHistory: 5
pwdMaxFailure: 5
pwdLockout: TRUE
pwdAllowUserChange: TRUE
pwdMustChange: FALSE
pwdSafeModify: FALSE

dn: $service_dn
objectClass: top
objectClass: person
objectClass: simpleSecurityObject
cn: sspr
sn: sspr service account
userPassword: $(slappasswd -s "$(<"$dir/servicepass")")
LDIF
	slapadd -q -f "$conf" -l "$dir/init.ldif" >"$dir/slapadd.out" 2>&1 ||
		{
			cat "$dir/slapadd.out" >&2
			die "slapadd failed"
		}
fi

for p in "$port" "$tls_port"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		die "127.0.0.1:$p is already in use"
	fi
done

log "starting slapd"
slapd -d 0 -f "$conf" -h "$url/ $ldaps_url/" </dev/null >"$logfile" 2>&1 &
pid=$!
echo "$pid" >"$pidfile"

deadline=$((SECONDS + 30))
until ready 2>/dev/null; do
	if ! alive "$pid"; then
		tail -n 40 "$logfile" >&2 || true
		die "slapd (PID $pid) exited during start-up (log: $logfile)"
	fi
	if ((SECONDS >= deadline)); then
		tail -n 40 "$logfile" >&2 || true
		die "slapd (PID $pid) did not answer on $url (StartTLS) and $ldaps_url within 30 s (log: $logfile)"
	fi
	sleep 0.25
done
log "ready on $url and $ldaps_url (PID $pid)"
add_later
export_env
