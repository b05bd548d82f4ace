package openldap_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// Test389DS runs the connector with the 389-DS preset against a real 389
// Directory Server (scripts/testenv/389ds.sh).
func Test389DS(t *testing.T) {
	cfg := dirtest.DS389Config(t)
	u := dirtest.CreateDS389User(t, "Initial-Pass1")
	d := newLDAP(t, cfg, openldap.Options{})
	user := find(t, d, u.Login)
	if user.Email != u.Mail || !strings.EqualFold(user.OU, "ou=people,"+cfg.BaseDN) {
		t.Fatalf("FindUser: %+v", user)
	}

	t.Run("verify and reset", func(t *testing.T) {
		if err := d.VerifyPassword(ctx(t), user, u.Password); err != nil {
			t.Fatalf("right password: %v", err)
		}
		wantErr(t, d.VerifyPassword(ctx(t), user, "Wrong-Pass1"), directory.KindInvalidCredentials)
		if err := d.ResetPassword(ctx(t), user, "Second-Pass2"); err != nil {
			t.Fatalf("ResetPassword: %v", err)
		}
		if err := d.VerifyPassword(ctx(t), user, "Second-Pass2"); err != nil {
			t.Fatalf("new password: %v", err)
		}
		e := wantErr(t, d.ResetPassword(ctx(t), user, "Sh0rt!"), directory.KindPolicyViolation, directory.ReasonTooShort)
		t.Logf("too short: %s (MinLength %d)", e.Diagnostic, e.MinLength)
		e = wantErr(t, d.ChangePassword(ctx(t), user, "Second-Pass2", u.Password), directory.KindPolicyViolation, directory.ReasonHistory)
		t.Logf("history: %s", e.Diagnostic)
		if err := d.ChangePassword(ctx(t), user, "Second-Pass2", "Third-Pass3"); err != nil {
			t.Fatalf("ChangePassword: %v", err)
		}
		wantErr(t, d.ChangePassword(ctx(t), user, "Wrong-Old-1", "Fourth-Pass4"), directory.KindInvalidCredentials)
	})

	t.Run("policy", func(t *testing.T) {
		p, err := d.EffectivePolicy(ctx(t), user)
		if err != nil {
			t.Fatalf("EffectivePolicy: %v", err)
		}
		want := directory.PasswordPolicy{Source: "cn=config", MinLength: 8, Complexity: true, HistoryLength: 5, LockoutThreshold: 5,
			LockoutDuration: 10 * time.Minute, LockoutWindow: 10 * time.Minute}
		if *p != want {
			t.Fatalf("policy = %+v, want %+v", *p, want)
		}
	})

	t.Run("lockout and unlock", func(t *testing.T) {
		dirtest.FailBinds(t, cfg, u.DN, 5)
		wantErr(t, d.VerifyPassword(ctx(t), user, "Third-Pass3"), directory.KindLocked)
		st := status(t, d, user)
		if !st.Locked || st.LockoutEnds.IsZero() || st.LockoutEnds.Sub(st.LockedAt) != 10*time.Minute {
			t.Fatalf("after 5 failures: %+v", st)
		}
		if err := d.Unlock(ctx(t), user); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
		if err := d.VerifyPassword(ctx(t), user, "Third-Pass3"); err != nil {
			t.Fatalf("bind after Unlock: %v", err)
		}
		if st := status(t, d, user); st.Locked || st.FailedAttempts != 0 {
			t.Fatalf("after Unlock: %+v", st)
		}
	})

	t.Run("must change", func(t *testing.T) {
		if err := d.SetMustChange(ctx(t), user, true); err != nil {
			t.Fatalf("SetMustChange: %v", err)
		}
		if st := status(t, d, user); !st.MustChange {
			t.Fatalf("passwordExpirationTime 19700101000000Z: %+v", st)
		}
		if err := d.SetMustChange(ctx(t), user, false); err != nil {
			t.Fatalf("SetMustChange(false): %v", err)
		}
		if st := status(t, d, user); st.MustChange {
			t.Fatalf("after clearing: %+v", st)
		}
	})

	t.Run("disabled", func(t *testing.T) {
		dirtest.Modify(t, dirtest.DS389Admin(t), u.DN, map[string][]string{"nsAccountLock": {"TRUE"}})
		wantErr(t, d.VerifyPassword(ctx(t), user, "Third-Pass3"), directory.KindDisabled)
		if st := status(t, d, user); !st.Disabled {
			t.Fatalf("nsAccountLock TRUE: %+v", st)
		}
		dirtest.Modify(t, dirtest.DS389Admin(t), u.DN, map[string][]string{"nsAccountLock": nil})
	})

	t.Run("groups through memberOf", func(t *testing.T) {
		inner := dirtest.CreateDS389Group(t, u.DN)
		outer := dirtest.CreateDS389Group(t, inner)
		groups, err := d.Groups(ctx(t), user)
		if err != nil {
			t.Fatalf("Groups: %v", err)
		}
		joined := strings.ToLower(strings.Join(groups, "|"))
		if len(groups) != 2 || !strings.Contains(joined, strings.ToLower(inner)) || !strings.Contains(joined, strings.ToLower(outer)) {
			t.Fatalf("Groups = %v, want %s and %s", groups, inner, outer)
		}
	})

	t.Run("check", func(t *testing.T) {
		r := d.Check(ctx(t))
		t.Logf("%+v", r.Findings)
		if !r.OK() || r.Vendor != "389 Directory Server" || !hasFinding(r, ldapdir.FindingPasswordModify, directory.SeverityOK) {
			t.Fatalf("Check: %+v", r)
		}
	})
}
