package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// waitMail waits for a mail to rcpt whose subject contains subject.
func (in *instance) waitMail(t *testing.T, rcpt, subject string) mailsink.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := in.Sink.WaitFor(ctx, func(m mailsink.Message) bool {
		return strings.EqualFold(strings.Join(m.To, ","), rcpt) && strings.Contains(m.Subject, subject)
	})
	if err != nil {
		var got []string
		for _, m := range in.Sink.Messages() {
			got = append(got, strings.Join(m.To, ",")+": "+m.Subject)
		}
		t.Fatalf("no mail to %s about %q: %v; the sink has:\n%s", rcpt, subject, err, strings.Join(got, "\n"))
	}
	return m
}

// TestNoticesPerAction: with notifications.reset choosing the person, the
// manager and an admin address, and notifications.failures an admin
// address after two failed verifications, a reset on a real OpenLDAP
// account reaches each of them through the real SMTP server (the person's
// mail in the operator's override of changed.txt, the manager's address
// read from the entry the manager attribute names), the failures alert
// comes once, and a login that is nobody's raises nothing.
func TestNoticesPerAction(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	cfg.Name = "people"
	person := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
	manager := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
	dirtest.Modify(t, dirtest.LDAPAdmin(t), person.DN, map[string][]string{"manager": {manager.DN}})
	const admin = "secops@example.test"

	templates := t.TempDir()
	if err := os.WriteFile(filepath.Join(templates, "changed.txt"),
		[]byte("ACME-OVERRIDE: the password of {{.Data.Login}} was changed.\n{{template \"footer.txt\" .}}"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := start(t, directoryYAML("openldap", cfg, ""), directoryRulesOnly+fmt.Sprintf(`notifications:
  templates_dir: %q
  reset:
    person: true
    sms: false
    manager: true
    admins: [%q]
  failures:
    admins: [%q]
  failure_alert:
    threshold: 2
    window: 15m
`, templates, admin, admin))

	verify := func(flowID, code string) int {
		status, _, _, _ := apiCall(t, in.URL, "/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": code}, "")
		return status
	}
	begin := func(login string) string {
		status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": login}, "")
		if status != http.StatusAccepted {
			t.Fatalf("start %s: %d %s", login, status, raw)
		}
		return body["flow_id"].(string)
	}

	// A login that is nobody's, failed as often as the known one below:
	// no notice, no alert. Its steps come first, so by the time the known
	// account's mails have arrived, anything it queued would have too.
	stranger := begin(dirtest.UniqueName("nobody"))
	for range 3 {
		if s := verify(stranger, "00000000"); s == http.StatusOK {
			t.Fatal("a wrong code for nobody was accepted")
		}
	}

	before := in.codeMailsTo(person.Mail)
	flowID := begin(person.Login)
	code := in.waitCode(t, person.Mail, before)
	for range 2 {
		if s := verify(flowID, "00000000"); s == http.StatusOK {
			t.Fatal("a wrong code was accepted")
		}
	}
	alert := in.waitMail(t, admin, "repeated failed verifications for "+person.Login)
	if !strings.Contains(alert.TextBody, "2 failed verifications") || !strings.Contains(alert.TextBody, person.Login) {
		t.Errorf("alert text: %s", alert.TextBody)
	}
	if s := verify(flowID, code); s != http.StatusOK {
		t.Fatalf("the right code: %d", s)
	}
	status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": "Notice-Reset-Pass-2"}, "")
	if status != http.StatusOK || body["state"] != "done" {
		t.Fatalf("password: %d %s", status, raw)
	}

	own := in.waitMail(t, person.Mail, "Your password was changed")
	if !strings.HasPrefix(own.TextBody, "ACME-OVERRIDE: the password of "+person.Login+" was changed.") {
		t.Errorf("the person's notice does not use the override:\n%s", own.TextBody)
	}
	mgr := in.waitMail(t, manager.Mail, "password of "+person.Login+" reset")
	adm := in.waitMail(t, admin, "password of "+person.Login+" reset")
	for _, m := range []mailsink.Message{mgr, adm} {
		if !strings.Contains(m.TextBody, "was reset through self-service") || !strings.Contains(m.TextBody, person.Login) {
			t.Errorf("notice to %v: %s", m.To, m.TextBody)
		}
	}

	// Exactly these: one alert and one reset notice to the admin, one
	// notice to the manager, nothing about the stranger.
	if n := in.mailsTo(admin); n != 2 {
		t.Errorf("the admin got %d mails, want 2 (the alert, the reset notice)", n)
	}
	if n := in.mailsTo(manager.Mail); n != 1 {
		t.Errorf("the manager got %d mails, want 1", n)
	}
	for _, m := range in.Sink.Messages() {
		if strings.Contains(m.Subject, "nobody") || strings.Contains(m.TextBody, "nobody") {
			t.Errorf("a mail about the unknown login: %v %s", m.To, m.Subject)
		}
	}
}

// TestChangeNoticeToManagerAndAdminOnly: notifications.change with the
// person turned off and the manager and an admin on: a password change
// reaches exactly those two through the real SMTP server, not the person;
// a change attempt for a login that is nobody's reaches nobody.
func TestChangeNoticeToManagerAndAdminOnly(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	cfg.Name = "people"
	person := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
	manager := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
	dirtest.Modify(t, dirtest.LDAPAdmin(t), person.DN, map[string][]string{"manager": {manager.DN}})
	const admin = "changes@example.test"
	in := start(t, directoryYAML("openldap", cfg, ""), directoryRulesOnly+fmt.Sprintf(`notifications:
  change:
    person: false
    manager: true
    admins: [%q]
`, admin))
	status, _, _, raw := apiCall(t, in.URL, "/api/v1/change", map[string]string{"login": "nobody-" + person.Login, "old_password": "Not-The-Pass-9", "password": "Changed-Pass-22"}, "")
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown login: %d %s", status, raw)
	}
	status, _, _, raw = apiCall(t, in.URL, "/api/v1/change", map[string]string{"login": person.Login, "old_password": person.Password, "password": "Changed-Pass-22"}, "")
	if status != http.StatusOK {
		t.Fatalf("change: %d %s", status, raw)
	}
	mgr := in.waitMail(t, manager.Mail, "password of "+person.Login+" changed")
	adm := in.waitMail(t, admin, "password of "+person.Login+" changed")
	for _, m := range []mailsink.Message{mgr, adm} {
		if !strings.Contains(m.TextBody, "changed their password") {
			t.Errorf("notice to %v: %s", m.To, m.TextBody)
		}
	}
	// Both notices were queued in one transaction with any to the person:
	// with theirs delivered, one to the person would have been too.
	if n := in.mailsTo(person.Mail); n != 0 {
		t.Errorf("the person got %d mails with person: false", n)
	}
	if n := len(in.Sink.Messages()); n != 2 {
		t.Errorf("%d mails in all, want 2", n)
	}
}
