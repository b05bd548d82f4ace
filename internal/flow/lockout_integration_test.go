package flow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// When one more wrong password would lock the account in the directory
// (OpenLDAP ppolicy, pwdMaxFailure 5), /change and the enrollment sign-in
// refuse without binding, answer as for a wrong password, and tell the
// operators: an audit row (denied, lockout_guard) and a WARN log line.
func TestLockoutGuardIsAuditedAndLogged(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	u := dirtest.CreateLDAPUser(t, "Guard-Pass-12a")
	d, err := openldap.New(cfg, openldap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	pol, err := d.EffectivePolicy(context.Background(), &directory.User{Directory: d.Name(), DN: u.DN})
	if err != nil || pol.LockoutThreshold < 2 {
		t.Fatalf("the test directory's lockout threshold: %+v %v", pol, err)
	}
	dirtest.FailBinds(t, cfg, u.DN, pol.LockoutThreshold-1)

	h := newHarness(t)
	h.reset.Directories = directory.NewSet(d)
	logs := h.captureLog()
	ctx := context.Background()
	err = h.change().Change(ctx, flow.ChangeInput{Login: u.Login, OldPassword: u.Password, NewPassword: "Guard-Pass-34b", Confirm: "Guard-Pass-34b",
		ClientIP: "203.0.113.5"})
	if flowCode(err) != flow.CodeCredentialsWrong {
		t.Fatalf("change one guess short of the lockout: %v, want the wrong-password answer", err)
	}
	if _, _, err := h.enroll().SignIn(ctx, u.Login, u.Password, "203.0.113.5", "en"); flowCode(err) != flow.CodeCredentialsWrong {
		t.Fatalf("sign-in one guess short of the lockout: %v", err)
	}
	for _, event := range []string{"change.password", "enroll.signin"} {
		r := h.findAudit(t, event, "denied", "lockout_guard")
		if r == nil || r.Actor != u.Login || r.ClientIP != "203.0.113.5" {
			t.Fatalf("%s: no lockout_guard audit row: %+v", event, r)
		}
	}
	warned := 0
	for _, r := range logs.records(t) {
		if r["level"] == "WARN" && strings.Contains(r["msg"].(string), "lock the account") {
			warned++
		}
	}
	if warned != 2 {
		t.Fatalf("%d WARN lines about the lockout guard, want 2:\n%s", warned, logs)
	}
	// Nothing was bound: the account is not locked and the password stands.
	if err := dirtest.Bind(t, cfg, u.Login, u.Password); err != nil {
		t.Fatalf("the account is no longer usable: %v", err)
	}
}
