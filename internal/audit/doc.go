// Package audit records what happened, to whom, from where, and with what
// outcome, in an append-only, hash-chained log.
//
// Events are appended inside the same store transaction as the state change
// they describe, so there is never a change without its record or a record
// without its change. Each row's hash covers its fields and the previous
// row's hash: editing or deleting a row breaks the chain, and Verify says
// where.
package audit
