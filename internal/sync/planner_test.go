package sync_test

import (
	"context"
	"testing"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/notify"
	pwsync "github.com/sspr/sspr/internal/sync"
)

// The planner is what the flow's act calls.
var _ flow.SyncPlanner = (*pwsync.Planner)(nil)

// A nil planner (sync not configured) held in the flow's interface does
// nothing instead of panicking.
func TestNilPlanner(t *testing.T) {
	var p flow.SyncPlanner = (*pwsync.Planner)(nil)
	ms, err := p.Plan(context.Background(), cloudUser("ada@example.test"), "pw")
	if err != nil || len(ms) != 0 {
		t.Fatalf("Plan = %v, %v", ms, err)
	}
	if err := p.PreHook(context.Background(), cloudUser("ada@example.test"), "pw"); err != nil {
		t.Fatal(err)
	}
}

// The planner names its targets for the flow (flow.SyncLabeler) in the
// order Plan returns their messages, one each, a person without the
// mapped value included: the flow pairs them by position, since a
// message's recipient is sealed.
var _ flow.SyncLabeler = (*pwsync.Planner)(nil)

func TestSyncTargetsInPlanOrder(t *testing.T) {
	ring := keyRing(t)
	p := &pwsync.Planner{Sealer: ring, Links: []pwsync.Link{{Target: "m365", Attribute: "upn", Label: "Microsoft Entra ID"},
		{Target: "hr", Attribute: "employeeNumber"}, {Target: "ws", Attribute: "mail", Label: "Google Workspace"}}}
	ms, err := p.Plan(context.Background(), cloudUser("ada@example.test"), "Some-password-1")
	if err != nil {
		t.Fatal(err)
	}
	names, labels := p.SyncTargets()
	if len(ms) != 3 || len(names) != 3 || len(labels) != 3 || labels[1] != "" {
		t.Fatalf("%d messages, names %v, labels %q", len(ms), names, labels)
	}
	for i, m := range ms {
		if err := notify.OpenMessage(ring, m); err != nil {
			t.Fatal(err)
		}
		if m.Recipient != names[i] {
			t.Fatalf("message %d goes to %s, SyncTargets says %s", i, m.Recipient, names[i])
		}
	}
}
