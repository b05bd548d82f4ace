package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
	// ClaimNode and ClaimInstance name the process delivering the message
	// now (empty when nobody is): see ClaimNext and ReleaseClaims.
	ClaimNode     string
	ClaimInstance string
	// Urgent messages (codes somebody is waiting for) are claimed before
	// the others, whatever the backlog of notices.
	Urgent bool
	// Attachments are the mail's attached files, encoded by
	// EncodeAttachments (empty: none); sealed at rest like the bodies.
	Attachments string
}

// EnqueueMessage adds m to the outbox; it is due at m.NextAttemptAt.
func (t *Tx) EnqueueMessage(m *Message) error {
	if m.Channel == "" {
		m.Channel = "email"
	}
	if t.tx.d == postgresDialect {
		// One round trip instead of two (they are made under the write
		// lock, postgres.go): the body's row takes the message's key
		// from the first insert within the same statement. The foreign
		// key is checked at the statement's end, when both rows exist.
		// Scanned into a local: &m.ID would make every caller's message
		// escape to the heap, on SQLite too.
		var id int64
		err := t.tx.QueryRowContext(t.ctx, `WITH o AS (INSERT INTO outbox (created_at, kind, channel, recipient, message_id, next_attempt_at, urgent)
			VALUES (?,?,?,?,?,?,?) RETURNING id)
		INSERT INTO outbox_bodies (id, subject, text_body, html_body, attachments) SELECT id, ?, ?, ?, ? FROM o RETURNING id`,
			millis(m.CreatedAt), m.Kind, m.Channel, m.Recipient, m.MessageID, millis(m.NextAttemptAt), m.Urgent,
			m.Subject, m.TextBody, m.HTMLBody, m.Attachments).Scan(&id)
		m.ID = id
		return err
	}
	var err error
	if m.ID, err = t.tx.insertID(t.ctx, `INSERT INTO outbox (created_at, kind, channel, recipient, message_id, next_attempt_at, urgent)
		VALUES (?,?,?,?,?,?,?)`, millis(m.CreatedAt), m.Kind, m.Channel, m.Recipient, m.MessageID, millis(m.NextAttemptAt), m.Urgent); err != nil {
		return err
	}
	_, err = t.tx.ExecContext(t.ctx, `INSERT INTO outbox_bodies (id, subject, text_body, html_body, attachments) VALUES (?,?,?,?,?)`,
		m.ID, m.Subject, m.TextBody, m.HTMLBody, m.Attachments)
	return err
}

// The subject and bodies live in outbox_bodies (see migration 0014), gone
// once a message is sent; a message without them reads as empty strings.
const (
	messageColumns = `o.id, o.created_at, o.kind, o.channel, o.recipient, COALESCE(b.subject, ''), COALESCE(b.text_body, ''), COALESCE(b.html_body, ''),
	o.message_id, o.attempts, o.next_attempt_at, o.last_error, o.sent_at, o.failed_at, o.claim_node, o.claim_instance, o.urgent, COALESCE(b.attachments, '')`
	messagesFrom = ` FROM outbox o LEFT JOIN outbox_bodies b ON b.id = o.id`
)

func scanMessages(rows *sql.Rows) ([]*Message, error) {
	defer rows.Close()
	var out []*Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func scanMessage(rows *sql.Rows) (*Message, error) {
	var m Message
	var created, next int64
	var sent, failed sql.NullInt64
	if err := rows.Scan(&m.ID, &created, &m.Kind, &m.Channel, &m.Recipient, &m.Subject, &m.TextBody, &m.HTMLBody, &m.MessageID,
		&m.Attempts, &next, &m.LastError, &sent, &failed, &m.ClaimNode, &m.ClaimInstance, &m.Urgent, &m.Attachments); err != nil {
		return nil, err
	}
	m.CreatedAt, m.NextAttemptAt = fromMillis(created), fromMillis(next)
	m.SentAt, m.FailedAt = fromMillis(sent.Int64), fromMillis(failed.Int64)
	return &m, nil
}

// DueMessages returns up to limit unsent messages whose next attempt is
// due, in the order workers claim them: urgent first, then oldest due.
func (t *Tx) DueMessages(now time.Time, limit int) ([]*Message, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+messageColumns+messagesFrom+`
		WHERE o.sent_at IS NULL AND o.failed_at IS NULL AND o.next_attempt_at <= ? ORDER BY o.urgent DESC, o.next_attempt_at, o.id LIMIT ?`, millis(now), limit)
	if err != nil {
		return nil, err
	}
	return scanMessages(rows)
}

// Messages lists the newest messages first, for admin views and tests.
func (t *Tx) Messages(limit int) ([]*Message, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+messageColumns+messagesFrom+` ORDER BY o.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	return scanMessages(rows)
}

// ClaimNext claims the urgent message due longest, or else the other
// message due longest (see ClaimDue); nil when nothing is due.
func (t *Tx) ClaimNext(now, leaseUntil time.Time, node, instance string) (*Message, error) {
	ms, err := t.ClaimDue(now, leaseUntil, node, instance, 1)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return ms[0], nil
}

// ClaimDue claims up to limit due messages, urgent ones first and each
// kind oldest due first, in one statement: it pushes their next attempt to
// leaseUntil (hiding them from every other worker, on this node or
// another), counts the attempt and records who holds them. The messages
// come back in the order they should be sent.
//
// Two workers never get the same message. On SQLite the claim runs in the
// one writer. On PostgreSQL it holds without the write lock too
// (WriteOne): FOR UPDATE SKIP LOCKED passes over the rows another claim is
// taking, and a row that another claim took and committed after this
// statement's snapshot is checked again when it is locked, against the
// newest version, which is no longer due.
func (t *Tx) ClaimDue(now, leaseUntil time.Time, node, instance string, limit int) ([]*Message, error) {
	if t.tx.d == postgresDialect {
		// One round trip: the claimed rows as RETURNING gives them
		// (their new values), joined with their bodies in the same
		// statement.
		var out []*Message
		err := t.tx.queryEach(t.ctx, `WITH o AS (UPDATE outbox SET next_attempt_at=?, attempts=attempts+1, claim_node=?, claim_instance=?
			WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
				ORDER BY urgent DESC, next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
			RETURNING outbox.*)
		SELECT `+messageColumns+` FROM o LEFT JOIN outbox_bodies b ON b.id = o.id ORDER BY o.urgent DESC, o.id`,
			[]any{millis(leaseUntil), node, instance, millis(now), limit}, func(rows *sql.Rows) error {
				m, err := scanMessage(rows)
				out = append(out, m)
				return err
			})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	// SQLite: the due keys first, then the claim by key. An UPDATE with
	// RETURNING was prepared again by SQLite at every run (a third of the
	// claim's CPU, and the claim ran for every outbox poll and kick:
	// BenchmarkClaimDue); the writer's transaction holds the database, so
	// the two statements are as atomic as the one was.
	var ids []int64
	err := t.tx.queryEach(t.ctx, `SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
		ORDER BY urgent DESC, next_attempt_at, id LIMIT ?`, []any{millis(now), limit}, func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		ids = append(ids, id)
		return err
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	// The keys travel as one JSON array, so each statement's text is the
	// same for any number of them and stays prepared.
	keys, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET next_attempt_at=?, attempts=attempts+1, claim_node=?, claim_instance=?
		WHERE `+t.tx.d.inKeys("id"), millis(leaseUntil), node, instance, t.tx.d.keysArg(ids, keys)); err != nil {
		return nil, err
	}
	// The claimed rows, bodies included, by their keys in the same
	// transaction.
	var out []*Message
	err = t.tx.queryEach(t.ctx, `SELECT `+messageColumns+messagesFrom+` WHERE `+t.tx.d.inKeys("o.id")+` ORDER BY o.urgent DESC, o.id`,
		[]any{t.tx.d.keysArg(ids, keys)}, func(rows *sql.Rows) error {
			m, err := scanMessage(rows)
			out = append(out, m)
			return err
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Unclaim hands a claimed message back untried (its sender is shutting
// down before it got to it): due now, the claim's attempt not counted.
func (t *Tx) Unclaim(id int64, now time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET next_attempt_at=?, attempts=CASE WHEN attempts > 0 THEN attempts-1 ELSE 0 END, claim_node='', claim_instance=''
		WHERE id=? AND sent_at IS NULL AND failed_at IS NULL`, millis(now), id)
	return err
}

// ClaimMessage pushes a due message's next attempt to leaseUntil so no other
// worker picks it up while this one is delivering it. It reports false when
// somebody else claimed it first. (Workers use ClaimNext.)
func (t *Tx) ClaimMessage(id int64, now, leaseUntil time.Time) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET next_attempt_at=?, attempts=attempts+1
		WHERE id=? AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?`, millis(leaseUntil), id, millis(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseClaims makes due at once every unfinished message claimed by node
// under an instance other than instance: claims an earlier process of this
// node left behind when it died. Other nodes' claims are left to their
// leases: they may still be sending.
func (t *Tx) ReleaseClaims(node, instance string, now time.Time) (int64, error) {
	if node == "" {
		return 0, errors.New("store: releasing claims needs a node name")
	}
	res, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET next_attempt_at=?, claim_node='', claim_instance=''
		WHERE claim_node=? AND claim_instance NOT IN ('', ?) AND sent_at IS NULL AND failed_at IS NULL`, millis(now), node, instance)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// MarkSent records a successful delivery and deletes the message's
// subject and bodies: a delivered code has no business staying in the
// database.
func (t *Tx) MarkSent(id int64, at time.Time) error {
	if t.tx.d == postgresDialect {
		// One round trip: a data-modifying WITH runs whatever the
		// statement around it does.
		_, err := t.tx.ExecContext(t.ctx, `WITH s AS (UPDATE outbox SET sent_at=?, last_error='', claim_node='', claim_instance='' WHERE id=? RETURNING id)
			DELETE FROM outbox_bodies WHERE id IN (SELECT id FROM s)`, millis(at), id)
		return err
	}
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET sent_at=?, last_error='', claim_node='', claim_instance=''
		WHERE id=?`, millis(at), id); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM outbox_bodies WHERE id=?`, id)
	return err
}

// DeleteMessage removes a message, for a delivery whose record is not kept.
func (t *Tx) DeleteMessage(id int64) error {
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM outbox WHERE id=?`, id)
	return err
}

// MarkRetry records a failed attempt and when to try again. A message
// recorded as sent meanwhile (a worker whose lease ran out lost a race) is
// left alone.
func (t *Tx) MarkRetry(id int64, next time.Time, lastError string) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET next_attempt_at=?, last_error=?, claim_node='', claim_instance=''
		WHERE id=? AND sent_at IS NULL`, millis(next), lastError, id)
	return err
}

// MarkFailed gives a message up after too many attempts.
func (t *Tx) MarkFailed(id int64, at time.Time, lastError string) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET failed_at=?, last_error=?, claim_node='', claim_instance=''
		WHERE id=? AND sent_at IS NULL`, millis(at), lastError, id)
	return err
}

// DeleteSent deletes up to limit messages sent before cutoff and reports
// how many it deleted; callers repeat until fewer than limit go, each batch
// in its own short transaction.
func (t *Tx) DeleteSent(cutoff time.Time, limit int) (int64, error) {
	return t.outboxExec(`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ? LIMIT ?)`, millis(cutoff), limit)
}

// PurgeFailed erases the recipient, subject and bodies of up to limit
// messages given up before cutoff, keeping the rest of the row (kind,
// channel, Message-ID, attempts, error, times) for operators.
func (t *Tx) PurgeFailed(cutoff time.Time, limit int) (int64, error) {
	recipients, err := t.outboxExec(`UPDATE outbox SET recipient=''
		WHERE id IN (SELECT id FROM outbox WHERE failed_at IS NOT NULL AND failed_at < ? AND recipient <> '' LIMIT ?)`, millis(cutoff), limit)
	if err != nil {
		return 0, err
	}
	bodies, err := t.outboxExec(`DELETE FROM outbox_bodies WHERE id IN (SELECT o.id FROM outbox o JOIN outbox_bodies b ON b.id = o.id
		WHERE o.failed_at IS NOT NULL AND o.failed_at < ? LIMIT ?)`, millis(cutoff), limit)
	if err != nil {
		return 0, err
	}
	return max(recipients, bodies), nil
}

// DeleteFailed deletes up to limit messages given up before cutoff.
func (t *Tx) DeleteFailed(cutoff time.Time, limit int) (int64, error) {
	return t.outboxExec(`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE failed_at IS NOT NULL AND failed_at < ? LIMIT ?)`, millis(cutoff), limit)
}

func (t *Tx) outboxExec(query string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// OutboxBacklog is what waits in the outbox: messages neither sent nor
// given up, and the creation time of the oldest (zero when none).
type OutboxBacklog struct {
	Waiting int
	Oldest  time.Time
}

// OutboxBacklog counts the messages waiting (the outbox_due index's rows),
// for the metrics.
func (t *Tx) OutboxBacklog() (OutboxBacklog, error) {
	var b OutboxBacklog
	var oldest sql.NullInt64
	err := t.tx.QueryRowContext(t.ctx, `SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&b.Waiting, &oldest)
	if err != nil {
		return b, fmt.Errorf("store: outbox backlog: %w", err)
	}
	if oldest.Valid {
		b.Oldest = fromMillis(oldest.Int64)
	}
	return b, nil
}
