// Package ldapdirtest holds the test helpers and shared checks the LDAP
// connectors' tests (internal/directory/ad, .../openldap) use alike: a
// bounded context, typed-error assertions, and the checks every connector
// must pass the same way against its real server (verify, reset, refuse a
// short password). Product-specific expectations stay in each connector's
// tests.
//
// Tap is a recording TCP proxy on loopback in front of a real server: a plain
// tap shows exactly what an eavesdropper sees (no password may be in it), a
// TLS-terminating tap decodes and counts the LDAP requests a connector sends
// (LookupRequests: one search for a flow step on a warm cache).
package ldapdirtest
