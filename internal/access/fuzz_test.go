package access

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/sspr/sspr/internal/testenv/tokentest"
)

// FuzzDeviceCheck: a device token of any shape is refused without panic
// unless it is the very token the ring issued — not another spelling of
// its signature (trailing base64 bits, a line break) either.
func FuzzDeviceCheck(f *testing.F) {
	d := testDevices()
	// A fixed nonce: every fuzzing worker process issues the same token,
	// which the coordinator's corpus holds.
	issued, err := d.Issue(testNow, bytes.NewReader(make([]byte, 16)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(issued)
	for _, s := range tokentest.Respellings(issued) {
		f.Add(s)
	}
	f.Add("d1.1.1700000000.AAAA.BBBB")
	f.Add("d1.4294967296.1.x.y")
	f.Add("....")
	f.Fuzz(func(t *testing.T, s string) {
		if d.Check(s, testNow) == nil && s != issued {
			t.Fatalf("%q passed without being issued", s)
		}
	})
}

// Other spellings of an issued token's signature are refused.
func TestDeviceTokenRespellingsAreRefused(t *testing.T) {
	d := testDevices()
	issued, err := d.Issue(testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(issued, testNow); err != nil {
		t.Fatalf("issued token refused: %v", err)
	}
	for _, s := range tokentest.Respellings(issued) {
		if err := d.Check(s, testNow); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
