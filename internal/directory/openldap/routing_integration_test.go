package openldap_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestTwoDirectoriesRouting puts the embedded demo directory (domain DEMO,
// demo.sspr.test) and the test slapd (domain EXAMPLE, example.test) in one
// Set, both with a user named alice, and shows that qualified logins reach
// the right one and a plain login is ambiguous.
func TestTwoDirectoriesRouting(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	cfg.Name = "example"
	cfg.Domains = []string{"EXAMPLE", "example.test"}
	u := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	// The demo directory gets a user with the same uid as the slapd one.
	users := append(demo.DefaultUsers(), demo.User{UID: u.Login, GivenName: "Twin", Surname: "Demo", Password: "Twin-Pass-1"})
	srv, err := demo.Start(context.Background(), demo.Options{Users: users})
	if err != nil {
		t.Fatalf("demo.Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	demoDir := newLDAP(t, ldapdir.Config{Name: "demo", URLs: []string{srv.URL()}, BaseDN: srv.BaseDN(),
		BindDN: srv.ServiceDN(), BindPassword: srv.ServicePassword(), AllowInsecurePasswordWrites: true,
		Domains: []string{"DEMO", demo.MailDomain}}, openldap.Options{PasswordWrite: openldap.PasswordWriteModify})
	exampleDir := newLDAP(t, cfg, openldap.Options{})
	set := directory.NewSet(demoDir, exampleDir)

	for _, tt := range []struct {
		login, wantDir, wantDN string
	}{
		{`EXAMPLE\` + u.Login, "example", u.DN},
		{`example\` + strings.ToUpper(u.Login), "example", u.DN},
		{u.Login + "@example.test", "example", u.DN}, // no such mail: found as uid
		{u.Mail, "example", u.DN},                    // the mail address itself
		{`DEMO\` + u.Login, "demo", "uid=" + u.Login + "," + demo.PeopleDN},
		{`DEMO\alice`, "demo", "uid=alice," + demo.PeopleDN},
		{"alice@" + demo.MailDomain, "demo", "uid=alice," + demo.PeopleDN},
		{"alice", "demo", "uid=alice," + demo.PeopleDN},
	} {
		got, err := set.FindUser(ctx(t), tt.login)
		if err != nil {
			t.Fatalf("FindUser(%q): %v", tt.login, err)
		}
		if got.Directory != tt.wantDir || !strings.EqualFold(got.DN, tt.wantDN) {
			t.Fatalf("FindUser(%q) = %s in %s, want %s in %s", tt.login, got.DN, got.Directory, tt.wantDN, tt.wantDir)
		}
	}
	if _, err := set.FindUser(ctx(t), u.Login); directory.KindOf(err) != directory.KindAmbiguous {
		t.Fatalf("plain login in both directories: %v, want ambiguous", err)
	}
	if _, err := set.FindUser(ctx(t), `OTHER\`+u.Login); directory.KindOf(err) != directory.KindNotFound {
		t.Fatalf("unknown domain: %v, want not found", err)
	}
	got, err := set.FindUserIn(ctx(t), "example", u.Login)
	if err != nil || !strings.EqualFold(got.DN, u.DN) {
		t.Fatalf("FindUserIn(example): %+v, %v", got, err)
	}
	// The routed user can be acted on in its own directory.
	user, _ := set.FindUser(ctx(t), `EXAMPLE\`+u.Login)
	d, _ := set.Directory(user.Directory)
	if err := d.VerifyPassword(ctx(t), user, u.Password); err != nil {
		t.Fatalf("VerifyPassword in the routed directory: %v", err)
	}
}

// TestFailoverOrder: with the first server dead, every operation works on
// the second, and the dead one is tried last while it is held down.
func TestFailoverOrder(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	u := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	fo := cfg
	fo.URLs = append([]string{"ldap://127.0.0.1:1"}, cfg.URLs...)
	d := newLDAP(t, fo, openldap.Options{})
	c, err := ldapdir.New(d.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.FindUser(ctx(t), u.Login); err != nil {
		t.Fatalf("FindUser with a dead first server: %v", err)
	}
	if order := c.ServerOrder(); order[0] != cfg.URLs[0] || order[1] != "ldap://127.0.0.1:1" {
		t.Fatalf("after the dead server failed: order %v, want it last", order)
	}
	user := find(t, d, u.Login)
	if err := d.VerifyPassword(ctx(t), user, u.Password); err != nil {
		t.Fatalf("VerifyPassword with a dead first server: %v", err)
	}
	if st := status(t, d, user); st.Locked {
		t.Fatalf("status: %+v", st)
	}
}
