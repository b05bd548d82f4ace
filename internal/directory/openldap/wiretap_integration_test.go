package openldap_test

import (
	"net/url"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestNoPasswordOnTheWire puts a recording TCP proxy (a wire tap) on
// loopback in front of the real slapd's plain port and drives every
// operation that carries a password through the connector: the service
// account's bind, a sign-in (VerifyPassword), a change (old and new
// password) and a reset. Over plain LDAP without AllowInsecureBinds no
// password may cross the tap; with the option on they all do, which shows
// the tap sees what an eavesdropper would; with StartTLS none does.
func TestNoPasswordOnTheWire(t *testing.T) {
	base := dirtest.LDAPConfig(t)
	u, err := url.Parse(base.URLs[0])
	if err != nil {
		t.Fatal(err)
	}
	marker := func() string { return "Wire-" + dirtest.UniqueName("Mk") + "!" }
	through := func(tap *ldapdirtest.Tap, startTLS, allow bool) *openldap.Directory {
		cfg := base
		cfg.URLs = []string{tap.URL()}
		cfg.StartTLS = startTLS
		cfg.AllowInsecureBinds = allow
		return newLDAP(t, cfg, openldap.Options{})
	}
	// assertNone fails when any of secrets crossed the tap.
	assertNone := func(t *testing.T, tap *ldapdirtest.Tap, secrets map[string]string) {
		t.Helper()
		for what, s := range secrets {
			if tap.Contains(s) {
				t.Errorf("the %s crossed the wire in clear", what)
			}
		}
	}

	t.Run("plain LDAP refused", func(t *testing.T) {
		first, second, third := marker(), marker(), marker()
		acct := dirtest.CreateLDAPUser(t, first)
		tap := ldapdirtest.NewTap(t, u.Host)
		d := through(tap, false, false)
		user := &directory.User{Directory: base.Name, DN: acct.DN, Login: acct.Login}

		_, err := d.FindUser(ctx(t), acct.Login)
		e := wantErr(t, err, directory.KindConfidentialityRequired)
		if e.Op != directory.OpServiceBind {
			t.Errorf("FindUser refused with Op %q, want %q", e.Op, directory.OpServiceBind)
		}
		wantErr(t, d.VerifyPassword(ctx(t), user, first), directory.KindConfidentialityRequired)
		wantErr(t, d.ChangePassword(ctx(t), user, first, second), directory.KindConfidentialityRequired)
		wantErr(t, d.ResetPassword(ctx(t), user, third), directory.KindConfidentialityRequired)
		r := d.Check(ctx(t))
		if !hasFinding(r, ldapdir.FindingPlainLDAP, directory.SeverityError) || r.OK() {
			t.Errorf("Check over plain LDAP: %+v", r.Findings)
		}
		if tap.Connections() == 0 {
			t.Fatal("nothing went through the tap: the test proves nothing")
		}
		assertNone(t, tap, map[string]string{"service password": base.BindPassword,
			"sign-in password": first, "new password of the change": second, "reset password": third})
		// Nothing changed: the first password still binds (over StartTLS).
		if err := dirtest.Bind(t, base, acct.Login, first); err != nil {
			t.Fatalf("the password changed although every write was refused: %v", err)
		}
	})

	t.Run("plain LDAP with AllowInsecureBinds: the tap sees the passwords", func(t *testing.T) {
		first, second, third := marker(), marker(), marker()
		acct := dirtest.CreateLDAPUser(t, first)
		tap := ldapdirtest.NewTap(t, u.Host)
		d := through(tap, false, true)
		user := find(t, d, acct.Login)
		if err := d.VerifyPassword(ctx(t), user, first); err != nil {
			t.Fatalf("VerifyPassword: %v", err)
		}
		if err := d.ChangePassword(ctx(t), user, first, second); err != nil {
			t.Fatalf("ChangePassword: %v", err)
		}
		if err := d.ResetPassword(ctx(t), user, third); err != nil {
			t.Fatalf("ResetPassword: %v", err)
		}
		r := d.Check(ctx(t))
		if !hasFinding(r, ldapdir.FindingPlainLDAP, directory.SeverityWarning) {
			t.Errorf("Check with AllowInsecureBinds: %+v", r.Findings)
		}
		for what, s := range map[string]string{"service password": base.BindPassword,
			"sign-in password": first, "new password of the change": second, "reset password": third} {
			if !tap.Contains(s) {
				t.Errorf("the %s did not show on the tap: the tap does not see the wire", what)
			}
		}
	})

	t.Run("StartTLS", func(t *testing.T) {
		first, second, third := marker(), marker(), marker()
		acct := dirtest.CreateLDAPUser(t, first)
		tap := ldapdirtest.NewTap(t, u.Host)
		d := through(tap, true, false)
		user := find(t, d, acct.Login)
		if err := d.VerifyPassword(ctx(t), user, first); err != nil {
			t.Fatalf("VerifyPassword: %v", err)
		}
		if err := d.ChangePassword(ctx(t), user, first, second); err != nil {
			t.Fatalf("ChangePassword: %v", err)
		}
		if err := d.ResetPassword(ctx(t), user, third); err != nil {
			t.Fatalf("ResetPassword: %v", err)
		}
		if err := d.VerifyPassword(ctx(t), user, third); err != nil {
			t.Fatalf("the reset password does not bind: %v", err)
		}
		if tap.Bytes() == 0 {
			t.Fatal("nothing went through the tap: the test proves nothing")
		}
		assertNone(t, tap, map[string]string{"service password": base.BindPassword,
			"sign-in password": first, "new password of the change": second, "reset password": third})
	})
}
