package ad_test

import (
	"testing"

	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestADLookupIsOneSearch counts, through a TLS-terminating tap in front of
// the real DC, the requests of a flow step that looks a user up and reads
// the account's status and password policy: on a warm pool and policy cache
// it is the lookup's one search, which reads the account-state attributes
// with it.
func TestADLookupIsOneSearch(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	acct := dirtest.CreateADUser(t, "First-Pass1!")
	tap := ldapdirtest.NewTLSTap(t, ldapdirtest.HostPort(t, cfg.URLs[0]), ldapdirtest.TrustCA(t, cfg.CAFile))
	cfg.URLs, cfg.CAFile = []string{tap.URL()}, tap.CAFile()
	d := newAD(t, cfg)

	reqs := ldapdirtest.LookupRequests(t, d, tap, acct.Login)
	if len(reqs) != 1 || reqs[0].Op != "search" || reqs[0].Entries != 1 {
		t.Fatalf("FindUser + AccountStatus + EffectivePolicy on a warm cache sent %+v, want one search", reqs)
	}
	// The cold round read the status from the lookup as well: the tap
	// saw no base read of the user.
}
