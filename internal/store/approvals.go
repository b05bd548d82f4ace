package store

import (
	"database/sql"
	"errors"
	"time"
)

// UseApprovalMark records id (a spent approval token or decision) until
// it expires and reports whether it was new: of two nodes spending the
// same token at once, one insert wins. Expired marks are deleted first.
func (t *Tx) UseApprovalMark(id string, until, now time.Time) (bool, error) {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM approval_used WHERE expires_at < ?`, millis(now)); err != nil {
		return false, err
	}
	res, err := t.tx.ExecContext(t.ctx, `INSERT INTO approval_used (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, millis(until))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ApprovalMarkUsed reports whether id was spent (and has not expired).
func (t *Tx) ApprovalMarkUsed(id string, now time.Time) (bool, error) {
	var n int
	err := t.tx.QueryRowContext(t.ctx, `SELECT COUNT(*) FROM approval_used WHERE id = ? AND expires_at >= ?`, id, millis(now)).Scan(&n)
	return n > 0, err
}

// ApprovalRequest is a request sent to a manager: what the approval page
// shows (no secret: no token, no code, no address), and the manager's
// signed decision once made.
type ApprovalRequest struct {
	ID          string
	Login       string
	Name        string
	Action      string
	ClientIP    string
	RequestedAt time.Time
	Decision    string
	ExpiresAt   time.Time
}

// SaveApprovalRequest records a request when its mail is enqueued.
// Expired requests are deleted first.
func (t *Tx) SaveApprovalRequest(r *ApprovalRequest, now time.Time) error {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM approval_requests WHERE expires_at < ?`, millis(now)); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO approval_requests (request_id, login, name, action, client_ip, requested_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Login, r.Name, r.Action, r.ClientIP, millis(r.RequestedAt), millis(r.ExpiresAt))
	return err
}

// ApprovalRequestByID returns a request that has not expired; ErrNotFound
// otherwise.
func (t *Tx) ApprovalRequestByID(id string, now time.Time) (*ApprovalRequest, error) {
	r := &ApprovalRequest{ID: id}
	var at, exp int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT login, name, action, client_ip, requested_at, decision, expires_at FROM approval_requests
		WHERE request_id = ? AND expires_at >= ?`, id, millis(now)).Scan(&r.Login, &r.Name, &r.Action, &r.ClientIP, &at, &r.Decision, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.RequestedAt, r.ExpiresAt = fromMillis(at), fromMillis(exp)
	return r, nil
}

// DecideApprovalRequest stores the manager's signed decision; only the
// first one counts (false when the request had one, or is gone).
func (t *Tx) DecideApprovalRequest(id, decision string, now time.Time) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE approval_requests SET decision = ? WHERE request_id = ? AND decision = '' AND expires_at >= ?`,
		decision, id, millis(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ApprovalDecision returns the decision saved for a request; ErrNotFound
// while the manager has not decided (or the request expired).
func (t *Tx) ApprovalDecision(requestID string, now time.Time) (string, error) {
	r, err := t.ApprovalRequestByID(requestID, now)
	if err != nil {
		return "", err
	}
	if r.Decision == "" {
		return "", ErrNotFound
	}
	return r.Decision, nil
}
