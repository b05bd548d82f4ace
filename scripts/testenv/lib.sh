# shellcheck shell=bash
# Helpers shared by the testenv scripts; sourced, not run.

PATH="$PATH:/usr/sbin:/sbin"

log() { echo "${0##*/}: $*"; }
die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

# sq VALUE: VALUE with each single quote written as '\'' (POSIX shell quoting).
sq() { printf '%s' "${1//\'/\'\\\'\'}"; }

# set_env STATE_DIR PREFIX NAME=VALUE...
# Replaces, in STATE_DIR/env.sh, every line exporting a variable whose name
# starts with PREFIX by the given variables (quoted for the shell), so each
# start script owns its own lines and tests can `source` the file.
set_env() {
	local state=$1 prefix=$2 file tmp kv
	shift 2
	file=$state/env.sh
	tmp=$(mktemp "$state/.env.XXXXXX")
	if [[ -f $file ]]; then
		grep -v "^export ${prefix}" "$file" >"$tmp" || true
	else
		echo "# Written by scripts/testenv; source it before running integration tests." >"$tmp"
	fi
	for kv in "$@"; do
		printf "export %s='%s'\n" "${kv%%=*}" "$(sq "${kv#*=}")" >>"$tmp"
	done
	chmod 644 "$tmp"
	mv "$tmp" "$file"
}

# unset_env STATE_DIR PREFIX: drops the lines set_env wrote for PREFIX.
unset_env() {
	local state=$1 prefix=$2 file tmp
	file=$state/env.sh
	[[ -f $file ]] || return 0
	tmp=$(mktemp "$state/.env.XXXXXX")
	grep -v "^export ${prefix}" "$file" >"$tmp" || true
	chmod 644 "$tmp"
	mv "$tmp" "$file"
}

# alive PID: true while the process exists and is not a zombie (under a PID 1
# that does not reap, a killed server may linger as Z).
alive() {
	local pid=$1 state
	[[ -n $pid && -r /proc/$pid/status ]] || return 1
	state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
	[[ -n $state && $state != Z ]]
}

# stop_pid PIDFILE NAME: stops the process recorded in PIDFILE, politely then
# firmly, and removes the file.
stop_pid() {
	local pidfile=$1 name=$2 pid i
	if [[ ! -f $pidfile ]]; then
		log "$name: not running (no $pidfile)"
		return 0
	fi
	pid=$(<"$pidfile")
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			log "$name: PID $pid ignored SIGTERM, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			for ((i = 0; i < 50; i++)); do
				alive "$pid" || break
				sleep 0.1
			done
		fi
		alive "$pid" && die "$name: PID $pid does not stop"
		log "$name: stopped PID $pid"
	else
		log "$name: PID $pid already gone"
	fi
	rm -f "$pidfile"
}
