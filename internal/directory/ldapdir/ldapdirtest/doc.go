// Package ldapdirtest holds the test helpers and shared checks the LDAP
// connectors' tests (internal/directory/ad, .../openldap) use alike: a
// bounded context, typed-error assertions, and the checks every connector
// must pass the same way against its real server (verify, reset, refuse a
// short password). Product-specific expectations stay in each connector's
// tests.
package ldapdirtest
