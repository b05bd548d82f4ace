package ad_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// Refresh, the password step's read of the person identify found, is one
// base read of the DN. After a lookup of the account it does not ask Samba
// to construct msDS-ResultantPSO again (the policy in force is the
// lookup's, for the policy cache's TTL), and what it reads gives the same
// status and policy as the DC's own computation, a fine-grained policy
// included.
func TestADRefreshReadsTheDNWithoutResultantPSO(t *testing.T) {
	cfg, tapped, tap, d := tappedAD(t)
	admin := dirtest.ADAdmin(t)

	for _, c := range []struct {
		name  string
		setUp func(t *testing.T, u dirtest.User)
	}{
		{"domain policy", nil},
		{"fine-grained policy", func(t *testing.T, u dirtest.User) { dirtest.ApplyADPSO(t, dirtest.ADTestPSO(t), u.DN) }},
		{"locked", func(t *testing.T, u dirtest.User) { dirtest.FailBinds(t, cfg, u.DN, dirtest.ADLockoutThreshold(t)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := dirtest.CreateADUser(t, "First-Pass1!")
			if c.setUp != nil {
				c.setUp(t, u)
			}
			found := find(t, d, u.Login)
			status(t, d, found) // the policy cache warm, as identify leaves it
			tap.Reset()
			again, err := d.Refresh(ctx(t), &directory.User{Directory: found.Directory, DN: found.DN, Login: found.Login})
			if err != nil {
				t.Fatal(err)
			}
			reqs := tap.Requests()
			if len(reqs) != 1 || reqs[0].Op != "search" || !strings.EqualFold(reqs[0].Base, found.DN) || reqs[0].Entries != 1 {
				t.Fatalf("Refresh sent %+v, want one base read of %s", reqs, found.DN)
			}
			if slices.ContainsFunc(reqs[0].Attributes, func(a string) bool { return strings.EqualFold(a, "msDS-ResultantPSO") }) {
				t.Fatalf("Refresh asked for msDS-ResultantPSO after a lookup: %v", reqs[0].Attributes)
			}
			if again.DN != found.DN || again.Email != found.Email || again.Login != found.Login || again.DisplayName != found.DisplayName {
				t.Fatalf("Refresh read %+v, the lookup %+v", *again, *found)
			}

			tap.Reset()
			refreshed := status(t, d, again)
			if n := len(tap.Requests()); n != 0 {
				t.Fatalf("the status after Refresh sent %d requests: %+v", n, tap.Requests())
			}
			fromDC := status(t, d, &directory.User{Directory: found.Directory, DN: found.DN, Login: found.Login})
			if !reflect.DeepEqual(refreshed, fromDC) {
				t.Fatalf("after Refresh:\n  %+v\nread from the DC:\n  %+v", *refreshed, *fromDC)
			}
			pAgain, err := d.EffectivePolicy(ctx(t), again)
			if err != nil {
				t.Fatal(err)
			}
			pFound, err := d.EffectivePolicy(ctx(t), found)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pAgain, pFound) {
				t.Fatalf("policy after Refresh %+v, after the lookup %+v", *pAgain, *pFound)
			}
		})
	}

	t.Run("without a lookup before it", func(t *testing.T) {
		u := dirtest.CreateADUser(t, "First-Pass1!")
		dirtest.ApplyADPSO(t, dirtest.ADTestPSO(t), u.DN)
		cold := newAD(t, tapped) // knows nothing of u
		tap.Reset()
		again, err := cold.Refresh(ctx(t), &directory.User{DN: u.DN, Login: u.Login})
		if err != nil {
			t.Fatal(err)
		}
		var asked []string
		for _, r := range tap.Requests() {
			if r.Op == "search" && strings.EqualFold(r.Base, u.DN) {
				asked = r.Attributes
			}
		}
		if !slices.ContainsFunc(asked, func(a string) bool { return strings.EqualFold(a, "msDS-ResultantPSO") }) {
			t.Fatalf("a Refresh with no lookup before it asked for %v, not the policy in force", asked)
		}
		p, err := cold.EffectivePolicy(ctx(t), again)
		if err != nil {
			t.Fatal(err)
		}
		if p.MaxAge.Hours() != 90*24 {
			t.Fatalf("policy after a cold Refresh: %+v, want the PSO's 90-day maximum age", *p)
		}
	})

	// Behind a load balancer the password step often lands on a node
	// that did not do identify's lookup: the flow hands it the lookup's
	// note (directory.User.Note), and it does not ask Samba for the
	// policy in force either.
	t.Run("on another node, with the lookup's note", func(t *testing.T) {
		u := dirtest.CreateADUser(t, "First-Pass1!")
		dirtest.ApplyADPSO(t, dirtest.ADTestPSO(t), u.DN)
		found := find(t, d, u.Login)
		if found.Note == "" {
			t.Fatal("the lookup left no note for later steps")
		}
		other := newAD(t, tapped) // knows nothing of u
		tap.Reset()
		again, err := other.Refresh(ctx(t), &directory.User{DN: found.DN, Login: found.Login, Note: found.Note})
		if err != nil {
			t.Fatal(err)
		}
		reqs := tap.Requests()
		var read []ldapdirtest.Request
		for _, r := range reqs {
			if r.Op == "search" && strings.EqualFold(r.Base, found.DN) {
				read = append(read, r)
			}
		}
		if len(read) != 1 || slices.ContainsFunc(read[0].Attributes, func(a string) bool { return strings.EqualFold(a, "msDS-ResultantPSO") }) {
			t.Fatalf("Refresh with the lookup's note sent %+v, want one base read without msDS-ResultantPSO", reqs)
		}
		p, err := other.EffectivePolicy(ctx(t), again)
		if err != nil {
			t.Fatal(err)
		}
		if p.MaxAge.Hours() != 90*24 {
			t.Fatalf("policy on the other node: %+v, want the PSO's 90-day maximum age", *p)
		}
	})

	t.Run("gone, out of scope, not a user", func(t *testing.T) {
		u := dirtest.CreateADUser(t, "First-Pass1!")
		if err := admin.Del(ldap.NewDelRequest(u.DN, nil)); err != nil {
			t.Fatal(err)
		}
		for _, dn := range []string{u.DN, "CN=Administrator,CN=Users,DC=elsewhere,DC=test", "CN=Users," + cfg.BaseDN, "not a DN"} {
			_, err := d.Refresh(ctx(t), &directory.User{DN: dn})
			if directory.KindOf(err) != directory.KindNotFound {
				t.Errorf("Refresh(%q): %v, want not found", dn, err)
			}
		}
	})
}
