package openldap_test

import (
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

func newLDAP(t *testing.T, cfg ldapdir.Config, opts openldap.Options) *openldap.Directory {
	t.Helper()
	d, err := openldap.New(cfg, opts)
	if err != nil {
		t.Fatalf("openldap.New: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// The helpers every LDAP connector's tests share (ldapdirtest).
var (
	ctx        = ldapdirtest.Context
	wantErr    = ldapdirtest.WantErr
	find       = ldapdirtest.FindUser
	status     = ldapdirtest.Status
	hasFinding = ldapdirtest.HasFinding
)

func TestOpenLDAPIntegration(t *testing.T) {
	for _, mode := range []string{openldap.PasswordWriteExop, openldap.PasswordWriteModify} {
		t.Run(mode, func(t *testing.T) { testOpenLDAP(t, mode) })
	}
}

func testOpenLDAP(t *testing.T, mode string) {
	cfg := dirtest.LDAPConfig(t)
	const initial = "Initial-Pass1"
	u := dirtest.CreateLDAPUser(t, initial)
	d := newLDAP(t, cfg, openldap.Options{PasswordWrite: mode})

	t.Run("FindUser by each login attribute", func(t *testing.T) {
		for _, login := range []string{u.Login, u.Mail} {
			got, err := d.FindUser(ctx(t), login)
			if err != nil {
				t.Fatalf("FindUser(%q): %v", login, err)
			}
			if !strings.EqualFold(got.DN, u.DN) || got.Login != u.Login || got.Email != u.Mail || got.DisplayName == "" {
				t.Fatalf("FindUser(%q) = %+v, want DN %s login %s mail %s", login, got, u.DN, u.Login, u.Mail)
			}
		}
		ldapdirtest.WantNotFound(t, d, "nobody-"+u.Login, "*", u.Login[:5]+"*", "*)(uid=*")
	})

	user, err := d.FindUser(ctx(t), u.Login)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("VerifyPassword", func(t *testing.T) {
		ldapdirtest.VerifyPassword(t, d, user, initial)
	})

	const second = "Second-Pass2"
	t.Run("ResetPassword", func(t *testing.T) {
		ldapdirtest.ResetPassword(t, d, user, initial, second)
		if err := dirtest.Bind(t, cfg, u.Mail, second); err != nil {
			t.Fatalf("dirtest.Bind with the new password: %v", err)
		}
	})

	t.Run("too short", func(t *testing.T) {
		ldapdirtest.ResetTooShort(t, d, user, "Sh0rt!", 8) // the default policy's pwdMinLength
	})

	t.Run("history", func(t *testing.T) {
		e := wantErr(t, d.ResetPassword(ctx(t), user, initial), directory.KindPolicyViolation, directory.ReasonHistory)
		t.Logf("server said: %s", e.Diagnostic)
		wantErr(t, d.ResetPassword(ctx(t), user, second), directory.KindPolicyViolation, directory.ReasonHistory)
	})

	t.Run("plain LDAP refused", func(t *testing.T) {
		plain := cfg
		plain.StartTLS = false
		pd := newLDAP(t, plain, openldap.Options{PasswordWrite: mode})
		// Not even the service account's password goes out over plain
		// LDAP: lookups, sign-ins and writes are all refused before
		// anything is sent (TestNoPasswordOnTheWire watches the wire).
		_, err := pd.FindUser(ctx(t), u.Login)
		wantErr(t, err, directory.KindConfidentialityRequired)
		wantErr(t, pd.VerifyPassword(ctx(t), user, second), directory.KindConfidentialityRequired)
		wantErr(t, pd.ResetPassword(ctx(t), user, "Third-Pass3"), directory.KindConfidentialityRequired)
		if err := d.VerifyPassword(ctx(t), user, second); err != nil {
			t.Fatalf("password changed despite the refusal: %v", err)
		}
	})

	t.Run("LDAPS", func(t *testing.T) {
		tls := cfg
		tls.StartTLS = false
		tls.URLs = []string{dirtest.LDAPSURL(t)}
		if err := newLDAP(t, tls, openldap.Options{PasswordWrite: mode}).ResetPassword(ctx(t), user, "Third-Pass3"); err != nil {
			t.Fatalf("reset over LDAPS: %v", err)
		}
		if err := d.VerifyPassword(ctx(t), user, "Third-Pass3"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("failover", func(t *testing.T) {
		fo := cfg
		fo.URLs = append([]string{"ldap://127.0.0.1:1"}, cfg.URLs...)
		fd := newLDAP(t, fo, openldap.Options{PasswordWrite: mode})
		got, err := fd.FindUser(ctx(t), u.Login)
		if err != nil {
			t.Fatalf("FindUser with a dead first server: %v", err)
		}
		if err := fd.ResetPassword(ctx(t), got, "Fourth-Pass4"); err != nil {
			t.Fatalf("ResetPassword with a dead first server: %v", err)
		}
		if err := fd.VerifyPassword(ctx(t), got, "Fourth-Pass4"); err != nil {
			t.Fatalf("VerifyPassword with a dead first server: %v", err)
		}
		dead := cfg
		dead.URLs = []string{"ldap://127.0.0.1:1", "ldap://127.0.0.1:2"}
		wantErr(t, newLDAP(t, dead, openldap.Options{}).VerifyPassword(ctx(t), got, "Fourth-Pass4"), directory.KindUnavailable)
	})

	t.Run("lockout", func(t *testing.T) {
		// pwdMaxFailure is 5: the sixth bind, even with the right
		// password, reports the lock through the ppolicy control.
		for i := 0; i < 5; i++ {
			wantErr(t, d.VerifyPassword(ctx(t), user, "Wrong-Pass1"), directory.KindInvalidCredentials)
		}
		wantErr(t, d.VerifyPassword(ctx(t), user, "Fourth-Pass4"), directory.KindLocked)
		// A reset unlocks on OpenLDAP.
		if err := d.ResetPassword(ctx(t), user, "Fifth-Pass5"); err != nil {
			t.Fatalf("reset of a locked account: %v", err)
		}
		if err := d.VerifyPassword(ctx(t), user, "Fifth-Pass5"); err != nil {
			t.Fatalf("after reset: %v", err)
		}
	})

	t.Run("wrong service password", func(t *testing.T) {
		bad := cfg
		bad.BindPassword = "not-the-password"
		_, err := newLDAP(t, bad, openldap.Options{}).FindUser(ctx(t), u.Login)
		wantErr(t, err, directory.KindMisconfigured)
	})
}
