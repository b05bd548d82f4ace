package openldap_test

import (
	"testing"

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
