package access

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/access/when"
	"github.com/sspr/sspr/internal/factor"
)

// Effect is what a matching rule does.
type Effect string

// The effects a rule can have.
const (
	// Allow lets the request go on as the policy says.
	Allow Effect = "allow"
	// AddFactor asks for one more distinct factor than the policy does.
	AddFactor Effect = "add_factor"
	// RequireKind makes one kind of factor mandatory.
	RequireKind Effect = "require_kind"
	// Refuse ends the request with the rule's message and the help desk.
	Refuse Effect = "refuse"
)

// Device conditions.
const (
	DeviceKnown   = "known"
	DeviceUnknown = "unknown"
)

// Rule is one conditional-access rule: every condition given must hold
// (an empty set of conditions holds always); within a condition, any one
// value does.
type Rule struct {
	Name string
	// Policies, when set, limits the rule to people of these policies: it
	// is then decided only after the first factor.
	Policies  []string
	Networks  []netip.Prefix
	Hours     *when.Hours
	Weekdays  []time.Weekday
	Location  *time.Location // for Hours and Weekdays; UTC when nil
	Countries []string
	Device    string // "", DeviceKnown or DeviceUnknown
	Effect    Effect
	// Kind is the factor RequireKind requires.
	Kind factor.Kind
	// Message is shown with a refusal (with the help-desk contact).
	Message string
}

// Device is what is known of the device a request comes from.
type Device struct {
	// Known: a valid known-device cookie, or a registered agent.
	Known bool
	// Via says how ("cookie", "agent <id>"), for the audit log.
	Via string
}

// Request is what the rules look at.
type Request struct {
	ClientIP string
	At       time.Time
	Device   Device
}

// Countries finds the country of an address (ISO code, "" when unknown).
type Countries interface {
	Country(ip netip.Addr) (string, error)
}

// Decision is what the rules decided and why.
type Decision struct {
	// Rule is the name of the rule that matched; empty when none did
	// (then Effect is Allow).
	Rule    string
	Effect  Effect
	Kind    factor.Kind
	Message string
	// Reason explains the decision in words, for the audit log.
	Reason string
}

// Set is the configured rules, in order: the first whose conditions hold
// decides.
type Set struct {
	rules []*Rule
	geo   Countries
}

// New checks the rules. Without geo (no database configured; `config
// check` warns) a rule naming countries never holds.
func New(rules []*Rule, geo Countries) (*Set, error) {
	seen := map[string]bool{}
	for i, r := range rules {
		if r.Name == "" || seen[r.Name] {
			return nil, fmt.Errorf("access rule %d: the name %q is empty or used twice", i, r.Name)
		}
		seen[r.Name] = true
		switch r.Effect {
		case Allow, AddFactor, Refuse:
		case RequireKind:
			if r.Kind == "" {
				return nil, fmt.Errorf("access rule %s: require_kind needs a kind", r.Name)
			}
		default:
			return nil, fmt.Errorf("access rule %s: unknown effect %q", r.Name, r.Effect)
		}
	}
	return &Set{rules: rules, geo: geo}, nil
}

// Rule finds a rule by name; nil if none.
func (s *Set) Rule(name string) *Rule {
	if s == nil {
		return nil
	}
	for _, r := range s.rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Decide applies the rules to req. At the first step (policy == "") rules
// that name policies are skipped: nothing about the person is known yet,
// and the decision must be everybody's. Afterwards, a rule naming
// policies applies only to people of one of them.
func (s *Set) Decide(req Request, policy string) Decision {
	if s == nil {
		return Decision{Effect: Allow, Reason: "no access rules"}
	}
	for _, r := range s.rules {
		if len(r.Policies) > 0 && (policy == "" || !slices.Contains(r.Policies, policy)) {
			continue
		}
		why, ok := s.holds(r, req)
		if !ok {
			continue
		}
		return Decision{Rule: r.Name, Effect: r.Effect, Kind: r.Kind, Message: r.Message,
			Reason: fmt.Sprintf("rule %s: %s", r.Name, why)}
	}
	return Decision{Effect: Allow, Reason: "no rule matched"}
}

// holds reports whether every condition of r holds for req, and what they
// were.
func (s *Set) holds(r *Rule, req Request) (string, bool) {
	var why []string
	addr, addrErr := netip.ParseAddr(req.ClientIP)
	addr = addr.Unmap()
	if len(r.Networks) > 0 {
		if addrErr != nil {
			return "", false
		}
		i := slices.IndexFunc(r.Networks, func(p netip.Prefix) bool { return p.Contains(addr) })
		if i < 0 {
			return "", false
		}
		why = append(why, fmt.Sprintf("address %s in %s", addr, r.Networks[i]))
	}
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	at := req.At.In(loc)
	if r.Hours != nil {
		if !r.Hours.Contains(at.Hour()*60 + at.Minute()) {
			return "", false
		}
		why = append(why, fmt.Sprintf("%s %s within %s", at.Format("15:04"), loc, r.Hours))
	}
	if len(r.Weekdays) > 0 {
		if !slices.Contains(r.Weekdays, at.Weekday()) {
			return "", false
		}
		why = append(why, fmt.Sprintf("%s in %s", at.Weekday(), loc))
	}
	if len(r.Countries) > 0 {
		if addrErr != nil || s.geo == nil {
			return "", false
		}
		c, err := s.geo.Country(addr)
		if err != nil || !slices.Contains(r.Countries, c) {
			return "", false
		}
		why = append(why, "country "+c)
	}
	switch r.Device {
	case DeviceKnown:
		if !req.Device.Known {
			return "", false
		}
		why = append(why, "known device ("+req.Device.Via+")")
	case DeviceUnknown:
		if req.Device.Known {
			return "", false
		}
		why = append(why, "unknown device")
	}
	if len(why) == 0 {
		return "no conditions (applies to every request)", true
	}
	return strings.Join(why, "; "), true
}

// For lists the rules that can decide for people of policy, in order:
// the rules for everybody and those naming policy.
func (s *Set) For(policy string) []*Rule {
	if s == nil {
		return nil
	}
	var out []*Rule
	for _, r := range s.rules {
		if len(r.Policies) == 0 || slices.Contains(r.Policies, policy) {
			out = append(out, r)
		}
	}
	return out
}

// Describe says a rule's conditions and effect in words, for operators
// (`sspr policy explain`).
func (r *Rule) Describe() string {
	var when []string
	if len(r.Networks) > 0 {
		nets := make([]string, len(r.Networks))
		for i, n := range r.Networks {
			nets[i] = n.String()
		}
		when = append(when, "from "+strings.Join(nets, ", "))
	}
	loc := "UTC"
	if r.Location != nil {
		loc = r.Location.String()
	}
	if r.Hours != nil {
		when = append(when, fmt.Sprintf("%s %s", r.Hours, loc))
	}
	if len(r.Weekdays) > 0 {
		days := make([]string, len(r.Weekdays))
		for i, d := range r.Weekdays {
			days[i] = d.String()[:3]
		}
		when = append(when, strings.Join(days, ",")+" in "+loc)
	}
	if len(r.Countries) > 0 {
		when = append(when, "country "+strings.Join(r.Countries, ", "))
	}
	if r.Device != "" {
		when = append(when, r.Device+" device")
	}
	cond := "always"
	if len(when) > 0 {
		cond = strings.Join(when, "; ")
	}
	effect := string(r.Effect)
	switch r.Effect {
	case RequireKind:
		effect += " " + string(r.Kind)
	case Refuse:
		if r.Message != "" {
			effect += fmt.Sprintf(" (%q)", r.Message)
		}
	}
	scope := "everybody"
	if len(r.Policies) > 0 {
		scope = "policies " + strings.Join(r.Policies, ", ")
	}
	return fmt.Sprintf("%s: %s → %s [%s]", r.Name, cond, effect, scope)
}
