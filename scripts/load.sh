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
#   LOAD_POOL_SIZE=N  the directory's pool_size (service connections; default 8)
#   LOAD_WRITE_CONCURRENCY=N  the directory's write_concurrency (per node)
#   LOAD_NODE_GOMAXPROCS=N  GOMAXPROCS of each sspr node only (not of the
#                 load program): nodes sharing a machine's cores
#   LOAD_LIMIT_WINDOW=1h  window of the (raised) per-address limits, default 1m
#   LOAD_PREFILL=N  before the run, count N identify and N send events for
#                 127.0.0.1 in sspr's database (sspr-load prefill), as if
#                 everyone came through one proxy; use with LOAD_LIMIT_WINDOW
#                 longer than the run so they stay in the window
#   LOAD_STORE=postgres  keep sspr's data in a new database on the test
#                 PostgreSQL (SSPR_TEST_PG_DSN), dropped afterwards; the CPU
#                 per flow is then sspr's alone, without PostgreSQL's
#   LOAD_PROFILE=host:port  sspr's profiler listener (server.profile_listen),
#                 for `go tool pprof` while the load runs (the first node's)
#   LOAD_NODES=N  run N `sspr serve` nodes (default 1) on the one PostgreSQL
#                 database (needs LOAD_STORE=postgres) behind Debian's HAProxy
#                 (scripts/testenv/haproxy.sh; round robin, no stickiness,
#                 /healthz checks, as in docs/reverse-proxy.md); sspr-load
#                 talks to HAProxy and sums the nodes' CPU per flow
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

nodes=${LOAD_NODES:-1}
if ! [[ $nodes =~ ^[1-9][0-9]*$ ]]; then
	echo "load.sh: LOAD_NODES must be a positive number" >&2
	exit 2
fi
if ((nodes > 1)); then
	if [[ ${LOAD_STORE:-sqlite} != postgres ]]; then
		echo "load.sh: LOAD_NODES=$nodes needs LOAD_STORE=postgres (nodes share one database)" >&2
		exit 2
	fi
	command -v haproxy >/dev/null 2>&1 || scripts/testenv/haproxy.sh
fi

work=$(mktemp -d /tmp/sspr-load.XXXXXX)
sspr_pids=()
haproxy_pid=
cleanup() {
	local pid
	for pid in "${sspr_pids[@]}" $haproxy_pid; do
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid"
			wait "$pid" 2>/dev/null || true
		fi
	done
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
if [[ -n ${LOAD_POOL_SIZE:-} ]]; then
	directory+="
    pool_size: $LOAD_POOL_SIZE"
fi
if [[ -n ${LOAD_WRITE_CONCURRENCY:-} ]]; then
	directory+="
    write_concurrency: $LOAD_WRITE_CONCURRENCY"
fi

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
storage="  path: \"$work/sspr.db\""
db_flags=(-db "$work/sspr.db")
if [[ ${LOAD_STORE:-sqlite} == postgres ]]; then
	[[ -n ${SSPR_TEST_PG_DSN:-} ]] || { echo "load.sh: LOAD_STORE=postgres needs SSPR_TEST_PG_DSN (scripts/testenv/up.sh)" >&2; exit 1; }
	pg_db=sspr_load_$$
	psql -q "$SSPR_TEST_PG_DSN" -c "CREATE DATABASE $pg_db"
	pg_dsn=$(printf '%s' "$SSPR_TEST_PG_DSN" | sed -E "s#/[^/?]+(\?|$)#/$pg_db\1#")
	storage="  driver: postgres
  dsn: \"$pg_dsn\""
	# PostgreSQL's CPU per flow: the postmaster and the backends it forks
	# (the checkpointer's parent is the postmaster).
	pg_checkpointer=$(psql -Atq "$SSPR_TEST_PG_DSN" -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
	db_flags=(-store-pid "$(ps -o ppid= -p "$pg_checkpointer" | tr -d ' ')")
fi

# write_config FILE PORT NODE [PROFILE]: one node's configuration.
write_config() {
	cat >"$1" <<YAML
server:
  listen: "127.0.0.1:$2"
  base_url: "http://localhost:$lb_port"
  profile_listen: "${4:-}"
$proxies
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
  outbox:
    node_id: "$3"
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
  # Below both test directories' lockout thresholds (OpenLDAP 5, Samba 3),
  # as sspr's start-up check asks; the load makes no failed attempts.
  user_failures: {limit: 2, window: 1h, block: 24h}
log:
  level: warn
${SSPR_LOAD_EXTRA_YAML:-}
YAML
}

wait_healthy() {
	for _ in $(seq 300); do
		curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "load.sh: nothing healthy on :$1" >&2
	tail -n 20 "$work"/*.log >&2 || true
	return 1
}

http_ports=()
for ((k = 1; k <= nodes; k++)); do
	http_ports+=($((20000 + RANDOM % 20000)))
done
lb_port=${http_ports[0]}
proxies=
if ((nodes > 1)); then
	lb_port=$((20000 + RANDOM % 20000))
	proxies='  trusted_proxies: ["127.0.0.1/32"]   # HAProxy'
fi

if [[ -n ${LOAD_PREFILL:-} ]]; then
	"$work/sspr-load" prefill -db "$work/sspr.db" -events "$LOAD_PREFILL" -window "${LOAD_LIMIT_WINDOW:-1m}"
fi
# One node at a time: the first creates the schema on a fresh database.
for ((k = 1; k <= nodes; k++)); do
	cfg=$work/sspr.yaml log=$work/sspr.log profile=${LOAD_PROFILE:-}
	if ((nodes > 1)); then
		cfg=$work/sspr-$k.yaml log=$work/sspr-$k.log
		((k == 1)) || profile=
	fi
	write_config "$cfg" "${http_ports[k - 1]}" "load-$k" "$profile"
	if [[ -n ${LOAD_NODE_GOMAXPROCS:-} ]]; then
		GOMAXPROCS=$LOAD_NODE_GOMAXPROCS "$work/sspr" serve --config "$cfg" >"$log" 2>&1 &
	else
		"$work/sspr" serve --config "$cfg" >"$log" 2>&1 &
	fi
	sspr_pids+=($!)
	wait_healthy "${http_ports[k - 1]}"
done
if ((nodes > 1)); then
	{
		printf 'global\n    maxconn 4096\n\n'
		printf 'defaults\n    mode http\n    timeout connect 5s\n    timeout client 2m\n    timeout server 2m\n    retries 3\n    option redispatch\n\n'
		printf 'frontend load\n    bind 127.0.0.1:%s\n    option forwardfor\n    default_backend sspr\n\n' "$lb_port"
		printf 'backend sspr\n    balance roundrobin\n    option httpchk GET /healthz\n    http-check expect status 200\n    default-server inter 2s fall 2 rise 2\n'
		for ((k = 1; k <= nodes; k++)); do
			printf '    server load-%s 127.0.0.1:%s check\n' "$k" "${http_ports[k - 1]}"
		done
	} >"$work/haproxy.cfg"
	haproxy -c -q -f "$work/haproxy.cfg"
	haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
	haproxy_pid=$!
	wait_healthy "$lb_port"
fi
pids=$(IFS=,; echo "${sspr_pids[*]}")
echo "load.sh: $nodes sspr node(s) (pid $pids) on :$lb_port, directory $kind (pid $dir_pid), $users users below $base"

RAW_BIND_PASSWORD=$raw_pass "$work/sspr-load" run -api "http://127.0.0.1:$lb_port" -smtp "127.0.0.1:$smtp_port" \
	-users "$users" -pid "$pids" -dir-pid "$dir_pid" "${db_flags[@]}" "${raw[@]}" "$@"
