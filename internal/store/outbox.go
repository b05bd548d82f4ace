package store

import (
	"database/sql"
	"time"
)

// Message is one outgoing mail in the outbox.
type Message struct {
	ID        int64
	CreatedAt time.Time
	Kind      string
	// Channel is "email" (the default) or "sms".
	Channel       string
	Recipient     string
	Subject       string
	TextBody      string
	HTMLBody      string
	MessageID     string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	SentAt        time.Time
	FailedAt      time.Time
}

// EnqueueMessage adds m to the outbox; it is due at m.NextAttemptAt.
func (t *Tx) EnqueueMessage(m *Message) error {
	if m.Channel == "" {
		m.Channel = "email"
	}
	res, err := t.tx.ExecContext(t.ctx, `INSERT INTO outbox (created_at, kind, channel, recipient, subject, text_body, html_body, message_id, next_attempt_at)
		VALUES (?,?,?,?,?,?,?,?,?)`, millis(m.CreatedAt), m.Kind, m.Channel, m.Recipient, m.Subject, m.TextBody, m.HTMLBody, m.MessageID, millis(m.NextAttemptAt))
	if err != nil {
		return err
	}
	m.ID, err = res.LastInsertId()
	return err
}

const messageColumns = `id, created_at, kind, channel, recipient, subject, text_body, html_body, message_id, attempts, next_attempt_at, last_error, sent_at, failed_at`

func scanMessages(rows *sql.Rows) ([]*Message, error) {
	defer rows.Close()
	var out []*Message
	for rows.Next() {
		var m Message
		var created, next int64
		var sent, failed sql.NullInt64
		if err := rows.Scan(&m.ID, &created, &m.Kind, &m.Channel, &m.Recipient, &m.Subject, &m.TextBody, &m.HTMLBody, &m.MessageID,
			&m.Attempts, &next, &m.LastError, &sent, &failed); err != nil {
			return nil, err
		}
		m.CreatedAt, m.NextAttemptAt = fromMillis(created), fromMillis(next)
		m.SentAt, m.FailedAt = fromMillis(sent.Int64), fromMillis(failed.Int64)
		out = append(out, &m)
	}
	return out, rows.Err()
}

// DueMessages returns up to limit unsent messages whose next attempt is due.
func (t *Tx) DueMessages(now time.Time, limit int) ([]*Message, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+messageColumns+` FROM outbox
		WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, millis(now), limit)
	if err != nil {
		return nil, err
	}
	return scanMessages(rows)
}

// Messages lists the newest messages first, for admin views and tests.
func (t *Tx) Messages(limit int) ([]*Message, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+messageColumns+` FROM outbox ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	return scanMessages(rows)
}

// ClaimMessage pushes a due message's next attempt to leaseUntil so no other
// worker picks it up while this one is delivering it. It reports false when
// somebody else claimed it first.
func (t *Tx) ClaimMessage(id int64, now, leaseUntil time.Time) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET next_attempt_at=?, attempts=attempts+1
		WHERE id=? AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?`, millis(leaseUntil), id, millis(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// MarkSent records a successful delivery and forgets the message's
// subject and bodies: a delivered code has no business staying in the
// database.
func (t *Tx) MarkSent(id int64, at time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET sent_at=?, last_error='', subject='', text_body='', html_body='' WHERE id=?`, millis(at), id)
	return err
}

// MarkRetry records a failed attempt and when to try again.
func (t *Tx) MarkRetry(id int64, next time.Time, lastError string) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET next_attempt_at=?, last_error=? WHERE id=?`, millis(next), lastError, id)
	return err
}

// MarkFailed gives a message up after too many attempts.
func (t *Tx) MarkFailed(id int64, at time.Time, lastError string) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET failed_at=?, last_error=? WHERE id=?`, millis(at), lastError, id)
	return err
}
