package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// The chain's end within a batch.
//
// Appending an audit row took three statements: read the newest row's
// hash, insert the row, write the head. On PostgreSQL every one of them is
// a round trip made while the batch holds the one write lock
// (postgres.go), so every node's writes wait for them; on SQLite the two
// around the insert were 40 % of an append's CPU, four appends a reset.
// But while a batch is the writer nobody else appends, so the batch itself
// knows the chain's end once it has read or written it, and only the last
// head it wrote matters when it commits. auditTail keeps both:
//
//   - LastAuditHash reads the newest hash from the database once per batch;
//     afterwards it is the hash InsertAudit last wrote;
//   - SetAuditHead only notes the head; flushAuditHead writes it before the
//     batch commits (writer.go), so a batch appending n rows writes the
//     head once.
//
// What a transaction of the batch did to the tail is undone with it when
// it is rolled back to its savepoint (runBatch keeps a copy from before
// it). Any other statement that names an audit table (a verification
// reading the head, retention deleting rows, a migration, a copy) first
// gets the noted head written and makes the tail be read again
// (touchAudit), so it sees exactly what it would have seen before. Table
// names are matched without regard to case.
type auditTail struct {
	// known: hash is the newest row's hash (nil: the log is empty).
	known bool
	hash  []byte
	// pending: head is to be written before the batch commits.
	pending bool
	head    AuditHead
}

// setAuditHeadSQL writes the chain's head.
const setAuditHeadSQL = `INSERT INTO audit_head (one, last_id, hash, mac) VALUES (1, ?, ?, ?)
		ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash, mac = excluded.mac`

// untracked is t without the audit tail, for the statements that keep
// the tail themselves.
func (t preparedTx) untracked() preparedTx {
	t.tail = nil
	return t
}

// touchAudit runs before every statement of a batch: one that
// names an audit table gets the noted head written first and the tail
// forgotten (see auditTail).
func (t preparedTx) touchAudit(ctx context.Context, query string) error {
	if t.tail == nil || !containsFold(query, "audit") {
		return nil
	}
	t.tail.known, t.tail.hash = false, nil
	return t.flushAuditHead(ctx)
}

// flushAuditHead writes the head SetAuditHead noted, if any.
func (t preparedTx) flushAuditHead(ctx context.Context) error {
	if t.tail == nil || !t.tail.pending {
		return nil
	}
	h := t.tail.head
	if _, err := t.untracked().ExecContext(ctx, setAuditHeadSQL, h.LastID, h.Hash, h.MAC); err != nil {
		return err
	}
	t.tail.pending = false
	return nil
}

// rawTx is the transaction itself, for statements built at run time (a
// copy between databases): the audit tail is written and forgotten first,
// as for any statement that may touch the chain.
func (t preparedTx) rawTx(ctx context.Context) (querier, error) {
	if t.tail != nil {
		t.tail.known, t.tail.hash = false, nil
		if err := t.flushAuditHead(ctx); err != nil {
			return nil, err
		}
	}
	return t.q(), nil
}

// containsFold reports whether s contains the lower-case ASCII word sub,
// in any case, without allocating (it runs before every statement).
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

// AuditRecord is one row of the append-only audit log.
type AuditRecord struct {
	ID        int64
	At        time.Time
	Event     string
	Flow      string
	Actor     string
	Subject   string
	Directory string
	ClientIP  string
	Outcome   string
	Reason    string
	Detail    string
	PrevHash  []byte
	Hash      []byte
}

// LastAuditHash returns the hash of the newest audit row, or nil when the
// log is empty.
func (t *Tx) LastAuditHash() ([]byte, error) {
	if tail := t.tx.tail; tail != nil && tail.known {
		return tail.hash, nil
	}
	var h []byte
	err := t.tx.untracked().QueryRowContext(t.ctx, `SELECT hash FROM audit ORDER BY id DESC LIMIT 1`).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		h, err = nil, nil
	}
	if err == nil && t.tx.tail != nil {
		t.tx.tail.known, t.tx.tail.hash = true, h
	}
	return h, err
}

// InsertAudit appends r; the caller computed PrevHash and Hash.
func (t *Tx) InsertAudit(r *AuditRecord) error {
	var err error
	r.ID, err = t.tx.untracked().insertID(t.ctx, `INSERT INTO audit (at, event, flow, actor, subject, directory, client_ip, outcome, reason, detail, prev_hash, hash)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, millis(r.At), r.Event, r.Flow, r.Actor, r.Subject, r.Directory, r.ClientIP, r.Outcome, r.Reason, r.Detail, r.PrevHash, r.Hash)
	if err == nil && t.tx.tail != nil {
		t.tx.tail.known, t.tx.tail.hash = true, r.Hash
	}
	return err
}

// AuditRecords returns rows with id > afterID in order, up to limit.
func (t *Tx) AuditRecords(afterID int64, limit int) ([]*AuditRecord, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT id, at, event, flow, actor, subject, directory, client_ip, outcome, reason, detail, prev_hash, hash
		FROM audit WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*AuditRecord
	for rows.Next() {
		var r AuditRecord
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.Event, &r.Flow, &r.Actor, &r.Subject, &r.Directory, &r.ClientIP, &r.Outcome, &r.Reason, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
			return nil, err
		}
		r.At = fromMillis(at)
		out = append(out, &r)
	}
	return out, rows.Err()
}

// AuditHead is the recorded end of the audit chain.
type AuditHead struct {
	LastID int64
	Hash   []byte
	MAC    []byte
}

// SetAuditHead records the new end of the chain.
func (t *Tx) SetAuditHead(h AuditHead) error {
	if tail := t.tx.tail; tail != nil {
		// Written before the batch commits, or before a statement that
		// may read it (see auditTail).
		tail.pending, tail.head = true, h
		return nil
	}
	_, err := t.tx.ExecContext(t.ctx, setAuditHeadSQL, h.LastID, h.Hash, h.MAC)
	return err
}

// GetAuditHead returns the recorded end of the chain; ok is false while the
// log is empty.
func (t *Tx) GetAuditHead() (h AuditHead, ok bool, err error) {
	err = t.tx.QueryRowContext(t.ctx, `SELECT last_id, hash, mac FROM audit_head WHERE one = 1`).Scan(&h.LastID, &h.Hash, &h.MAC)
	if errors.Is(err, sql.ErrNoRows) {
		return h, false, nil
	}
	return h, err == nil, err
}

// AuditRecordByID returns one row, or ErrNotFound.
func (t *Tx) AuditRecordByID(id int64) (*AuditRecord, error) {
	recs, err := t.AuditRecords(id-1, 1)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || recs[0].ID != id {
		return nil, ErrNotFound
	}
	return recs[0], nil
}

// AuditGenesisPending reports whether the record that the audit chain was
// created is still to be written (a new or just-upgraded database).
func (t *Tx) AuditGenesisPending() (bool, error) {
	var pending int
	err := t.tx.QueryRowContext(t.ctx, `SELECT pending FROM audit_genesis WHERE one = 1`).Scan(&pending)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return pending != 0, err
}

// AuditGenesisWritten clears the note that the creation record is pending;
// the caller writes that record in the same transaction.
func (t *Tx) AuditGenesisWritten() error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO audit_genesis (one, pending) VALUES (1, 0)
		ON CONFLICT (one) DO UPDATE SET pending = 0`)
	return err
}

// NewestAuditID returns the highest row id in the log (0 when empty).
func (t *Tx) NewestAuditID() (int64, error) {
	var id sql.NullInt64
	err := t.tx.QueryRowContext(t.ctx, `SELECT MAX(id) FROM audit`).Scan(&id)
	return id.Int64, err
}

// AuditRetention marks where audit retention cut the log: every row up to
// LastID (whose hash was Hash), all written before Before, was deleted.
// MAC is the audit chain's MAC over the rest.
type AuditRetention struct {
	LastID int64
	Hash   []byte
	Before time.Time
	MAC    []byte
}

// GetAuditRetention returns the retention marker; ok is false while no row
// was ever deleted.
func (t *Tx) GetAuditRetention() (r AuditRetention, ok bool, err error) {
	var before int64
	err = t.tx.QueryRowContext(t.ctx, `SELECT last_id, hash, before_at, mac FROM audit_retention WHERE one = 1`).Scan(&r.LastID, &r.Hash, &before, &r.MAC)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	r.Before = fromMillis(before)
	return r, err == nil, err
}

// DeleteAuditThrough moves the retention marker to r and deletes every
// audit row up to r.LastID. The database refuses to delete a row past the
// marker, so the marker is written first, in the same transaction.
func (t *Tx) DeleteAuditThrough(r AuditRetention) (int64, error) {
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO audit_retention (one, last_id, hash, before_at, mac) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash, before_at = excluded.before_at, mac = excluded.mac`,
		r.LastID, r.Hash, millis(r.Before), r.MAC); err != nil {
		return 0, err
	}
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM audit WHERE id <= ?`, r.LastID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
