package openldap_test

import (
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestOpenLDAPMailOf: a manager's address is read by DN from the real
// server; a DN outside the base, or with no entry, reads nothing.
func TestOpenLDAPMailOf(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	u := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	d := newLDAP(t, cfg, openldap.Options{})
	var _ directory.MailReader = d
	if got, err := d.MailOf(ctx(t), u.DN); err != nil || got != u.Mail {
		t.Fatalf("MailOf(%s) = %q, %v; want %q", u.DN, got, err, u.Mail)
	}
	wantErr(t, errOnly(d.MailOf(ctx(t), "uid=nobody-"+u.Login+",ou=people,"+cfg.BaseDN)), directory.KindNotFound)
	wantErr(t, errOnly(d.MailOf(ctx(t), "cn=admin,dc=elsewhere,dc=test")), directory.KindNotFound)
	wantErr(t, errOnly(d.MailOf(ctx(t), "not a dn")), directory.KindNotFound)
}

func errOnly(_ string, err error) error { return err }
