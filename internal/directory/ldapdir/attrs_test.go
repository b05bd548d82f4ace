package ldapdir

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParentDN(t *testing.T) {
	for in, want := range map[string]string{
		"CN=alice,CN=Users,DC=example,DC=test":  "CN=Users,DC=example,DC=test",
		`CN=Smith\, John,OU=Staff,DC=x`:         "OU=Staff,DC=x",
		`CN="a,b",OU=x`:                         "OU=x",
		"uid=a, ou=people, dc=example, dc=test": "ou=people, dc=example, dc=test",
		"dc=test":                               "",
	} {
		if got := ParentDN(in); got != want {
			t.Errorf("ParentDN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestADTimes(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"0", time.Time{}},
		{"", time.Time{}},
		{strconv.FormatInt(math.MaxInt64, 10), time.Time{}},
		{"116444736000000000", time.Unix(0, 0).UTC()},
	}
	for _, tt := range tests {
		got, ok := ParseFileTime(tt.in)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("ParseFileTime(%q) = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
	}
	if _, ok := ParseFileTime("x"); ok {
		t.Error("ParseFileTime accepted text")
	}
	intervals := []struct {
		in    string
		want  time.Duration
		never bool
	}{
		{"-18000000000", 30 * time.Minute, false},
		{"-36288000000000", 42 * 24 * time.Hour, false},
		{"-9223372036854775808", 0, true},
		{"0", 0, false},
	}
	for _, tt := range intervals {
		d, never, ok := ParseADInterval(tt.in)
		if !ok || d != tt.want || never != tt.never {
			t.Errorf("ParseADInterval(%q) = %v, %v, %v", tt.in, d, never, ok)
		}
	}
	if g, ok := ParseGeneralizedTime("20240102150405Z"); !ok || !g.Equal(time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC)) {
		t.Errorf("ParseGeneralizedTime: %v %v", g, ok)
	}
}

func TestPresets(t *testing.T) {
	for _, name := range PresetNames() {
		p, ok := Preset(name)
		if !ok || p.Flavor != name || p.PasswordWrite == "" || len(p.LoginAttributes) == 0 {
			t.Errorf("preset %s: %+v", name, p)
		}
		cfg := Config{URLs: []string{"ldaps://x"}, BaseDN: "dc=x", LoginAttributes: []string{"cn"}, UnlockOnReset: Bool(false)}.WithDefaults(p)
		if err := cfg.Validate(); err != nil {
			t.Errorf("preset %s does not validate: %v", name, err)
		}
		if cfg.LoginAttributes[0] != "cn" || cfg.UnlocksOnReset() {
			t.Errorf("preset %s overrode explicit settings: %+v", name, cfg)
		}
	}
	if ad := PresetActiveDirectory().WithDefaults(Config{}); !ad.UnlocksOnReset() || ad.PoolSize != DefaultPoolSize {
		t.Errorf("AD defaults: %+v", ad)
	}
	bad := Config{URLs: []string{"ldaps://x"}, BaseDN: "dc=x", LoginAttributes: []string{"uid"}, Flavor: "nope",
		PasswordWrite: "ssh", DisabledFilter: "(x=", ProtectedGroups: []string{"not a dn"}, Domains: []string{`A\B`}, PoolSize: -1}
	err := bad.WithDefaults(Config{}).Validate()
	for _, want := range []string{"Flavor", "PasswordWrite", "DisabledFilter", "ProtectedGroups[0]", "Domains[0]", "PoolSize"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not name %s: %v", want, err)
		}
	}
}
