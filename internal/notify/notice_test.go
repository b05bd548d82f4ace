package notify_test

import (
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/notify"
)

// TestActionNotice: every action's notice, in English and German, names
// the account, the time and the address, with no placeholder left.
func TestActionNotice(t *testing.T) {
	t.Parallel()
	c := composer(t, brand)
	for _, lang := range []string{"en", "de"} {
		for _, action := range []string{"reset", "unlock", "change", "enrollment", "block", "failures"} {
			m, err := c.ActionNotice(lang, notify.NoticeMail{Action: action, Name: "Jane Doe", Login: "jdoe", At: t0, ClientIP: "192.0.2.9",
				Count: 5, WindowMinutes: 15})
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, action, err)
			}
			if !strings.Contains(m.Subject, "jdoe") || !strings.HasPrefix(m.Subject, "Example Corp: ") {
				t.Errorf("%s/%s: subject %q", lang, action, m.Subject)
			}
			for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
				for _, want := range []string{"jdoe", "Jane Doe", "192.0.2.9", "2025-03-14 09:26"} {
					if !strings.Contains(body, want) {
						t.Errorf("%s/%s %s part lacks %q:\n%s", lang, action, part, want, body)
					}
				}
				if placeholder.MatchString(body) || strings.Contains(body, "mail.notice") {
					t.Errorf("%s/%s %s part has an unfilled message:\n%s", lang, action, part, body)
				}
			}
			if action == "failures" && !strings.Contains(m.Text, "5") {
				t.Errorf("%s: the failures notice lacks the count: %s", lang, m.Text)
			}
		}
	}
}
