package store

import (
	"database/sql"
	"errors"
	"time"
)

// Sync outcome states (SyncOutcome.State).
const (
	SyncPending   = "pending"
	SyncDelivered = "delivered"
	SyncFailed    = "failed"
)

// SyncOutcome is how far one sync message of a flow got: its recorded
// state and, while it is pending, what the outbox row says about it.
type SyncOutcome struct {
	MessageID int64
	Target    string
	// Label is the name the person sees for the target.
	Label string
	// State is SyncPending, SyncDelivered or SyncFailed.
	State string
	// Reason is a short code for people when State is SyncFailed.
	Reason    string
	UpdatedAt time.Time
	// From the outbox row, while it exists: the attempts made, when the
	// next is due, and whether one failed (LastError is never shown to
	// people: it can carry a target's internals).
	Attempts      int
	NextAttemptAt time.Time
	Retrying      bool
	// Sent and GaveUp say the outbox finished the message, for one the
	// sync sender could not record (a damaged message, no sender).
	Sent, GaveUp bool
}

// TrackSync records that messageID carries a flow's new password to
// target, so the flow can show its outcome.
func (t *Tx) TrackSync(messageID int64, tokenHash []byte, target, label string, at time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO sync_outcomes (message_id, token_hash, target, label, state, updated_at) VALUES (?,?,?,?,?,?)`,
		messageID, tokenHash, target, label, SyncPending, millis(at))
	return err
}

// SetSyncOutcome records a sync message's final state (SyncDelivered or
// SyncFailed with a reason code for people) and returns the token hash of
// the flow it belongs to; nil, and nothing changed, when no flow tracks
// the message (a change made without a flow).
func (t *Tx) SetSyncOutcome(messageID int64, state, reason string, at time.Time) ([]byte, error) {
	var hash []byte
	err := t.tx.QueryRowContext(t.ctx, `UPDATE sync_outcomes SET state=?, reason=?, updated_at=? WHERE message_id=? RETURNING token_hash`,
		state, reason, millis(at), messageID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return hash, err
}

// SyncOutcomes lists a flow's sync outcomes in the order they were
// planned.
func (t *Tx) SyncOutcomes(tokenHash []byte) ([]SyncOutcome, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT s.message_id, s.target, s.label, s.state, s.reason, s.updated_at,
			o.attempts, o.next_attempt_at, o.last_error, o.sent_at, o.failed_at
		FROM sync_outcomes s LEFT JOIN outbox o ON o.id = s.message_id
		WHERE s.token_hash = ? ORDER BY s.message_id`, tokenHash)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SyncOutcome
	for rows.Next() {
		var o SyncOutcome
		var updated int64
		var attempts, next sql.NullInt64
		var lastErr sql.NullString
		var sent, failed sql.NullInt64
		if err := rows.Scan(&o.MessageID, &o.Target, &o.Label, &o.State, &o.Reason, &updated, &attempts, &next, &lastErr, &sent, &failed); err != nil {
			return nil, err
		}
		o.UpdatedAt = fromMillis(updated)
		o.Attempts, o.NextAttemptAt = int(attempts.Int64), fromMillis(next.Int64)
		o.Retrying = lastErr.String != ""
		o.Sent, o.GaveUp = sent.Valid, failed.Valid
		out = append(out, o)
	}
	return out, rows.Err()
}
