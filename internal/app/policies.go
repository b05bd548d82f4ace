package app

import (
	"fmt"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/password/breach"
	"github.com/sspr/sspr/internal/policy"
)

// Policies builds the policies of cfg (docs/policies.md): the configured
// ones in order, and for each directory a default made of the global
// settings (verification:, all actions on), so a configuration without
// policies: keeps working as it always did.
func Policies(cfg *config.Config) (*policy.Set, error) {
	global := make([]factor.Kind, 0, len(cfg.Verification.Factors))
	for _, k := range cfg.Verification.Factors {
		global = append(global, factor.Kind(k))
	}
	required := map[policy.Action]int{policy.Reset: cfg.Verification.Required.Reset, policy.Unlock: cfg.Verification.Required.Unlock}
	defaults := map[string]*policy.Policy{}
	for _, d := range cfg.Directories {
		defaults[d.Name] = &policy.Policy{Name: "default/" + d.Name, Factors: global, Required: required, Default: true}
	}
	fallback := &policy.Policy{Name: "default", Factors: global, Required: required, Default: true}
	var ps []*policy.Policy
	for _, c := range cfg.Policies {
		p := &policy.Policy{Name: c.Name, Scope: policy.Scope{Directories: c.Scope.Directories, OUs: c.Scope.OUs, Groups: c.Scope.Groups, Filter: c.Scope.Filter},
			Off: map[policy.Action]bool{}, Factors: kinds(c.Factors), Mandatory: kinds(c.Mandatory), PasswordPreset: c.PasswordPreset,
			EnrollRequired: kinds(c.Enrollment.Required), EnrollMinimum: c.Enrollment.Minimum, Notices: c.Notices,
			Required: map[policy.Action]int{policy.Reset: c.Required.Reset, policy.Unlock: c.Required.Unlock}}
		if len(p.Factors) == 0 {
			p.Factors = global
		}
		for a, on := range map[policy.Action]*bool{policy.Reset: c.Actions.Reset, policy.Unlock: c.Actions.Unlock,
			policy.Change: c.Actions.Change, policy.Enroll: c.Actions.Enroll} {
			if on != nil && !*on {
				p.Off[a] = true
			}
		}
		for a, n := range p.Required {
			if n == 0 {
				p.Required[a] = required[a]
			}
		}
		ps = append(ps, p)
	}
	return policy.New(ps, defaults, fallback)
}

func kinds(ss []string) []factor.Kind {
	out := make([]factor.Kind, 0, len(ss))
	for _, s := range ss {
		out = append(out, factor.Kind(s))
	}
	return out
}

// presetRules builds the password rules of each preset a policy names
// other than password.preset: the preset as it stands, with the global
// banned words and the one breach corpus (a policy picks a preset, not a
// second copy of every password: key).
func presetRules(cfg *config.Config, corpus *breach.Checker) (map[string]flow.PasswordRules, error) {
	out := map[string]flow.PasswordRules{}
	for i, pol := range cfg.Policies {
		name := pol.PasswordPreset
		if name == "" || name == cfg.Password.Preset || out[name] != nil {
			continue
		}
		p, err := password.Preset(name, password.MultiFactor(cfg.Password.MultiFactor))
		if err != nil {
			return nil, fmt.Errorf("policies[%d].password_preset: %w", i, err)
		}
		p.BannedWords.Words = append(p.BannedWords.Words, cfg.Password.BannedWords...)
		var lookup password.BreachChecker
		p.Breach.Enabled, p.Breach.OnError = corpus != nil, cfg.Password.Breach.OnError
		if corpus != nil {
			lookup = breachLookup{corpus}
		}
		rules, err := password.NewRules(p, lookup, cfg.Password.MergeDirectoryPolicy)
		if err != nil {
			return nil, fmt.Errorf("policies[%d].password_preset: %w", i, err)
		}
		out[name] = rules
	}
	return out, nil
}
