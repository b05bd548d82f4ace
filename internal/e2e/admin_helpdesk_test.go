package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

var oneTimeRE = regexp.MustCompile(`id="one-time-password">([^<]+)<`)

// TestHelpdeskCallerVerificationAD walks the help desk's path against
// Samba AD: a help-desk agent (an AD group member with an authenticator
// app) looks a locked-out caller up, sees only masked destinations, sends
// a code to the caller's mail, types in what the caller reads out (a wrong
// code first), sees "verified", unlocks the account, then sets a one-time
// password that AD makes the caller change at next logon. Nothing opens
// before the verification, a reset spends it, and every step is in the
// audit log under the agent's name with the caller as subject — never the
// password.
func TestHelpdeskCallerVerificationAD(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	agent := dirtest.CreateADUser(t, "Agent-Pass-2026!")
	caller := dirtest.CreateADUser(t, "Caller-Pass-2026!")
	vip := dirtest.CreateADUser(t, "Vip-Pass-2026!")
	desk := dirtest.CreateADGroup(t, agent.DN)
	admins := dirtest.CreateADGroup(t)
	privileged := dirtest.CreateADGroup(t, vip.DN)
	in := start(t, directoryYAML("ad", cfg, "    protected_groups: [\""+privileged+"\"]\n"), `verification:
  factors: [email, totp]
admin:
  enabled: true
  roles:
    admin: ["`+admins+`"]
    helpdesk: ["`+desk+`"]
`)
	b := adminSignIn(t, in, agent, enrollTOTP(t, in, agent))
	dirtest.FailBinds(t, cfg, caller.DN, dirtest.ADLockoutThreshold(t))
	if err := dirtest.Bind(t, cfg, caller.Login, caller.Password); directory.KindOf(err) != directory.KindLocked {
		t.Fatalf("the caller is not locked out: %v", err)
	}

	p := b.post("/admin/helpdesk/find", url.Values{"login": {caller.Login}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Send a code to") || !strings.Contains(p.Body, "locked out") {
		t.Fatalf("look-up: %d\n%s", p.Status, p.Body)
	}
	if strings.Contains(p.Body, caller.Mail) {
		t.Fatal("the agent sees the caller's full mail address")
	}
	for _, action := range []string{"/admin/helpdesk/unlock", "/admin/helpdesk/reset"} {
		if p := b.post(action, nil); p.Status != http.StatusConflict || !strings.Contains(p.Body, "Verify the caller first") {
			t.Fatalf("%s before verification: %d\n%s", action, p.Status, p.Body)
		}
	}
	before := in.codeMailsTo(caller.Mail)
	p = b.post("/admin/helpdesk/challenge", url.Values{"method": {"directory:mail"}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="code"`) {
		t.Fatalf("challenge: %d\n%s", p.Status, p.Body)
	}
	code := in.waitCode(t, caller.Mail, before)
	if p := b.post("/admin/helpdesk/verify", url.Values{"code": {wrong(code)}}); p.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.Body, "4 tries left") {
		t.Fatalf("wrong code: %d\n%s", p.Status, p.Body)
	}
	p = b.post("/admin/helpdesk/verify", url.Values{"code": {code}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="verified"`) {
		t.Fatalf("verify: %d\n%s", p.Status, p.Body)
	}

	if p := b.post("/admin/helpdesk/unlock", nil); p.Status != http.StatusOK {
		t.Fatalf("unlock: %d\n%s", p.Status, p.Body)
	}
	if err := dirtest.Bind(t, cfg, caller.Login, caller.Password); err != nil {
		t.Fatalf("after the unlock the caller's own password fails: %v", err)
	}

	p = b.post("/admin/helpdesk/reset", nil)
	if p.Status != http.StatusOK {
		t.Fatalf("reset: %d\n%s", p.Status, p.Body)
	}
	otp := must1(t, oneTimeRE, p.Body, "one-time password")
	if err := dirtest.Bind(t, cfg, caller.Login, otp); directory.KindOf(err) != directory.KindMustChange {
		t.Fatalf("the one-time password binds with %v, want must-change (773)", err)
	}
	if err := dirtest.Bind(t, cfg, caller.Login, caller.Password); directory.KindOf(err) != directory.KindInvalidCredentials {
		t.Fatalf("the old password still binds: %v", err)
	}
	// The verification is spent.
	if p := b.post("/admin/helpdesk/reset", nil); p.Status != http.StatusConflict {
		t.Fatalf("a second reset without a new verification: %d", p.Status)
	}

	// A privileged account is the administrators' to reset, even once
	// its owner is verified.
	b.post("/admin/helpdesk/find", url.Values{"login": {vip.Login}})
	before = in.codeMailsTo(vip.Mail)
	b.post("/admin/helpdesk/challenge", url.Values{"method": {"directory:mail"}})
	if p := b.post("/admin/helpdesk/verify", url.Values{"code": {in.waitCode(t, vip.Mail, before)}}); !strings.Contains(p.Body, `id="verified"`) {
		t.Fatalf("verifying the privileged caller:\n%s", p.Body)
	}
	if p := b.post("/admin/helpdesk/reset", nil); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "only an administrator") {
		t.Fatalf("help desk reset of a privileged account: %d\n%s", p.Status, p.Body)
	}
	if err := dirtest.Bind(t, cfg, vip.Login, vip.Password); err != nil {
		t.Fatalf("the privileged account's password changed: %v", err)
	}
	if rows := auditRows(t, in, store.AuditFilter{EventPrefix: "admin.caller.refused", Actor: agent.Login}); len(rows) != 1 ||
		rows[0].Subject != vip.DN || rows[0].Reason != "protected_account" {
		t.Fatalf("the refusal is not audited: %+v", rows)
	}

	rows := auditRows(t, in, store.AuditFilter{EventPrefix: "admin.caller.", Actor: agent.Login, Subject: caller.DN})
	var got []string
	for _, r := range rows {
		if r.Subject != caller.DN {
			t.Errorf("%s names %q, not the caller", r.Event, r.Subject)
		}
		if strings.Contains(r.Detail, otp) || strings.Contains(r.Detail, code) {
			t.Errorf("%s holds a secret: %s", r.Event, r.Detail)
		}
		got = append([]string{r.Event + "/" + r.Outcome}, got...)
	}
	want := "admin.caller.case/success admin.caller.challenge/success admin.caller.verify/failure " +
		"admin.caller.verify/success admin.caller.unlock/success admin.caller.reset/success"
	if strings.Join(got, " ") != want {
		t.Fatalf("audit:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}
