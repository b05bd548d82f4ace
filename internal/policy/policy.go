package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
)

// Action is something a policy switches on or off.
type Action string

// The actions a policy governs.
const (
	Reset  Action = "reset"
	Unlock Action = "unlock"
	Change Action = "change"
	Enroll Action = "enroll"
)

// Actions lists every action, in the order explanations show them.
var Actions = []Action{Reset, Unlock, Change, Enroll}

// Scope is the population a policy applies to. Every rule given must hold
// (an empty scope matches everybody); within a rule, any one value does.
type Scope struct {
	// Directories are configured directory names.
	Directories []string
	// OUs are DNs: the person's entry must lie below one of them.
	OUs []string
	// Groups are group DNs the person must be in, directly or nested.
	Groups []string
	// Filter is an LDAP filter the person's entry must match, evaluated by
	// the directory.
	Filter string
}

// Empty reports whether the scope matches everybody.
func (s Scope) Empty() bool {
	return len(s.Directories) == 0 && len(s.OUs) == 0 && len(s.Groups) == 0 && s.Filter == ""
}

// Policy is the rules for one population.
type Policy struct {
	// Name identifies the policy in explanations and audit records.
	Name  string
	Scope Scope
	// Off lists the actions this population may not take.
	Off map[Action]bool
	// Factors are the kinds this population may verify with, in order.
	Factors []factor.Kind
	// Required is how many distinct factors of Factors each action needs.
	Required map[Action]int
	// Mandatory kinds must be among them (a passkey for administrators).
	Mandatory []factor.Kind
	// PasswordPreset names the password rules preset; empty keeps the
	// global rules.
	PasswordPreset string
	// EnrollRequired are kinds the person must enroll; EnrollMinimum how
	// many distinct kinds they must have enrolled.
	EnrollRequired []factor.Kind
	EnrollMinimum  int
	// Notices are shown to the person once a first factor is verified.
	Notices []string
	// Default marks a directory's default policy (none of the configured
	// ones matched).
	Default bool
}

// Allows reports whether the policy lets its population take action a.
func (p *Policy) Allows(a Action) bool { return !p.Off[a] }

// Offers reports whether k is among the policy's factors.
func (p *Policy) Offers(k factor.Kind) bool { return slices.Contains(p.Factors, k) }

// Needs is how many distinct factors action a needs (at least 1).
func (p *Policy) Needs(a Action) int { return max(p.Required[a], 1) }

// Request is what is known of the request being decided: the hook for
// conditions on the request (conditional access: network, time, device),
// which population rules ignore.
type Request struct {
	ClientIP string
	At       time.Time
}

// Directories finds a configured directory by name (directory.Set).
type Directories interface {
	Directory(name string) (directory.Directory, bool)
}

// Check is one rule checked while choosing a policy.
type Check struct {
	Policy  string
	Rule    string // directory, ou, group, filter, or default
	Matched bool
	Detail  string
}

// Decision is the policy chosen for a person and why.
type Decision struct {
	Policy *Policy
	// Checks are the rules checked, in order; the last policy named is the
	// one that applies.
	Checks []Check
}

// Set is the configured policies, in order, and the default policy of
// each directory.
type Set struct {
	policies []*compiled
	defaults map[string]*Policy
	fallback *Policy
}

type compiled struct {
	*Policy
	ous, groups []*ldap.DN
}

// New checks and prepares policies. defaults are the default policies by
// directory name; fallback applies to a directory without one.
func New(policies []*Policy, defaults map[string]*Policy, fallback *Policy) (*Set, error) {
	if fallback == nil {
		return nil, errors.New("policy: a fallback default policy is required")
	}
	s := &Set{defaults: defaults, fallback: fallback}
	seen := map[string]bool{}
	for i, p := range policies {
		if p.Name == "" || seen[p.Name] {
			return nil, fmt.Errorf("policy %d: the name %q is empty or used twice", i, p.Name)
		}
		seen[p.Name] = true
		c, err := compile(p)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", p.Name, err)
		}
		s.policies = append(s.policies, c)
	}
	return s, nil
}

// compile parses a policy's DNs and checks its filter, so a scope that
// could never be evaluated is refused at start-up, not at a person's
// first step.
func compile(p *Policy) (*compiled, error) {
	c := &compiled{Policy: p}
	for _, raw := range p.Scope.OUs {
		dn, err := ldap.ParseDN(raw)
		if err != nil || len(dn.RDNs) == 0 {
			return nil, fmt.Errorf("ou %q is not a DN", raw)
		}
		c.ous = append(c.ous, dn)
	}
	for _, raw := range p.Scope.Groups {
		dn, err := ldap.ParseDN(raw)
		if err != nil || len(dn.RDNs) == 0 {
			return nil, fmt.Errorf("group %q is not a DN", raw)
		}
		c.groups = append(c.groups, dn)
	}
	if p.Scope.Filter != "" {
		if err := CheckFilter(p.Scope.Filter); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// CheckFilter reports whether f is one well-formed LDAP filter in
// parentheses.
func CheckFilter(f string) error {
	if !strings.HasPrefix(f, "(") || !strings.HasSuffix(f, ")") {
		return fmt.Errorf("filter %q is not an LDAP filter in parentheses", f)
	}
	if _, err := ldap.CompileFilter(f); err != nil {
		return fmt.Errorf("filter %q is not an LDAP filter: %v", f, err)
	}
	return nil
}

// Names lists the configured policies' names, in order.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.policies))
	for _, p := range s.policies {
		out = append(out, p.Name)
	}
	return out
}

// ByName finds a configured or default policy by name; nil if none.
func (s *Set) ByName(name string) *Policy {
	for _, p := range s.policies {
		if p.Name == name {
			return p.Policy
		}
	}
	for _, p := range s.defaults {
		if p.Name == name {
			return p
		}
	}
	if s.fallback.Name == name {
		return s.fallback
	}
	return nil
}

// Default is the policy for people of directory dir whom no configured
// policy matches.
func (s *Set) Default(dir string) *Policy {
	if p, ok := s.defaults[dir]; ok {
		return p
	}
	return s.fallback
}

// Evaluate chooses the policy for u: the first configured policy whose
// scope holds, else u's directory's default. Group membership is read
// once, and only when a policy asks; a question the directory cannot
// answer (it is down, or has no groups or filters) is an error, never a
// silent "no match" that would drop a person to a weaker policy.
//
// req is not used by population rules; it is where conditional access
// will read the client address and the time.
func (s *Set) Evaluate(ctx context.Context, req Request, u *directory.User, dirs Directories) (*Decision, error) {
	_ = req
	if u == nil {
		return nil, errors.New("policy: no user")
	}
	d := &Decision{}
	var dir directory.Directory
	if dirs != nil {
		dir, _ = dirs.Directory(u.Directory)
	}
	var (
		groups     []*ldap.DN
		groupsRead bool
	)
	userDN, dnErr := ldap.ParseDN(u.DN)
	for _, p := range s.policies {
		if len(p.Scope.Directories) > 0 {
			ok := slices.Contains(p.Scope.Directories, u.Directory)
			d.add(p.Name, "directory", ok, fmt.Sprintf("%s in [%s]", u.Directory, strings.Join(p.Scope.Directories, ", ")))
			if !ok {
				continue
			}
		}
		if len(p.ous) > 0 {
			if dnErr != nil {
				return nil, fmt.Errorf("policy %s: the entry's DN %q cannot be parsed: %w", p.Name, u.DN, dnErr)
			}
			var in string
			for i, ou := range p.ous {
				if ou.AncestorOfFold(userDN) {
					in = p.Scope.OUs[i]
					break
				}
			}
			if in != "" {
				d.add(p.Name, "ou", true, "entry is below "+in)
			} else {
				d.add(p.Name, "ou", false, "entry is below none of ["+strings.Join(p.Scope.OUs, "; ")+"]")
				continue
			}
		}
		if len(p.groups) > 0 {
			if !groupsRead {
				gr, ok := dir.(directory.GroupResolver)
				if !ok {
					return nil, fmt.Errorf("policy %s: directory %s cannot answer group membership", p.Name, u.Directory)
				}
				raw, err := gr.Groups(ctx, u)
				if err != nil {
					return nil, fmt.Errorf("policy %s: reading groups: %w", p.Name, err)
				}
				for _, g := range raw {
					if dn, err := ldap.ParseDN(g); err == nil {
						groups = append(groups, dn)
					}
				}
				groupsRead = true
			}
			var in string
			for i, want := range p.groups {
				if slices.ContainsFunc(groups, want.EqualFold) {
					in = p.Scope.Groups[i]
					break
				}
			}
			if in != "" {
				d.add(p.Name, "group", true, "member (directly or nested) of "+in)
			} else {
				d.add(p.Name, "group", false, "member of none of ["+strings.Join(p.Scope.Groups, "; ")+"]")
				continue
			}
		}
		if p.Scope.Filter != "" {
			fm, ok := dir.(directory.FilterMatcher)
			if !ok {
				return nil, fmt.Errorf("policy %s: directory %s cannot evaluate LDAP filters", p.Name, u.Directory)
			}
			ok, err := fm.MatchesFilter(ctx, u, p.Scope.Filter)
			if err != nil {
				return nil, fmt.Errorf("policy %s: evaluating the filter: %w", p.Name, err)
			}
			d.add(p.Name, "filter", ok, "entry matches "+p.Scope.Filter)
			if !ok {
				continue
			}
		}
		if p.Scope.Empty() {
			d.add(p.Name, "everyone", true, "the scope is empty: it applies to everybody")
		}
		d.Policy = p.Policy
		return d, nil
	}
	d.Policy = s.Default(u.Directory)
	d.add(d.Policy.Name, "default", true, "no policy matched: the default policy of directory "+u.Directory)
	return d, nil
}

func (d *Decision) add(policy, rule string, matched bool, detail string) {
	if !matched {
		detail = strings.Replace(detail, "entry matches", "entry does not match", 1)
	}
	d.Checks = append(d.Checks, Check{Policy: policy, Rule: rule, Matched: matched, Detail: detail})
}
