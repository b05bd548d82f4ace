package openldap

import (
	"reflect"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

func TestPasswordModifyValue(t *testing.T) {
	got := PasswordModifyValue("uid=a", "", "pw").Bytes()
	// SEQUENCE { [0] "uid=a", [2] "pw" }
	want := []byte{0x30, 0x0b, 0x80, 0x05, 'u', 'i', 'd', '=', 'a', 0x82, 0x02, 'p', 'w'}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
}

func TestNew(t *testing.T) {
	cfg := ldapdir.Config{URLs: []string{"ldaps://127.0.0.1:6360"}, BaseDN: "dc=example,dc=test"}
	d, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.opts.PasswordWrite != PasswordWriteExop {
		t.Errorf("default PasswordWrite = %q", d.opts.PasswordWrite)
	}
	c := d.Config()
	if c.LoginNameAttribute != "uid" || c.UserFilter != "(objectClass=inetOrgPerson)" ||
		!reflect.DeepEqual(c.LoginAttributes, []string{"uid", "mail"}) {
		t.Errorf("preset not applied: %+v", c)
	}
	if _, err := New(cfg, Options{PasswordWrite: "ssh"}); directory.KindOf(err) != directory.KindMisconfigured {
		t.Errorf("unknown PasswordWrite: %v", err)
	}
}

// TestPolicyReasonsNameTheDigit: a quality module's or 389-DS's refusal that
// names the missing digit is ReasonDigit, not the general quality reason.
func TestPolicyReasonsNameTheDigit(t *testing.T) {
	for _, diag := range []string{
		"Password must contain at least one digit",
		"invalid password syntax - password must contain at least 1 digit characters",
	} {
		if got := policyReasons(diag); !reflect.DeepEqual(got, []directory.Reason{directory.ReasonDigit}) {
			t.Errorf("policyReasons(%q) = %v", diag, got)
		}
	}
}
