package access

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

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

// Hours is a daily window [From, To) in minutes after midnight; a window
// whose end comes before its start runs past midnight (22:00-06:00).
type Hours struct {
	From, To int
}

// Contains reports whether minute m of the day is inside the window.
func (h Hours) Contains(m int) bool {
	if h.From < h.To {
		return m >= h.From && m < h.To
	}
	return m >= h.From || m < h.To
}

func (h Hours) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", h.From/60, h.From%60, h.To/60, h.To%60)
}

// ParseHours reads "HH:MM-HH:MM" (24-hour clock; "24:00" ends a day).
func ParseHours(s string) (Hours, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Hours{}, fmt.Errorf("%q is not a window HH:MM-HH:MM", s)
	}
	f, err := parseClock(strings.TrimSpace(from))
	if err != nil {
		return Hours{}, fmt.Errorf("%q: %w", s, err)
	}
	t, err := parseClock(strings.TrimSpace(to))
	if err != nil {
		return Hours{}, fmt.Errorf("%q: %w", s, err)
	}
	if f == 24*60 {
		return Hours{}, fmt.Errorf("%q: a window cannot start at 24:00", s)
	}
	if t == 24*60 {
		t = 0
	}
	if f == t {
		return Hours{}, fmt.Errorf("%q is empty (use no hours for all day)", s)
	}
	return Hours{From: f, To: t}, nil
}

func parseClock(s string) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) != 2 || len(mm) != 2 || strings.Trim(hh+mm, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return h*60 + m, nil
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseWeekday reads a weekday: its English name or first three letters,
// any case.
func ParseWeekday(s string) (time.Weekday, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if len(l) >= 3 {
		if d, ok := weekdays[l[:3]]; ok && strings.HasPrefix(strings.ToLower(d.String()), l) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%q is not a weekday (mon, tue, ... sun)", s)
}

// ParseNetwork reads a CIDR prefix or a single address (a /32 or /128).
// IPv4-mapped IPv6 forms are unmapped, as client addresses are.
func ParseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR network", s)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("%q is not a CIDR network", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR network", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseCountry checks an ISO 3166-1 alpha-2 code and upper-cases it.
func ParseCountry(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return "", fmt.Errorf("%q is not a two-letter ISO country code", s)
	}
	return c, nil
}

// Rule is one conditional-access rule: every condition given must hold
// (an empty set of conditions holds always); within a condition, any one
// value does.
type Rule struct {
	Name string
	// Policies, when set, limits the rule to people of these policies: it
	// is then decided only after the first factor.
	Policies  []string
	Networks  []netip.Prefix
	Hours     *Hours
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

// New checks the rules. geo may be nil when no rule names countries.
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
		if len(r.Countries) > 0 && geo == nil {
			return nil, errors.New("access rule " + r.Name + ": countries need a GeoIP database (geoip.database)")
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
