package flow

import (
	"strconv"
	"time"

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
