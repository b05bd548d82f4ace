package config_test

import (
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/config"
)

// TestJobsValidation: each bad jobs key is reported under its own name,
// and the defaults fill a section left out.
func TestJobsValidation(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, validYAML, nil)
	if err := config.Validate(cfg); err != nil {
		t.Fatal(err)
	}
	if j := cfg.Jobs; j.Expiry.Schedule != config.DefaultExpirySchedule || len(j.Expiry.Days) != 3 || j.Reminders.IntervalDays != 7 || j.RatePerMinute != 60 {
		t.Fatalf("defaults not applied: %+v", j)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*config.Config)
		key    string
		msg    string
	}{
		{"schedule with four fields", func(c *config.Config) { c.Jobs.Expiry.Schedule = "0 7 * *" }, "jobs.expiry.schedule", "want 5 fields"},
		{"schedule out of range", func(c *config.Config) { c.Jobs.Reminders.Schedule = "0 25 * * *" }, "jobs.reminders.schedule", "hour"},
		{"never runs", func(c *config.Config) { c.Jobs.Reconfirm.Schedule = "0 0 31 feb *" }, "jobs.reconfirm.schedule", "never runs"},
		{"time zone", func(c *config.Config) { c.Jobs.TimeZone = "Mars/Olympus" }, "jobs.time_zone", "IANA"},
		{"expiry day zero", func(c *config.Config) { c.Jobs.Expiry.Days = []int{14, 0} }, "jobs.expiry.days[1]", "outside 1..365"},
		{"expiry day twice", func(c *config.Config) { c.Jobs.Expiry.Days = []int{7, 7} }, "jobs.expiry.days[1]", "twice"},
		{"rate", func(c *config.Config) { c.Jobs.RatePerMinute = -1 }, "jobs.rate_per_minute", "outside"},
		{"interval", func(c *config.Config) { c.Jobs.Reminders.IntervalDays = 400 }, "jobs.reminders.interval_days", "outside"},
		{"reconfirm days", func(c *config.Config) { c.Jobs.Reconfirm.EveryDays = 1 }, "jobs.reconfirm.every_days", "outside"},
		{"no base url", func(c *config.Config) { c.Server.BaseURL = ""; c.Jobs.Expiry.Enabled = true }, "jobs.expiry.enabled", "server.base_url"},
		{"report name", func(c *config.Config) { c.Admin.ScheduledReports = []config.ScheduledReport{goodReport("a b")} }, "admin.scheduled_reports[0].name", "space"},
		{"report twice", func(c *config.Config) {
			c.Admin.ScheduledReports = []config.ScheduledReport{goodReport("x"), goodReport("x")}
		}, "admin.scheduled_reports[1].name", "twice"},
		{"unknown report", func(c *config.Config) {
			r := goodReport("x")
			r.Report = "users"
			c.Admin.ScheduledReports = []config.ScheduledReport{r}
		}, "admin.scheduled_reports[0].report", "not one of"},
		{"report format", func(c *config.Config) {
			r := goodReport("x")
			r.Format = "xlsx"
			c.Admin.ScheduledReports = []config.ScheduledReport{r}
		}, "admin.scheduled_reports[0].format", "csv or pdf"},
		{"report schedule", func(c *config.Config) {
			r := goodReport("x")
			r.Schedule = "daily"
			c.Admin.ScheduledReports = []config.ScheduledReport{r}
		}, "admin.scheduled_reports[0].schedule", "5 fields"},
		{"report recipient", func(c *config.Config) {
			r := goodReport("x")
			r.Recipients = []string{"ops@example.com", "Ops <ops@example.com>"}
			c.Admin.ScheduledReports = []config.ScheduledReport{r}
		}, "admin.scheduled_reports[0].recipients[1]", "plain mail address"},
		{"report without recipients", func(c *config.Config) {
			r := goodReport("x")
			r.Recipients = nil
			c.Admin.ScheduledReports = []config.ScheduledReport{r}
		}, "admin.scheduled_reports[0].recipients", "empty"},
		{"sms without provider", func(c *config.Config) { c.SMS.Provider = "none"; c.Jobs.Reminders.SMS = true }, "jobs.reminders.sms", "SMS provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, validYAML, nil)
			tc.mutate(cfg)
			ps := problemsOf(t, config.Validate(cfg))
			p, ok := find(ps, tc.key)
			if !ok || !strings.Contains(p.Message, tc.msg) {
				t.Errorf("problems = %v, want %s: ...%s...", ps, tc.key, tc.msg)
			}
		})
	}
}

func goodReport(name string) config.ScheduledReport {
	return config.ScheduledReport{Name: name, Report: "expiring", Format: "pdf", Schedule: "0 6 * * 1", Recipients: []string{"ops@example.com"}}
}

// TestScheduledReportAccepted: a well-formed entry passes and gets its
// default period.
func TestScheduledReportAccepted(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, validYAML, nil)
	cfg.Admin.ScheduledReports = []config.ScheduledReport{goodReport("weekly")}
	if err := config.Validate(cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Admin.ScheduledReports[0].Days != 30 {
		t.Fatalf("days = %d, want the default 30", cfg.Admin.ScheduledReports[0].Days)
	}
}
