package sync_test

import (
	"github.com/sspr/sspr/internal/flow"
	pwsync "github.com/sspr/sspr/internal/sync"
)

// The planner is what the flow's act calls.
var _ flow.SyncPlanner = (*pwsync.Planner)(nil)
