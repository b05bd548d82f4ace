package ad_test

import (
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory/ad"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// BenchmarkADLookup times one lookup search on the real DC, one connection,
// one at a time, with the attributes sspr asks for now (the stored status
// attributes and msDS-ResultantPSO), with the constructed lock and expiry
// attributes it asked for before, and with the raw reset's dn and mail:
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
	}{
		{"now", filter, append(append([]string{}, named...), ad.LookupStatusAttrs...)},
		{"constructed", filter, append(append([]string{}, named...), ad.StatusAttrs...)},
		{"raw", "(sAMAccountName=" + ldap.EscapeFilter(u.Login) + ")", []string{"dn", "mail"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.DerefInSearching, 2, 10, false, c.filter, c.attrs, nil)
			for b.Loop() {
				res, err := conn.Search(req)
				if err != nil || len(res.Entries) != 1 {
					b.Fatalf("lookup: %v", err)
				}
			}
		})
	}
}
