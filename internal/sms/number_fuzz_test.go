package sms

import (
	"strings"
	"testing"
)

// FuzzNormalize: any input either is refused or becomes a plausible E.164
// number that normalises to itself.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+1 (415) 555-0142", "0151 2345 6789", "00441234567890", "011 44 20 7946 0958", "", "+", "++1", "1-800-FLOWERS"} {
		f.Add(s, "1")
		f.Add(s, "+49")
	}
	f.Fuzz(func(t *testing.T, number, region string) {
		got, err := Normalize(number, region)
		if err != nil {
			return
		}
		if !strings.HasPrefix(got, "+") || len(got) < 9 || len(got) > 16 || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("Normalize(%q, %q) = %q", number, region, got)
		}
		if again, err := Normalize(got, region); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v; not stable", got, again, err)
		}
		_ = Mask(got)
	})
}
