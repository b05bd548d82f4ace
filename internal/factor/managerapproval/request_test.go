package managerapproval

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/factor"
)

// FuzzLinkInput: whatever a link or a form carries, Inspect, RequestOf,
// DecisionOf and Decide refuse what this factor did not sign, and never
// panic.
func FuzzLinkInput(f *testing.F) {
	fa, err := New(Config{Key: make([]byte, 32), LinkBase: "https://sspr.example.com/approve", Clock: func() time.Time { return time.Unix(1e9, 0) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("eyJjIjoiYSIsIm0iOiJiIiwiZSI6MX0.AAAA")
	f.Add(".")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := fa.Inspect(context.Background(), s); err == nil {
			t.Fatalf("inspected an unsigned token %q", s)
		}
		if fa.RequestOf(s) != "" {
			t.Fatalf("a request of an unsigned token %q", s)
		}
		if _, _, ok := fa.DecisionOf(s); ok {
			t.Fatalf("a decision of unsigned input %q", s)
		}
		if _, _, err := fa.Decide(context.Background(), s, Approve); err == nil {
			t.Fatalf("decided on an unsigned token %q", s)
		}
	})
}

// TestInspectThenDecide: a link's token names the challenge's request;
// inspecting it spends nothing; after a decision the link reads as used;
// the signed decision names the request and the choice.
func TestInspectThenDecide(t *testing.T) {
	now := time.Unix(1e9, 0)
	fa, err := New(Config{Key: make([]byte, 32), LinkBase: "https://sspr.example.com/approve", Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	s := factor.Subject{DN: "uid=alice,ou=people,dc=example", Attributes: map[string][]string{"manager": {"uid=bob,ou=people,dc=example"}}}
	ch, err := fa.Challenge(context.Background(), s, factor.Enrollment{})
	if err != nil {
		t.Fatal(err)
	}
	tok := ch.Deliver.Code
	id := fa.RequestOf(tok)
	if id == "" || id != fa.RequestOfState(ch.State) {
		t.Fatalf("request %q, state's %q", id, fa.RequestOfState(ch.State))
	}
	for i := 0; i < 2; i++ {
		r, err := fa.Inspect(context.Background(), tok)
		if err != nil || r.ID != id || r.ManagerDN != "uid=bob,ou=people,dc=example" {
			t.Fatalf("inspect %d: %+v %v", i, r, err)
		}
	}
	signed, _, err := fa.Decide(context.Background(), tok, Deny)
	if err != nil {
		t.Fatal(err)
	}
	if rid, choice, ok := fa.DecisionOf(signed); !ok || rid != id || choice != Deny {
		t.Fatalf("decision %q %q %v", rid, choice, ok)
	}
	if _, err := fa.Inspect(context.Background(), tok); !errors.Is(err, factor.ErrReplayed) {
		t.Fatalf("inspect after the decision: %v", err)
	}
	now = now.Add(DefaultTTL)
	if _, err := fa.Inspect(context.Background(), tok); !errors.Is(err, factor.ErrExpired) {
		t.Fatalf("inspect after expiry: %v", err)
	}
}
