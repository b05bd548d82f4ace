package store

import (
	"database/sql"
	"errors"
	"strings"
	"time"
)

// AdminSession is a signed-in session of the admin console.
type AdminSession struct {
	TokenHash   []byte
	Directory   string
	SubjectDN   string
	Login       string
	DisplayName string
	// Roles are the console roles the person held at sign-in.
	Roles    []string
	ClientIP string
	// Pending is the second-factor challenge in progress, sealed by the
	// caller.
	Pending []byte
	// VerifiedAt is when the second factor was verified; zero until then,
	// and such a session opens nothing.
	VerifiedAt time.Time
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	Version    int
}

const adminSessionColumns = `token_hash, directory, subject_dn, login, display_name, roles, client_ip, pending, verified_at, created_at, last_seen_at, expires_at, version`

// InsertAdminSession stores a new console session.
func (t *Tx) InsertAdminSession(s *AdminSession) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO admin_sessions (`+adminSessionColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		s.TokenHash, s.Directory, s.SubjectDN, s.Login, s.DisplayName, strings.Join(s.Roles, ","), s.ClientIP, s.Pending,
		millis(s.VerifiedAt), millis(s.CreatedAt), millis(s.LastSeenAt), millis(s.ExpiresAt), s.Version)
	return err
}

// AdminSessionByTokenHash loads a console session; ErrNotFound when there is
// none.
func (t *Tx) AdminSessionByTokenHash(hash []byte) (*AdminSession, error) {
	var s AdminSession
	var roles string
	var verified, created, seen, expires int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT `+adminSessionColumns+` FROM admin_sessions WHERE token_hash = ?`, hash).Scan(
		&s.TokenHash, &s.Directory, &s.SubjectDN, &s.Login, &s.DisplayName, &roles, &s.ClientIP, &s.Pending,
		&verified, &created, &seen, &expires, &s.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if roles != "" {
		s.Roles = strings.Split(roles, ",")
	}
	s.VerifiedAt, s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMillis(verified), fromMillis(created), fromMillis(seen), fromMillis(expires)
	return &s, nil
}

// UpdateAdminSession writes s back if unchanged since read (optimistic
// locking).
func (t *Tx) UpdateAdminSession(s *AdminSession) error {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE admin_sessions SET pending=?, verified_at=?, last_seen_at=?, expires_at=?, version=version+1
		WHERE token_hash=? AND version=?`, s.Pending, millis(s.VerifiedAt), millis(s.LastSeenAt), millis(s.ExpiresAt), s.TokenHash, s.Version)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrConflict
	}
	s.Version++
	return nil
}

// TouchAdminSession records activity on a session (the idle timeout counts
// from here). It does not bump the version: a page view must not make a
// concurrent sign-in step fail.
func (t *Tx) TouchAdminSession(hash []byte, at time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE admin_sessions SET last_seen_at = ? WHERE token_hash = ? AND last_seen_at < ?`,
		millis(at), hash, millis(at))
	return err
}

// DeleteAdminSession ends a console session.
func (t *Tx) DeleteAdminSession(hash []byte) error {
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM admin_sessions WHERE token_hash = ?`, hash)
	return err
}

// DeleteExpiredAdminSessions removes console sessions that expired before
// cutoff, or that nobody used since idleCutoff.
func (t *Tx) DeleteExpiredAdminSessions(cutoff, idleCutoff time.Time) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM admin_sessions WHERE expires_at < ? OR last_seen_at < ?`, millis(cutoff), millis(idleCutoff))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// AuditFilter selects audit rows for the console's viewer and reports.
// Empty fields select everything.
type AuditFilter struct {
	// EventPrefix matches events that start with it ("reset." or
	// "admin.signin").
	EventPrefix string
	Actor       string
	// Subject is the account acted on (a DN, compared as stored).
	Subject  string
	Outcome  string
	From, To time.Time // To is exclusive
	// BeforeID pages backwards: only rows with a smaller id (0: none).
	BeforeID int64
	Limit    int
}

func (f AuditFilter) where() (string, []any) {
	var conds []string
	var args []any
	if f.EventPrefix != "" {
		// substr, not LIKE: an event name holding % or _ must match itself.
		conds = append(conds, `substr(event, 1, ?) = ?`)
		args = append(args, len(f.EventPrefix), f.EventPrefix)
	}
	if f.Actor != "" {
		conds = append(conds, `actor = ?`)
		args = append(args, f.Actor)
	}
	if f.Subject != "" {
		conds = append(conds, `subject = ?`)
		args = append(args, f.Subject)
	}
	if f.Outcome != "" {
		conds = append(conds, `outcome = ?`)
		args = append(args, f.Outcome)
	}
	if !f.From.IsZero() {
		conds = append(conds, `at >= ?`)
		args = append(args, millis(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, `at < ?`)
		args = append(args, millis(f.To))
	}
	if f.BeforeID > 0 {
		conds = append(conds, `id < ?`)
		args = append(args, f.BeforeID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// SearchAudit returns the rows f selects, newest first.
func (t *Tx) SearchAudit(f AuditFilter) ([]*AuditRecord, error) {
	where, args := f.where()
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	rows, err := t.tx.QueryContext(t.ctx, `SELECT id, at, event, flow, actor, subject, directory, client_ip, outcome, reason, detail, prev_hash, hash
		FROM audit`+where+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
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

// AuditCount is how many rows share an event, an outcome and a reason in
// one time bucket.
type AuditCount struct {
	Bucket  time.Time
	Event   string
	Outcome string
	Reason  string
	Count   int
}

// CountAudit counts the rows f selects (Limit and BeforeID ignored) per
// bucket of width step (from f.From) and per event, outcome and reason,
// oldest bucket first. The counting happens in the database, so a year of
// activity is not read row by row.
func (t *Tx) CountAudit(f AuditFilter, step time.Duration) ([]AuditCount, error) {
	f.BeforeID, f.Limit = 0, 0
	where, args := f.where()
	ms := step.Milliseconds()
	if ms <= 0 {
		ms = 1
	}
	from := millis(f.From)
	rows, err := t.tx.QueryContext(t.ctx, `SELECT (at - ?) / ? AS b, event, outcome, reason, COUNT(*) FROM audit`+where+`
		GROUP BY b, event, outcome, reason ORDER BY b, event, outcome, reason`, append([]any{from, ms}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditCount
	for rows.Next() {
		var b int64
		var c AuditCount
		if err := rows.Scan(&b, &c.Event, &c.Outcome, &c.Reason, &c.Count); err != nil {
			return nil, err
		}
		c.Bucket = fromMillis(from + b*ms)
		out = append(out, c)
	}
	return out, rows.Err()
}

// EnrolledKinds lists, for every person with at least one enrollment, the
// kinds they have, keyed by directory and then by subject DN (normalised to
// lower case, as DNs compare case-insensitively).
func (t *Tx) EnrolledKinds() (map[string]map[string][]string, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT DISTINCT directory, subject_dn, kind FROM enrollments ORDER BY directory, subject_dn, kind`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string][]string{}
	for rows.Next() {
		var d, dn, kind string
		if err := rows.Scan(&d, &dn, &kind); err != nil {
			return nil, err
		}
		if out[d] == nil {
			out[d] = map[string][]string{}
		}
		k := strings.ToLower(dn)
		out[d][k] = append(out[d][k], kind)
	}
	return out, rows.Err()
}
