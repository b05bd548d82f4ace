package admin

import (
	"context"
	"net/http"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/jobs"
)

// JobList lists the enabled scheduled jobs, as `sspr jobs list` does
// (jobs.Runner.List).
type JobList func(context.Context) ([]jobs.Status, error)

// jobsView lists the enabled scheduled jobs: when each runs next, how its
// last run ended, and which node runs it now. Operators of several nodes
// look here to see a job ran once, and where.
func (c *Console) jobsView(format string) func(http.ResponseWriter, *http.Request, *flow.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
		list := []jobs.Status{}
		if c.opts.Reports.Jobs != nil {
			var err error
			if list, err = c.opts.Reports.Jobs(r.Context()); err != nil {
				c.fail(w, err)
				return
			}
		}
		if format == "json" {
			writeJSON(w, map[string]any{"jobs": list})
			return
		}
		c.render(w, "jobs", p, map[string]any{"Title": "Scheduled jobs", "Jobs": list})
	}
}
