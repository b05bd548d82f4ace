package notify_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/notify"
)

func composer(t *testing.T, brand notify.Branding) *notify.Composer {
	t.Helper()
	cat, err := i18n.Load("en")
	if err != nil {
		t.Fatal(err)
	}
	c, err := notify.NewComposer(cat, brand)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

var brand = notify.Branding{
	Title: "Example Corp", PortalURL: "https://sspr.example.com",
	HelpDeskText: "Call IT", HelpDesk: "+1 555 0100", HelpDeskURL: "https://help.example.com",
}

func TestResetCodeMail(t *testing.T) {
	t.Parallel()
	c := composer(t, brand)
	const cont = "https://sspr.example.com/reset/code"
	for _, tc := range []struct {
		lang, subject, greeting, valid string
		validFor                       time.Duration
	}{
		{"en", "Your password reset code", "Hello Jane Doe,", "valid for 10 minutes", 10 * time.Minute},
		{"en", "Your password reset code", "Hello Jane Doe,", "valid for 5 minutes", 5 * time.Minute},
		{"de", "Ihr Code zum Zurücksetzen des Passworts", "Hallo Jane Doe,", "10 Minuten gültig", 10 * time.Minute},
	} {
		t.Run(tc.lang+"/"+tc.validFor.String(), func(t *testing.T) {
			t.Parallel()
			m, err := c.ResetCode(tc.lang, notify.CodeMail{
				Action: "reset", Name: "Jane Doe", Code: "48213907", ValidFor: tc.validFor,
				RequestIP: "192.0.2.44", RequestAt: t0, ContinueAt: cont,
			})
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tc.subject {
				t.Errorf("subject = %q, want %q", m.Subject, tc.subject)
			}
			for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
				for _, want := range []string{"48213907", tc.valid, cont, "192.0.2.44", tc.greeting, "Example Corp", "555 0100"} {
					if !strings.Contains(body, want) {
						t.Errorf("%s part lacks %q:\n%s", part, want, body)
					}
				}
				// Every placeholder was filled.
				if placeholder.MatchString(body) {
					t.Errorf("%s part has an unfilled placeholder:\n%s", part, body)
				}
			}
			if !strings.Contains(m.HTML, `<html lang="`+tc.lang+`">`) {
				t.Errorf("HTML does not declare lang=%q", tc.lang)
			}
			if !strings.Contains(m.HTML, `href="`+cont+`"`) {
				t.Errorf("HTML has no link to %s", cont)
			}
			if !strings.HasSuffix(m.Text, "\n") || strings.HasPrefix(m.Text, "\n") {
				t.Errorf("text not trimmed to one final newline: %q", m.Text)
			}
		})
	}
}

func TestMailsEscapeUserDataInHTML(t *testing.T) {
	t.Parallel()
	c := composer(t, notify.Branding{Title: "<b>Corp</b>", PortalURL: "https://sspr.example.com"})
	const name = `<script>alert("x")</script> & Co`
	code, err := c.ResetCode("en", notify.CodeMail{
		Name: name, Code: "12345678", ValidFor: 10 * time.Minute, RequestIP: "<img src=x>",
		ContinueAt: `javascript:alert(1)`,
	})
	if err != nil {
		t.Fatal(err)
	}
	changed, err := c.PasswordChanged("en", notify.ChangedMail{Name: name, Login: "<i>jane</i>", ChangedAt: t0, ClientIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	for kind, html := range map[string]string{"code": code.HTML, "changed": changed.HTML} {
		for _, bad := range []string{"<script>", "<img", "<b>Corp", "<i>jane", `href="javascript:`} {
			if strings.Contains(html, bad) {
				t.Errorf("%s HTML contains unescaped %q", kind, bad)
			}
		}
		if !strings.Contains(html, "&lt;script&gt;") {
			t.Errorf("%s HTML does not show the escaped name", kind)
		}
	}
	// The text part is plain text: the name is shown as typed.
	if !strings.Contains(code.Text, name) {
		t.Errorf("text part altered the name:\n%s", code.Text)
	}
}

func TestPasswordChangedMail(t *testing.T) {
	t.Parallel()
	c := composer(t, brand)
	for _, tc := range []struct{ lang, subject, notYou string }{
		{"en", "Your password was changed", "If this was not you"},
		{"de", "Ihr Passwort wurde geändert", "Wenn Sie das nicht waren"},
	} {
		m, err := c.PasswordChanged(tc.lang, notify.ChangedMail{Name: "Jane", Login: "jane", ChangedAt: t0, ClientIP: "192.0.2.9"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != tc.subject {
			t.Errorf("%s subject = %q", tc.lang, m.Subject)
		}
		for _, body := range []string{m.Text, m.HTML} {
			for _, want := range []string{"jane", "2025-03-14 09:26 UTC", "192.0.2.9", tc.notYou} {
				if !strings.Contains(body, want) {
					t.Errorf("%s mail lacks %q:\n%s", tc.lang, want, body)
				}
			}
		}
	}
}

func TestUnknownLanguageFallsBackToEnglish(t *testing.T) {
	t.Parallel()
	m, err := composer(t, brand).ResetCode("xx", notify.CodeMail{Action: "reset", Name: "Jane", Code: "1", ValidFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Your password reset code" || !strings.Contains(m.Text, "Hello Jane,") {
		t.Errorf("fallback mail: %q\n%s", m.Subject, m.Text)
	}
}

// TestCodeMailFollowsItsAction: an unlock code and an enrollment code do not
// speak of resetting a password (issue 8).
func TestCodeMailFollowsItsAction(t *testing.T) {
	t.Parallel()
	c := composer(t, brand)
	for _, tc := range []struct {
		lang, action, subject, intro string
	}{
		{"en", "reset", "Your password reset code", "asked to reset the password"},
		{"en", "unlock", "Your code to unlock your account", "asked to unlock your account"},
		{"de", "unlock", "Ihr Code zum Entsperren Ihres Kontos", "Konto bei Example Corp entsperren"},
		{"en", "", "Your verification code", "setting up the recovery methods"},
	} {
		m, err := c.ResetCode(tc.lang, notify.CodeMail{Action: tc.action, Name: "Jane", Code: "12345678", ValidFor: time.Minute, RequestIP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != tc.subject {
			t.Errorf("%s %q: subject %q, want %q", tc.lang, tc.action, m.Subject, tc.subject)
		}
		for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
			if !strings.Contains(body, tc.intro) || !strings.Contains(strings.ToLower(body), "1 minute ") || strings.Contains(body, "{") {
				t.Errorf("%s %q %s part:\n%s", tc.lang, tc.action, part, body)
			}
			if tc.action != "reset" && (strings.Contains(body, "reset") || strings.Contains(body, "Zurücksetzen")) {
				t.Errorf("%s %q %s part speaks of a reset:\n%s", tc.lang, tc.action, part, body)
			}
		}
	}
}
