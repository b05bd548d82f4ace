package flow

import (
	"context"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/store"
)

// Reconfirm records that the signed-in person confirmed their enrolled
// factors are still theirs (a reconfirmation campaign asked them to):
// it needs the same recent step-up as any change, so only someone who
// still holds one of the factors can confirm them, and it moves the date
// the campaign measures from (store.EnrollmentFreshness).
func (e *Enroll) Reconfirm(ctx context.Context, token string) (SessionView, error) {
	s, rows, err := e.forChange(ctx, token)
	if err != nil {
		return SessionView{}, err
	}
	if len(rows) == 0 {
		return SessionView{}, refuse(CodeFactorNotAllowed)
	}
	now := e.now()
	err = e.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ConfirmEnrollment(s.Directory, s.SubjectDN, now); err != nil {
			return err
		}
		return e.Audit.Append(tx, audit.Event{At: now, Event: "enroll.reconfirm", Actor: s.Login, Subject: s.SubjectDN, Directory: s.Directory,
			ClientIP: s.ClientIP, Outcome: audit.Success, Detail: map[string]any{"factors": len(rows)}})
	})
	if err != nil {
		return SessionView{}, e.wrap(err)
	}
	return e.view(ctx, s)
}
