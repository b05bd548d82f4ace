package yubikey

import (
	"strings"
	"testing"
)

// The example from the protocol's documentation: parameters sorted, joined
// by '&', HMAC-SHA1 under the base64-decoded key.
func TestSignKnownAnswer(t *testing.T) {
	key := []byte("12345678901234567890")
	p := map[string]string{"id": "1", "otp": "vvvvvvcucrlcietctckflvnncdgckubflugerlnr", "nonce": "jrFwbaYFhn0HoxZIsd9LQ6w2ceU"}
	h := Sign(p, key)
	p["h"] = h
	if !Verify(p, key) {
		t.Fatal("own signature does not verify")
	}
	p["nonce"] += "x"
	if Verify(p, key) {
		t.Fatal("altered parameters verify")
	}
}

func TestParseResponse(t *testing.T) {
	p, err := ParseResponse([]byte("h=abc=\r\nt=2026-01-01T00:00:00Z0000\r\nstatus=OK\r\n\r\n"))
	if err != nil || p["h"] != "abc=" || p["status"] != "OK" {
		t.Fatalf("%v %v", p, err)
	}
	for _, bad := range []string{"", "status=OK\r\n", "h=x\r\nstatus=OK\r\nstatus=BAD_OTP\r\n", "h=x\r\nstatus=OK\r\nnoequals\r\n", strings.Repeat("a=b\n", 2000)} {
		if _, err := ParseResponse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte("h=abc=\r\nt=2026-01-01T00:00:00Z0000\r\notp=x\r\nnonce=y\r\nstatus=OK\r\n"))
	f.Add([]byte("h=\r\nstatus=\r\n"))
	f.Add([]byte("=\n=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseResponse(b)
		if err != nil {
			return
		}
		if p["h"] == "" || p["status"] == "" {
			t.Fatalf("accepted without h or status: %q", b)
		}
		// A parsed response never verifies under a key that did not sign it.
		if Verify(p, []byte("the fuzzer does not know this key")) {
			t.Fatalf("fuzzed response verified: %q", b)
		}
	})
}

func FuzzNormaliseOTP(f *testing.F) {
	f.Add("ccccccbcgujhingjrdejhgfnuetrgigvejhhgbkugded")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		otp, id, err := NormaliseOTP(s)
		if err != nil {
			return
		}
		if len(otp)-len(id) != tokenLen || !strings.HasPrefix(otp, id) {
			t.Fatalf("%q: otp %q id %q", s, otp, id)
		}
	})
}
