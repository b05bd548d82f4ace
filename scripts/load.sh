#!/usr/bin/env bash
# scripts/load.sh — measures sspr against a real directory with cmd/sspr-load.
#
#   scripts/load.sh openldap|ad [sspr-load run flags...]
#
# It uses the test directories of scripts/testenv (started if STATE_DIR has
# none running: SSPR_TEST_STATE, default /tmp/sspr-testenv), creates the load
# users once (LOAD_USERS, default 2000, below ou=load,ou=people on OpenLDAP or
# OU=load on Samba AD), starts `sspr serve` with a load configuration (abuse
# limits raised: one client address sends everything; identify padding and
# the rest as shipped), runs `sspr-load run` with sspr's PID, database and the
# raw-limit credentials filled in, and stops sspr by PID. Extra arguments go
# to `sspr-load run` (e.g. -concurrency 64 -duration 60s).
#
#   LOAD_OU=name  the OU of the load users (default load)
#   LOAD_PREFIX=p their login prefix (default loadu; logins are unique
#                 domain-wide on AD, so another OU needs another prefix; give
#                 each concurrent run its own so two runs never share an account)
#   LOAD_SKIP_USERS=1 the users exist already: do not add them again
#   LOAD_DELETE=1 delete the load users and their OU afterwards (sspr-load delete)
#   LOAD_KEEP=1   leave the work folder (config, database, sspr.log) in place
#   SSPR_LOAD_EXTRA_YAML  appended to the generated configuration
#   LOAD_LIMIT_WINDOW=1h  window of the (raised) per-address limits, default 1m
#   LOAD_PREFILL=N  before the run, count N identify and N send events for
#                 127.0.0.1 in sspr's database (sspr-load prefill), as if
#                 everyone came through one proxy; use with LOAD_LIMIT_WINDOW
#                 longer than the run so they stay in the window
#   LOAD_STORE=postgres  keep sspr's data in a new database on the test
#                 PostgreSQL (SSPR_TEST_PG_DSN), dropped afterwards; the CPU
#                 per flow is then sspr's alone, without PostgreSQL's
#   LOAD_PROFILE=host:port  sspr's profiler listener (server.profile_listen),
#                 for `go tool pprof` while the load runs
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:-} -mod=mod"

kind=${1:-}
if [[ $kind != openldap && $kind != ad ]]; then
	echo "usage: $0 openldap|ad [sspr-load run flags...]" >&2
	exit 2
fi
shift
state=${SSPR_TEST_STATE:-/tmp/sspr-testenv}
users=${LOAD_USERS:-2000}
prefix=${LOAD_PREFIX:-loadu}
if [[ ! -f $state/env.sh ]]; then
	scripts/testenv/up.sh "$state"
fi
set -a
# shellcheck disable=SC1091
. "$state/env.sh"
set +a

work=$(mktemp -d /tmp/sspr-load.XXXXXX)
sspr_pid=
cleanup() {
	if [[ -n $sspr_pid ]] && kill -0 "$sspr_pid" 2>/dev/null; then
		kill "$sspr_pid"
		wait "$sspr_pid" 2>/dev/null || true
	fi
	if [[ -n ${LOAD_DELETE:-} && -n ${admin_pass:-} ]]; then
		BIND_PASSWORD=$admin_pass "$work/sspr-load" delete "${admin[@]}" -base-dn "$base" || true
	fi
	if [[ -n ${pg_db:-} ]]; then
		psql -q "$SSPR_TEST_PG_DSN" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" || true
	fi
	if [[ -z ${LOAD_KEEP:-} ]]; then rm -rf "$work"; else echo "load.sh: kept $work"; fi
}
trap cleanup EXIT

go build -o "$work/sspr" ./cmd/sspr
go build -o "$work/sspr-load" ./cmd/sspr-load

case $kind in
openldap)
	base="ou=${LOAD_OU:-load},ou=people,$SSPR_TEST_LDAP_BASE_DN"
	admin=(-type openldap -url "$SSPR_TEST_LDAP_LDAPS_URL" -bind-dn "$SSPR_TEST_LDAP_ADMIN_DN" -ca-file "$SSPR_TEST_LDAP_CA_FILE")
	admin_pass=$SSPR_TEST_LDAP_ADMIN_PASSWORD
	raw=(-raw-type openldap -raw-url "$SSPR_TEST_LDAP_LDAPS_URL" -raw-bind-dn "$SSPR_TEST_LDAP_BIND_DN"
		-raw-ca-file "$SSPR_TEST_LDAP_CA_FILE" -raw-base-dn "$base" -raw-prefix "$prefix")
	raw_pass=$SSPR_TEST_LDAP_BIND_PASSWORD
	dir_pid=$(cat "$state/openldap/slapd.pid" 2>/dev/null || cat "$state/openldap.pid")
	directory="  - name: load
    type: openldap
    urls: [\"$SSPR_TEST_LDAP_LDAPS_URL\"]
    bind_dn: \"$SSPR_TEST_LDAP_BIND_DN\"
    bind_password: \"$SSPR_TEST_LDAP_BIND_PASSWORD\"
    base_dn: \"$base\"
    ca_file: \"$SSPR_TEST_LDAP_CA_FILE\"
    password_policy_dn: \"$SSPR_TEST_LDAP_POLICY_DN\""
	;;
ad)
	base="OU=${LOAD_OU:-load},$SSPR_TEST_AD_BASE_DN"
	admin=(-type ad -url "$SSPR_TEST_AD_URL" -bind-dn "$SSPR_TEST_AD_BIND_DN" -ca-file "$SSPR_TEST_AD_CA_FILE")
	admin_pass=$SSPR_TEST_AD_BIND_PASSWORD
	raw=(-raw-type ad -raw-url "$SSPR_TEST_AD_URL" -raw-bind-dn "$SSPR_TEST_AD_SVC_DN"
		-raw-ca-file "$SSPR_TEST_AD_CA_FILE" -raw-base-dn "$base" -raw-prefix "$prefix")
	raw_pass=$SSPR_TEST_AD_SVC_PASSWORD
	dir_pid=$(cat "$state/samba.pid")
	directory="  - name: load
    type: ad
    urls: [\"$SSPR_TEST_AD_URL\"]
    bind_dn: \"$SSPR_TEST_AD_SVC_DN\"
    bind_password: \"$SSPR_TEST_AD_SVC_PASSWORD\"
    base_dn: \"$base\"
    ca_file: \"$SSPR_TEST_AD_CA_FILE\""
	;;
esac

admin+=(-prefix "$prefix")
if [[ -z ${LOAD_SKIP_USERS:-} ]]; then
	BIND_PASSWORD=$admin_pass "$work/sspr-load" users "${admin[@]}" -base-dn "$base" -count "$users"
	if [[ $kind == ad ]]; then
		# The service account may reset passwords (and read/write pwdLastSet
		# and lockoutTime) below the load OU, as scripts/testenv/samba.sh
		# delegates it below CN=Users.
		smbconf=$state/samba/etc/smb.conf
		sid=$(samba-tool user show sspr-svc -s "$smbconf" --attributes=objectSid | awk '/^objectSid:/ {print $2}')
		user_class=bf967aba-0de6-11d0-a285-00aa003049e2
		samba-tool dsacl set -s "$smbconf" --objectdn="$base" --action=allow \
			--sddl="(OA;CI;CR;00299570-246d-11d0-a768-00aa006e0529;$user_class;$sid)(OA;CI;RPWP;bf967a0a-0de6-11d0-a285-00aa003049e2;$user_class;$sid)(OA;CI;RPWP;28630ebf-41d5-11d1-a9c1-0000f80367c1;$user_class;$sid)" >/dev/null
	fi
fi

smtp_port=$((20000 + RANDOM % 20000))
http_port=$((20000 + RANDOM % 20000))
storage="  path: \"$work/sspr.db\""
db_flags=(-db "$work/sspr.db")
if [[ ${LOAD_STORE:-sqlite} == postgres ]]; then
	[[ -n ${SSPR_TEST_PG_DSN:-} ]] || { echo "load.sh: LOAD_STORE=postgres needs SSPR_TEST_PG_DSN (scripts/testenv/up.sh)" >&2; exit 1; }
	pg_db=sspr_load_$$
	psql -q "$SSPR_TEST_PG_DSN" -c "CREATE DATABASE $pg_db"
	pg_dsn=$(printf '%s' "$SSPR_TEST_PG_DSN" | sed -E "s#/[^/?]+(\?|$)#/$pg_db\1#")
	storage="  driver: postgres
  dsn: \"$pg_dsn\""
	db_flags=()
fi
cat >"$work/sspr.yaml" <<YAML
server:
  listen: "127.0.0.1:$http_port"
  base_url: "http://localhost:$http_port"
  profile_listen: "${LOAD_PROFILE:-}"
storage:
$storage
secrets:
  hmac_key: "c3Nwci1sb2FkLXRlc3Qta2V5LXRoYXQtaXMtbG9uZy1lbm91Z2g="
directories:
$directory
mail:
  from: "Password reset <noreply@load.test>"
  smtp:
    host: 127.0.0.1
    port: $smtp_port
    security: none
verification:
  factors: [email]
  first_factor: email
  pre_enroll_mail: true
# One client address sends everything, and every user resets many times.
abuse:
  identify_per_ip: {limit: 100000000, window: ${LOAD_LIMIT_WINDOW:-1m}}
  sends_per_ip: {limit: 100000000, window: ${LOAD_LIMIT_WINDOW:-1m}}
  sends_per_destination: {limit: 100000000, window: ${LOAD_LIMIT_WINDOW:-1m}}
  ip_failures: {limit: 100000000, window: ${LOAD_LIMIT_WINDOW:-1m}, block: 1s}
  resets_per_user: {limit: 100000000, window: 1m}
log:
  level: warn
${SSPR_LOAD_EXTRA_YAML:-}
YAML

if [[ -n ${LOAD_PREFILL:-} ]]; then
	"$work/sspr-load" prefill -db "$work/sspr.db" -events "$LOAD_PREFILL" -window "${LOAD_LIMIT_WINDOW:-1m}"
fi
"$work/sspr" serve --config "$work/sspr.yaml" >"$work/sspr.log" 2>&1 &
sspr_pid=$!
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$http_port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
echo "load.sh: sspr (pid $sspr_pid) on :$http_port, directory $kind (pid $dir_pid), $users users below $base"

RAW_BIND_PASSWORD=$raw_pass "$work/sspr-load" run -api "http://127.0.0.1:$http_port" -smtp "127.0.0.1:$smtp_port" \
	-users "$users" -pid "$sspr_pid" -dir-pid "$dir_pid" "${db_flags[@]}" "${raw[@]}" "$@"
