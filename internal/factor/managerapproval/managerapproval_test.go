package managerapproval

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"
	"github.com/sspr/sspr/internal/testenv/tokentest"

	"github.com/sspr/sspr/internal/factor"
)

func setup(t *testing.T) (*Factor, *testclock.Clock) {
	t.Helper()
	c := testclock.New(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	f, err := New(Config{Key: []byte("0123456789abcdef0123456789abcdef"), LinkBase: "https://sspr.example.test/approve", Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

var alice = factor.Subject{DN: "uid=alice,ou=people,dc=example,dc=test", Login: "alice",
	Attributes: map[string][]string{"manager": {"uid=boss,ou=people,dc=example,dc=test"}}}

var dirEnrollment = factor.Enrollment{ID: "directory", Kind: Kind}

func challenge(t *testing.T, f *Factor) factor.Challenge {
	t.Helper()
	ch, err := f.Challenge(context.Background(), alice, dirEnrollment)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Deliver == nil || ch.Deliver.Channel != Channel || ch.Deliver.To != "uid=boss,ou=people,dc=example,dc=test" || ch.Deliver.Code == "" {
		t.Fatalf("delivery %+v", ch.Deliver)
	}
	return ch
}

func decided(d string) factor.Response {
	return factor.Response{Values: map[string]string{"decision": d}}
}

func TestApprove(t *testing.T) {
	f, _ := setup(t)
	ch := challenge(t, f)
	approve, deny := f.Links(ch.Deliver.Code)
	u, _ := url.Parse(approve)
	if u.Query().Get("decision") != Approve || u.Query().Get("token") != ch.Deliver.Code || !strings.HasPrefix(deny, "https://sspr.example.test/approve?") {
		t.Fatalf("links %s %s", approve, deny)
	}
	// Before the manager decides, nothing verifies.
	if _, err := f.Verify(context.Background(), alice, dirEnrollment, ch.State, decided("")); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("no decision yet: %v", err)
	}
	d, manager, err := f.Decide(context.Background(), u.Query().Get("token"), u.Query().Get("decision"))
	if err != nil || manager != "uid=boss,ou=people,dc=example,dc=test" {
		t.Fatalf("decide: %q %v", manager, err)
	}
	if _, err := f.Verify(context.Background(), alice, dirEnrollment, ch.State, decided(d)); err != nil {
		t.Fatalf("approved: %v", err)
	}
	// The decision is single-use.
	if _, err := f.Verify(context.Background(), alice, dirEnrollment, ch.State, decided(d)); !errors.Is(err, factor.ErrReplayed) {
		t.Fatalf("decision reused: %v, want ErrReplayed", err)
	}
}

func TestDeny(t *testing.T) {
	f, _ := setup(t)
	ch := challenge(t, f)
	d, _, err := f.Decide(context.Background(), ch.Deliver.Code, Deny)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Verify(context.Background(), alice, dirEnrollment, ch.State, decided(d))
	if !errors.Is(err, ErrDenied) || !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("denied: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	f, c := setup(t)
	ch := challenge(t, f)
	c.Advance(DefaultTTL)
	if _, _, err := f.Decide(context.Background(), ch.Deliver.Code, Approve); !errors.Is(err, factor.ErrExpired) {
		t.Fatalf("late click: %v, want ErrExpired", err)
	}
	// A decision made in time is no use after the challenge expired.
	f2, c2 := setup(t)
	ch2 := challenge(t, f2)
	d, _, err := f2.Decide(context.Background(), ch2.Deliver.Code, Approve)
	if err != nil {
		t.Fatal(err)
	}
	c2.Advance(DefaultTTL)
	if _, err := f2.Verify(context.Background(), alice, dirEnrollment, ch2.State, decided(d)); !errors.Is(err, factor.ErrExpired) {
		t.Fatalf("expired challenge: %v", err)
	}
}

func TestReuseRefused(t *testing.T) {
	f, _ := setup(t)
	first := challenge(t, f)
	d, _, err := f.Decide(context.Background(), first.Deliver.Code, Approve)
	if err != nil {
		t.Fatal(err)
	}
	// The link again, even with the other decision.
	if _, _, err := f.Decide(context.Background(), first.Deliver.Code, Deny); !errors.Is(err, factor.ErrReplayed) {
		t.Fatalf("second click: %v, want ErrReplayed", err)
	}
	// An old approval does not answer a new request.
	second := challenge(t, f)
	if _, err := f.Verify(context.Background(), alice, dirEnrollment, second.State, decided(d)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("approval of another request: %v", err)
	}
}

func TestForgedTokensRefused(t *testing.T) {
	f, _ := setup(t)
	ch := challenge(t, f)
	other, _ := New(Config{Key: []byte("another key, not the one of sspr!"), LinkBase: "https://x.test/a"})
	och, _ := other.Challenge(context.Background(), alice, dirEnrollment)
	p, sig, _ := strings.Cut(ch.Deliver.Code, ".")
	for name, tok := range map[string]string{
		"other key":    och.Deliver.Code,
		"altered":      p + "x." + sig,
		"no signature": p,
		"garbage":      "...",
	} {
		if _, _, err := f.Decide(context.Background(), tok, Approve); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: %v, want ErrBadToken", name, err)
		}
	}
	// A token is not a decision (the MACs name their purpose).
	if _, err := f.Verify(context.Background(), alice, dirEnrollment, ch.State, decided(ch.Deliver.Code)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("the token as a decision: %v", err)
	}
	if _, _, err := f.Decide(context.Background(), ch.Deliver.Code, "maybe"); !errors.Is(err, factor.ErrBadInput) {
		t.Fatalf("unknown decision: %v", err)
	}
}

func TestDecoyAndNotFirst(t *testing.T) {
	f, _ := setup(t)
	if !f.NotFirst() || f.NeedsEnrollment() {
		t.Fatal("manager approval must be NotFirst and need no enrollment")
	}
	real := challenge(t, f)
	d := f.DecoyEnrollment(factor.Subject{Login: "nobody"})
	decoy, err := f.Challenge(context.Background(), factor.Subject{Login: "nobody"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(real.Prompt, decoy.Prompt) || !real.Expires.Equal(decoy.Expires) || decoy.Deliver != nil {
		t.Fatalf("decoy %+v, real %+v", decoy, real)
	}
	dd, _, _ := f.Decide(context.Background(), real.Deliver.Code, Approve)
	if _, err := f.Verify(context.Background(), alice, d, decoy.State, decided(dd)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("decoy verified: %v", err)
	}
	noManager := factor.Subject{DN: "uid=ceo", Login: "ceo"}
	if _, err := f.Challenge(context.Background(), noManager, dirEnrollment); !errors.Is(err, factor.ErrNotAvailable) {
		t.Fatalf("no manager: %v", err)
	}
	self := factor.Subject{DN: "uid=ceo", Attributes: map[string][]string{"Manager": {"UID=CEO"}}}
	if _, err := f.Challenge(context.Background(), self, dirEnrollment); !errors.Is(err, factor.ErrNotAvailable) {
		t.Fatalf("own manager: %v", err)
	}
}

func FuzzOpen(f *testing.F) {
	fa, _ := setup(&testing.T{})
	tok, _ := fa.sign("token", token{ID: "abc", ManagerDN: "uid=boss", Expires: 1})
	f.Add(tok)
	for _, s := range tokentest.Respellings(tok) {
		f.Add(s)
	}
	f.Add("e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		var v token
		if err := fa.open("token", s, &v); err == nil && s != tok {
			again, _ := fa.sign("token", v)
			if again != s {
				t.Fatalf("%q opened without being ours", s)
			}
		}
	})
}

// Other spellings of an issued token's signature (trailing base64 bits, a
// line break) do not open: only the token we issued does.
func TestTokenRespellingsDoNotOpen(t *testing.T) {
	fa, _ := setup(t)
	tok, err := fa.sign("token", token{ID: "abc", ManagerDN: "uid=boss", Expires: 1})
	if err != nil {
		t.Fatal(err)
	}
	var v token
	if err := fa.open("token", tok, &v); err != nil {
		t.Fatalf("our token refused: %v", err)
	}
	for _, s := range tokentest.Respellings(tok) {
		if err := fa.open("token", s, &v); err == nil {
			t.Errorf("%q opened", s)
		}
	}
}
