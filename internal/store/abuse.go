package store

import (
	"database/sql"
	"errors"
	"time"
)

// Abuse counters are sliding windows over rows of abuse_events: recording
// an event inserts a row, and a window is a count of (kind, key) rows after a
// point in time. Keys are whatever the caller (internal/abuse) derived from a
// login, an IP address or an HMAC'd destination; the store never sees the
// raw contact data.

// RecordAbuseEvent counts one event of (kind, key) at at. keepUntil is when
// no window needs the row any more; DeleteExpiredAbuse removes it after that.
func (t *Tx) RecordAbuseEvent(kind, key string, at, keepUntil time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO abuse_events (kind, key, at, keep_until) VALUES (?, ?, ?, ?)`,
		kind, key, millis(at), millis(keepUntil))
	return err
}

// RecordAbuseEventOnce records an event of (kind, key) only when none is
// kept yet, and reports whether it did: the single-use check of a nonce.
// The check and the insert are one statement in the writer's transaction.
func (t *Tx) RecordAbuseEventOnce(kind, key string, at, keepUntil time.Time) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `INSERT INTO abuse_events (kind, key, at, keep_until)
		SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM abuse_events WHERE kind = ? AND key = ?)`,
		kind, key, millis(at), millis(keepUntil), kind, key)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CountAbuseEvents counts the events of (kind, key) strictly after since.
func (t *Tx) CountAbuseEvents(kind, key string, since time.Time) (int, error) {
	var n int
	err := t.tx.QueryRowContext(t.ctx, `SELECT COUNT(*) FROM abuse_events WHERE kind = ? AND key = ? AND at > ?`,
		kind, key, millis(since)).Scan(&n)
	return n, err
}

// AbuseEventAt returns the time of the nth (0-based, oldest first) event of
// (kind, key) strictly after since; ErrNotFound when there are not that many.
// A limiter uses it to tell when a full window will have room again.
func (t *Tx) AbuseEventAt(kind, key string, since time.Time, n int) (time.Time, error) {
	var at int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT at FROM abuse_events WHERE kind = ? AND key = ? AND at > ?
		ORDER BY at, id LIMIT 1 OFFSET ?`, kind, key, millis(since), n).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, ErrNotFound
	}
	if err != nil {
		return time.Time{}, err
	}
	return fromMillis(at), nil
}

// DeleteAbuseEvents forgets every event of (kind, key), returning how many;
// a help-desk unblock uses it so the next failure does not block again.
func (t *Tx) DeleteAbuseEvents(kind, key string) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM abuse_events WHERE kind = ? AND key = ?`, kind, key)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// AbuseBlock is a subject cut off until a time.
type AbuseBlock struct {
	Kind      string
	Key       string
	Until     time.Time
	Reason    string
	CreatedAt time.Time
}

// SetAbuseBlock stores b, replacing any block of the same (kind, key).
func (t *Tx) SetAbuseBlock(b *AbuseBlock) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO abuse_blocks (kind, key, until, reason, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET until = excluded.until, reason = excluded.reason, created_at = excluded.created_at`,
		b.Kind, b.Key, millis(b.Until), b.Reason, millis(b.CreatedAt))
	return err
}

// ActiveAbuseBlock returns the block of (kind, key) that still holds after
// now; ErrNotFound when there is none.
func (t *Tx) ActiveAbuseBlock(kind, key string, now time.Time) (*AbuseBlock, error) {
	var b AbuseBlock
	var until, created int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT kind, key, until, reason, created_at FROM abuse_blocks
		WHERE kind = ? AND key = ? AND until > ?`, kind, key, millis(now)).Scan(&b.Kind, &b.Key, &until, &b.Reason, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	b.Until, b.CreatedAt = fromMillis(until), fromMillis(created)
	return &b, nil
}

// ActiveAbuseBlocks lists the blocks that still hold after now, those that
// end soonest first.
func (t *Tx) ActiveAbuseBlocks(now time.Time) ([]*AbuseBlock, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT kind, key, until, reason, created_at FROM abuse_blocks
		WHERE until > ? ORDER BY until, kind, key`, millis(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*AbuseBlock
	for rows.Next() {
		var b AbuseBlock
		var until, created int64
		if err := rows.Scan(&b.Kind, &b.Key, &until, &b.Reason, &created); err != nil {
			return nil, err
		}
		b.Until, b.CreatedAt = fromMillis(until), fromMillis(created)
		out = append(out, &b)
	}
	return out, rows.Err()
}

// DeleteAbuseBlock lifts the block of (kind, key), reporting whether there
// was one (expired or not).
func (t *Tx) DeleteAbuseBlock(kind, key string) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM abuse_blocks WHERE kind = ? AND key = ?`, kind, key)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteExpiredAbuse removes events kept until now or earlier and blocks
// that ended by now, returning how many rows went.
func (t *Tx) DeleteExpiredAbuse(now time.Time) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM abuse_events WHERE keep_until <= ?`, millis(now))
	if err != nil {
		return 0, err
	}
	events, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	res, err = t.tx.ExecContext(t.ctx, `DELETE FROM abuse_blocks WHERE until <= ?`, millis(now))
	if err != nil {
		return 0, err
	}
	blocks, err := res.RowsAffected()
	return events + blocks, err
}
