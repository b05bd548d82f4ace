package app

import (
	"context"
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/jobs"
	"github.com/sspr/sspr/internal/jobs/cron"
	"github.com/sspr/sspr/internal/store"
)

// JobRunner builds the scheduled-job runner from the jobs section: one
// job per enabled entry, all sharing one Notifier on the flows' kit (its
// store, sealer, audit chain and clock), so their mails go through the
// outbox like every other.
func (a *App) JobRunner() (*jobs.Runner, error) {
	c := a.cfg.Jobs
	c.JobsDefaults()
	kit := a.Reset.Kit
	comp, ok := kit.Composer.(flow.JobComposer)
	if !ok {
		return nil, fmt.Errorf("the composer cannot write the jobs' mails")
	}
	n := &flow.Notifier{Kit: kit, Jobs: comp, Directories: a.dirs.All(), Language: a.cfg.Portal.DefaultLanguage,
		BaseURL: a.cfg.Server.BaseURL, RatePerMinute: c.RatePerMinute,
		ReminderInterval: time.Duration(c.Reminders.IntervalDays) * 24 * time.Hour, ReminderSMS: c.Reminders.SMS,
		ReconfirmAfter: time.Duration(c.Reconfirm.EveryDays) * 24 * time.Hour,
		ExpiryDays:     c.Expiry.Days, ExpirySMS: c.Expiry.SMS, ManagerDigest: c.Expiry.ManagerDigest}
	r := &jobs.Runner{Store: a.store, Audit: a.chain, Log: a.log, Now: a.now, Lease: c.Lease, Poll: c.Poll}
	loc := c.Location()
	add := func(on bool, name, expr string, fn jobs.Func) error {
		if !on {
			return nil
		}
		s, err := cron.Parse(expr, loc)
		if err != nil {
			return fmt.Errorf("jobs: %s: %w", name, err)
		}
		r.Jobs = append(r.Jobs, jobs.Job{Name: name, Schedule: s, Run: fn})
		return nil
	}
	if err := add(c.Reminders.Enabled, flow.JobReminders, c.Reminders.Schedule, n.Reminders); err != nil {
		return nil, err
	}
	if err := add(c.Reconfirm.Enabled, flow.JobReconfirm, c.Reconfirm.Schedule, n.Reconfirm); err != nil {
		return nil, err
	}
	if err := add(c.Expiry.Enabled, flow.JobExpiry, c.Expiry.Schedule, n.Expiry); err != nil {
		return nil, err
	}
	if err := a.addReportJobs(r, n, loc); err != nil {
		return nil, err
	}
	if len(r.Jobs) > 0 {
		daily, _ := cron.Parse("30 3 * * *", loc)
		r.Jobs = append(r.Jobs, jobs.Job{Name: "jobs_tidy", Schedule: daily, Run: a.tidyJobSends})
	}
	return r, nil
}

// jobSendsRetention is how long a job's send records are kept: longer
// than any reminder interval (365 days at most) or expiry threshold, so
// nothing is sent twice because its record was gone.
const jobSendsRetention = 400 * 24 * time.Hour

// tidyJobSends deletes send records past jobSendsRetention, a batch per
// transaction so the writer is never held long.
func (a *App) tidyJobSends(ctx context.Context, _ time.Time) (map[string]int, error) {
	before := a.now().Add(-jobSendsRetention)
	deleted := 0
	for {
		var n int64
		err := a.store.InTx(ctx, func(tx *store.Tx) (err error) {
			n, err = tx.DeleteJobSendsBefore(before, janitorBatch)
			return err
		})
		if err != nil {
			return map[string]int{"deleted": deleted}, err
		}
		deleted += int(n)
		if n < janitorBatch {
			return map[string]int{"deleted": deleted}, nil
		}
	}
}

// runJobs runs the scheduled jobs until ctx ends (nothing when none is
// enabled).
func (a *App) runJobs(ctx context.Context) {
	r, err := a.JobRunner()
	if err != nil {
		a.log.Error("scheduled jobs are not running", "err", err)
		return
	}
	if len(r.Jobs) == 0 {
		return
	}
	r.Run(ctx)
}
