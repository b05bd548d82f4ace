package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/notify"
)

// TestJobMails renders every scheduled job's mail in English and German:
// no placeholder or message ID is left, the numbers agree with their
// words, the links are there, and names are escaped in the HTML.
func TestJobMails(t *testing.T) {
	t.Parallel()
	c := composer(t, brand)
	exp := time.Date(2026, 12, 14, 7, 30, 0, 0, time.UTC)
	type mailOf func(lang string) (notify.Mail, error)
	for _, tc := range []struct {
		name string
		mail mailOf
		want map[string][]string // language → texts the mail must hold
	}{
		{"reminder", func(l string) (notify.Mail, error) {
			return c.EnrollmentReminder(l, notify.ReminderMail{Name: "Ann <b>", Login: "ann", Link: "https://sspr.example.com/enroll"})
		}, map[string][]string{"en": {"set up your password recovery", "https://sspr.example.com/enroll", "ann"}, "de": {"Wiederherstellung", "https://sspr.example.com/enroll"}}},
		{"reconfirm", func(l string) (notify.Mail, error) {
			return c.Reconfirm(l, notify.ReconfirmMail{Name: "Ann <b>", Login: "ann", Since: exp.AddDate(0, -6, 0), Link: "https://sspr.example.com/enroll"})
		}, map[string][]string{"en": {"still yours", "2026-06-14"}, "de": {"noch Ihnen", "2026-06-14"}}},
		{"expiry 1 day", func(l string) (notify.Mail, error) {
			return c.PasswordExpiry(l, notify.ExpiryMail{Name: "Ann <b>", Login: "ann", Expires: exp, Days: 1, Link: "https://sspr.example.com/change"})
		}, map[string][]string{"en": {"expires in 1 day,", "2026-12-14 07:30 UTC", "https://sspr.example.com/change"}, "de": {"in 1 Tag ab"}}},
		{"expiry 7 days", func(l string) (notify.Mail, error) {
			return c.PasswordExpiry(l, notify.ExpiryMail{Name: "Ann <b>", Login: "ann", Expires: exp, Days: 7, Link: "https://sspr.example.com/change"})
		}, map[string][]string{"en": {"expires in 7 days"}, "de": {"in 7 Tagen ab"}}},
		{"digest", func(l string) (notify.Mail, error) {
			return c.ExpiryDigest(l, notify.DigestMail{Name: "Boss", Link: "https://sspr.example.com/change",
				Reports: []notify.DigestRow{{Name: "Ann <b>", Login: "ann", Expires: exp}, {Name: "Bob", Login: "bob", Expires: exp.AddDate(0, 0, 3)}}})
		}, map[string][]string{"en": {"2 passwords in your team expire soon", "ann", "2026-12-17"}, "de": {"2 Passwörter", "bob"}}},
		{"report", func(l string) (notify.Mail, error) {
			return c.ScheduledReport(l, notify.ReportMail{Name: "ops@example.com", Report: "Passwords expiring", At: exp})
		}, map[string][]string{"en": {"Attached is the report Passwords expiring"}, "de": {"Im Anhang"}}},
	} {
		for lang, wants := range tc.want {
			m, err := tc.mail(lang)
			if err != nil {
				t.Fatalf("%s/%s: %v", tc.name, lang, err)
			}
			all := m.Subject + "\n" + m.Text
			for _, w := range wants {
				if !strings.Contains(all, w) {
					t.Errorf("%s/%s lacks %q:\n%s", tc.name, lang, w, all)
				}
			}
			if placeholder.MatchString(all+m.HTML) || strings.Contains(all+m.HTML, "mail.") {
				t.Errorf("%s/%s has an unfilled text:\n%s\n%s", tc.name, lang, all, m.HTML)
			}
			if strings.Contains(m.HTML, "Ann <b>") {
				t.Errorf("%s/%s: a name is not escaped in the HTML", tc.name, lang)
			}
		}
	}
	if s := c.SMSExpiry("en", 7, "https://x/change"); !strings.Contains(s, "7 days") || !strings.Contains(s, "https://x/change") {
		t.Errorf("SMS expiry: %q", s)
	}
}
