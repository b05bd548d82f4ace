package remote

import (
	"encoding/json"
	"testing"

	"github.com/sspr/sspr/internal/directory"
)

func TestWireErrorsRoundTrip(t *testing.T) {
	for _, k := range directory.Kinds() {
		in := &directory.Error{Kind: k, Reasons: directory.Reasons(), MinLength: 7, Op: "reset", Diagnostic: "d"}
		out := toWire(in).fromWire().(*directory.Error)
		if out.Kind != k || len(out.Reasons) != len(in.Reasons) || out.MinLength != 7 || out.Op != "reset" || out.Diagnostic != "d" {
			t.Fatalf("%v: %#v", k, out)
		}
	}
	if k := (&wireError{Kind: "from_the_future"}).fromWire(); directory.KindOf(k) != directory.KindUnknown {
		t.Fatalf("unknown kind: %v", k)
	}
}

func TestParseMessageRefuses(t *testing.T) {
	for _, s := range []string{
		`{}`, `{"t":"nope"}`, `[]`, `{"t":"challenge","nonce":"AAAA"}`, `{"t":"hello","name":"x"}`,
		`{"t":"call","id":1,"op":"reset"}`, `{"t":"call","id":1,"op":"find"}`, `{"t":"call","op":"find","login":"a"}`,
		`{"t":"call","id":1,"op":"rm -rf"}`, `{"t":"result"}`, `{"t":"result","id":2,"error":{}}`,
	} {
		if _, err := parseMessage([]byte(s)); err == nil {
			t.Errorf("%s: accepted", s)
		}
	}
	if m, err := parseMessage([]byte(`{"t":"call","id":3,"op":"status","user":{"dn":"cn=a"},"future":1}`)); err != nil || m.User.DN != "cn=a" {
		t.Fatalf("a valid call: %v", err)
	}
}

// FuzzParseMessage: no input panics, and whatever parses survives a
// round trip through the encoder.
func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"t":"call","id":1,"op":"reset","user":{"dn":"cn=a"},"password":"x"}`))
	f.Add([]byte(`{"t":"result","id":1,"error":{"kind":"policy_violation","reasons":["too_short"]}}`))
	f.Add([]byte(`{"t":"hello","name":"dc1","directory":"corp","sig":"AAAA"}`))
	f.Add([]byte(`{"t":"challenge","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseMessage(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		m2, err := parseMessage(b)
		if err != nil {
			t.Fatalf("a parsed message does not parse again: %v\n%s", err, b)
		}
		if m2.T != m.T || m2.ID != m.ID || m2.Op != m.Op {
			t.Fatalf("round trip changed the message: %+v vs %+v", m, m2)
		}
		if m.Error != nil {
			_ = m.Error.fromWire()
		}
	})
}
