package app

import (
	"context"
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/jobs"
	"github.com/sspr/sspr/internal/jobs/cron"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/web"
	"github.com/sspr/sspr/internal/web/admin"
)

// reportTitles name the schedulable reports in mails.
var reportTitles = map[string]string{"coverage": "Enrollment coverage", "activity": "Activity", "locked": "Locked out now",
	"expiring": "Passwords expiring", "expired": "Expired passwords", "accounts-expiring": "Accounts expiring"}

// addReportJobs adds a job per admin.scheduled_reports entry: it renders
// the report as the console exports it and mails it to the recipients as
// an attachment, through the outbox (sealed at rest like all mail).
func (a *App) addReportJobs(r *jobs.Runner, n *flow.Notifier, loc *time.Location) error {
	if len(a.cfg.Admin.ScheduledReports) == 0 {
		return nil
	}
	console, err := admin.New(a.AdminFlow(), web.ClientIPs{}, a.log, admin.Options{Now: a.now})
	if err != nil {
		return err
	}
	for _, sr := range a.cfg.Admin.ScheduledReports {
		s, err := cron.Parse(sr.Schedule, loc)
		if err != nil {
			return fmt.Errorf("admin.scheduled_reports %s: %w", sr.Name, err)
		}
		name := "report:" + sr.Name
		r.Jobs = append(r.Jobs, jobs.Job{Name: name, Schedule: s, Run: func(ctx context.Context, slot time.Time) (map[string]int, error) {
			ctype, data, err := console.Export(ctx, sr.Report, sr.Format, max(sr.Days, 1))
			if err != nil {
				return nil, err
			}
			title := reportTitles[sr.Report]
			file := store.Attachment{Name: fmt.Sprintf("%s-%s.%s", sr.Report, slot.In(loc).Format("2006-01-02"), sr.Format), ContentType: ctype, Data: data}
			return n.MailReport(ctx, name, title, slot, sr.Recipients, file)
		}})
	}
	return nil
}
