package store

import (
	"database/sql"
	"errors"
	"github.com/sspr/sspr/internal/flow/record"
	"strings"
	"time"
)

// Flow is the flow package's record (record.Flow), stored here: the store
// implements record.Persister.
type Flow = record.Flow

const flowColumns = `token_hash, kind, state, directory, subject_dn, login, display_name, language, known, privileged,
	factors_done, factors_required, challenge_kind, challenge_enrollment, challenge_state, challenge_expires_at,
	challenges_sent, attempts, password_attempts, client_ip, created_at, updated_at, expires_at, version, policy, access, directory_note`

func joinKinds(k []string) string { return strings.Join(k, ",") }

func splitKinds(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// InsertFlow stores a new flow.
func (t *Tx) InsertFlow(f *Flow) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO flows (`+flowColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		f.TokenHash, f.Kind, f.State, f.Directory, f.SubjectDN, f.Login, f.DisplayName, f.Language, f.Known, f.Privileged,
		joinKinds(f.FactorsDone), f.FactorsRequired, f.ChallengeKind, f.ChallengeEnrollment, f.ChallengeState, millis(f.ChallengeExpiresAt),
		f.ChallengesSent, f.Attempts, f.PasswordAttempts, f.ClientIP, millis(f.CreatedAt), millis(f.UpdatedAt), millis(f.ExpiresAt), f.Version, f.Policy, f.Access, f.DirectoryNote)
	return err
}

// FlowByTokenHash loads a flow; ErrNotFound when there is none.
func (t *Tx) FlowByTokenHash(hash []byte) (*Flow, error) {
	var f Flow
	var done string
	var chExp, created, updated, expires int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT `+flowColumns+` FROM flows WHERE token_hash = ?`, hash).Scan(
		&f.TokenHash, &f.Kind, &f.State, &f.Directory, &f.SubjectDN, &f.Login, &f.DisplayName, &f.Language, &f.Known, &f.Privileged,
		&done, &f.FactorsRequired, &f.ChallengeKind, &f.ChallengeEnrollment, &f.ChallengeState, &chExp,
		&f.ChallengesSent, &f.Attempts, &f.PasswordAttempts, &f.ClientIP, &created, &updated, &expires, &f.Version, &f.Policy, &f.Access, &f.DirectoryNote)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	f.FactorsDone = splitKinds(done)
	f.ChallengeExpiresAt, f.CreatedAt, f.UpdatedAt, f.ExpiresAt = fromMillis(chExp), fromMillis(created), fromMillis(updated), fromMillis(expires)
	return &f, nil
}

// UpdateFlow writes f back if nobody changed it since it was read, and bumps
// its version; otherwise it returns ErrConflict and changes nothing. The
// directory's note is written once, by InsertFlow.
func (t *Tx) UpdateFlow(f *Flow) error {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE flows SET state=?, directory=?, subject_dn=?, login=?, display_name=?, language=?, known=?, privileged=?,
		factors_done=?, factors_required=?, challenge_kind=?, challenge_enrollment=?, challenge_state=?, challenge_expires_at=?,
		challenges_sent=?, attempts=?, password_attempts=?, client_ip=?, updated_at=?, expires_at=?, policy=?, access=?, version=version+1
		WHERE token_hash=? AND version=?`,
		f.State, f.Directory, f.SubjectDN, f.Login, f.DisplayName, f.Language, f.Known, f.Privileged,
		joinKinds(f.FactorsDone), f.FactorsRequired, f.ChallengeKind, f.ChallengeEnrollment, f.ChallengeState, millis(f.ChallengeExpiresAt),
		f.ChallengesSent, f.Attempts, f.PasswordAttempts, f.ClientIP, millis(f.UpdatedAt), millis(f.ExpiresAt), f.Policy, f.Access,
		f.TokenHash, f.Version)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrConflict
	}
	f.Version++
	return nil
}

// DeleteExpiredFlows removes up to limit flows that expired before cutoff,
// returning how many; the janitor calls it again while a batch comes back
// full, so no transaction holds the database for long.
func (t *Tx) DeleteExpiredFlows(cutoff time.Time, limit int) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM flows WHERE token_hash IN
		(SELECT token_hash FROM flows WHERE expires_at < ? LIMIT ?)`, millis(cutoff), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteFinishedFlows removes up to limit flows that ended — state done
// or failed — and were last changed before cutoff. The states are written
// out (not bound) so SQLite uses the partial index flows_finished, which
// holds only ended flows.
func (t *Tx) DeleteFinishedFlows(cutoff time.Time, limit int) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM flows WHERE token_hash IN
		(SELECT token_hash FROM flows WHERE state IN ('done', 'failed') AND updated_at < ? LIMIT ?)`, millis(cutoff), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ExpireFlowsOf ends every other live flow of one account (directory,
// subjectDN) at once: its expiry moves to just before now and its challenge
// is dropped, so none of its tokens can verify or act again. keep is the
// token hash of the flow that stays (the one that changed the password);
// flows in one of the busy states (a directory write in progress) are left
// to finish. It returns how many flows it ended.
func (t *Tx) ExpireFlowsOf(directory, subjectDN string, keep []byte, busy []string, now time.Time) (int64, error) {
	if subjectDN == "" {
		return 0, nil
	}
	q := `UPDATE flows SET expires_at = ?, updated_at = ?, challenge_state = NULL, version = version + 1
		WHERE directory = ? AND subject_dn = ? AND expires_at > ? AND token_hash != ?`
	args := []any{millis(now) - 1, millis(now), directory, subjectDN, millis(now), keep}
	if keep == nil {
		args[len(args)-1] = []byte{}
	}
	if len(busy) > 0 {
		q += ` AND state NOT IN (?` + strings.Repeat(`,?`, len(busy)-1) + `)`
		for _, s := range busy {
			args = append(args, s)
		}
	}
	res, err := t.tx.ExecContext(t.ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
