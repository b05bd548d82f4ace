package config

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/sspr/sspr/internal/access/when"
)

// validateAccess checks access: and geoip: (docs/policies.md), every
// problem with its key.
func (c *Config) validateAccess(p *Problems) {
	policies := map[string]bool{}
	for _, pol := range c.Policies {
		policies[pol.Name] = true
	}
	names := map[string]bool{}
	for i, r := range c.Access {
		key := fmt.Sprintf("access[%d]", i)
		switch {
		case !policyName.MatchString(r.Name):
			p.addf(key+".name", "%q is not a rule name (letters, digits, _ . -; at most 64)", r.Name)
		case names[r.Name]:
			p.addf(key+".name", "%q is used twice", r.Name)
		}
		names[r.Name] = true
		for j, n := range r.Policies {
			if !policies[n] {
				p.addf(fmt.Sprintf("%s.policies[%d]", key, j), "%q is not the name of a configured policy", n)
			}
		}
		for j, n := range r.Networks {
			if _, err := when.ParseNetwork(n); err != nil {
				p.add(fmt.Sprintf("%s.networks[%d]", key, j), err.Error())
			}
		}
		if r.Hours != "" {
			if _, err := when.ParseHours(r.Hours); err != nil {
				p.add(key+".hours", err.Error())
			}
		}
		for j, d := range r.Weekdays {
			if _, err := when.ParseWeekday(d); err != nil {
				p.add(fmt.Sprintf("%s.weekdays[%d]", key, j), err.Error())
			}
		}
		if r.TimeZone != "" {
			if _, err := time.LoadLocation(r.TimeZone); err != nil {
				p.addf(key+".time_zone", "%q is not an IANA time zone (Europe/Paris, America/New_York, UTC)", r.TimeZone)
			}
		}
		for j, cc := range r.Countries {
			if _, err := when.ParseCountry(cc); err != nil {
				p.add(fmt.Sprintf("%s.countries[%d]", key, j), err.Error())
			}
		}
		switch r.Device {
		case "", "known", "unknown":
		default:
			p.addf(key+".device", "%q is neither known nor unknown", r.Device)
		}
		switch r.Effect {
		case "allow", "add_factor", "refuse":
			if r.Kind != "" {
				p.add(key+".kind", "is only for effect: require_kind")
			}
		case "require_kind":
			if !slices.Contains(c.Verification.Factors, r.Kind) {
				p.addf(key+".kind", "%q is not among verification.factors", r.Kind)
			}
		default:
			p.addf(key+".effect", "%q is not allow, add_factor, require_kind or refuse", r.Effect)
		}
		if len(r.Message) > 500 {
			p.add(key+".message", "must be at most 500 characters")
		}
		if r.Message != "" && r.Effect != "refuse" {
			p.add(key+".message", "is only shown with effect: refuse")
		}
	}
	if c.GeoIP.Database != "" {
		if _, err := os.Stat(c.GeoIP.Database); err != nil {
			p.addf("geoip.database", "cannot be read: %v", err)
		}
	}
}

// accessWarnings are access rules that work but deserve a second look.
func (c *Config) accessWarnings() []Problem {
	var w []Problem
	for i, r := range c.Access {
		key := fmt.Sprintf("access[%d]", i)
		if len(r.Countries) > 0 && c.GeoIP.Database == "" {
			w = append(w, Problem{Path: key + ".countries", Message: "no geoip.database is configured: the countries never match, so this rule never applies"})
		}
		if (r.Hours != "" || len(r.Weekdays) > 0) && r.TimeZone == "" {
			w = append(w, Problem{Path: key + ".time_zone", Message: "is not set: hours and weekdays are read in UTC"})
		}
		if len(r.Policies) == 0 && len(r.Networks) == 0 && r.Hours == "" && len(r.Weekdays) == 0 && len(r.Countries) == 0 && r.Device == "" &&
			i < len(c.Access)-1 {
			w = append(w, Problem{Path: key, Message: fmt.Sprintf("has no conditions, so the %d rules after it never apply", len(c.Access)-1-i)})
		}
	}
	return w
}
