package store

import (
	"database/sql"

	"time"
)

// Enrollment is a stored factor registration. Secret is sealed by the
// caller (secrets.KeyRing) before it gets here.
type Enrollment struct {
	ID         string
	Directory  string
	SubjectDN  string
	Kind       string
	Label      string
	Secret     []byte
	Source     string // "user", "directory", "admin", "import"
	CreatedAt  time.Time
	LastUsedAt time.Time
}

const enrollmentColumns = `id, directory, subject_dn, kind, label, secret, source, created_at, last_used_at`

// InsertEnrollment stores a new enrollment.
func (t *Tx) InsertEnrollment(e *Enrollment) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO enrollments (`+enrollmentColumns+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		e.ID, e.Directory, e.SubjectDN, e.Kind, e.Label, e.Secret, e.Source, millis(e.CreatedAt), millis(e.LastUsedAt))
	return err
}

func scanEnrollments(rows *sql.Rows) ([]*Enrollment, error) {
	defer rows.Close()
	var out []*Enrollment
	for rows.Next() {
		e, err := scanEnrollment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanEnrollment(rows *sql.Rows) (*Enrollment, error) {
	var e Enrollment
	var created, used int64
	if err := rows.Scan(&e.ID, &e.Directory, &e.SubjectDN, &e.Kind, &e.Label, &e.Secret, &e.Source, &created, &used); err != nil {
		return nil, err
	}
	e.CreatedAt, e.LastUsedAt = fromMillis(created), fromMillis(used)
	return &e, nil
}

// Enrollments lists a person's enrollments, oldest first.
func (t *Tx) Enrollments(directory, subjectDN string) ([]*Enrollment, error) {
	var out []*Enrollment
	err := t.tx.queryEach(t.ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE directory = ? AND subject_dn = ? ORDER BY created_at, id`,
		[]any{directory, subjectDN}, func(rows *sql.Rows) error {
			e, err := scanEnrollment(rows)
			if err == nil {
				out = append(out, e)
			}
			return err
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EnrollmentByID loads one enrollment; ErrNotFound when there is none.
func (t *Tx) EnrollmentByID(id string) (*Enrollment, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	es, err := scanEnrollments(rows)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, ErrNotFound
	}
	return es[0], nil
}

// UpdateEnrollmentSecret stores a factor's updated state after a use (a
// consumed backup code, a TOTP step, a passkey counter) and the time of use.
func (t *Tx) UpdateEnrollmentSecret(id string, secret []byte, usedAt time.Time) error {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE enrollments SET secret = ?, last_used_at = ? WHERE id = ?`, secret, millis(usedAt), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// SwapEnrollmentSecret replaces an enrollment's secret (and label, when one
// is given: "Backup codes (7 left)") only if it still is old (compare and
// swap), so two concurrent uses of one backup code or one
// TOTP step cannot both succeed. It reports whether it swapped.
func (t *Tx) SwapEnrollmentSecret(id string, old, secret []byte, label string, usedAt time.Time) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE enrollments SET secret = ?, label = CASE WHEN ? = '' THEN label ELSE ? END, last_used_at = ? WHERE id = ? AND secret = ?`,
		secret, label, label, millis(usedAt), id, old)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeleteEnrollment removes one enrollment of a person.
func (t *Tx) DeleteEnrollment(directory, subjectDN, id string) error {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM enrollments WHERE id = ? AND directory = ? AND subject_dn = ?`, id, directory, subjectDN)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// AllEnrollmentSecrets calls fn for every enrollment, in batches, so a key
// rotation can re-seal every secret; fn returns the new secret or nil to
// keep it.
func (t *Tx) AllEnrollmentSecrets(fn func(e *Enrollment) ([]byte, error)) (changed int, err error) {
	after := ""
	for {
		rows, err := t.tx.QueryContext(t.ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE id > ? ORDER BY id LIMIT 500`, after)
		if err != nil {
			return changed, err
		}
		batch, err := scanEnrollments(rows)
		if err != nil || len(batch) == 0 {
			return changed, err
		}
		for _, e := range batch {
			after = e.ID
			secret, err := fn(e)
			if err != nil {
				return changed, err
			}
			if secret == nil {
				continue
			}
			if _, err := t.tx.ExecContext(t.ctx, `UPDATE enrollments SET secret = ? WHERE id = ?`, secret, e.ID); err != nil {
				return changed, err
			}
			changed++
		}
	}
}

// CountEnrolled reports how many distinct people have at least one
// enrollment, per directory (for coverage reports).
func (t *Tx) CountEnrolled() (map[string]int, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT directory, COUNT(DISTINCT subject_dn) FROM enrollments GROUP BY directory`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var d string
		var n int
		if err := rows.Scan(&d, &n); err != nil {
			return nil, err
		}
		out[d] = n
	}
	return out, rows.Err()
}
