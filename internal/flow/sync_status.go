package flow

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/store"
)

// SyncState is how far a new password got to one sync target.
type SyncState string

// The states a person sees per sync target.
const (
	// SyncDelivered: the target took the new password.
	SyncDelivered SyncState = "delivered"
	// SyncPending: still being delivered (RetryAt says when the next
	// attempt is, after a failed one).
	SyncPending SyncState = "pending"
	// SyncFailed: sspr gave up; Reason says why in a word, and the admins
	// were alerted.
	SyncFailed SyncState = "failed"
)

// Reasons a sync failed, as people are told them (SyncOutcome.Reason).
// The target's own error text goes to the audit log and the admins' alert
// only: it can carry internals.
const (
	// SyncRefused: the target answered and would not take the password
	// (unknown account there, a refused password, no rights).
	SyncRefused = "refused"
	// SyncUnreachable: the target kept failing until sspr stopped trying.
	SyncUnreachable = "unreachable"
	// SyncNotLinked: the account has nothing to find it by in the target,
	// or the target is no longer configured.
	SyncNotLinked = "not_linked"
)

// SyncOutcome is one sync target's outcome, shown to the person who
// finished the flow (Status.Sync).
type SyncOutcome struct {
	// Target is the configured target's name; Label what people call it.
	Target string    `json:"target"`
	Label  string    `json:"label"`
	State  SyncState `json:"state"`
	// RetryAt is when a pending target is tried again after a failed
	// attempt (zero: being delivered now).
	RetryAt time.Time `json:"retry_at,omitzero"`
	// Reason is SyncRefused, SyncUnreachable or SyncNotLinked when failed.
	Reason string `json:"reason,omitempty"`
}

// SyncLabeler names sync targets for people. A SyncPlanner may implement
// it (internal/sync.Planner does): Plan returns one message per target in
// this order, and a message's recipient is sealed, so the names come from
// here. Without it people see "1", "2", ...
type SyncLabeler interface {
	// SyncTargets returns the targets' names and what people call them.
	SyncTargets() (names, labels []string)
}

// SyncSettled reports whether no target is pending any more.
func SyncSettled(outs []SyncOutcome) bool {
	for _, o := range outs {
		if o.State == SyncPending {
			return false
		}
	}
	return true
}

// trackSync records that the i-th message Plan returned carries f's new
// password, so the flow can show its target's outcome (syncOutcomes)
// until the flow is deleted.
func (k *Kit) trackSync(tx *store.Tx, f *record.Flow, m *store.Message, i int, now time.Time) error {
	name := strconv.Itoa(i + 1)
	label := name
	if l, ok := k.Sync.(SyncLabeler); ok {
		if names, labels := l.SyncTargets(); i < len(names) && i < len(labels) {
			name, label = names[i], labels[i]
			if label == "" {
				label = name
			}
		}
	}
	return tx.TrackSync(m.ID, f.TokenHash, name, label, now)
}

// syncOutcomes reads a finished flow's sync outcomes: the state the sync
// sender recorded, and for a pending one when the outbox tries it next.
func (k *Kit) syncOutcomes(tx *store.Tx, f *record.Flow) ([]SyncOutcome, error) {
	rows, err := tx.SyncOutcomes(f.TokenHash)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	now := k.now()
	out := make([]SyncOutcome, 0, len(rows))
	for _, r := range rows {
		o := SyncOutcome{Target: r.Target, Label: r.Label, State: SyncState(r.State)}
		switch o.State {
		case SyncFailed:
			o.Reason = r.Reason
		case SyncPending:
			// The outbox finished a message its sender did not record
			// (a damaged one, or no sync sender): its word stands.
			if r.GaveUp {
				o.State, o.Reason = SyncFailed, SyncUnreachable
				break
			}
			if r.Sent {
				o.State = SyncDelivered
				break
			}
			// A failed attempt and a next one in the future: say when.
			// (A held message's far-future due time is not a retry.)
			if r.Retrying && r.NextAttemptAt.After(now) && r.NextAttemptAt.Before(heldUntil) {
				o.RetryAt = r.NextAttemptAt.Truncate(time.Second)
			}
		case SyncDelivered:
		default:
			o.State = SyncPending
		}
		out = append(out, o)
	}
	return out, nil
}

// ActionChange is the kind of the record a password change leaves behind
// when it sent the new password to sync targets: a flow born done, which
// exists only so the person can read the targets' outcomes with its token
// (Reset.Status) until the janitor deletes it with the other finished
// flows. No step can act on it (done has no transitions).
const ActionChange Action = "change"

// changeReceiptKey keys the slot ChangeTracked passes down to
// enqueueSync, so Change's own body and signature stay as they are.
type changeReceiptKey struct{}

type changeReceipt struct{ token string }

// ChangeTracked is Change that also returns a token for the outcome of
// each sync target the new password went to (read it with Reset.Status;
// "" when no sync target was planned). It is as much a bearer secret as a
// reset's flow token, but reads nothing beyond those outcomes.
func (c *Change) ChangeTracked(ctx context.Context, in ChangeInput) (string, error) {
	slot := &changeReceipt{}
	err := c.Change(context.WithValue(ctx, changeReceiptKey{}, slot), in)
	if err != nil {
		return "", err
	}
	return slot.token, nil
}

// trackChange records, in the transaction that enqueued a change's sync
// messages, the done "change" flow that shows their outcomes, when the
// caller asked for one (ChangeTracked).
func (k *Kit) trackChange(ctx context.Context, tx *store.Tx, user *directory.User, ms []*store.Message) error {
	slot, _ := ctx.Value(changeReceiptKey{}).(*changeReceipt)
	if slot == nil || len(ms) == 0 {
		return nil
	}
	b := make([]byte, 32)
	if _, err := io.ReadFull(k.rand(), b); err != nil {
		return err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	now := k.now()
	f := &record.Flow{TokenHash: hashToken(token), Kind: string(ActionChange), State: string(StateDone), Directory: user.Directory,
		SubjectDN: user.DN, Login: user.Login, DisplayName: user.DisplayName, Known: true,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(changeReceiptTTL)}
	if err := tx.InsertFlow(f); err != nil {
		return err
	}
	for i, m := range ms {
		if err := k.trackSync(tx, f, m, i, now); err != nil {
			return err
		}
	}
	slot.token = token
	return nil
}

// changeReceiptTTL bounds a change's outcome record; the janitor deletes
// it well before, reset.finished_retention after the change.
const changeReceiptTTL = time.Hour

// loadStatus is load that also finds a password change's record (see
// ActionChange), for Status only: no other step may load one.
func (r *Reset) loadStatus(tx *store.Tx, token string) (*record.Flow, error) {
	f, err := r.load(tx, token)
	var fe *Error
	if !errors.As(err, &fe) || fe.Code != CodeFlowNotFound || len(token) != 43 {
		return f, err
	}
	g, gerr := tx.FlowByTokenHash(hashToken(token))
	if gerr != nil || g.Kind != string(ActionChange) || r.now().After(g.ExpiresAt) {
		return f, err
	}
	return g, nil
}
