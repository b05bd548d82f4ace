package access

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/access/mmdbtest"
	"github.com/sspr/sspr/internal/access/when"
	"github.com/sspr/sspr/internal/secrets"
)

func geo(t *testing.T) *GeoIP {
	t.Helper()
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := mmdbtest.Countries(path, map[string]string{"198.51.100.0/24": "KP", "203.0.113.0/24": "FR", "192.0.2.128/25": "DE"}); err != nil {
		t.Fatal(err)
	}
	g, err := OpenGeoIP(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func TestGeoIPReadsAGeneratedDatabase(t *testing.T) {
	g := geo(t)
	for ip, want := range map[string]string{"198.51.100.9": "KP", "203.0.113.200": "FR", "192.0.2.200": "DE", "192.0.2.1": "", "10.0.0.1": ""} {
		got, err := g.Country(netip.MustParseAddr(ip))
		if err != nil || got != want {
			t.Errorf("Country(%s) = %q, %v; want %q", ip, got, err, want)
		}
	}
}

func TestDecide(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	office, _ := when.ParseNetwork("10.0.0.0/8")
	hours, _ := when.ParseHours("08:00-18:00")
	rules := []*Rule{
		{Name: "denied-countries", Countries: []string{"KP"}, Effect: Refuse, Message: "Not from there."},
		{Name: "admins-away", Policies: []string{"admins"}, Device: DeviceUnknown, Effect: RequireKind, Kind: "passkey"},
		{Name: "office-hours", Networks: []netip.Prefix{office}, Hours: &hours, Location: paris,
			Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, Effect: Allow},
		{Name: "elsewhere", Effect: AddFactor},
	}
	s, err := New(rules, geo(t))
	if err != nil {
		t.Fatal(err)
	}
	mon10 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC) // 10:00 in Paris
	mon23 := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	sat10 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		req    Request
		policy string
		rule   string
		effect Effect
	}{
		{Request{ClientIP: "10.1.2.3", At: mon10}, "", "office-hours", Allow},
		{Request{ClientIP: "10.1.2.3", At: mon23}, "", "elsewhere", AddFactor},
		{Request{ClientIP: "10.1.2.3", At: sat10}, "", "elsewhere", AddFactor},
		{Request{ClientIP: "192.0.2.200", At: mon10}, "", "elsewhere", AddFactor},
		{Request{ClientIP: "198.51.100.9", At: mon10}, "", "denied-countries", Refuse},
		{Request{ClientIP: "10.1.2.3", At: mon10}, "admins", "admins-away", RequireKind},
		{Request{ClientIP: "10.1.2.3", At: mon10, Device: Device{Known: true, Via: "cookie"}}, "admins", "office-hours", Allow},
		{Request{ClientIP: "10.1.2.3", At: mon10}, "finance", "office-hours", Allow},
		{Request{ClientIP: "not an address", At: mon10}, "", "elsewhere", AddFactor},
	} {
		d := s.Decide(c.req, c.policy)
		if d.Rule != c.rule || d.Effect != c.effect || d.Reason == "" {
			t.Errorf("Decide(%+v, %q) = %+v; want %s %s", c.req, c.policy, d, c.rule, c.effect)
		}
	}
	if d := s.Decide(Request{ClientIP: "198.51.100.9", At: mon10}, ""); d.Message != "Not from there." || !strings.Contains(d.Reason, "country KP") {
		t.Errorf("refusal: %+v", d)
	}
	noDB, err := New([]*Rule{{Name: "c", Countries: []string{"KP"}, Effect: Refuse}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := noDB.Decide(Request{ClientIP: "198.51.100.9", At: mon10}, ""); d.Rule != "" {
		t.Errorf("a country rule without a database matched: %+v", d)
	}
	var none *Set
	if d := none.Decide(Request{}, ""); d.Effect != Allow {
		t.Errorf("no rules: %+v", d)
	}
}

func TestDevices(t *testing.T) {
	k1, _ := secrets.GenerateKey()
	ring, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: k1})
	if err != nil {
		t.Fatal(err)
	}
	d := &Devices{Ring: ring, TTL: time.Hour}
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	tok, err := d.Issue(now, bytes.NewReader(make([]byte, 16)))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(tok, now.Add(59*time.Minute)); err != nil {
		t.Errorf("a fresh token: %v", err)
	}
	if err := d.Check(tok, now.Add(time.Hour)); err != ErrDeviceExpired {
		t.Errorf("an expired token: %v", err)
	}
	// Tampering with any part is refused.
	tampered := strings.Replace(tok, "d1.1.", "d1.1.9", 1)
	for _, bad := range []string{"", tok + "x", tampered, tok[:len(tok)-2], "d1.2.1.x.y"} {
		if err := d.Check(bad, now); err != ErrDeviceInvalid {
			t.Errorf("Check(%q) = %v", bad, err)
		}
	}
	// A rotated ring still checks tokens of its older key.
	rotated, _ := ring.WithNewKey(must(secrets.GenerateKey()))
	if err := (&Devices{Ring: rotated, TTL: time.Hour}).Check(tok, now); err != nil {
		t.Errorf("after rotation: %v", err)
	}
	other, _ := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: must(secrets.GenerateKey())})
	if err := (&Devices{Ring: other}).Check(tok, now); err != ErrDeviceInvalid {
		t.Errorf("another installation's token: %v", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

var testNow = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func testDevices() *Devices {
	ring, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: bytes.Repeat([]byte{7}, secrets.KeySize)})
	if err != nil {
		panic(err)
	}
	return &Devices{Ring: ring, TTL: time.Hour}
}
