package store

import (
	"database/sql"
	"errors"
	"strings"
	"time"
)

// JobLease is the row of one scheduled job (migration 0021).
type JobLease struct {
	Name string
	// Holder names the process running the job now; LeaseUntil is when
	// its claim runs out (a crashed holder's claim simply expires).
	Holder     string
	LeaseUntil time.Time
	// LastSlot is the schedule time the last finished run was for (zero:
	// never run; the row's creation time until the first run).
	LastSlot    time.Time
	LastStarted time.Time
	LastEnded   time.Time
	LastResult  string
}

// EnsureJob creates name's row when it has none, its slot set to since so
// the first run is the schedule's next one after since.
func (t *Tx) EnsureJob(name string, since time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO job_leases (name, last_slot) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, millis(since))
	return err
}

// Job reads name's row (ErrNotFound when there is none).
func (t *Tx) Job(name string) (*JobLease, error) {
	var j JobLease
	var until, slot, started, ended int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT name, holder, lease_until, last_slot, last_started, last_ended, last_result FROM job_leases WHERE name = ?`, name).
		Scan(&j.Name, &j.Holder, &until, &slot, &started, &ended, &j.LastResult)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	j.LeaseUntil, j.LastSlot, j.LastStarted, j.LastEnded = fromMillis(until), fromMillis(slot), fromMillis(started), fromMillis(ended)
	return &j, nil
}

// AcquireJob takes name's lease for holder until until, when nobody holds
// it or the holder's lease ran out by now; it reports whether it did. One
// statement decides, so of several processes racing, one wins.
func (t *Tx) AcquireJob(name, holder string, now, until time.Time) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE job_leases SET holder = ?, lease_until = ?, last_started = ?
		WHERE name = ? AND (holder = '' OR holder = ? OR lease_until <= ?)`, holder, millis(until), millis(now), name, holder, millis(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ExtendJob pushes holder's lease of name to until; false when holder no
// longer holds it (it ran out and another process took it).
func (t *Tx) ExtendJob(name, holder string, until time.Time) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE job_leases SET lease_until = ? WHERE name = ? AND holder = ?`, millis(until), name, holder)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FinishJob ends holder's run of name: the lease is released and, when
// done, slot is recorded as the last finished run (a failed run keeps
// the old slot, so the job stays due).
func (t *Tx) FinishJob(name, holder string, slot, ended time.Time, done bool, result string) error {
	q := `UPDATE job_leases SET holder = '', lease_until = 0, last_ended = ?, last_result = ? WHERE name = ? AND holder = ?`
	args := []any{millis(ended), result, name, holder}
	if done {
		// CASE, not two-argument MAX, which PostgreSQL spells GREATEST.
		q = `UPDATE job_leases SET holder = '', lease_until = 0, last_ended = ?, last_result = ?,
			last_slot = CASE WHEN last_slot > ? THEN last_slot ELSE ? END WHERE name = ? AND holder = ?`
		args = []any{millis(ended), result, millis(slot), millis(slot), name, holder}
	}
	_, err := t.tx.ExecContext(t.ctx, q, args...)
	return err
}

// Jobs lists every job row, by name.
func (t *Tx) Jobs() ([]*JobLease, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT name FROM job_leases ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*JobLease, 0, len(names))
	for _, n := range names {
		j, err := t.Job(n)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// RecordJobSend records that job sent subject its message for slot; false
// when that was already recorded (by an earlier, interrupted run or by
// another process), and the caller must not send it again. Call it in the
// transaction that queues the message.
func (t *Tx) RecordJobSend(job, subject, slot string, at time.Time) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `INSERT INTO job_sends (job, subject, slot, sent_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`,
		job, strings.ToLower(subject), slot, millis(at))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LastJobSend is when job last sent subject anything (zero: never).
func (t *Tx) LastJobSend(job, subject string) (time.Time, error) {
	var at sql.NullInt64
	err := t.tx.QueryRowContext(t.ctx, `SELECT MAX(sent_at) FROM job_sends WHERE job = ? AND subject = ?`, job, strings.ToLower(subject)).Scan(&at)
	return fromMillis(at.Int64), err
}

// DeleteJobSendsBefore forgets send records older than before (they only
// guard against sending twice within a period), at most limit of them.
func (t *Tx) DeleteJobSendsBefore(before time.Time, limit int) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM job_sends WHERE (job, subject, slot) IN (SELECT job, subject, slot FROM job_sends WHERE sent_at < ? LIMIT ?)`, millis(before), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ConfirmEnrollment records that the person confirmed at at that their
// enrolled factors are still theirs.
func (t *Tx) ConfirmEnrollment(directory, subjectDN string, at time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO enrollment_confirmations (directory, subject_dn, confirmed_at) VALUES (?,?,?)
		ON CONFLICT (directory, subject_dn) DO UPDATE SET confirmed_at = excluded.confirmed_at`, directory, strings.ToLower(subjectDN), millis(at))
	return err
}

// EnrollmentFreshness maps directory → lower-case DN → the newest of the
// person's enrollment dates and their last confirmation: how old what
// they enrolled is, as far as anyone confirmed it.
func (t *Tx) EnrollmentFreshness() (map[string]map[string]time.Time, error) {
	out := map[string]map[string]time.Time{}
	add := func(q string) error {
		rows, err := t.tx.QueryContext(t.ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d, dn string
			var at int64
			if err := rows.Scan(&d, &dn, &at); err != nil {
				return err
			}
			dn = strings.ToLower(dn)
			if out[d] == nil {
				out[d] = map[string]time.Time{}
			}
			if ts := fromMillis(at); ts.After(out[d][dn]) {
				out[d][dn] = ts
			}
		}
		return rows.Err()
	}
	if err := add(`SELECT directory, subject_dn, MAX(created_at) FROM enrollments WHERE source <> 'directory' GROUP BY directory, subject_dn`); err != nil {
		return nil, err
	}
	if err := add(`SELECT directory, subject_dn, confirmed_at FROM enrollment_confirmations`); err != nil {
		return nil, err
	}
	return out, nil
}
