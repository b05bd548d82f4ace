package portal

import (
	"math"
	"time"

	"github.com/sspr/sspr/internal/flow"
)

// syncView is one sync target's outcome as the done page shows it.
type syncView struct {
	Target, Label string
	State         flow.SyncState
	// Text says the state in a word or two; Detail why it failed or when
	// the next try is.
	Text, Detail string
}

// syncSummary fills the done page's sync section from a finished flow's
// status: each target with its state in the person's words. A failure's
// reason is one of the flow's plain codes, never a target's error text.
func (pg *page) syncSummary(outs []flow.SyncOutcome, now time.Time) {
	for _, o := range outs {
		v := syncView{Target: o.Target, Label: o.Label, State: o.State}
		switch o.State {
		case flow.SyncDelivered:
			v.Text = pg.T("sync.delivered")
		case flow.SyncFailed:
			pg.SyncFailed = true
			v.Text = pg.T("sync.failed")
			reason := o.Reason
			if reason != flow.SyncRefused && reason != flow.SyncUnreachable && reason != flow.SyncNotLinked {
				reason = flow.SyncRefused
			}
			v.Detail = pg.T("sync.reason."+reason, "target", o.Label)
		default:
			pg.SyncPending = true
			v.Text = pg.T("sync.pending")
			if wait := o.RetryAt.Sub(now); !o.RetryAt.IsZero() && wait > 0 {
				v.Detail = pg.T("sync.retry", "minutes", int(math.Ceil(wait.Minutes())))
			}
		}
		pg.Sync = append(pg.Sync, v)
	}
}
