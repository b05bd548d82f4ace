package api

import (
	"math"
	"time"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/i18n"
)

// SyncStatus is one sync target's outcome in a finished reset's answer
// (StatusResponse.Sync): state is delivered, pending or failed; retry_at
// says when a pending target is tried again after a failed attempt; reason
// (failed only) is refused, unreachable or not_linked. Message says it in
// the person's language. A target's own error text is never shown.
type SyncStatus struct {
	Target  string         `json:"target"`
	Label   string         `json:"label"`
	State   flow.SyncState `json:"state"`
	RetryAt *time.Time     `json:"retry_at,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	Message string         `json:"message"`
}

// syncStatuses words a flow's sync outcomes for the API.
func syncStatuses(p i18n.Printer, outs []flow.SyncOutcome, now time.Time) []SyncStatus {
	var out []SyncStatus
	for _, o := range outs {
		s := SyncStatus{Target: o.Target, Label: o.Label, State: o.State}
		switch o.State {
		case flow.SyncDelivered:
			s.Message = p.T("sync.api.delivered", "target", o.Label)
		case flow.SyncFailed:
			s.Reason = o.Reason
			if s.Reason != flow.SyncRefused && s.Reason != flow.SyncUnreachable && s.Reason != flow.SyncNotLinked {
				s.Reason = flow.SyncRefused
			}
			s.Message = p.T("sync.reason."+s.Reason, "target", o.Label) + " " + p.T("sync.api.failed")
		default:
			s.Message = p.T("sync.api.pending", "target", o.Label)
			if !o.RetryAt.IsZero() {
				at := o.RetryAt
				s.RetryAt = &at
				if wait := at.Sub(now); wait > 0 {
					s.Message += " " + p.T("sync.retry", "minutes", int(math.Ceil(wait.Minutes())))
				}
			}
		}
		out = append(out, s)
	}
	return out
}
