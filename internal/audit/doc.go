// Package audit records what happened, to whom, from where, and with what
// outcome, in an append-only, hash-chained log.
//
// Events are appended inside the same store transaction as the state change
// they describe, so there is never a change without its record or a record
// without its change. Each row's hash covers its fields and the previous
// row's hash: editing or deleting a row breaks the chain, and Verify says
// where. The chain starts with a record of its creation (Start), so an
// emptied log shows too.
//
// What the database alone cannot show is that it was replaced by an older,
// consistent copy. Monitor checks the rows added since its last check as
// the server runs and records each good end as a MAC'd Checkpoint outside
// the database (the log, a file); CheckCheckpoint tells whether a database
// still holds one. Export writes the log as JSON lines with every row's
// hashes, which VerifyExported (or anyone, for the links) can re-check.
//
// Prune (audit.retention) deletes the oldest rows after checking them, and
// records the last one deleted in a MAC'd retention marker in the same
// transaction; verification starts from the marker, so the rest of the
// chain still proves itself, and checkpoints of deleted rows are reported
// as before retention (ErrBeforeRetention) rather than as tampering.
package audit
