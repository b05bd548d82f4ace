package ad_test

import (
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory/ad"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// BenchmarkADLookup times one lookup search on the real DC, one connection,
// one at a time: identify's ("now": the login filter, the stored status
// attributes and msDS-ResultantPSO), with the constructed lock and expiry
// attributes it asked for before, the password step's Refresh (a base read
// of the DN, without msDS-ResultantPSO after a lookup; "refresh-cold" with
// it), and the raw reset's search for dn and mail:
//
//	go test -run '^$' -bench ADLookup ./internal/directory/ad
//
// On Samba each constructed attribute costs about a millisecond, spent
// under the lock its writes wait for (docs/benchmarks.md).
func BenchmarkADLookup(b *testing.B) {
	cfg := dirtest.ADServiceConfig(b)
	u := dirtest.CreateADUser(b, "First-Pass1!")
	conn := dirtest.ADAdmin(b)
	preset := ad.Preset()
	filter := ldapdir.BuildLoginFilter(preset.UserFilter, preset.LoginAttributes, u.Login)
	named := []string{"sAMAccountName", "mail", "displayName", "mobile", "manager"}
	for _, c := range []struct {
		name, filter string
		attrs        []string
		base         string
		scope        int
	}{
		{"now", filter, append(append([]string{}, named...), ad.LookupStatusAttrs...), "", 0},
		{"constructed", filter, append(append([]string{}, named...), ad.StatusAttrs...), "", 0},
		{"refresh", preset.UserFilter, append(append([]string{}, named...), ad.StoredStatusAttrs...), u.DN, ldap.ScopeBaseObject},
		{"refresh-cold", preset.UserFilter, append(append([]string{}, named...), ad.LookupStatusAttrs...), u.DN, ldap.ScopeBaseObject},
		{"raw", "(sAMAccountName=" + ldap.EscapeFilter(u.Login) + ")", []string{"dn", "mail"}, "", 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			base, scope := cfg.BaseDN, ldap.ScopeWholeSubtree
			if c.base != "" {
				base, scope = c.base, c.scope
			}
			req := ldap.NewSearchRequest(base, scope, ldap.DerefInSearching, 2, 10, false, c.filter, c.attrs, nil)
			for b.Loop() {
				res, err := conn.Search(req)
				if err != nil || len(res.Entries) != 1 {
					b.Fatalf("lookup: %v", err)
				}
			}
		})
	}
}
