package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/config"
)

const accessYAML = `
access:
  - name: denied-countries
    countries: [KP, ir]
    effect: refuse
    message: "Password resets are not available from your country."
  - name: office
    networks: [10.0.0.0/8, 192.0.2.7]
    hours: "08:00-18:00"
    weekdays: [mon, tue, wed, thu, fri]
    time_zone: Europe/Paris
    effect: allow
  - name: admins-away
    policies: [admins]
    device: unknown
    effect: require_kind
    kind: totp
  - name: elsewhere
    effect: add_factor
`

func withGeoIP(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := os.WriteFile(path, []byte("not read by config check"), 0o600); err != nil {
		t.Fatal(err)
	}
	return "geoip:\n  database: " + path + "\n"
}

// TestAccessRead: rules are read as written, in order, and a complete
// configuration has no warnings.
func TestAccessRead(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, validYAML+policiesYAML+accessYAML+withGeoIP(t), nil)
	if len(cfg.Access) != 4 {
		t.Fatalf("access = %+v", cfg.Access)
	}
	o := cfg.Access[1]
	if o.Name != "office" || o.Networks[1] != "192.0.2.7" || o.Hours != "08:00-18:00" || o.TimeZone != "Europe/Paris" || o.Effect != "allow" || len(o.Weekdays) != 5 {
		t.Errorf("office = %+v", o)
	}
	if a := cfg.Access[2]; a.Policies[0] != "admins" || a.Device != "unknown" || a.Kind != "totp" {
		t.Errorf("admins-away = %+v", a)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
}

// TestAccessProblems: every mistake in a rule is reported with its key.
func TestAccessProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func(*config.AccessRule)
		key    string
	}{
		{"bad name", func(r *config.AccessRule) { r.Name = "two words" }, "access[0].name"},
		{"unknown policy", func(r *config.AccessRule) { r.Policies = []string{"nope"} }, "access[0].policies[0]"},
		{"bad network", func(r *config.AccessRule) { r.Networks = []string{"10.0.0.0/8", "office"} }, "access[0].networks[1]"},
		{"bad hours", func(r *config.AccessRule) { r.Hours = "8-18" }, "access[0].hours"},
		{"bad weekday", func(r *config.AccessRule) { r.Weekdays = []string{"someday"} }, "access[0].weekdays[0]"},
		{"bad time zone", func(r *config.AccessRule) { r.TimeZone = "Mars/Olympus" }, "access[0].time_zone"},
		{"bad country", func(r *config.AccessRule) { r.Countries = []string{"FRA"} }, "access[0].countries[0]"},
		{"bad device", func(r *config.AccessRule) { r.Device = "trusted" }, "access[0].device"},
		{"bad effect", func(r *config.AccessRule) { r.Effect = "deny" }, "access[0].effect"},
		{"kind not offered", func(r *config.AccessRule) { r.Effect, r.Kind, r.Message = "require_kind", "smartcard", "" }, "access[0].kind"},
		{"kind without require_kind", func(r *config.AccessRule) { r.Kind = "totp" }, "access[0].kind"},
		{"message without refuse", func(r *config.AccessRule) { r.Effect = "allow" }, "access[0].message"},
		{"message too long", func(r *config.AccessRule) { r.Message = strings.Repeat("x", 501) }, "access[0].message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, validYAML+policiesYAML+accessYAML+withGeoIP(t), nil)
			tc.mutate(&c.Access[0])
			if _, ok := find(problemsOf(t, config.Validate(c)), tc.key); !ok {
				t.Errorf("no problem at %s", tc.key)
			}
		})
	}
	c := mustParse(t, validYAML+policiesYAML+accessYAML+withGeoIP(t), nil)
	c.Access[1].Name = "denied-countries"
	c.GeoIP.Database = filepath.Join(t.TempDir(), "missing.mmdb")
	ps := problemsOf(t, config.Validate(c))
	for _, key := range []string{"access[1].name", "geoip.database"} {
		if _, ok := find(ps, key); !ok {
			t.Errorf("no problem at %s", key)
		}
	}
}

// TestAccessWarnings: a country rule without a database, hours without a
// time zone and a rule without conditions before others are warned about.
func TestAccessWarnings(t *testing.T) {
	t.Parallel()
	c := mustParse(t, validYAML+policiesYAML+accessYAML, nil)
	c.Access[1].TimeZone = ""
	c.Access[2].Policies, c.Access[2].Device = nil, ""
	var got []string
	for _, w := range c.Warnings() {
		got = append(got, w.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"access[0].countries: no geoip.database is configured",
		"access[1].time_zone: is not set: hours and weekdays are read in UTC",
		"access[2]: has no conditions, so the 1 rules after it never apply",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}
