package notify

import "time"

// The mails of the scheduled jobs (internal/flow/jobs*.go): enrollment
// reminders, reconfirmation, password-expiry notices and their managers'
// digest, and scheduled reports.

// ReminderMail asks a person who has not enrolled to do so.
type ReminderMail struct {
	Name, Login string
	Link        string // the portal's /enroll
}

// ReconfirmMail asks a person to confirm their factors are still theirs.
type ReconfirmMail struct {
	Name, Login string
	Since       time.Time // when they last enrolled or confirmed
	Link        string    // the portal's /enroll
}

// ExpiryMail warns that a password expires soon.
type ExpiryMail struct {
	Name, Login string
	Expires     time.Time
	Days        int    // whole days left, rounded up
	Link        string // the portal's /change
}

// DigestRow is one report in a manager's expiry digest.
type DigestRow struct {
	Name, Login string
	Expires     time.Time
}

// DigestMail lists a manager's reports whose passwords expire soon.
type DigestMail struct {
	Name    string
	Reports []DigestRow
	Link    string // the portal's /change, to pass on
}

// ReportMail carries a scheduled report as an attachment.
type ReportMail struct {
	Name   string
	Report string // the report's title
	At     time.Time
}

// EnrollmentReminder composes a campaign's reminder.
func (c *Composer) EnrollmentReminder(lang string, d ReminderMail) (Mail, error) {
	return c.render("reminder", lang, "mail.reminder.subject", d)
}

// Reconfirm composes a reconfirmation request.
func (c *Composer) Reconfirm(lang string, d ReconfirmMail) (Mail, error) {
	return c.render("reconfirm", lang, "mail.reconfirm.subject", d)
}

// PasswordExpiry composes an expiry notice.
func (c *Composer) PasswordExpiry(lang string, d ExpiryMail) (Mail, error) {
	return c.render("expiry", lang, "mail.expiry.subject", d, "days", d.Days)
}

// ExpiryDigest composes a manager's digest.
func (c *Composer) ExpiryDigest(lang string, d DigestMail) (Mail, error) {
	return c.render("expiry_digest", lang, "mail.expiry_digest.subject", d, "count", len(d.Reports))
}

// ScheduledReport composes the mail a scheduled report is attached to.
func (c *Composer) ScheduledReport(lang string, d ReportMail) (Mail, error) {
	return c.render("report", lang, "mail.report.subject", d, "report", d.Report)
}

// SMSReminder is the text message of an enrollment reminder.
func (c *Composer) SMSReminder(lang, link string) string {
	return c.cat.T(lang, "sms.reminder", "title", c.brand.Title, "link", link)
}

// SMSExpiry is the text message of an expiry notice.
func (c *Composer) SMSExpiry(lang string, days int, link string) string {
	return c.cat.T(lang, "sms.expiry", "title", c.brand.Title, "days", days, "link", link)
}
