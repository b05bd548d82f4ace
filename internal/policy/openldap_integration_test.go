package policy_test

import (
	"context"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/policy"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestOpenLDAPPopulations chooses policies against the real test slapd:
// membership through nested groupOfNames / groupOfUniqueNames (searched
// level by level, no memberOf overlay), a filter evaluated by the server,
// an OU subtree, and the directory's default for the rest.
func TestOpenLDAPPopulations(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	cfg.Name = "lab"
	dir, err := openldap.New(cfg, openldap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	ctx := context.Background()
	admin := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
	inner := dirtest.CreateLDAPGroup(t, "groupOfNames", admin.DN)
	outer := dirtest.CreateLDAPGroup(t, "groupOfUniqueNames", inner)
	finance := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
	dirtest.Modify(t, dirtest.LDAPAdmin(t), finance.DN, map[string][]string{"departmentNumber": {"4711"}})
	other := dirtest.CreateLDAPUser(t, "Initial-Pass-1")

	set, err := policy.New([]*policy.Policy{
		{Name: "admins", Scope: policy.Scope{Groups: []string{outer}}, Factors: []factor.Kind{factor.Passkey}},
		{Name: "finance", Scope: policy.Scope{Directories: []string{"lab"}, Filter: "(departmentNumber=4711)"}},
		{Name: "people", Scope: policy.Scope{OUs: []string{"OU=People," + cfg.BaseDN}, Filter: "(uid=" + other.Login + ")"}},
	}, map[string]*policy.Policy{"lab": {Name: "default/lab", Default: true}}, &policy.Policy{Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	nobody := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
	for login, want := range map[string]string{admin.Login: "admins", finance.Login: "finance", other.Login: "people", nobody.Login: "default/lab"} {
		u, err := dir.FindUser(ctx, login)
		if err != nil {
			t.Fatal(err)
		}
		d, err := set.Evaluate(ctx, policy.Request{}, u, directory.NewSet(dir))
		if err != nil {
			t.Fatalf("%s: %v", login, err)
		}
		if d.Policy.Name != want {
			t.Errorf("%s: policy %s, want %s (%+v)", login, d.Policy.Name, want, d.Checks)
		}
	}
}
