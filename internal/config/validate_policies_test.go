package config_test

import (
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/config"
)

const policiesYAML = `
policies:
  - name: admins
    scope:
      directories: [corp]
      groups: ["CN=Admins,CN=Users,DC=example,DC=com"]
    factors: [passkey, totp, backup_codes]
    required: {reset: 2, unlock: 2}
    mandatory: [passkey]
    password_preset: pci-dss-4
    enrollment: {required: [passkey], minimum: 2}
    notices: ["Have your passkey ready."]
  - name: finance
    scope:
      ous: ["OU=Finance,DC=example,DC=com"]
      filter: "(department=Finance)"
    actions: {unlock: false, enroll: true}
`

// TestPoliciesRead: policies are read as written, in order.
func TestPoliciesRead(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, validYAML+policiesYAML, nil)
	if len(cfg.Policies) != 2 {
		t.Fatalf("policies = %+v", cfg.Policies)
	}
	a, f := cfg.Policies[0], cfg.Policies[1]
	if a.Name != "admins" || a.Required.Reset != 2 || a.Mandatory[0] != "passkey" || a.Scope.Groups[0] != "CN=Admins,CN=Users,DC=example,DC=com" ||
		a.Enrollment.Minimum != 2 || a.PasswordPreset != "pci-dss-4" || a.Actions.Reset != nil {
		t.Errorf("admins = %+v", a)
	}
	if f.Actions.Unlock == nil || *f.Actions.Unlock || f.Actions.Enroll == nil || !*f.Actions.Enroll || f.Scope.Filter != "(department=Finance)" {
		t.Errorf("finance = %+v", f)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
}

// TestPolicyProblems: every mistake in a policy is reported with its key.
func TestPolicyProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func(*config.Policy)
		key    string
	}{
		{"bad name", func(p *config.Policy) { p.Name = "two words" }, "policies[0].name"},
		{"reserved name", func(p *config.Policy) { p.Name = "default" }, "policies[0].name"},
		{"unknown directory", func(p *config.Policy) { p.Scope.Directories = []string{"nope"} }, "policies[0].scope.directories[0]"},
		{"ou not a DN", func(p *config.Policy) { p.Scope.OUs = []string{"finance"} }, "policies[0].scope.ous[0]"},
		{"group not a DN", func(p *config.Policy) { p.Scope.Groups = []string{"admins"} }, "policies[0].scope.groups[0]"},
		{"filter unbalanced", func(p *config.Policy) { p.Scope.Filter = "(department=Finance" }, "policies[0].scope.filter"},
		{"factor not offered to everybody", func(p *config.Policy) { p.Factors = []string{"sms"} }, "policies[0].factors[0]"},
		{"factor twice", func(p *config.Policy) { p.Factors = []string{"totp", "totp"} }, "policies[0].factors[1]"},
		{"four factors", func(p *config.Policy) { p.Required.Reset = 4 }, "policies[0].required.reset"},
		{"more than offered", func(p *config.Policy) { p.Factors = []string{"totp"}; p.Required.Unlock = 2 }, "policies[0].required.unlock"},
		{"mandatory not offered", func(p *config.Policy) { p.Factors = []string{"totp", "email"}; p.Mandatory = []string{"passkey"} }, "policies[0].mandatory[0]"},
		{"more mandatory than required", func(p *config.Policy) {
			p.Mandatory = []string{"passkey", "totp"}
			p.Required = config.Required{Reset: 1, Unlock: 1}
		}, "policies[0].mandatory"},
		{"unknown preset", func(p *config.Policy) { p.PasswordPreset = "strong" }, "policies[0].password_preset"},
		{"enroll kind not offered", func(p *config.Policy) { p.Factors = []string{"totp"}; p.Enrollment.Required = []string{"passkey"} }, "policies[0].enrollment.required[0]"},
		{"enroll minimum too high", func(p *config.Policy) { p.Enrollment.Minimum = 9 }, "policies[0].enrollment.minimum"},
		{"empty notice", func(p *config.Policy) { p.Notices = []string{""} }, "policies[0].notices[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, validYAML+policiesYAML, nil)
			tc.mutate(&c.Policies[0])
			if _, ok := find(problemsOf(t, config.Validate(c)), tc.key); !ok {
				t.Errorf("no problem at %s", tc.key)
			}
		})
	}
	c := mustParse(t, validYAML+policiesYAML, nil)
	c.Policies[1].Name = "admins"
	if _, ok := find(problemsOf(t, config.Validate(c)), "policies[1].name"); !ok {
		t.Error("a name used twice is not reported")
	}
}

// TestPolicyWarnings: a catch-all policy before others, and sending
// unenrolled people to enrollment (which reveals them), are warned about.
func TestPolicyWarnings(t *testing.T) {
	t.Parallel()
	c := mustParse(t, validYAML+policiesYAML+"enrollment:\n  redirect_unenrolled: true\n", nil)
	c.Policies[0].Scope = config.PolicyScope{}
	var got []string
	for _, w := range c.Warnings() {
		got = append(got, w.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"policies[0].scope: covers everybody, so the 1 policies after it never apply",
		"enrollment.redirect_unenrolled: reveals enrollment"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}

// A group or filter scope that can reach a directory unable to answer it
// is refused: choosing the policy would fail for everybody there.
func TestPolicyScopeTheDirectoryCannotAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dirType string
		scope   config.PolicyScope
		key     string
	}{
		{"connector", config.PolicyScope{Filter: "(department=Finance)"}, "policies[0].scope.filter"},
		{"entra", config.PolicyScope{Filter: "(department=Finance)"}, "policies[0].scope.filter"},
		{"entra", config.PolicyScope{Groups: []string{"CN=Admins,DC=example,DC=test"}}, "policies[0].scope.groups"},
	} {
		c := mustParse(t, validYAML+policiesYAML, nil)
		c.Directories[0].Type = tc.dirType
		c.Policies[0].Scope = tc.scope
		if _, ok := find(problemsOf(t, config.Validate(c)), tc.key); !ok {
			t.Errorf("%s with %+v: no problem at %s", tc.dirType, tc.scope, tc.key)
		}
		// Limited to other directories, the same scope is fine.
		c.Directories = append(c.Directories, c.Directories[0])
		c.Directories[1].Name, c.Directories[1].Type = "other", "openldap"
		c.Policies[0].Scope.Directories = []string{"other"}
		if pr, ok := find(problemsOf(t, config.Validate(c)), tc.key); ok {
			t.Errorf("%s, scope limited to another directory: %v", tc.dirType, pr)
		}
	}
}
