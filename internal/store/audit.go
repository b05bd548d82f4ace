package store

import (
	"database/sql"
	"errors"
	"time"
)

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
	var h []byte
	err := t.tx.QueryRowContext(t.ctx, `SELECT hash FROM audit ORDER BY id DESC LIMIT 1`).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return h, err
}

// InsertAudit appends r; the caller computed PrevHash and Hash.
func (t *Tx) InsertAudit(r *AuditRecord) error {
	var err error
	r.ID, err = t.tx.insertID(t.ctx, `INSERT INTO audit (at, event, flow, actor, subject, directory, client_ip, outcome, reason, detail, prev_hash, hash)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, millis(r.At), r.Event, r.Flow, r.Actor, r.Subject, r.Directory, r.ClientIP, r.Outcome, r.Reason, r.Detail, r.PrevHash, r.Hash)
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
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO audit_head (one, last_id, hash, mac) VALUES (1, ?, ?, ?)
		ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash, mac = excluded.mac`, h.LastID, h.Hash, h.MAC)
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
