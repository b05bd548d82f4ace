// Package e2e holds end-to-end tests: a whole sspr instance, configured from
// YAML the way an operator would, served over real HTTP, mailing through a
// real SMTP server (mailsink), resetting passwords in real directories
// (Samba AD and OpenLDAP started by scripts/testenv, or the embedded demo
// directory). The package has no production code.
//
// sspr's database is a SQLite file per test, or PostgreSQL:
// TestResetOpenLDAPOnPostgres always runs on PostgreSQL (SSPR_TEST_PG_DSN),
// and with SSPR_TEST_E2E_STORE=postgres every test's database is a
// PostgreSQL database of its own instead of its SQLite file.
package e2e
