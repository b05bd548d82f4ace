package when

import (
	"testing"
	"time"
)

func TestParseHours(t *testing.T) {
	for in, want := range map[string]Hours{
		"08:00-18:00": {480, 1080}, "22:00-06:00": {1320, 360}, "00:00-24:00": {0, 0}, " 09:30 - 17:45 ": {570, 1065},
	} {
		got, err := ParseHours(in)
		if err != nil && in != "00:00-24:00" {
			t.Errorf("ParseHours(%q): %v", in, err)
			continue
		}
		if err == nil && got != want {
			t.Errorf("ParseHours(%q) = %v, want %v", in, got, want)
		}
	}
	for _, bad := range []string{"", "8-18", "08:00", "08:00-08:00", "25:00-26:00", "08:60-09:00", "24:00-01:00", "+8:00-09:00", "08:00-18:00-19:00"} {
		if _, err := ParseHours(bad); err == nil {
			t.Errorf("ParseHours(%q) accepted", bad)
		}
	}
	h, _ := ParseHours("22:00-06:00")
	if !h.Contains(23*60) || !h.Contains(0) || h.Contains(6*60) || h.Contains(12*60) {
		t.Error("a window past midnight is wrong")
	}
}

func TestParseNetworkAndCountry(t *testing.T) {
	for in, want := range map[string]string{"10.1.2.3/8": "10.0.0.0/8", "192.0.2.7": "192.0.2.7/32", "2001:db8::/32": "2001:db8::/32", "::ffff:10.0.0.0/104": "10.0.0.0/8"} {
		p, err := ParseNetwork(in)
		if err != nil || p.String() != want {
			t.Errorf("ParseNetwork(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "office", "fe80::1%eth0", "::ffff:10.0.0.0/8"} {
		if _, err := ParseNetwork(bad); err == nil {
			t.Errorf("ParseNetwork(%q) accepted", bad)
		}
	}
	if c, err := ParseCountry(" fr"); err != nil || c != "FR" {
		t.Errorf("ParseCountry: %q %v", c, err)
	}
	if _, err := ParseCountry("FRA"); err == nil {
		t.Error("a three-letter code was accepted")
	}
	if d, err := ParseWeekday("Monday"); err != nil || d != time.Monday {
		t.Errorf("ParseWeekday: %v %v", d, err)
	}
	if _, err := ParseWeekday("mondays"); err == nil {
		t.Error("mondays was accepted")
	}
}
