// Command sspr-load measures sspr the way an operator would: it drives
// complete self-service flows (identify → code by mail → verify → new
// password) through sspr's JSON API against a real directory, catches the
// code mails with its own SMTP receiver, and reports flows per second, the
// p50/p99 latency of every step, the code mail's delay and sspr's CPU time
// per flow. Next to it, in the same run and interleaved phase by phase so
// machine noise hits both alike, it measures the raw limit of the directory
// itself: find the user and write a password straight over LDAPS.
//
// It is a measuring tool, not a test: figures go into docs/benchmarks.md
// with the exact command that produced them. For a soak, give it a fixed
// rate and a long duration; every report window (e.g. 5 minutes) prints
// flows, errors, latencies, CPU per flow, the server's RSS and open files,
// the database's size and its tables' row counts (also written to -json,
// window by window). TestSoak runs a 60-second soak of the real sspr
// against the real OpenLDAP in the test command, and
// TestThreeNodesBehindHAProxy runs 200 resets through HAProxy on three
// sspr nodes sharing one PostgreSQL while one of them is killed. With
// several nodes, -pid takes their PIDs, comma-separated, and sums them.
//
//	sspr-load users  -type openldap -url ldaps://… -bind-dn … -count 2000
//	sspr-load run    -api http://127.0.0.1:8080 -smtp 127.0.0.1:2525 -users 2000 \
//	                 -concurrency 64 -duration 60s -pid $(cat sspr.pid) -raw …
//
// scripts/load.sh wires a whole run against the test directories.
package main
