// Package rsyslogtest runs Debian's rsyslogd for a test: on loopback, with
// its own configuration, PID file and certificate (a throwaway CA), taking
// syslog over TLS (RFC 5425, octet-counted framing) and writing what it
// parsed of each message, one line each, to a file the test reads.
//
//	r := rsyslogtest.New(t) // skips without rsyslogd
//	r.Start()
//	... send to r.Addr() trusting r.ClientTLS() or r.CAFile ...
//	lines := r.WaitLines(3)
//
// rsyslog and rsyslog-gnutls are installed by scripts/testenv/rsyslog.sh.
// Without them the test is skipped, or fails when
// SSPR_TEST_REQUIRE_INTEGRATION=1.
package rsyslogtest
