package ad_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// The lookup asks the DC for no constructed lock or expiry attribute (each
// costs Samba about a millisecond per search under its write lock), only
// msDS-ResultantPSO, which names the policy in force.
func TestADLookupAsksForNoConstructedStatus(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	acct := dirtest.CreateADUser(t, "First-Pass1!")
	tap := ldapdirtest.NewTLSTap(t, ldapdirtest.HostPort(t, cfg.URLs[0]), ldapdirtest.TrustCA(t, cfg.CAFile))
	cfg.URLs, cfg.CAFile = []string{tap.URL()}, tap.CAFile()
	d := newAD(t, cfg)
	find(t, d, acct.Login) // warm: the RootDSE
	tap.Reset()
	find(t, d, acct.Login)
	var lookup *ldapdirtest.Request
	for _, r := range tap.Requests() {
		if r.Op == "search" && strings.EqualFold(r.Base, cfg.BaseDN) {
			lookup = &r
		}
	}
	if lookup == nil {
		t.Fatalf("no lookup search among %+v", tap.Requests())
	}
	has := func(a string) bool {
		return slices.ContainsFunc(lookup.Attributes, func(b string) bool { return strings.EqualFold(a, b) })
	}
	if has("msDS-User-Account-Control-Computed") || has("msDS-UserPasswordExpiryTimeComputed") || !has("msDS-ResultantPSO") || !has("pwdLastSet") {
		t.Fatalf("the lookup asked for %v", lookup.Attributes)
	}
}

// The status derived from a lookup (lock and expiry computed from the stored
// attributes and the policy in force) is the status read with the DC's own
// constructed attributes, for every kind of account a flow meets.
func TestADDerivedStatusIsTheDirectorys(t *testing.T) {
	// Through a tap, to see that the status was derived: no read of the
	// user's entry after the lookup.
	cfg, _, tap, d := tappedAD(t)
	admin := dirtest.ADAdmin(t)
	cases := []struct {
		name  string
		setUp func(t *testing.T, u dirtest.User)
		check func(st *directory.AccountStatus) bool
	}{
		{"domain policy", nil, func(st *directory.AccountStatus) bool { return !st.PasswordExpires.IsZero() && !st.Locked }},
		{"password never expires", func(t *testing.T, u dirtest.User) {
			dirtest.Modify(t, admin, u.DN, map[string][]string{"userAccountControl": {"66048"}})
		}, func(st *directory.AccountStatus) bool { return st.PasswordExpires.IsZero() && !st.PasswordExpired }},
		{"must change", func(t *testing.T, u dirtest.User) {
			dirtest.Modify(t, admin, u.DN, map[string][]string{"pwdLastSet": {"0"}})
		}, func(st *directory.AccountStatus) bool { return st.MustChange && st.PasswordExpires.IsZero() }},
		{"fine-grained policy", func(t *testing.T, u dirtest.User) {
			dirtest.ApplyADPSO(t, dirtest.ADTestPSO(t), u.DN)
		}, func(st *directory.AccountStatus) bool {
			return st.PasswordExpires.Sub(st.PasswordLastSet).Hours() == 90*24
		}},
		{"locked", func(t *testing.T, u dirtest.User) {
			dirtest.FailBinds(t, cfg, u.DN, dirtest.ADLockoutThreshold(t))
		}, func(st *directory.AccountStatus) bool { return st.Locked && !st.LockoutEnds.IsZero() }},
		{"disabled", func(t *testing.T, u dirtest.User) {
			dirtest.Modify(t, admin, u.DN, map[string][]string{"userAccountControl": {"514"}})
		}, func(st *directory.AccountStatus) bool { return st.Disabled }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := dirtest.CreateADUser(t, "First-Pass1!")
			if c.setUp != nil {
				c.setUp(t, u)
			}
			found := find(t, d, u.Login)
			if found.StatusAttributes == nil {
				t.Fatal("the lookup read no status attributes")
			}
			tap.Reset()
			derived := status(t, d, found)
			for _, r := range tap.Requests() {
				if r.Op == "search" && strings.EqualFold(r.Base, found.DN) {
					t.Fatalf("the status read the entry again (%v): it was not derived from the lookup", r.Attributes)
				}
			}
			read := *found
			read.StatusAttributes = nil // no snapshot: the DC's constructed attributes are read
			fromDC := status(t, d, &read)
			if !reflect.DeepEqual(derived, fromDC) {
				t.Fatalf("derived from the lookup:\n  %+v\nread from the DC:\n  %+v", *derived, *fromDC)
			}
			if !c.check(derived) {
				t.Fatalf("the status does not show the account's state: %+v", *derived)
			}
		})
	}
}
