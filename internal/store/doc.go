// Package store persists sspr's state: flows, the mail outbox and the audit
// log, in an embedded SQLite database (pure Go, no cgo) or, for several
// nodes, in PostgreSQL (OpenPostgres, postgres.go; pgx through database/sql).
//
// Everything a flow step changes is written in one transaction (Store.InTx):
// the flow record, the message it causes and the audit event that records it.
// That is what makes "SMTP down" and "crash mid-flow" harmless: either the
// whole step happened, or none of it did. Schema migrations are embedded and
// run at start-up, each in its own transaction.
//
// SQLite allows one writer at a time, so InTx transactions take turns on one
// connection (BEGIN IMMEDIATE: what a step reads is still true when it
// writes). Store.ReadTx runs read-only transactions on a small pool of
// read-only connections beside it, which WAL lets read while the writer
// writes. Both keep the statements they run prepared (prepared.go), so SQL
// text is parsed once per connection, not on every run.
//
// On PostgreSQL the same SQL runs rebound to $n placeholders, every writing
// transaction takes one advisory lock (the same one-writer guarantee, across
// nodes) and ReadTx runs READ ONLY REPEATABLE READ; the migrations have
// PostgreSQL twins under the same numbers (migrations/postgres). What the
// lock costs is the round trips made while it is held, so a batch makes as
// few as it can: the audit chain's end is kept by the batch (audit.go), and
// statements that go together are one (postgres.go).
package store
