package policy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/policy"
)

// fakeDir answers group and filter questions from tables, and counts them.
type fakeDir struct {
	name        string
	groups      map[string][]string // user DN -> nested groups
	filters     map[string]bool     // user DN + filter -> match
	groupCalls  int
	filterCalls int
	fail        error
}

func (d *fakeDir) Name() string { return d.name }
func (d *fakeDir) FindUser(context.Context, string) (*directory.User, error) {
	return nil, directory.ErrNotFound
}
func (d *fakeDir) VerifyPassword(context.Context, *directory.User, string) error {
	return nil
}
func (d *fakeDir) Close() error { return nil }
func (d *fakeDir) Groups(_ context.Context, u *directory.User) ([]string, error) {
	d.groupCalls++
	return d.groups[u.DN], d.fail
}
func (d *fakeDir) MatchesFilter(_ context.Context, u *directory.User, f string) (bool, error) {
	d.filterCalls++
	return d.filters[u.DN+f], d.fail
}

// plainDir can answer neither groups nor filters.
type plainDir struct{ directory.Directory }

type dirs map[string]directory.Directory

func (ds dirs) Directory(n string) (directory.Directory, bool) { d, ok := ds[n]; return d, ok }

const (
	adminDN   = "CN=Ann Admin,OU=IT,DC=example,DC=test"
	financeDN = "CN=Fred,OU=Finance,OU=Staff,DC=example,DC=test"
	staffDN   = "CN=Sam,OU=Sales,OU=Staff,DC=example,DC=test"
	adminsGrp = "CN=Admins,CN=Users,DC=example,DC=test"
)

func testSet(t *testing.T) *policy.Set {
	t.Helper()
	s, err := policy.New([]*policy.Policy{
		{Name: "admins", Scope: policy.Scope{Groups: []string{adminsGrp}}, Factors: []factor.Kind{factor.Passkey, factor.TOTP},
			Required: map[policy.Action]int{policy.Reset: 2}, Mandatory: []factor.Kind{factor.Passkey}},
		{Name: "finance", Scope: policy.Scope{Directories: []string{"corp"}, OUs: []string{"ou=finance, ou=STAFF,dc=example,dc=test"}},
			Factors: []factor.Kind{factor.TOTP}, Off: map[policy.Action]bool{policy.Unlock: true}},
		{Name: "contractors", Scope: policy.Scope{Filter: "(employeeType=contractor)"}, Factors: []factor.Kind{factor.Email}},
	}, map[string]*policy.Policy{"corp": {Name: "default/corp", Default: true, Factors: []factor.Kind{factor.Email}}},
		&policy.Policy{Name: "default", Default: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFirstMatchWins: each population gets its own policy, in order, with
// OU subtrees compared as DNs (case and spaces do not matter), nested
// groups as the directory reports them, filters asked of the directory;
// nobody matched gets their directory's default.
func TestFirstMatchWins(t *testing.T) {
	t.Parallel()
	set := testSet(t)
	d := &fakeDir{name: "corp",
		groups:  map[string][]string{adminDN: {"cn=admins,cn=users,dc=example,dc=test"}, financeDN: {adminsGrp}},
		filters: map[string]bool{staffDN + "(employeeType=contractor)": true}}
	lab := &fakeDir{name: "lab"}
	ds := dirs{"corp": d, "lab": lab}
	for _, tc := range []struct {
		user *directory.User
		want string
	}{
		{&directory.User{Directory: "corp", DN: adminDN}, "admins"},
		// In the finance OU but also an admin: the first policy wins.
		{&directory.User{Directory: "corp", DN: financeDN}, "admins"},
		{&directory.User{Directory: "corp", DN: "CN=Fay,OU=Finance,OU=Staff,DC=example,DC=test"}, "finance"},
		{&directory.User{Directory: "corp", DN: staffDN}, "contractors"},
		{&directory.User{Directory: "corp", DN: "CN=Nobody,OU=Sales,OU=Staff,DC=example,DC=test"}, "default/corp"},
		// The finance OU's DN in another directory: finance is scoped to corp.
		{&directory.User{Directory: "lab", DN: "CN=Fay,OU=Finance,OU=Staff,DC=example,DC=test"}, "default"},
	} {
		dec, err := set.Evaluate(context.Background(), policy.Request{}, tc.user, ds)
		if err != nil {
			t.Fatalf("%s: %v", tc.user.DN, err)
		}
		if dec.Policy.Name != tc.want {
			t.Errorf("%s in %s: policy %s, want %s (checks %+v)", tc.user.DN, tc.user.Directory, dec.Policy.Name, tc.want, dec.Checks)
		}
		if last := dec.Checks[len(dec.Checks)-1]; last.Policy != tc.want || !last.Matched {
			t.Errorf("%s: the last check %+v is not the chosen policy's match", tc.user.DN, last)
		}
	}
	// Groups are read once per evaluation, filters only when a policy
	// gets that far.
	d.groupCalls, d.filterCalls = 0, 0
	if _, err := set.Evaluate(context.Background(), policy.Request{}, &directory.User{Directory: "corp", DN: "CN=Fay,OU=Finance,OU=Staff,DC=example,DC=test"}, ds); err != nil {
		t.Fatal(err)
	}
	if d.groupCalls != 1 || d.filterCalls != 0 {
		t.Errorf("group reads %d, filter reads %d; want 1 and 0", d.groupCalls, d.filterCalls)
	}
}

// TestUnanswerableIsAnError: a directory that is down, or cannot answer
// group or filter questions, is an error, never a quiet "no match" that
// would drop an administrator to the everyone policy.
func TestUnanswerableIsAnError(t *testing.T) {
	t.Parallel()
	set := testSet(t)
	u := &directory.User{Directory: "corp", DN: adminDN}
	down := &fakeDir{name: "corp", fail: errors.New("connection refused")}
	if _, err := set.Evaluate(context.Background(), policy.Request{}, u, dirs{"corp": down}); err == nil {
		t.Error("a directory that is down chose a policy")
	}
	if _, err := set.Evaluate(context.Background(), policy.Request{}, u, dirs{"corp": plainDir{&fakeDir{name: "corp"}}}); err == nil ||
		!strings.Contains(err.Error(), "group") {
		t.Errorf("a directory without groups: %v", err)
	}
}

// TestNewRefusesBadScopes: DNs and filters are checked when the set is
// built, not at somebody's first step.
func TestNewRefusesBadScopes(t *testing.T) {
	t.Parallel()
	fb := &policy.Policy{Name: "default"}
	for name, p := range map[string]*policy.Policy{
		"bad ou":      {Name: "x", Scope: policy.Scope{OUs: []string{"not a dn"}}},
		"bad group":   {Name: "x", Scope: policy.Scope{Groups: []string{"=,="}}},
		"bad filter":  {Name: "x", Scope: policy.Scope{Filter: "(cn=a"}},
		"bare filter": {Name: "x", Scope: policy.Scope{Filter: "cn=a"}},
		"no name":     {},
	} {
		if _, err := policy.New([]*policy.Policy{p}, nil, fb); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := policy.New(nil, nil, nil); err == nil {
		t.Error("no fallback: accepted")
	}
}

// TestExplain: the explanation names every rule checked, the policy that
// applies and what it asks.
func TestExplain(t *testing.T) {
	t.Parallel()
	set := testSet(t)
	d := &fakeDir{name: "corp", groups: map[string][]string{}}
	dec, err := set.Evaluate(context.Background(), policy.Request{}, &directory.User{Directory: "corp", DN: "CN=Fay,OU=Finance,OU=Staff,DC=example,DC=test"}, dirs{"corp": d})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := dec.Explain(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`policy "admins"`, "group     no   member of none of [" + adminsGrp + "]", `policy "finance"`,
		"directory yes", "ou        yes  entry is below ou=finance, ou=STAFF,dc=example,dc=test", "applies: finance (configured)",
		"unlock off", "factors:   totp (reset needs 1, unlock needs 1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
}

// FuzzNew: whatever a configuration holds for a scope, building the set
// returns an error or a set, and never panics; a set built evaluates.
func FuzzNew(f *testing.F) {
	f.Add("OU=Finance,DC=example,DC=test", "CN=G,DC=x", "(department=Finance)")
	f.Add("", "", "(&(a=b)(!(c=*)))")
	f.Add("cn=\\,x", "=", "(cn=*\\2a*)")
	f.Fuzz(func(t *testing.T, ou, group, filter string) {
		p := &policy.Policy{Name: "p", Scope: policy.Scope{Filter: filter}}
		if ou != "" {
			p.Scope.OUs = []string{ou}
		}
		if group != "" {
			p.Scope.Groups = []string{group}
		}
		s, err := policy.New([]*policy.Policy{p}, nil, &policy.Policy{Name: "default"})
		if err != nil {
			return
		}
		d := &fakeDir{name: "corp", groups: map[string][]string{"CN=u,DC=x": {group}}}
		_, _ = s.Evaluate(context.Background(), policy.Request{}, &directory.User{Directory: "corp", DN: "CN=u,DC=x"}, dirs{"corp": d})
	})
}
