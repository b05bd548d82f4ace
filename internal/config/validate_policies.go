package config

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/go-ldap/ldap/v3"
)

var policyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// validatePolicies checks policies: (docs/policies.md), every problem
// with its key. A policy's factors must be among verification.factors:
// that list is what everybody is offered at the first step, so a policy
// can narrow it afterwards but never add a kind a stranger was not shown.
func (c *Config) validatePolicies(p *Problems) {
	names := map[string]bool{}
	dirs := map[string]bool{}
	for _, d := range c.Directories {
		dirs[d.Name] = true
	}
	for i, pol := range c.Policies {
		key := fmt.Sprintf("policies[%d]", i)
		switch {
		case !policyName.MatchString(pol.Name):
			p.addf(key+".name", "%q is not a policy name (letters, digits, _ . -; at most 64)", pol.Name)
		case names[pol.Name]:
			p.addf(key+".name", "%q is used twice", pol.Name)
		case pol.Name == "default":
			p.add(key+".name", `"default" is reserved for the directories' default policies`)
		}
		names[pol.Name] = true
		for j, d := range pol.Scope.Directories {
			if !dirs[d] {
				p.addf(fmt.Sprintf("%s.scope.directories[%d]", key, j), "%q is not the name of a configured directory", d)
			}
		}
		for j, dn := range pol.Scope.OUs {
			if parsed, err := ldap.ParseDN(dn); err != nil || len(parsed.RDNs) == 0 {
				p.addf(fmt.Sprintf("%s.scope.ous[%d]", key, j), "%q is not a DN", dn)
			}
		}
		for j, dn := range pol.Scope.Groups {
			if parsed, err := ldap.ParseDN(dn); err != nil || len(parsed.RDNs) == 0 {
				p.addf(fmt.Sprintf("%s.scope.groups[%d]", key, j), "%q is not a DN", dn)
			}
		}
		checkFilter(p, key+".scope.filter", pol.Scope.Filter)
		c.checkScopeAnswerable(p, key, pol)
		factors := pol.Factors
		if len(factors) == 0 {
			factors = c.Verification.Factors
		}
		seen := map[string]bool{}
		for j, f := range pol.Factors {
			fk := fmt.Sprintf("%s.factors[%d]", key, j)
			switch {
			case !slices.Contains(c.Verification.Factors, f):
				p.addf(fk, "%q is not in verification.factors (everybody's first step offers those; a policy may only narrow them)", f)
			case seen[f]:
				p.addf(fk, "%q is listed twice", f)
			}
			seen[f] = true
		}
		for _, a := range []struct {
			name string
			n    int
		}{{"reset", pol.Required.Reset}, {"unlock", pol.Required.Unlock}} {
			rk := key + ".required." + a.name
			switch {
			case a.n < 0 || a.n > 3:
				p.addf(rk, "%d is not 1, 2 or 3 (0 keeps verification.required)", a.n)
			case a.n > len(factors):
				p.addf(rk, "asks for %d factors but the policy offers %d", a.n, len(factors))
			}
		}
		need := func(n, global int) int {
			if n > 0 {
				return n
			}
			return global
		}
		minNeed := min(need(pol.Required.Reset, c.Verification.Required.Reset), need(pol.Required.Unlock, c.Verification.Required.Unlock))
		if slices.Contains(factors, "questions") && (len(factors) == 1 || minNeed < 2) {
			p.add(key+".factors", "with security questions offered, require at least 2 factors of at least 2 kinds: questions can never be the only proof")
		}
		for j, m := range pol.Mandatory {
			if !slices.Contains(factors, m) {
				p.addf(fmt.Sprintf("%s.mandatory[%d]", key, j), "%q is not among the policy's factors", m)
			}
		}
		if len(pol.Mandatory) > minNeed && minNeed > 0 {
			p.addf(key+".mandatory", "%d mandatory kinds but an action needs only %d factors: raise required", len(pol.Mandatory), minNeed)
		}
		switch pol.PasswordPreset {
		case "", "nist-800-63b-4", "pci-dss-4", "ad-complexity", "custom":
		default:
			p.addf(key+".password_preset", "%q is not one of nist-800-63b-4, pci-dss-4, ad-complexity, custom", pol.PasswordPreset)
		}
		for j, k := range pol.Enrollment.Required {
			if !slices.Contains(factors, k) {
				p.addf(fmt.Sprintf("%s.enrollment.required[%d]", key, j), "%q is not among the policy's factors", k)
			}
		}
		if pol.Enrollment.Minimum < 0 || pol.Enrollment.Minimum > len(factors) {
			p.addf(key+".enrollment.minimum", "%d is outside 0..%d (the policy's factors)", pol.Enrollment.Minimum, len(factors))
		}
		for j, n := range pol.Notices {
			if n == "" || len(n) > 500 {
				p.addf(fmt.Sprintf("%s.notices[%d]", key, j), "must be 1 to 500 characters")
			}
		}
	}
}

// policyWarnings are policy settings that work but deserve a second look.
func (c *Config) policyWarnings() []Problem {
	var w []Problem
	for i, pol := range c.Policies {
		s := pol.Scope
		if len(s.Directories) == 0 && len(s.OUs) == 0 && len(s.Groups) == 0 && s.Filter == "" && i < len(c.Policies)-1 {
			w = append(w, Problem{Path: fmt.Sprintf("policies[%d].scope", i),
				Message: fmt.Sprintf("covers everybody, so the %d policies after it never apply", len(c.Policies)-1-i)})
		}
	}
	if c.Enrollment.RedirectUnenrolled {
		w = append(w, Problem{Path: "enrollment.redirect_unenrolled",
			Message: "reveals enrollment: anyone can learn which logins exist and have not enrolled enough factors"})
	}
	return w
}

// checkScopeAnswerable refuses a group or filter scope that can reach a
// directory unable to answer it: Entra ID (Graph) answers neither, an
// outbound connector no filter. Choosing the policy would fail for every
// person there — after their first factor, for every reset.
func (c *Config) checkScopeAnswerable(p *Problems, key string, pol Policy) {
	if len(pol.Scope.Groups) == 0 && pol.Scope.Filter == "" {
		return
	}
	for _, d := range c.Directories {
		if len(pol.Scope.Directories) > 0 && !slices.Contains(pol.Scope.Directories, d.Name) {
			continue
		}
		switch {
		case d.Type == "entra" && len(pol.Scope.Groups) > 0:
			p.addf(key+".scope.groups", "directory %q (type entra) cannot answer group membership here; limit the policy with scope.directories", d.Name)
		case (d.Type == "entra" || d.Type == "connector") && pol.Scope.Filter != "":
			p.addf(key+".scope.filter", "directory %q (type %s) cannot evaluate LDAP filters; limit the policy with scope.directories", d.Name, d.Type)
		}
	}
}
