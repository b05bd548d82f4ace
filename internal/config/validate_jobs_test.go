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
