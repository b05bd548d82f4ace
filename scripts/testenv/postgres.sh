#!/usr/bin/env bash
# postgres.sh start|stop STATE_DIR
#
# Runs a private PostgreSQL 15 (Debian's) for the store and end-to-end tests
# on loopback: 127.0.0.1:${SSPR_TEST_PG_PORT:-5433} (never 5432, which a
# system cluster may own), password (SCRAM) authentication only, its Unix
# socket inside STATE_DIR/postgres. The server runs as the `postgres` system
# user (initdb refuses root); its superuser is `sspr`, which the tests use to
# create a database per test. Data lives in STATE_DIR/postgres/data and is
# reused on the next start.
# `start` writes SSPR_TEST_PG_DSN (a postgres:// URL) into STATE_DIR/env.sh.
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
dir=$state/postgres
data=$dir/data
pidfile=$state/postgres.pid
logfile=$dir/postgres.log
port=${SSPR_TEST_PG_PORT:-5433}
bin=/usr/lib/postgresql/15/bin
user=sspr

as_pg() { runuser -u postgres -- "$@"; }

if [[ $action == stop ]]; then
	if [[ -f $data/postmaster.pid ]] && alive "$(head -n1 "$data/postmaster.pid")"; then
		as_pg "$bin/pg_ctl" stop -D "$data" -m fast -w -t 30 >/dev/null || true
	fi
	stop_pid "$pidfile" postgres
	unset_env "$state" SSPR_TEST_PG_
	exit 0
fi

[[ -x $bin/postgres ]] || die "PostgreSQL 15 is not installed ($bin/postgres); run scripts/testenv/install.sh"
id postgres >/dev/null 2>&1 || die "the postgres system user is missing (installed with the postgresql package)"

mkdir -p "$dir"
# The server runs as postgres, which must be able to reach its directory.
chmod o+x "$state"
chown postgres: "$dir"
chmod 700 "$dir"

if [[ ! -s $dir/password ]]; then
	(umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' 'AB' >"$dir/password")
fi
chown postgres: "$dir/password"
password=$(<"$dir/password")
dsn="postgres://$user:$password@127.0.0.1:$port/postgres?sslmode=disable"

export_env() { set_env "$state" SSPR_TEST_PG_ SSPR_TEST_PG_DSN="$dsn"; }

ready() { as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2; }

if [[ -f $pidfile ]] && alive "$(<"$pidfile")"; then
	if ready; then
		log "already running (PID $(<"$pidfile"))"
		export_env
		exit 0
	fi
	die "PID $(<"$pidfile") is alive but does not answer; run '$0 stop $state' first"
fi

if [[ ! -f $data/PG_VERSION ]]; then
	log "initialising a cluster in $data"
	as_pg "$bin/initdb" -D "$data" -U "$user" --pwfile="$dir/password" \
		--auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.out" 2>&1 ||
		die "initdb failed (log: $dir/initdb.out)"
fi

# Loopback only, socket in our own directory; enough connections for the
# parallel store tests (each test opens its own small pools).
as_pg "$bin/pg_ctl" start -D "$data" -l "$logfile" -w -t 60 \
	-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=on" \
	>"$dir/pg_ctl.out" 2>&1 || die "PostgreSQL did not start (logs: $dir/pg_ctl.out, $logfile)"
pid=$(head -n1 "$data/postmaster.pid")
echo "$pid" >"$pidfile"
for ((i = 0; i < 300; i++)); do
	ready && break
	alive "$pid" || die "postgres (PID $pid) exited during start-up (log: $logfile)"
	sleep 0.1
done
ready || die "postgres (PID $pid) did not answer on 127.0.0.1:$port within 30 s (log: $logfile)"
export_env
log "ready on 127.0.0.1:$port (PID $pid)"
