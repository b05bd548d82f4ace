package config

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/jobs/cron"
)

// validateJobs checks the jobs section (after filling its defaults, so
// `sspr config check` sees what will run). Links in the mails need the
// portal's public URL, so an enabled job without server.base_url is an
// error rather than mails with broken links.
func (c *Config) validateJobs(p *Problems) {
	j := &c.Jobs
	j.JobsDefaults()
	loc := time.UTC
	if j.TimeZone != "" {
		l, err := time.LoadLocation(j.TimeZone)
		if err != nil {
			p.addf("jobs.time_zone", "%q is not a known IANA time zone (such as Europe/Berlin)", j.TimeZone)
		} else {
			loc = l
		}
	}
	if j.RatePerMinute < 1 || j.RatePerMinute > 10000 {
		p.addf("jobs.rate_per_minute", "%d is outside 1..10000", j.RatePerMinute)
	}
	if j.Poll < time.Second || j.Poll > time.Hour {
		p.addf("jobs.poll_interval", "%s is outside 1s..1h", j.Poll)
	}
	if j.Lease < time.Minute || j.Lease > 24*time.Hour {
		p.addf("jobs.lease", "%s is outside 1m..24h", j.Lease)
	}
	schedule := func(key, expr string) {
		if _, err := cron.Parse(expr, loc); err != nil {
			p.addf(key, "%v", err)
		}
	}
	schedule("jobs.reminders.schedule", j.Reminders.Schedule)
	schedule("jobs.reconfirm.schedule", j.Reconfirm.Schedule)
	schedule("jobs.expiry.schedule", j.Expiry.Schedule)
	if j.Reminders.IntervalDays < 1 || j.Reminders.IntervalDays > 365 {
		p.addf("jobs.reminders.interval_days", "%d is outside 1..365", j.Reminders.IntervalDays)
	}
	if j.Reconfirm.EveryDays < 7 || j.Reconfirm.EveryDays > 3650 {
		p.addf("jobs.reconfirm.every_days", "%d is outside 7..3650", j.Reconfirm.EveryDays)
	}
	if len(j.Expiry.Days) == 0 {
		p.addf("jobs.expiry.days", "is empty; give the days before expiry to warn on, such as [14, 7, 1]")
	}
	seen := map[int]bool{}
	for i, d := range j.Expiry.Days {
		key := fmt.Sprintf("jobs.expiry.days[%d]", i)
		if d < 1 || d > 365 {
			p.addf(key, "%d is outside 1..365", d)
		}
		if seen[d] {
			p.addf(key, "%d is listed twice", d)
		}
		seen[d] = true
	}
	for key, on := range map[string]bool{"jobs.reminders.enabled": j.Reminders.Enabled, "jobs.reconfirm.enabled": j.Reconfirm.Enabled, "jobs.expiry.enabled": j.Expiry.Enabled} {
		if on && c.Server.BaseURL == "" {
			p.addf(key, "the mails link to the portal: set server.base_url")
		}
	}
	if (j.Reminders.SMS || j.Expiry.SMS) && c.SMS.Provider == "none" {
		key := "jobs.reminders.sms"
		if !j.Reminders.SMS {
			key = "jobs.expiry.sms"
		}
		p.addf(key, "text messages need an SMS provider (sms.provider is none)")
	}
	c.validateScheduledReports(p)
}

// validateScheduledReports checks admin.scheduled_reports.
func (c *Config) validateScheduledReports(p *Problems) {
	loc := c.Jobs.Location()
	names := map[string]bool{}
	for i := range c.Admin.ScheduledReports {
		r := &c.Admin.ScheduledReports[i]
		key := fmt.Sprintf("admin.scheduled_reports[%d]", i)
		switch {
		case r.Name == "":
			p.addf(key+".name", "is empty; name the report's job")
		case names[r.Name]:
			p.addf(key+".name", "%q is used twice", r.Name)
		case strings.ContainsAny(r.Name, " \t\r\n:"):
			p.addf(key+".name", "%q has a space or colon", r.Name)
		}
		names[r.Name] = true
		if !slices.Contains(ReportNames, r.Report) {
			p.addf(key+".report", "%q is not one of %s", r.Report, strings.Join(ReportNames, ", "))
		}
		switch {
		case r.Format != "csv" && r.Format != "pdf":
			p.addf(key+".format", "%q is not csv or pdf", r.Format)
		case r.Format == "pdf" && r.Report == "locked":
			p.addf(key+".format", "the locked report is exported as csv only")
		}
		if _, err := cron.Parse(r.Schedule, loc); err != nil {
			p.addf(key+".schedule", "%v", err)
		}
		if len(r.Recipients) == 0 {
			p.addf(key+".recipients", "is empty; give the addresses to mail it to")
		}
		for j, to := range r.Recipients {
			if a, err := mail.ParseAddress(to); err != nil || a.Address != to {
				p.addf(fmt.Sprintf("%s.recipients[%d]", key, j), "%q is not a plain mail address", to)
			}
		}
		if r.Days == 0 {
			r.Days = 30
		}
		if r.Days < 1 || r.Days > 366 {
			p.addf(key+".days", "%d is outside 1..366", r.Days)
		}
	}
}
