package sync_test

import (
	"context"
	"testing"

	"github.com/sspr/sspr/internal/flow"
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
