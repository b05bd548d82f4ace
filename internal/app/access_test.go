package app

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/access"
	"github.com/sspr/sspr/internal/access/mmdbtest"
	"github.com/sspr/sspr/internal/config"
)

// TestAccessFromConfig: the configured rules are built as written, with
// the country database, and decide as configured.
func TestAccessFromConfig(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.mmdb")
	if err := mmdbtest.Countries(db, map[string]string{"198.51.100.0/24": "KP"}); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{GeoIP: config.GeoIP{Database: db}, Access: []config.AccessRule{
		{Name: "denied", Countries: []string{"kp"}, Effect: "refuse", Message: "No."},
		{Name: "office", Networks: []string{"10.0.0.0/8"}, Hours: "08:00-18:00", Weekdays: []string{"mon"}, TimeZone: "Europe/Paris", Effect: "allow"},
		{Name: "elsewhere", Effect: "add_factor"},
	}}
	set, geo, err := Access(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer geo.Close()
	mon10 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for ip, want := range map[string]string{"198.51.100.1": "denied", "10.0.0.1": "office", "192.0.2.1": "elsewhere"} {
		if d := set.Decide(access.Request{ClientIP: ip, At: mon10}, ""); d.Rule != want {
			t.Errorf("%s: %+v, want %s", ip, d, want)
		}
	}
	if c, _ := geo.Country(netip.MustParseAddr("198.51.100.1")); c != "KP" {
		t.Errorf("country %q", c)
	}
	cfg.GeoIP.Database = filepath.Join(t.TempDir(), "missing.mmdb")
	if _, _, err := Access(cfg); err == nil {
		t.Error("a missing database was accepted")
	}
	if set, _, err := Access(&config.Config{}); set != nil || err != nil {
		t.Errorf("no rules: %v %v", set, err)
	}
}

func TestHelpDeskContact(t *testing.T) {
	for h, want := range map[config.HelpDesk]string{
		{}:                        "",
		{Text: "IT service desk"}: "IT service desk.",
		{Phone: "+1 555 0100", Email: "help@example.com"}:                       "Help desk: +1 555 0100, help@example.com.",
		{Text: "IT service desk", Email: "help@example.com", URL: "https://h/"}: "IT service desk: help@example.com, https://h/.",
	} {
		if got := helpDeskContact(h); got != want {
			t.Errorf("helpDeskContact(%+v) = %q, want %q", h, got, want)
		}
	}
}
