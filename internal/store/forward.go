package store

import (
	"database/sql"
	"errors"
	"time"
)

// ForwardCursor is how far one forwarding sink (a webhook, a syslog
// collector, a file) has delivered the audit log.
type ForwardCursor struct {
	Sink          string
	AfterID       int64 // the newest audit row delivered (or skipped by the sink's filter)
	Attempts      int   // failed attempts in a row
	NextAttemptAt time.Time
	LastError     string
	DeliveredAt   time.Time
}

// ClaimForwardCursor returns sink's cursor and leases it to owner until
// leaseUntil, creating it at startAfter when the sink is new. ok is false
// while another owner's lease runs or the sink's next attempt is not due.
func (t *Tx) ClaimForwardCursor(sink string, startAfter int64, owner string, now, leaseUntil time.Time) (c ForwardCursor, ok bool, err error) {
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO forward_cursors (sink, after_id) VALUES (?, ?) ON CONFLICT (sink) DO NOTHING`, sink, startAfter); err != nil {
		return c, false, err
	}
	var next, delivered, until int64
	var leaseOwner string
	err = t.tx.QueryRowContext(t.ctx, `SELECT after_id, attempts, next_attempt_at, last_error, delivered_at, lease_owner, lease_until
		FROM forward_cursors WHERE sink = ?`, sink).Scan(&c.AfterID, &c.Attempts, &next, &c.LastError, &delivered, &leaseOwner, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	c.Sink = sink
	c.NextAttemptAt, c.DeliveredAt = fromMillis(next), fromMillis(delivered)
	if (leaseOwner != "" && leaseOwner != owner && until > millis(now)) || next > millis(now) {
		return c, false, nil
	}
	_, err = t.tx.ExecContext(t.ctx, `UPDATE forward_cursors SET lease_owner = ?, lease_until = ? WHERE sink = ?`, owner, millis(leaseUntil), sink)
	return c, err == nil, err
}

// StartForwardCursor creates sink's cursor at the newest audit row when the
// sink is new, and leaves an existing one as it is.
func (t *Tx) StartForwardCursor(sink string) error {
	// "WHERE true": SQLite's parser needs it to tell an upsert's ON from a
	// join's after INSERT ... SELECT.
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO forward_cursors (sink, after_id) SELECT ?, COALESCE(MAX(id), 0) FROM audit WHERE true
		ON CONFLICT (sink) DO NOTHING`, sink)
	return err
}

// ForwardCursors lists every sink's cursor (for the admin's view).
func (t *Tx) ForwardCursors() ([]ForwardCursor, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT sink, after_id, attempts, next_attempt_at, last_error, delivered_at FROM forward_cursors ORDER BY sink`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ForwardCursor
	for rows.Next() {
		var c ForwardCursor
		var next, delivered int64
		if err := rows.Scan(&c.Sink, &c.AfterID, &c.Attempts, &next, &c.LastError, &delivered); err != nil {
			return nil, err
		}
		c.NextAttemptAt, c.DeliveredAt = fromMillis(next), fromMillis(delivered)
		out = append(out, c)
	}
	return out, rows.Err()
}

// RecordForward writes the outcome of a delivery round for sink and ends
// its lease: afterID is the newest row now delivered; a non-empty lastErr
// counts a failed attempt, to be tried again at next.
func (t *Tx) RecordForward(sink string, afterID int64, lastErr string, next, now time.Time) error {
	var err error
	if lastErr == "" {
		_, err = t.tx.ExecContext(t.ctx, `UPDATE forward_cursors SET after_id = CASE WHEN after_id > ? THEN after_id ELSE ? END, attempts = 0, next_attempt_at = 0, last_error = '',
			delivered_at = ?, lease_owner = '', lease_until = 0 WHERE sink = ?`, afterID, afterID, millis(now), sink)
	} else {
		_, err = t.tx.ExecContext(t.ctx, `UPDATE forward_cursors SET after_id = CASE WHEN after_id > ? THEN after_id ELSE ? END, attempts = attempts + 1, next_attempt_at = ?, last_error = ?,
			lease_owner = '', lease_until = 0 WHERE sink = ?`, afterID, afterID, millis(next), lastErr, sink)
	}
	return err
}
