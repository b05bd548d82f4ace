package ldap_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ad"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/sync/ldap"
	"github.com/sspr/sspr/internal/sync/target"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

func newPassword() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "Sync-" + hex.EncodeToString(b) + "-Qz7!"
}

// The target finds an OpenLDAP person by the mail of an AD account and
// sets the password there; the person then binds with it.
func TestOpenLDAPTargetTakesPassword(t *testing.T) {
	adUser := dirtest.CreateADUser(t, newPassword())
	ldapUser := dirtest.CreateLDAPUser(t, newPassword())
	dirtest.Modify(t, dirtest.LDAPAdmin(t), ldapUser.DN, map[string][]string{"mail": {adUser.Mail}})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	primary, err := ad.New(dirtest.ADConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	u, err := primary.FindUser(ctx, adUser.Login)
	if err != nil {
		t.Fatal(err)
	}
	second, err := openldap.New(dirtest.LDAPConfig(t), openldap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	tg, err := ldap.New("openldap", second)
	if err != nil {
		t.Fatal(err)
	}
	pw := newPassword()
	if err := tg.SetPassword(ctx, target.Identity{Attribute: "mail", Key: u.Email, Login: u.Login}, pw); err != nil {
		t.Fatal(err)
	}
	if err := dirtest.Bind(t, dirtest.LDAPConfig(t), ldapUser.Login, pw); err != nil {
		t.Fatalf("bind with the synced password: %v", err)
	}

	// Nobody with that mail: permanent, not retried for ever.
	err = tg.SetPassword(ctx, target.Identity{Attribute: "mail", Key: "nobody-" + adUser.Mail}, pw)
	var te *target.Error
	if !errors.As(err, &te) || !te.Permanent() || directory.KindOf(err) != directory.KindNotFound {
		t.Fatalf("unknown person: %v, want a permanent not-found", err)
	}
}
