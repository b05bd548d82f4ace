package radius

import (
	"bytes"
	"testing"
)

func FuzzDecode(f *testing.F) {
	var auth [authLen]byte
	p := &Packet{Code: AccessChallenge, Identifier: 9, Attributes: []Attribute{{AttrState, []byte("s")}, {AttrReplyMessage, []byte("hello")}}}
	ok, _ := encodeResponse(p, auth, testSecret)
	f.Add(ok)
	f.Add([]byte{})
	f.Add(make([]byte, 20))
	f.Add([]byte{2, 1, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 80, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same octets (up to the length).
		again, err := p.encode()
		if err != nil {
			t.Fatalf("decoded packet does not encode: %v", err)
		}
		if !bytes.Equal(again, b[:len(again)]) {
			t.Fatalf("round trip changed the packet:\n%x\n%x", b, again)
		}
		// Verification never panics and refuses what the secret did not make.
		if _, err := verifyResponse(b, auth, testSecret); err == nil && !bytes.Equal(b[:len(again)], ok) {
			t.Fatalf("a fuzzed packet verified: %x", b)
		}
	})
}
