package flow

import (
	"crypto/rand"
	"strings"
	"testing"
)

// TestOneTimePasswordHasEveryClass: a help-desk one-time password must
// pass any directory's complexity rule (AD: three of four classes) and be
// easy to read out (no 0/O, 1/l/I).
func TestOneTimePasswordHasEveryClass(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 500; i++ {
		pw, err := oneTimePassword(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 16 {
			t.Fatalf("%q is %d long", pw, len(pw))
		}
		for _, set := range oneTimeAlphabets {
			if !strings.ContainsAny(pw, set) {
				t.Fatalf("%q lacks a character of %q", pw, set)
			}
		}
		if strings.ContainsAny(pw, "0O1lI") {
			t.Fatalf("%q has a look-alike character", pw)
		}
		if seen[pw] {
			t.Fatalf("%q drawn twice", pw)
		}
		seen[pw] = true
	}
}

func TestNormDN(t *testing.T) {
	if normDN("CN=Admins, OU=Groups,DC=Example,dc=com") != normDN("cn=admins,ou=groups,dc=example,dc=com") {
		t.Fatal("DNs differing in case and spaces do not match")
	}
	if normDN("cn=admins,dc=example") == normDN("cn=admins2,dc=example") {
		t.Fatal("different DNs match")
	}
}
