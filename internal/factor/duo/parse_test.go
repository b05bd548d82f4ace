package duo

import (
	"errors"
	"testing"
)

func TestParseResult(t *testing.T) {
	r, err := ParseResult([]byte(`{"stat":"OK","response":{"result":"allow","status":"allow"}}`), "allow", "deny")
	if err != nil || r.Result != "allow" {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{
		`{"stat":"FAIL","code":40002,"message":"Invalid request parameters"}`,
		`{"stat":"OK"}`,
		`{"stat":"OK","response":{"result":"bypass"}}`,
		`{"stat":"ok","response":{"result":"allow"}}`,
		`not json`,
		`{"stat":"OK","response":"allow"}`,
	} {
		if _, err := ParseResult([]byte(bad), "allow", "deny"); !errors.Is(err, ErrAPI) {
			t.Errorf("%s: %v, want ErrAPI", bad, err)
		}
	}
}

func FuzzParseResult(f *testing.F) {
	f.Add([]byte(`{"stat":"OK","response":{"result":"allow","status":"allow","status_msg":"Success"}}`))
	f.Add([]byte(`{"stat":"OK","response":{"txid":"45f7c92b-f45f-4862-8545-e0f58e78075a"}}`))
	f.Add([]byte(`{"stat":"FAIL","code":40002,"message":"Invalid","message_detail":"x"}`))
	f.Add([]byte(`{"stat":"OK","response":{"result":"auth","devices":[{"device":"D","capabilities":["push"]}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResult(b, "allow", "deny")
		if err != nil {
			if !errors.Is(err, ErrAPI) {
				t.Fatalf("error %v does not wrap ErrAPI", err)
			}
			return
		}
		if r.Result != "allow" && r.Result != "deny" {
			t.Fatalf("result %q accepted", r.Result)
		}
	})
}
