package flow

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/duo"
	"github.com/sspr/sspr/internal/factor/radius"
	"github.com/sspr/sspr/internal/factor/yubikey"
)

// withField copies a typed code only for the kinds whose answer is typed:
// never into a certificate or a manager's decision.
func TestWithFieldOnlyForTypedKinds(t *testing.T) {
	code := factor.Response{Values: map[string]string{"code": "cccjgjgkhcbb"}}
	if got := withField(yubikey.Kind, code, map[string]any{"field": "otp"}); got.Values["otp"] != "cccjgjgkhcbb" {
		t.Errorf("yubikey: %v", got.Values)
	}
	if code.Values["otp"] != "" {
		t.Error("the caller's values were changed")
	}
	for _, k := range []factor.Kind{"certificate", "manager_approval", factor.TOTP} {
		if got := withField(k, code, map[string]any{"field": "certificate"}); got.Values["certificate"] != "" {
			t.Errorf("%s: a typed code became %v", k, got.Values)
		}
	}
	given := factor.Response{Values: map[string]string{"code": "1", "passcode": "2"}}
	if got := withField(duo.Kind, given, map[string]any{"field": "passcode"}); got.Values["passcode"] != "2" {
		t.Errorf("an explicit value was overwritten: %v", got.Values)
	}
}

// The reasons faces explain, and what is not a wrong answer at all.
func TestRoundOutcomes(t *testing.T) {
	for _, c := range []struct {
		kind   factor.Kind
		err    error
		reason string
		wrong  bool
	}{
		{duo.Kind, fmt.Errorf("%w: %w", factor.ErrWrongResponse, duo.ErrPushDenied), "push_denied", true},
		{duo.Kind, fmt.Errorf("%w: %w", factor.ErrWrongResponse, duo.ErrPushTimeout), "push_timeout", true},
		{yubikey.Kind, factor.ErrReplayed, "replayed", true},
		{factor.TOTP, factor.ErrReplayed, "", true},
		{radius.Kind, factor.ErrWrongResponse, "", true},
		{radius.Kind, radius.ErrNoAnswer, "", false},
	} {
		if got := reasonOf(c.kind, c.err); got != c.reason {
			t.Errorf("%s %v: reason %q, want %q", c.kind, c.err, got, c.reason)
		}
		if wrongAnswer(c.err) != c.wrong {
			t.Errorf("%s %v: wrong answer %v", c.kind, c.err, !c.wrong)
		}
	}
	next := factor.Challenge{Prompt: map[string]any{"server_message": "Next code"}}
	if ch, ok := continuation(fmt.Errorf("verify: %w", &radius.ContinueError{Challenge: next})); !ok || ch.Prompt["server_message"] != "Next code" {
		t.Errorf("a wrapped continuation was not found: %v %v", ch, ok)
	}
	if _, ok := continuation(errors.New("x")); ok {
		t.Error("a plain error continues")
	}
}

// A failure is remembered for a while, then forgotten.
func TestHealthForgets(t *testing.T) {
	var h health
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	h.failed(radius.Kind, at, 2*time.Second)
	if f, ok := h.recent(radius.Kind, at.Add(time.Minute)); !ok || f.took != 2*time.Second {
		t.Fatalf("recent: %v %v", f, ok)
	}
	if _, ok := h.recent(duo.Kind, at); ok {
		t.Error("another kind is unhealthy")
	}
	if _, ok := h.recent(radius.Kind, at.Add(unavailableFor)); ok {
		t.Error("remembered for ever")
	}
}

// The floor a server-backed answer is padded to: 500 ms before any real
// answer was timed, up at once to a slower answer, down slowly after.
func TestServerFloorFollowsTheSlowestRecentAnswer(t *testing.T) {
	var h health
	if got := h.floor(radius.Kind); got != serverFloor {
		t.Fatalf("untimed floor %v, want %v", got, serverFloor)
	}
	if got := h.observe(radius.Kind, 1200*time.Millisecond); got != 1200*time.Millisecond {
		t.Fatalf("after a 1.2 s answer the floor is %v", got)
	}
	got := h.observe(radius.Kind, 200*time.Millisecond)
	if got >= 1200*time.Millisecond || got < 1100*time.Millisecond {
		t.Errorf("one fast answer moved the floor from 1.2 s to %v; it must drift down slowly", got)
	}
	if h.floor(yubikey.Kind) != serverFloor {
		t.Error("one kind's answers moved another's floor")
	}
	h.failed(radius.Kind, time.Now(), time.Second)
	h.recovered(radius.Kind)
	if _, ok := h.recent(radius.Kind, time.Now()); ok {
		t.Error("a server that answered again is still remembered as failed")
	}
}

// Which answers ask a server: a Duo push is padded by its own wait.
func TestServerBacked(t *testing.T) {
	d, err := duo.New(duo.Config{Host: "api-12345678.duosecurity.com", IntegrationKey: "DIXXXXXXXXXXXXXXXXXX", SecretKey: strings.Repeat("s", 40),
		Methods: []string{duo.MethodPush, "passcode"}})
	if err != nil {
		t.Fatal(err)
	}
	if serverBacked(d, factor.Response{Values: map[string]string{"method": "push"}}) {
		t.Error("a push is padded as a server answer")
	}
	if !serverBacked(d, factor.Response{Values: map[string]string{"method": "passcode", "passcode": "123456"}}) {
		t.Error("a Duo passcode is not padded")
	}
}
