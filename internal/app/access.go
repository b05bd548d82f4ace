package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/access"
	"github.com/sspr/sspr/internal/access/when"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/factor"
)

// Access builds conditional access from cfg (docs/policies.md): the rules
// in order and, when geoip.database is set, the country database (the
// caller closes it). nil without rules. config.Validate has checked every
// value; an error here is one it could not foresee (a database that does
// not open).
func Access(cfg *config.Config) (*access.Set, *access.GeoIP, error) {
	if len(cfg.Access) == 0 {
		return nil, nil, nil
	}
	var geo *access.GeoIP
	if cfg.GeoIP.Database != "" {
		g, err := access.OpenGeoIP(cfg.GeoIP.Database)
		if err != nil {
			return nil, nil, fmt.Errorf("geoip.database: %w", err)
		}
		geo = g
	}
	rules := make([]*access.Rule, 0, len(cfg.Access))
	for i, c := range cfg.Access {
		r, err := accessRule(c)
		if err != nil {
			closeGeo(geo)
			return nil, nil, fmt.Errorf("access[%d]: %w", i, err)
		}
		rules = append(rules, r)
	}
	var countries access.Countries
	if geo != nil {
		countries = geo
	}
	set, err := access.New(rules, countries)
	if err != nil {
		closeGeo(geo)
		return nil, nil, err
	}
	return set, geo, nil
}

func closeGeo(g *access.GeoIP) {
	if g != nil {
		_ = g.Close()
	}
}

func accessRule(c config.AccessRule) (*access.Rule, error) {
	r := &access.Rule{Name: c.Name, Policies: c.Policies, Device: c.Device, Effect: access.Effect(c.Effect),
		Kind: factor.Kind(c.Kind), Message: c.Message}
	for _, n := range c.Networks {
		p, err := when.ParseNetwork(n)
		if err != nil {
			return nil, err
		}
		r.Networks = append(r.Networks, p)
	}
	if c.Hours != "" {
		h, err := when.ParseHours(c.Hours)
		if err != nil {
			return nil, err
		}
		r.Hours = &h
	}
	for _, d := range c.Weekdays {
		wd, err := when.ParseWeekday(d)
		if err != nil {
			return nil, err
		}
		r.Weekdays = append(r.Weekdays, wd)
	}
	if c.TimeZone != "" {
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			return nil, err
		}
		r.Location = loc
	}
	for _, cc := range c.Countries {
		code, err := when.ParseCountry(cc)
		if err != nil {
			return nil, err
		}
		r.Countries = append(r.Countries, code)
	}
	return r, nil
}

// helpDeskContact is what follows an access refusal's message: how to
// reach the help desk, as the portal's footer says it.
func helpDeskContact(h config.HelpDesk) string {
	var parts []string
	for _, s := range []string{h.Phone, h.Email, h.URL} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	switch {
	case len(parts) == 0 && h.Text == "":
		return ""
	case len(parts) == 0:
		return h.Text + "."
	case h.Text == "":
		return "Help desk: " + strings.Join(parts, ", ") + "."
	}
	return h.Text + ": " + strings.Join(parts, ", ") + "."
}
