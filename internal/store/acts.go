package store

import (
	"database/sql"
	"errors"
	"github.com/sspr/sspr/internal/flow/record"
	"time"
)

// FlowAct is the flow package's record of a write's intent (record.Act).
type FlowAct = record.Act

// InsertFlowAct records a write's intent.
func (t *Tx) InsertFlowAct(a *FlowAct) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO flow_acts (token_hash, started_at, instance, pwd_last_set, was_locked) VALUES (?, ?, ?, ?, ?)`,
		a.TokenHash, millis(a.StartedAt), a.Instance, millis(a.PasswordLastSet), a.WasLocked)
	return err
}

// DeleteFlowAct forgets a write's intent (the write's outcome is recorded).
func (t *Tx) DeleteFlowAct(tokenHash []byte) error {
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM flow_acts WHERE token_hash = ?`, tokenHash)
	return err
}

// FlowActByToken returns a flow's recorded intent; ErrNotFound when none.
func (t *Tx) FlowActByToken(tokenHash []byte) (*FlowAct, error) {
	var a FlowAct
	var started, pls int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT token_hash, started_at, instance, pwd_last_set, was_locked FROM flow_acts WHERE token_hash = ?`,
		tokenHash).Scan(&a.TokenHash, &started, &a.Instance, &pls, &a.WasLocked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	a.StartedAt, a.PasswordLastSet = fromMillis(started), fromMillis(pls)
	return &a, nil
}

// InterruptedActs lists intents that are stale: recorded by another process
// instance than current, or started before olderThan (a write that took
// that long has failed, whoever ran it).
func (t *Tx) InterruptedActs(current string, olderThan time.Time, limit int) ([]*FlowAct, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT token_hash, started_at, instance, pwd_last_set, was_locked FROM flow_acts
		WHERE instance <> ? OR started_at < ? ORDER BY started_at LIMIT ?`, current, millis(olderThan), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*FlowAct
	for rows.Next() {
		var a FlowAct
		var started, pls int64
		if err := rows.Scan(&a.TokenHash, &started, &a.Instance, &pls, &a.WasLocked); err != nil {
			return nil, err
		}
		a.StartedAt, a.PasswordLastSet = fromMillis(started), fromMillis(pls)
		out = append(out, &a)
	}
	return out, rows.Err()
}

// HoldMessage marks an enqueued message as held for a flow: it is not sent
// until ReleaseHeldMessages (the caller enqueued it with a NextAttemptAt in
// the far future).
func (t *Tx) HoldMessage(messageID int64, tokenHash []byte) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO held_messages (message_id, token_hash) VALUES (?, ?)`, messageID, tokenHash)
	return err
}

// ReleaseHeldMessages makes a flow's held messages due at now, returning
// how many.
func (t *Tx) ReleaseHeldMessages(tokenHash []byte, now time.Time) (int64, error) {
	if t.tx.d == postgresDialect {
		// One round trip under the write lock: the hold rows go and
		// their messages become due in one statement (SQLite has no DML
		// in a WITH; its two statements are calls into the engine).
		res, err := t.tx.ExecContext(t.ctx, `WITH h AS (DELETE FROM held_messages WHERE token_hash = ? RETURNING message_id)
			UPDATE outbox SET next_attempt_at = ? WHERE id IN (SELECT message_id FROM h)`, tokenHash, millis(now))
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	res, err := t.tx.ExecContext(t.ctx, `UPDATE outbox SET next_attempt_at = ?
		WHERE id IN (SELECT message_id FROM held_messages WHERE token_hash = ?)`, millis(now), tokenHash)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	_, err = t.tx.ExecContext(t.ctx, `DELETE FROM held_messages WHERE token_hash = ?`, tokenHash)
	return n, err
}

// DiscardHeldMessages deletes a flow's held messages (the write they
// announce did not happen), returning how many.
func (t *Tx) DiscardHeldMessages(tokenHash []byte) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM outbox WHERE id IN (SELECT message_id FROM held_messages WHERE token_hash = ?)`, tokenHash)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	_, err = t.tx.ExecContext(t.ctx, `DELETE FROM held_messages WHERE token_hash = ?`, tokenHash)
	return n, err
}
