package when

import "testing"

// FuzzParseHours: never panics; an accepted window prints back to one that
// parses to the same window.
func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"08:00-18:00", "22:00-06:00", "00:00-24:00", "9:00-10:00", "24:00-01:00", "-", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHours(s)
		if err != nil {
			return
		}
		if h.From < 0 || h.From >= 1440 || h.To < 0 || h.To >= 1440 || h.From == h.To {
			t.Fatalf("%q gave %+v", s, h)
		}
		back, err := ParseHours(h.String())
		if err != nil || back != h {
			t.Fatalf("%q -> %s -> %+v, %v", s, h, back, err)
		}
	})
}

// FuzzParseNetwork: never panics; an accepted network is masked and
// contains its own address, and parses back to itself.
func FuzzParseNetwork(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "::ffff:10.0.0.0/104", "fe80::1%eth0", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseNetwork(s)
		if err != nil {
			return
		}
		if p != p.Masked() || !p.Contains(p.Addr()) || p.Addr().Is4In6() {
			t.Fatalf("%q gave %v", s, p)
		}
		back, err := ParseNetwork(p.String())
		if err != nil || back != p {
			t.Fatalf("%q -> %v -> %v, %v", s, p, back, err)
		}
	})
}
