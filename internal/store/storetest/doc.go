// Package storetest opens stores for tests on each engine sspr supports:
// SQLite in a temporary file, and PostgreSQL in a database of its own per
// test (created on the server named by SSPR_TEST_PG_DSN and dropped when the
// test ends), so tests on PostgreSQL run in parallel without seeing each
// other's rows. Without SSPR_TEST_PG_DSN the PostgreSQL runs are skipped,
// unless SSPR_TEST_REQUIRE_INTEGRATION=1, which makes them fail instead.
package storetest
