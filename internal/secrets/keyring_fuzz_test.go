package secrets

import (
	"strings"
	"testing"
)

// FuzzParseKeyRing: a key ring file is parsed or refused, never a panic, and
// what parses seals and opens.
func FuzzParseKeyRing(f *testing.F) {
	f.Add("1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
	f.Add("# comment\n1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= current\n")
	f.Add("x:y\n")
	f.Fuzz(func(t *testing.T, text string) {
		ring, err := ParseKeyRing(strings.NewReader(text))
		if err != nil {
			return
		}
		ct, err := ring.Seal([]byte("p"), []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := ring.Open(ct, []byte("ad")); err != nil || string(pt) != "p" {
			t.Fatalf("round trip: %q %v", pt, err)
		}
	})
}
