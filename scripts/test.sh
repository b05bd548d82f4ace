#!/usr/bin/env bash
# scripts/test.sh — runs every sspr test on a fresh Debian 12 machine with Go.
#
# It installs (apt) and starts, on loopback only, what the integration tests
# need — a Samba Active Directory domain controller, an OpenLDAP slapd
# with ppolicy, 389-DS and PostgreSQL 15 (the store, limiter, outbox and an
# end-to-end suite run on SQLite and on PostgreSQL), and installs Debian's
# HAProxy (the three-node test starts its own, in front of three sspr
# processes) — then checks formatting and vet, runs every Go test with the
# race detector (directory tests are required, not skipped), runs each fuzz
# target for a bounded time, and stops the servers by PID on the way out.
#
#   scripts/test.sh            everything
#   FUZZTIME=2000000x scripts/test.sh   longer fuzzing (executions per target)
#   SSPR_TEST_STATE=DIR        where the test servers keep their state
#   SSPR_TEST_E2E_PG=0 scripts/test.sh   leave out the second run of the
#                              end-to-end suite, the one with every sspr on
#                              PostgreSQL (the store, limiter, outbox and
#                              TestResetOpenLDAPOnPostgres run on PostgreSQL either way)
#   SSPR_TEST_SCREENSHOTS=DIR       where browser screenshots go (test-artifacts/screenshots)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:-} -mod=mod"
state=${SSPR_TEST_STATE:-/tmp/sspr-testenv}
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with
# "context deadline exceeded" when a duration runs out (golang/go#75804).
fuzztime=${FUZZTIME:-200000x}

step() { printf '\n==> %s\n' "$*"; }

step "Go toolchain"
go version

step "Test directories (Samba AD, OpenLDAP), PostgreSQL and a headless browser (Chromium)"
scripts/testenv/up.sh "$state"
scripts/testenv/browser.sh
scripts/testenv/tools.sh
scripts/testenv/rsyslog.sh
scripts/testenv/pam.sh
scripts/testenv/packaging.sh
scripts/testenv/haproxy.sh
trap 'scripts/testenv/login.sh stop "$state" || true; scripts/testenv/down.sh "$state" || true' EXIT
scripts/testenv/login.sh start "$state"
set -a
# shellcheck disable=SC1091
. "$state/env.sh"
set +a
export SSPR_TEST_REQUIRE_INTEGRATION=1
# The browser tests' screenshots (portal, admin reports, factors) and
# rendered PDFs are kept here for a person to look at after the run.
export SSPR_TEST_SCREENSHOTS=${SSPR_TEST_SCREENSHOTS:-$PWD/test-artifacts/screenshots}
mkdir -p "$SSPR_TEST_SCREENSHOTS"

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n "$unformatted" ]]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
# Pinned, installed into the Go bin directory (not a project dependency).
GOFLAGS= go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
"$(go env GOPATH)/bin/staticcheck" ./...

step "go build"
go build ./...

step "go test -race (unit, integration, end-to-end)"
go test -race -count=1 -timeout 30m ./...

# The end-to-end suite a second time, every sspr on PostgreSQL (issue 14:
# both engines pass it). It runs beside the fuzzing: it waits on browsers,
# mail and directories far more than it computes (about a quarter of one
# core), the fuzzers are all computation, and they run niced so the suite's
# requests are served first. Without the race detector: the SQLite run
# above had it, on the same code; this run is about the engine.
e2e_pg_pid=
e2e_pg_log=$(mktemp /tmp/sspr-e2e-postgres.XXXXXX)
if [[ "${SSPR_TEST_E2E_PG:-1}" != 0 && "${SSPR_TEST_E2E_STORE:-}" != postgres ]]; then
	step "end-to-end suite on PostgreSQL (in the background, beside the fuzzing)"
	mkdir -p "$SSPR_TEST_SCREENSHOTS/postgres"
	# A process group of its own (setsid), so a failure elsewhere stops it
	# with its test binary before the servers it uses are stopped.
	SSPR_TEST_E2E_STORE=postgres SSPR_TEST_SCREENSHOTS="$SSPR_TEST_SCREENSHOTS/postgres" \
		setsid -w go test -count=1 -timeout 30m ./internal/e2e/ >"$e2e_pg_log" 2>&1 &
	e2e_pg_pid=$!
	trap 'kill -- -"$e2e_pg_pid" 2>/dev/null || true; scripts/testenv/login.sh stop "$state" || true; scripts/testenv/down.sh "$state" || true' EXIT
fi

step "fuzzing (${fuzztime} executions per target)"
# Every Fuzz* function, each in its own package, for a bounded time.
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg=./$(dirname "${file#./}")
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
		echo "fuzz $pkg $target"
		nice -n 10 go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/sspr-fuzz.log 2>&1 || {
			cat /tmp/sspr-fuzz.log >&2
			exit 1
		}
	done
done

if [[ -n "$e2e_pg_pid" ]]; then
	step "end-to-end suite on PostgreSQL (waiting for it)"
	if ! wait "$e2e_pg_pid"; then
		cat "$e2e_pg_log" >&2
		echo "the end-to-end suite failed on PostgreSQL" >&2
		exit 1
	fi
	tail -n 1 "$e2e_pg_log"
	e2e_pg_pid=
fi

step "all tests passed"
