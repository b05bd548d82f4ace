package demo

import (
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// TestLockedUser: the demo has a locked account so unlock can be tried; it
// behaves as slapo-ppolicy's: refused at bind, pwdAccountLockedTime
// readable, unlocked by deleting that attribute (by the service account
// only), and a later unlock of an unlocked account finds nothing to delete.
func TestLockedUser(t *testing.T) {
	srv := startTest(t, Options{})
	var frank User
	for _, u := range DefaultUsers() {
		if u.UID == LockedUser {
			frank = u
		}
	}
	if !frank.Locked {
		t.Fatalf("no locked user %q among the demo users", LockedUser)
	}
	c := dial(t, srv)
	if err := c.Bind(frank.DN(), frank.Password); resultCode(err) != ldap.LDAPResultInvalidCredentials {
		t.Fatalf("bind of the locked account: %v, want invalidCredentials", err)
	}
	svc := serviceConn(t, srv)
	res, err := svc.Search(ldap.NewSearchRequest(frank.DN(), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"pwdAccountLockedTime"}, nil))
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("pwdAccountLockedTime") == "" {
		t.Fatalf("pwdAccountLockedTime not readable: %v %+v", err, res)
	}

	// The person themself cannot unlock.
	if err := c.Bind(DefaultUsers()[0].DN(), DefaultUsers()[0].Password); err != nil {
		t.Fatal(err)
	}
	unlock := ldap.NewModifyRequest(frank.DN(), nil)
	unlock.Delete("pwdAccountLockedTime", nil)
	if err := c.Modify(unlock); resultCode(err) != ldap.LDAPResultInsufficientAccessRights {
		t.Fatalf("unlock by another user: %v", err)
	}
	if err := svc.Modify(unlock); err != nil {
		t.Fatalf("unlock by the service account: %v", err)
	}
	if err := dial(t, srv).Bind(frank.DN(), frank.Password); err != nil {
		t.Fatalf("bind after unlock: %v", err)
	}
	if err := svc.Modify(unlock); resultCode(err) != ldap.LDAPResultNoSuchAttribute {
		t.Fatalf("second unlock: %v, want noSuchAttribute", err)
	}
}
