package abuse

import (
	"testing"
	"time"
)

// FuzzParseChallenge: a posted token is parsed or refused, never a panic;
// one that parses carries sane values.
func FuzzParseChallenge(f *testing.F) {
	p := &PoW{Key: []byte("0123456789abcdef0123456789abcdef"), Bits: 8, TTL: time.Minute}
	c, _ := p.Issue()
	f.Add(c.Token)
	f.Add("a.b.c.d")
	f.Add("....")
	f.Fuzz(func(t *testing.T, token string) {
		got, err := p.ParseChallenge(token)
		if err != nil {
			return
		}
		if got.Bits < 1 || got.Bits > 32 || got.Nonce == "" {
			t.Fatalf("ParseChallenge(%q) = %+v", token, got)
		}
	})
}
