package ad_test

import (
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ad"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

func newAD(t *testing.T, cfg ldapdir.Config) *ad.Directory {
	t.Helper()
	d, err := ad.New(cfg)
	if err != nil {
		t.Fatalf("ad.New: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// tappedAD is the service configuration and a connector that talks to the
// DC through a TLS tap, which records every request.
func tappedAD(t *testing.T) (cfg, tapped ldapdir.Config, tap *ldapdirtest.Tap, d *ad.Directory) {
	t.Helper()
	cfg = dirtest.ADServiceConfig(t)
	tap = ldapdirtest.NewTLSTap(t, ldapdirtest.HostPort(t, cfg.URLs[0]), ldapdirtest.TrustCA(t, cfg.CAFile))
	tapped = cfg
	tapped.URLs, tapped.CAFile = []string{tap.URL()}, tap.CAFile()
	return cfg, tapped, tap, newAD(t, tapped)
}

// The helpers every LDAP connector's tests share (ldapdirtest).
var (
	ctx        = ldapdirtest.Context
	wantErr    = ldapdirtest.WantErr
	find       = ldapdirtest.FindUser
	status     = ldapdirtest.Status
	hasFinding = ldapdirtest.HasFinding
)

func TestADIntegration(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	const initial = "Initial-Pass1"
	u := dirtest.CreateADUser(t, initial)
	d := newAD(t, cfg)

	t.Run("FindUser by each login attribute", func(t *testing.T) {
		for _, login := range []string{u.Login, u.UPN, u.Mail, strings.ToUpper(u.Login)} {
			got, err := d.FindUser(ctx(t), login)
			if err != nil {
				t.Fatalf("FindUser(%q): %v", login, err)
			}
			if !strings.EqualFold(got.DN, u.DN) || got.Login != u.Login || got.Email != u.Mail {
				t.Fatalf("FindUser(%q) = %+v, want DN %s login %s mail %s", login, got, u.DN, u.Login, u.Mail)
			}
			if got.Directory != cfg.Name || got.DisplayName == "" {
				t.Errorf("FindUser(%q): directory %q display name %q", login, got.Directory, got.DisplayName)
			}
		}
	})

	t.Run("FindUser unknown and wildcard", func(t *testing.T) {
		ldapdirtest.WantNotFound(t, d, "nobody-"+u.Login, "*", u.Login[:5]+"*", "*)(sAMAccountName=*")
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
		if err := dirtest.Bind(t, cfg, u.UPN, second); err != nil {
			t.Fatalf("dirtest.Bind with the new password: %v", err)
		}
	})

	t.Run("too short", func(t *testing.T) {
		ldapdirtest.ResetTooShort(t, d, user, "Sh0rt!", 7) // Samba's default minimum
	})

	t.Run("complexity", func(t *testing.T) {
		e := wantErr(t, d.ResetPassword(ctx(t), user, "onlylowercaseletters"), directory.KindPolicyViolation, directory.ReasonComplexity)
		t.Logf("server said: %s", e.Diagnostic)
	})

	// Samba ignores the policy-hints control, so an admin reset to an old
	// password succeeds; history shows on a user's own change (delete the
	// old unicodePwd, add the new one), which is mapped the same way.
	t.Run("history on user change", func(t *testing.T) {
		c, err := ldapdir.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := c.Dial(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.Bind(u.DN, second); err != nil {
			t.Fatalf("bind as user: %v", err)
		}
		req := ldap.NewModifyRequest(u.DN, nil)
		req.Delete("unicodePwd", []string{ad.EncodePassword(second)})
		req.Add("unicodePwd", []string{ad.EncodePassword(initial)})
		err = conn.Modify(req)
		if err == nil {
			t.Fatal("change back to the initial password was accepted")
		}
		e := ldapdir.MapError(ctx(t), "change", err)
		if e.Kind == directory.KindPolicyViolation {
			e.Reasons = ad.PolicyReasons(e.Diagnostic)
		}
		wantErr(t, e, directory.KindPolicyViolation, directory.ReasonHistory)
		t.Logf("server said: %s", e.Diagnostic)
	})

	t.Run("disabled and must change", func(t *testing.T) {
		admin := dirtest.ADAdmin(t)
		set := func(attr, val string) {
			req := ldap.NewModifyRequest(u.DN, nil)
			req.Replace(attr, []string{val})
			if err := admin.Modify(req); err != nil {
				t.Fatalf("set %s=%s: %v", attr, val, err)
			}
		}
		set("pwdLastSet", "0")
		wantErr(t, d.VerifyPassword(ctx(t), user, second), directory.KindMustChange)
		set("pwdLastSet", "-1")
		set("userAccountControl", "514")
		wantErr(t, d.VerifyPassword(ctx(t), user, second), directory.KindDisabled)
		set("userAccountControl", "512")
		if err := d.VerifyPassword(ctx(t), user, second); err != nil {
			t.Fatalf("after re-enabling: %v", err)
		}
	})

	t.Run("plain LDAP refused", func(t *testing.T) {
		plain := cfg
		plain.URLs = []string{"ldap://127.0.0.1:389"}
		pd := newAD(t, plain)
		// Samba refuses a simple bind without TLS (strong auth required);
		// were it allowed, sspr itself would refuse the password write.
		wantErr(t, pd.ResetPassword(ctx(t), user, "Third-Pass3"), directory.KindConfidentialityRequired)
	})

	t.Run("failover", func(t *testing.T) {
		fo := cfg
		fo.URLs = append([]string{"ldaps://127.0.0.1:1"}, cfg.URLs...)
		fd := newAD(t, fo)
		got, err := fd.FindUser(ctx(t), u.Login)
		if err != nil {
			t.Fatalf("FindUser with a dead first server: %v", err)
		}
		if err := fd.VerifyPassword(ctx(t), got, second); err != nil {
			t.Fatalf("VerifyPassword with a dead first server: %v", err)
		}
		dead := cfg
		dead.URLs = []string{"ldaps://127.0.0.1:1", "ldaps://127.0.0.1:2"}
		wantErr(t, newAD(t, dead).VerifyPassword(ctx(t), got, second), directory.KindUnavailable)
	})

	t.Run("wrong service password", func(t *testing.T) {
		bad := cfg
		bad.BindPassword = "not-the-password"
		_, err := newAD(t, bad).FindUser(ctx(t), u.Login)
		wantErr(t, err, directory.KindMisconfigured)
	})
}
