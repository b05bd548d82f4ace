package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/password"
)

// Every refusal has a message in every language and a deliberate status.
func TestEveryRefusalIsExplained(t *testing.T) {
	cat, err := i18n.Load("en")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range cat.Languages() {
		for _, c := range flow.AllCodes {
			m := Explain(cat, lang, &flow.Error{Code: c, AttemptsLeft: 2})
			if m.Message == c.MessageID() || strings.Contains(m.Message, "{") {
				t.Errorf("%s: %s has no message (%q)", lang, c, m.Message)
			}
			if s := HTTPStatus(c); s < 400 || (s == http.StatusInternalServerError && c != flow.CodeInternal) {
				t.Errorf("%s: status %d", c, s)
			}
		}
		for _, r := range directory.Reasons() {
			m := Explain(cat, lang, &flow.Error{Code: flow.CodePasswordRefused, Reasons: []directory.Reason{r}, MinLength: 9})
			if len(m.Rules) != 1 || m.Rules[0].Message == r.MessageID() || strings.Contains(m.Rules[0].Message, "{") {
				t.Errorf("%s: reason %s has no message: %+v", lang, r, m.Rules)
			}
		}
	}
	m := Explain(cat, "en", &flow.Error{Code: flow.CodePasswordRefused, Reasons: []directory.Reason{directory.ReasonTooShort}, MinLength: 12})
	if m.Rules[0].Message != "It must be at least 12 characters long." {
		t.Errorf("too short with a known minimum: %q", m.Rules[0].Message)
	}
}

func TestClientIP(t *testing.T) {
	ips := ClientIPs{Trusted: ParseTrusted([]string{"10.0.0.0/8"})}
	for _, tc := range []struct {
		remote, xff, want string
	}{
		{"192.0.2.1:1234", "", "192.0.2.1"},
		{"192.0.2.1:1234", "203.0.113.9", "192.0.2.1"},                // untrusted peer: header ignored
		{"10.1.2.3:1234", "203.0.113.9", "203.0.113.9"},               // trusted proxy
		{"10.1.2.3:1234", "198.51.100.1, 203.0.113.9", "203.0.113.9"}, // right-most untrusted
		{"10.1.2.3:1234", "203.0.113.9, 10.9.9.9", "203.0.113.9"},     // skip trusted hops
		{"10.1.2.3:1234", "garbage", "10.1.2.3"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := ips.Of(r); got != tc.want {
			t.Errorf("remote %s xff %q: got %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// FuzzClientIP: any header value yields an address the peer could vouch for.
func FuzzClientIP(f *testing.F) {
	f.Add("203.0.113.9, 10.9.9.9")
	f.Add(",,,")
	ips := ClientIPs{Trusted: ParseTrusted([]string{"10.0.0.0/8"})}
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "10.1.2.3:1"
		r.Header.Set("X-Forwarded-For", xff)
		got := ips.Of(r)
		if got != "10.1.2.3" && !strings.Contains(xff, got) {
			t.Fatalf("%q from header %q", got, xff)
		}
	})
}

// TestFailedRulesReadAsWhatIsWrong: a refusal never lists a rule in words
// that say the opposite ("does not meet the rules • Has not appeared in a
// known data breach"), and the live check says it too.
func TestFailedRulesReadAsWhatIsWrong(t *testing.T) {
	cat, err := i18n.Load("en", password.Messages())
	if err != nil {
		t.Fatal(err)
	}
	breach := password.Check{ID: "breach", MessageID: "password.check.breach", Hidden: true}
	length := password.Check{ID: "length.min", MessageID: "password.check.length.min", Args: map[string]any{"min": 12}}
	m := Explain(cat, "en", &flow.Error{Code: flow.CodePasswordRefused, Checks: []password.Check{length, breach}})
	if len(m.Rules) != 2 || m.Rules[0].Message != "At least 12 characters" || !strings.HasPrefix(m.Rules[1].Message, "Has appeared in a known data breach") {
		t.Errorf("refusal rules: %+v", m.Rules)
	}
	res := Result(cat, "de", password.Result{Score: 2, Checks: []password.Check{{ID: "length.min", MessageID: "password.check.length.min", Args: map[string]any{"min": 12}, Passed: true}, breach}})
	if res.Score != 0 || res.ScoreLabel != "Sehr schwach" {
		t.Errorf("a breached password scores %d %q, want 0", res.Score, res.ScoreLabel)
	}
	if c := res.Checks[1]; !c.Problem || !strings.HasPrefix(c.Message, "Ist in einem bekannten Datenleck aufgetaucht") || c.Passed {
		t.Errorf("breach item: %+v", c)
	}
	if c := res.Checks[0]; c.Problem || c.Message != "Mindestens 12 Zeichen" {
		t.Errorf("passed item: %+v", c)
	}
}
