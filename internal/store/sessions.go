package store

import (
	"database/sql"
	"errors"
	"time"
)

// Session is a signed-in session of the enrollment portal.
type Session struct {
	TokenHash        []byte
	Directory        string
	SubjectDN        string
	Login            string
	DisplayName      string
	Language         string
	FactorVerifiedAt time.Time
	Pending          []byte // sealed by the caller
	ClientIP         string
	CreatedAt        time.Time
	ExpiresAt        time.Time
	Version          int
}

const sessionColumns = `token_hash, directory, subject_dn, login, display_name, language, factor_verified_at, pending, client_ip, created_at, expires_at, version`

// InsertSession stores a new session.
func (t *Tx) InsertSession(s *Session) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		s.TokenHash, s.Directory, s.SubjectDN, s.Login, s.DisplayName, s.Language, millis(s.FactorVerifiedAt), s.Pending, s.ClientIP,
		millis(s.CreatedAt), millis(s.ExpiresAt), s.Version)
	return err
}

// SessionByTokenHash loads a session; ErrNotFound when there is none.
func (t *Tx) SessionByTokenHash(hash []byte) (*Session, error) {
	var s Session
	var verified, created, expires int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ?`, hash).Scan(
		&s.TokenHash, &s.Directory, &s.SubjectDN, &s.Login, &s.DisplayName, &s.Language, &verified, &s.Pending, &s.ClientIP,
		&created, &expires, &s.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	s.FactorVerifiedAt, s.CreatedAt, s.ExpiresAt = fromMillis(verified), fromMillis(created), fromMillis(expires)
	return &s, nil
}

// UpdateSession writes s back if unchanged since read (optimistic locking).
func (t *Tx) UpdateSession(s *Session) error {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE sessions SET factor_verified_at=?, pending=?, language=?, expires_at=?, version=version+1
		WHERE token_hash=? AND version=?`, millis(s.FactorVerifiedAt), s.Pending, s.Language, millis(s.ExpiresAt), s.TokenHash, s.Version)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrConflict
	}
	s.Version++
	return nil
}

// DeleteSession ends a session (sign-out).
func (t *Tx) DeleteSession(hash []byte) error {
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM sessions WHERE token_hash = ?`, hash)
	return err
}

// DeleteExpiredSessions removes sessions that expired before now.
func (t *Tx) DeleteExpiredSessions(now time.Time) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM sessions WHERE expires_at < ?`, millis(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteSessionsOf ends every enrollment session of one account (directory,
// subjectDN), returning how many there were.
func (t *Tx) DeleteSessionsOf(directory, subjectDN string) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM sessions WHERE directory = ? AND subject_dn = ?`, directory, subjectDN)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
