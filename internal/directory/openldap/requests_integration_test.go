package openldap_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestOpenLDAPLookupIsOneSearch counts, through a TLS-terminating tap in
// front of the real slapd's LDAPS port, the requests of a flow step that
// looks a user up and reads the account's status and password policy: on a
// warm pool and policy cache it is the lookup's one search, which reads the
// ppolicy state attributes with it. The user has a pwdPolicySubentry, so the
// policy source comes from the lookup too.
func TestOpenLDAPLookupIsOneSearch(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	_, strictDN := dirtest.LDAPPolicyDNs(t)
	acct := dirtest.CreateLDAPUser(t, "First-Pass1!")
	tap := ldapdirtest.NewTLSTap(t, ldapdirtest.HostPort(t, dirtest.LDAPSURL(t)), ldapdirtest.TrustCA(t, cfg.CAFile))
	cfg.URLs, cfg.CAFile, cfg.StartTLS = []string{tap.URL()}, tap.CAFile(), false

	for _, tc := range []struct {
		name  string
		setup func()
	}{
		{"default policy", func() {}},
		{"own policy", func() {
			dirtest.Modify(t, dirtest.LDAPAdmin(t), acct.DN, map[string][]string{"pwdPolicySubentry": {strictDN}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			d := newLDAP(t, cfg, openldap.Options{})
			reqs := ldapdirtest.LookupRequests(t, d, tap, acct.Login)
			if len(reqs) != 1 || reqs[0].Op != "search" || reqs[0].Entries != 1 {
				t.Fatalf("FindUser + AccountStatus + EffectivePolicy on a warm cache sent %+v, want one search", reqs)
			}
		})
	}
}

// TestOpenLDAPRefreshIsOneBaseRead: the password step's read of the person
// identify found is one base read of the DN that answers as the lookup
// did, status and policy included with no further request; an entry gone
// since, or outside the base DN, is not found.
func TestOpenLDAPRefreshIsOneBaseRead(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	_, strictDN := dirtest.LDAPPolicyDNs(t)
	acct := dirtest.CreateLDAPUser(t, "First-Pass1!")
	dirtest.Modify(t, dirtest.LDAPAdmin(t), acct.DN, map[string][]string{"pwdPolicySubentry": {strictDN}})
	tap := ldapdirtest.NewTLSTap(t, ldapdirtest.HostPort(t, dirtest.LDAPSURL(t)), ldapdirtest.TrustCA(t, cfg.CAFile))
	cfg.URLs, cfg.CAFile, cfg.StartTLS = []string{tap.URL()}, tap.CAFile(), false
	d := newLDAP(t, cfg, openldap.Options{})
	found := find(t, d, acct.Login)
	wantStatus := status(t, d, found)
	wantPolicy, err := d.EffectivePolicy(ctx(t), found)
	if err != nil {
		t.Fatal(err)
	}

	tap.Reset()
	again, err := d.Refresh(ctx(t), &directory.User{DN: found.DN})
	if err != nil {
		t.Fatal(err)
	}
	gotStatus := status(t, d, again)
	gotPolicy, err := d.EffectivePolicy(ctx(t), again)
	if err != nil {
		t.Fatal(err)
	}
	reqs := tap.Requests()
	if len(reqs) != 1 || reqs[0].Op != "search" || !strings.EqualFold(reqs[0].Base, found.DN) || reqs[0].Entries != 1 {
		t.Fatalf("Refresh + AccountStatus + EffectivePolicy sent %+v, want one base read of %s", reqs, found.DN)
	}
	if again.DN != found.DN || again.Login != found.Login || again.Email != found.Email || again.Directory != found.Directory {
		t.Fatalf("Refresh read %+v, the lookup %+v", *again, *found)
	}
	if !reflect.DeepEqual(gotStatus, wantStatus) || !reflect.DeepEqual(gotPolicy, wantPolicy) {
		t.Fatalf("after Refresh: %+v %+v; after the lookup: %+v %+v", *gotStatus, *gotPolicy, *wantStatus, *wantPolicy)
	}

	if err := dirtest.LDAPAdmin(t).Del(ldap.NewDelRequest(acct.DN, nil)); err != nil {
		t.Fatal(err)
	}
	for _, dn := range []string{acct.DN, "uid=someone,dc=elsewhere,dc=test", "not a DN"} {
		if _, err := d.Refresh(ctx(t), &directory.User{DN: dn}); directory.KindOf(err) != directory.KindNotFound {
			t.Errorf("Refresh(%q): %v, want not found", dn, err)
		}
	}
}
