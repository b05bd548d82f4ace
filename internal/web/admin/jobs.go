package admin

import (
	"net/http"
	"time"

	"github.com/sspr/sspr/internal/flow"
)

// JobStatus is one scheduled job as the jobs page shows it (the same
// facts as `sspr jobs list`).
type JobStatus struct {
	Name     string    `json:"name"`
	Schedule string    `json:"schedule"`
	Next     time.Time `json:"next"`
	// LastStarted and LastEnded are the last run's; zero when it never ran.
	LastStarted time.Time `json:"last_started"`
	LastEnded   time.Time `json:"last_ended"`
	LastResult  string    `json:"last_result"`
	// RunningOn is the node holding the job's lease now: with several
	// nodes on one database, exactly one runs a job at a time.
	RunningOn string `json:"running_on"`
}

// jobsView lists the enabled scheduled jobs: when each runs next, how its
// last run ended, and which node runs it now. Operators of several nodes
// look here to see a job ran once, and where.
func (c *Console) jobsView(format string) func(http.ResponseWriter, *http.Request, *flow.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
		list := c.opts.Reports.Jobs
		var jobs []JobStatus
		if list != nil {
			var err error
			if jobs, err = list(r.Context()); err != nil {
				c.fail(w, err)
				return
			}
		}
		if format == "json" {
			if jobs == nil {
				jobs = []JobStatus{}
			}
			writeJSON(w, map[string]any{"jobs": jobs})
			return
		}
		c.render(w, "jobs", p, map[string]any{"Title": "Scheduled jobs", "Jobs": jobs})
	}
}
