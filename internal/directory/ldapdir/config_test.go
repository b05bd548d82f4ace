package ldapdir

import (
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
)

func TestWithDefaults(t *testing.T) {
	preset := Config{
		UserFilter:         "(objectClass=inetOrgPerson)",
		LoginAttributes:    []string{"uid", "mail"},
		LoginNameAttribute: "uid",
	}
	got := Config{URLs: []string{"ldaps://x"}, BaseDN: "dc=x"}.WithDefaults(preset)
	if got.UserFilter != preset.UserFilter || got.LoginNameAttribute != "uid" ||
		strings.Join(got.LoginAttributes, ",") != "uid,mail" {
		t.Errorf("preset not applied: %+v", got)
	}
	if got.MailAttribute != "mail" || got.DisplayNameAttribute != "displayName" || got.Timeout != DefaultTimeout {
		t.Errorf("defaults not applied: %+v", got)
	}
	own := Config{UserFilter: "(a=b)", LoginAttributes: []string{"cn"}, Timeout: time.Second}.WithDefaults(preset)
	if own.UserFilter != "(a=b)" || own.LoginAttributes[0] != "cn" || own.Timeout != time.Second {
		t.Errorf("explicit settings overridden: %+v", own)
	}
	// The preset's slice must not be shared with the result.
	got.LoginAttributes[0] = "changed"
	if preset.LoginAttributes[0] != "uid" {
		t.Error("WithDefaults shares the preset's LoginAttributes")
	}
}

func TestValidateCollectsAllProblems(t *testing.T) {
	cfg := Config{
		URLs:            []string{"http://x", "ldap://"},
		UserFilter:      "(objectClass=user",
		LoginAttributes: []string{"uid)(x=*"},
		BindDN:          "cn=x",
	}.WithDefaults(Config{})
	err := cfg.Validate()
	if directory.KindOf(err) != directory.KindMisconfigured {
		t.Fatalf("Validate = %v, want misconfigured", err)
	}
	for _, want := range []string{"URLs[0]", "URLs[1]", "BaseDN", "BindPassword", "UserFilter", "LoginAttributes[0]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	ok := Config{URLs: []string{"ldaps://127.0.0.1:636"}, BaseDN: "dc=example,dc=test",
		LoginAttributes: []string{"uid"}}.WithDefaults(Config{})
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
}

func TestRequireConfidential(t *testing.T) {
	c := &Client{cfg: Config{}}
	plain := &Conn{URL: "ldap://127.0.0.1:3890"}
	if err := c.RequireConfidential(plain, "reset"); directory.KindOf(err) != directory.KindConfidentialityRequired {
		t.Fatalf("plain connection: %v, want confidentiality_required", err)
	}
	if err := c.RequireConfidential(&Conn{confidential: true}, "reset"); err != nil {
		t.Fatalf("TLS connection refused: %v", err)
	}
	c.cfg.AllowInsecureBinds = true
	if err := c.RequireConfidential(plain, "reset"); err != nil {
		t.Fatalf("AllowInsecureBinds ignored: %v", err)
	}
	c.cfg = Config{AllowInsecurePasswordWrites: true}
	if err := c.RequireConfidential(plain, "bind"); err != nil {
		t.Fatalf("the older name AllowInsecurePasswordWrites ignored: %v", err)
	}
}
