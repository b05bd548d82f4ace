package config

import "time"

// Jobs configures the scheduled jobs (docs/admin.md "Scheduled jobs",
// "Campaigns", "Expiry notices"); validate_jobs.go checks it. Every
// schedule is a five-field cron expression (or @daily, @weekly, ...) in
// TimeZone. Each job runs once across every sspr process sharing the
// database (a lease in the store).
type Jobs struct {
	// TimeZone is the IANA zone the schedules are read in (default UTC).
	TimeZone string `yaml:"time_zone"`
	// RatePerMinute spaces the messages one run sends (default 60; the
	// outbox sends each when it is due).
	RatePerMinute int `yaml:"rate_per_minute"`
	// Poll is how often the schedules are looked at (default 30s).
	Poll time.Duration `yaml:"poll_interval"`
	// Lease is how long a run holds its job before another process may
	// take it over if this one died (default 10m; renewed while it runs).
	Lease time.Duration `yaml:"lease"`
	// Reminders mail people who have not enrolled.
	Reminders JobsReminders `yaml:"reminders"`
	// Reconfirm asks people to confirm their factors are still theirs.
	Reconfirm JobsReconfirm `yaml:"reconfirm"`
	// Expiry warns before passwords expire.
	Expiry JobsExpiry `yaml:"expiry"`
}

// JobsReminders is the enrollment campaign's reminders.
type JobsReminders struct {
	Enabled bool `yaml:"enabled"`
	// Schedule defaults to "0 9 * * 1-5" (09:00 on weekdays).
	Schedule string `yaml:"schedule"`
	// IntervalDays is the least number of days between two reminders to
	// one person (default 7).
	IntervalDays int `yaml:"interval_days"`
	// SMS also texts people whose directory entry has a mobile number.
	SMS bool `yaml:"sms"`
}

// JobsReconfirm asks people whose enrollment is older than EveryDays to
// confirm it in the portal, which refreshes the date.
type JobsReconfirm struct {
	Enabled bool `yaml:"enabled"`
	// Schedule defaults to "0 9 * * 1" (09:00 on Mondays).
	Schedule string `yaml:"schedule"`
	// EveryDays defaults to 180.
	EveryDays int `yaml:"every_days"`
}

// JobsExpiry is the password-expiry notifier.
type JobsExpiry struct {
	Enabled bool `yaml:"enabled"`
	// Schedule defaults to "0 7 * * *" (07:00 daily).
	Schedule string `yaml:"schedule"`
	// Days are the days before expiry a notice is sent, once each
	// (default 14, 7, 1).
	Days []int `yaml:"days"`
	// SMS also texts the notice to people with a mobile number.
	SMS bool `yaml:"sms"`
	// ManagerDigest mails each manager (the manager attribute) the list
	// of their reports whose passwords expire within the largest of Days.
	ManagerDigest bool `yaml:"manager_digest"`
}

// The defaults of the jobs section, applied by JobsDefaults.
const (
	DefaultReminderSchedule = "0 9 * * 1-5"
	DefaultReconfirmSched   = "0 9 * * 1"
	DefaultExpirySchedule   = "0 7 * * *"
)

// JobsDefaults fills the unset keys of the jobs section.
func (j *Jobs) JobsDefaults() {
	if j.RatePerMinute == 0 {
		j.RatePerMinute = 60
	}
	if j.Poll == 0 {
		j.Poll = 30 * time.Second
	}
	if j.Lease == 0 {
		j.Lease = 10 * time.Minute
	}
	if j.Reminders.Schedule == "" {
		j.Reminders.Schedule = DefaultReminderSchedule
	}
	if j.Reminders.IntervalDays == 0 {
		j.Reminders.IntervalDays = 7
	}
	if j.Reconfirm.Schedule == "" {
		j.Reconfirm.Schedule = DefaultReconfirmSched
	}
	if j.Reconfirm.EveryDays == 0 {
		j.Reconfirm.EveryDays = 180
	}
	if j.Expiry.Schedule == "" {
		j.Expiry.Schedule = DefaultExpirySchedule
	}
	if j.Expiry.Days == nil {
		j.Expiry.Days = []int{14, 7, 1}
	}
}

// Location is the time zone of the schedules (UTC when unset or unknown;
// validation reports an unknown one).
func (j *Jobs) Location() *time.Location {
	if j.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(j.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// ScheduledReport is one entry of admin.scheduled_reports: a console
// report mailed as an attachment on a schedule (a job of its own, named
// report:NAME).
type ScheduledReport struct {
	// Name identifies the job (report:NAME) and the audit records.
	Name string `yaml:"name"`
	// Report is one of ReportNames.
	Report string `yaml:"report"`
	// Format is csv or pdf.
	Format string `yaml:"format"`
	// Schedule is a cron expression in jobs.time_zone.
	Schedule string `yaml:"schedule"`
	// Recipients are mail addresses.
	Recipients []string `yaml:"recipients"`
	// Days is the period of the reports that have one (activity: days
	// back; expiring, accounts-expiring: days ahead). Default 30.
	Days int `yaml:"days"`
}

// ReportNames are the console reports that can be scheduled.
var ReportNames = []string{"coverage", "activity", "locked", "expiring", "expired", "accounts-expiring"}
