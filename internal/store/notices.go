package store

import (
	"database/sql"
	"errors"
	"time"
)

// BumpNoticeWindow counts one occurrence of kind (such as "failures") for
// account, in a window of the given length that starts with the first
// occurrence, and returns the count so far in the current window and
// whether its notice was already sent. Ended windows of every account are
// deleted on the way, a few at a time.
func (t *Tx) BumpNoticeWindow(kind, account string, now time.Time, window time.Duration) (count int, notified bool, err error) {
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM notice_windows WHERE (kind, account) IN
		(SELECT kind, account FROM notice_windows WHERE window_end <= ? LIMIT 20)`, millis(now)); err != nil {
		return 0, false, err
	}
	var n, sent, end int64
	err = t.tx.QueryRowContext(t.ctx, `SELECT count, notified, window_end FROM notice_windows WHERE kind = ? AND account = ?`,
		kind, account).Scan(&n, &sent, &end)
	switch {
	case err == nil && end <= millis(now):
		// Ended, and not among the few deleted above: a new window.
		_, err = t.tx.ExecContext(t.ctx, `UPDATE notice_windows SET window_end = ?, count = 1, notified = 0 WHERE kind = ? AND account = ?`,
			millis(now.Add(window)), kind, account)
		return 1, false, err
	case errors.Is(err, sql.ErrNoRows):
		_, err = t.tx.ExecContext(t.ctx, `INSERT INTO notice_windows (kind, account, window_end, count) VALUES (?, ?, ?, 1)`,
			kind, account, millis(now.Add(window)))
		return 1, false, err
	case err != nil:
		return 0, false, err
	}
	_, err = t.tx.ExecContext(t.ctx, `UPDATE notice_windows SET count = count + 1 WHERE kind = ? AND account = ?`, kind, account)
	return int(n) + 1, sent != 0, err
}

// MarkNoticeSent records that the notice of account's current window of
// kind went out.
func (t *Tx) MarkNoticeSent(kind, account string) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE notice_windows SET notified = 1 WHERE kind = ? AND account = ?`, kind, account)
	return err
}

// DeleteEndedNoticeWindows deletes up to limit windows that ended before
// now (the janitor's share; BumpNoticeWindow deletes a few too).
func (t *Tx) DeleteEndedNoticeWindows(now time.Time, limit int) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM notice_windows WHERE (kind, account) IN
		(SELECT kind, account FROM notice_windows WHERE window_end <= ? LIMIT ?)`, millis(now), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
