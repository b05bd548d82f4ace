package config

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCostPerCall: any amount either parses to a number in 0..10000 or is
// refused; it never panics.
func FuzzCostPerCall(f *testing.F) {
	for _, s := range []string{"", "0", "22.50", "10000", "10000.0001", "-1", "1e3", "NaN", "22,50", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := CostPerCall{Amount: s}.Value()
		if ok && (v < 0 || v > 10000) {
			t.Fatalf("%q accepted as %v", s, v)
		}
	})
}

// FuzzRedactString: read back as a URL, a redacted string has no
// password and no credential-named query value left (what a client of
// the URL would send as a credential).
func FuzzRedactString(f *testing.F) {
	for _, s := range []string{"https://u:p4ss-word@h/x?token=t0ken-value&a=b", "postgres://sspr:s3cret-value@db/sspr", "plain", "ldap://h:389", "https://h/%zz?key=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, hid := redactString(s)
		if !strings.Contains(s, "://") {
			if out != s || hid {
				t.Fatalf("a non-URL changed: %q → %q", s, out)
			}
			return
		}
		u, err := url.Parse(out)
		if err != nil {
			return // not a URL anyone would use
		}
		if pw, ok := u.User.Password(); ok && pw != Redacted {
			t.Fatalf("%q kept the password %q: %q", s, pw, out)
		}
		for k, vs := range u.Query() {
			for _, v := range vs {
				if secretQuery.MatchString(k) && v != Redacted {
					t.Fatalf("%q kept %s=%q: %q", s, k, v, out)
				}
			}
		}
	})
}
