package voice_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/voice"
	"github.com/sspr/sspr/internal/factor/voice/voicetest"
	"github.com/sspr/sspr/internal/sms"
)

func setup(t *testing.T) (*voice.Factor, *voice.Caller, *voicetest.Twilio, *testclock.Clock) {
	t.Helper()
	c := testclock.New(time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC))
	f, err := voice.New(voice.Config{Key: []byte("0123456789abcdef0123456789abcdef"), DefaultRegion: "+1", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	tw := voicetest.New(t)
	caller, err := voice.NewCaller(voice.CallerConfig{BaseURL: tw.URL(), AccountSID: tw.AccountSID, AuthToken: tw.AuthToken,
		From: "+15005550006", Voice: "alice", Language: "en-US"})
	if err != nil {
		t.Fatal(err)
	}
	return f, caller, tw, c
}

// heard is the code as the person hears it: the digits of the first Say.
func heard(t *testing.T, call voicetest.Call) string {
	t.Helper()
	if len(call.Said) != 2 || call.Said[0] != call.Said[1] {
		t.Fatalf("the call should say the code twice: %q", call.Said)
	}
	var b strings.Builder
	for _, r := range call.Said[0] {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

const text = "Your verification code is %s."

func TestEnrollAndVerifyByCall(t *testing.T) {
	f, caller, tw, _ := setup(t)
	s := factor.Subject{DN: "uid=alice", Login: "alice"}
	ch, err := f.BeginEnroll(context.Background(), s, factor.Response{Values: map[string]string{"phone": "(415) 555-0142"}})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Deliver == nil || ch.Deliver.Channel != voice.Channel || ch.Deliver.To != "+14155550142" {
		t.Fatalf("delivery %+v", ch.Deliver)
	}
	if _, err := caller.Call(context.Background(), ch.Deliver.To, ch.Deliver.Code, text); err != nil {
		t.Fatal(err)
	}
	calls := tw.Calls()
	if len(calls) != 1 || calls[0].To != "+14155550142" || calls[0].From != "+15005550006" {
		t.Fatalf("calls %+v", calls)
	}
	e, err := f.FinishEnroll(context.Background(), s, ch.State, factor.Response{Values: map[string]string{"code": heard(t, calls[0])}})
	if err != nil {
		t.Fatalf("enrolling with the code heard: %v", err)
	}
	if e.Label != sms.Mask("+14155550142") || string(e.Secret) != "+14155550142" {
		t.Fatalf("enrollment %+v", e)
	}
	vc, err := f.Challenge(context.Background(), s, e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := caller.Call(context.Background(), vc.Deliver.To, vc.Deliver.Code, text); err != nil {
		t.Fatal(err)
	}
	code := heard(t, tw.Calls()[1])
	if _, err := f.Verify(context.Background(), s, e, vc.State, factor.Response{Values: map[string]string{"code": "000000"}}); !errors.Is(err, factor.ErrWrongResponse) && code != "000000" {
		t.Fatalf("wrong code: %v", err)
	}
	if _, err := f.Verify(context.Background(), s, e, vc.State, factor.Response{Values: map[string]string{"code": code}}); err != nil {
		t.Fatalf("right code: %v", err)
	}
	// The code of one person's call does not verify another's challenge.
	other := factor.Subject{DN: "uid=bob", Login: "bob"}
	if _, err := f.Verify(context.Background(), other, e, vc.State, factor.Response{Values: map[string]string{"code": code}}); err == nil {
		t.Fatal("a code verified for another person")
	}
}

func TestExpired(t *testing.T) {
	f, _, _, c := setup(t)
	s := factor.Subject{DN: "uid=alice"}
	e := factor.Enrollment{Kind: voice.Kind, Secret: []byte("+14155550142")}
	ch, _ := f.Challenge(context.Background(), s, e)
	c.Advance(time.Hour)
	if _, err := f.Verify(context.Background(), s, e, ch.State, factor.Response{Values: map[string]string{"code": ch.Deliver.Code}}); !errors.Is(err, factor.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
}

func TestDecoy(t *testing.T) {
	f, _, _, _ := setup(t)
	s := factor.Subject{DN: "uid=alice"}
	real, _ := f.Challenge(context.Background(), s, factor.Enrollment{Kind: voice.Kind, Secret: []byte("+14155550142")})
	d := f.DecoyEnrollment(factor.Subject{Login: "nobody"})
	decoy, err := f.Challenge(context.Background(), factor.Subject{Login: "nobody"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(real.Prompt, decoy.Prompt) || !real.Expires.Equal(decoy.Expires) {
		t.Fatalf("decoy %v, real %v", decoy.Prompt, real.Prompt)
	}
	// Even knowing the decoy's code (never delivered), it does not verify.
	if _, err := f.Verify(context.Background(), factor.Subject{Login: "nobody"}, d, decoy.State, factor.Response{Values: map[string]string{"code": decoy.Deliver.Code}}); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("decoy verified: %v", err)
	}
	if _, err := f.Challenge(context.Background(), s, factor.Enrollment{Kind: voice.Kind, Secret: []byte("not a number")}); !errors.Is(err, factor.ErrNotAvailable) {
		t.Fatalf("bad enrolled number: %v", err)
	}
}

func TestCallerErrors(t *testing.T) {
	_, caller, tw, _ := setup(t)
	if _, err := caller.Call(context.Background(), "12345", "123456", text); !sms.IsPermanent(err) {
		t.Fatalf("invalid number: %v, want a permanent error", err)
	}
	bad, _ := voice.NewCaller(voice.CallerConfig{BaseURL: tw.URL(), AccountSID: tw.AccountSID, AuthToken: "wrong", From: "+15005550006"})
	_, err := bad.Call(context.Background(), "+14155550142", "123456", text)
	if !errors.Is(err, sms.ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	if strings.Contains(err.Error(), "123456") {
		t.Fatal("the code appears in an error")
	}
	if _, err := caller.Call(context.Background(), "+14155550142", "123456", "no placeholder"); err == nil {
		t.Fatal("a text without a placeholder was accepted")
	}
}

func TestTwiMLEscapes(t *testing.T) {
	doc, err := voice.TwiML("Code <b>&</b> %s", "12", "alice", `en"US`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc, "<b>") || !strings.Contains(doc, "1, 2") || strings.Contains(doc, `en"US`) {
		t.Fatalf("TwiML %s", doc)
	}
}
