package flow

import (
	"context"
	"errors"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/sync/target"
)

// SyncPlanner carries a new password to the other places a person signs
// in to (internal/sync.Planner implements it; docs/sync.md). A nil
// SyncPlanner syncs nothing.
//
// Where the act calls it (reset, and change with the old password):
//
//  1. PreHook, after the new password passed the rules and BEFORE the
//     claim transaction and the directory write. An error stops the act
//     with nothing written and nothing claimed (refund the limit). When
//     it is a *target.Refusal (internal/sync/target), its Message is the
//     site's own words for the person: show it as the reason the password
//     was refused (like a policy violation); any other error is a plain
//     "could not check the new password, try again later".
//  2. Plan, in the claim transaction, next to holdNotices: enqueue each
//     returned message, set NextAttemptAt = heldUntil and HoldMessage it
//     with the flow's token hash, exactly like the notices. recordAct's
//     ReleaseHeldMessages then makes them due when the directory took the
//     password, and drops them (with the notices) when it did not; a
//     crash between the write and the record leaves them held until
//     ResolveInterrupted settles the act, so a sync happens once, and
//     only for a password the directory has. Plan only seals and
//     returns; it does no I/O, so calling it inside the transaction is
//     cheap. The messages hold the password sealed with the key ring:
//     never log them.
//
// The outbox worker's Sync sender (internal/sync.Sender) delivers them.
type SyncPlanner interface {
	Plan(ctx context.Context, user *directory.User, password string) ([]*store.Message, error)
	PreHook(ctx context.Context, user *directory.User, password string) error
}

// preHook runs the configured pre-hooks for a new password before anything
// is claimed or written. A hook's refusal is shown in its own words as a
// refused password (the flow stays where it was, so the person tries
// another); a hook that fails otherwise says "try again later" plainly.
// Either is audited.
func (k *Kit) preHook(ctx context.Context, f *record.Flow, user *directory.User, newPassword, clientIP string) *Error {
	err := k.Sync.PreHook(ctx, user, newPassword)
	if err == nil {
		return nil
	}
	ev := audit.Event{At: k.now(), Event: "sync.pre_hook", Actor: user.Login, Subject: user.DN, Directory: user.Directory,
		ClientIP: clientIP, Outcome: audit.Denied}
	if f != nil {
		ev.Flow = flowRef(f.TokenHash)
	}
	var refusal *target.Refusal
	if errors.As(err, &refusal) {
		ev.Reason, ev.Detail = "refused", map[string]any{"hook": refusal.Hook}
		k.appendAudit(ctx, ev)
		return &Error{Code: CodePasswordRefused, Err: err, Checks: []password.Check{{ID: "hook." + refusal.Hook,
			Text: map[string]string{"en": refusal.Message}}}}
	}
	ev.Outcome, ev.Reason = audit.Failure, "unavailable"
	k.appendAudit(ctx, ev)
	k.log().Error("a password pre-hook failed; the change waits", "err", err)
	return &Error{Code: CodeDirectoryDown, Err: err}
}

// holdSync enqueues one message per sync target in the claim transaction,
// held like the notices: released when the directory took the password,
// dropped when it did not (see act and ResolveInterrupted). The planner
// sealed them already.
func (k *Kit) holdSync(ctx context.Context, tx *store.Tx, f *record.Flow, user *directory.User, password string) error {
	ms, err := k.Sync.Plan(ctx, user, password)
	if err != nil {
		return err
	}
	for i, m := range ms {
		m.NextAttemptAt = heldUntil
		if err := tx.EnqueueMessage(m); err != nil {
			return err
		}
		if err := tx.HoldMessage(m.ID, f.TokenHash); err != nil {
			return err
		}
		if err := k.trackSync(tx, f, m, i, m.CreatedAt); err != nil {
			return err
		}
	}
	return nil
}

// enqueueSync enqueues the sync messages of a change the directory already
// took, in the transaction that records it (Change: nothing to hold), and
// the record that shows their outcomes when ChangeTracked asked for it.
func (k *Kit) enqueueSync(ctx context.Context, tx *store.Tx, user *directory.User, password string) (int, error) {
	ms, err := k.Sync.Plan(ctx, user, password)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if err := tx.EnqueueMessage(m); err != nil {
			return 0, err
		}
	}
	return len(ms), k.trackChange(ctx, tx, user, ms)
}
