package sms_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/factor"
	factorsms "github.com/sspr/sspr/internal/factor/sms"
)

var key = bytes.Repeat([]byte{7}, 32)

func newFactor(t *testing.T, c *testclock.Clock) *factorsms.Factor {
	t.Helper()
	f, err := factorsms.New(factorsms.Config{Key: key, CodeLength: 8, TTL: 5 * time.Minute, DefaultRegion: "+1", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var alice = factor.Subject{Directory: "corp", DN: "uid=alice,ou=people,dc=example,dc=com", Login: "alice"}

func TestEnrollAndVerify(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	f := newFactor(t, c)

	ch, err := f.BeginEnroll(ctx, alice, factor.Response{Values: map[string]string{"phone": "(415) 555-0142"}})
	if err != nil {
		t.Fatal(err)
	}
	d := ch.Deliver
	if d == nil || d.Channel != "sms" || d.To != "+14155550142" || len(d.Code) != 8 {
		t.Fatalf("delivery %+v", d)
	}
	if bytes.Contains(ch.State, []byte(d.Code)) {
		t.Fatal("the state holds the code")
	}
	if !ch.Expires.Equal(c.Now().Add(5*time.Minute)) || ch.Prompt["to"] != "+1 *** *** **42" {
		t.Fatalf("challenge %+v", ch)
	}
	if _, err := f.FinishEnroll(ctx, alice, ch.State, code("00000000")); !errors.Is(err, factor.ErrWrongResponse) && d.Code != "00000000" {
		t.Fatalf("wrong code: %v", err)
	}
	e, err := f.FinishEnroll(ctx, alice, ch.State, code(d.Code[:4]+" "+d.Code[4:]))
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != factor.SMS || string(e.Secret) != "+14155550142" || e.Label != "+1 *** *** **42" || !e.CreatedAt.Equal(c.Now()) {
		t.Fatalf("enrollment %+v", e)
	}

	c.Advance(time.Hour)
	ch, err = f.Challenge(ctx, alice, e)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Deliver.To != "+14155550142" {
		t.Fatalf("delivery %+v", ch.Deliver)
	}
	// An enrollment state does not verify, nor the other way round.
	if _, err := f.FinishEnroll(ctx, alice, ch.State, code(ch.Deliver.Code)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("verify state used to enroll: %v", err)
	}
	bob := alice
	bob.DN = "uid=bob,ou=people,dc=example,dc=com"
	if _, err := f.Verify(ctx, bob, e, ch.State, code(ch.Deliver.Code)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("alice's state verified bob: %v", err)
	}
	other := e
	other.Secret = []byte("+14155550199")
	if _, err := f.Verify(ctx, alice, other, ch.State, code(ch.Deliver.Code)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("state for another number: %v", err)
	}
	c.Advance(time.Minute)
	got, err := f.Verify(ctx, alice, e, ch.State, code(ch.Deliver.Code))
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsedAt.Equal(c.Now()) {
		t.Fatalf("LastUsedAt %v", got.LastUsedAt)
	}
	c.Advance(5 * time.Minute)
	if _, err := f.Verify(ctx, alice, e, ch.State, code(ch.Deliver.Code)); !errors.Is(err, factor.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
}

func TestTamperedState(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Now())
	f := newFactor(t, c)
	e, _ := f.FromDirectory("+1 415 555 0142")
	ch, err := f.Challenge(ctx, alice, e)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ch.State {
		bad := bytes.Clone(ch.State)
		bad[i] ^= 1
		if _, err := f.Verify(ctx, alice, e, bad, code(ch.Deliver.Code)); err == nil {
			t.Fatalf("state with byte %d flipped verified", i)
		}
	}
	other, _ := factorsms.New(factorsms.Config{Key: bytes.Repeat([]byte{8}, 32), Now: c.Now})
	if _, err := other.Verify(ctx, alice, e, ch.State, code(ch.Deliver.Code)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("another key verified: %v", err)
	}
	if _, err := f.Verify(ctx, alice, e, ch.State, code("")); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("empty code: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	f := newFactor(t, testclock.New(time.Now()))
	for _, phone := range []string{"", "call me", "+0 12", "12"} {
		if _, err := f.BeginEnroll(context.Background(), alice, factor.Response{Values: map[string]string{"phone": phone}}); !errors.Is(err, factor.ErrBadInput) {
			t.Errorf("%q: %v", phone, err)
		}
	}
	if _, err := f.FromDirectory("n/a"); !errors.Is(err, factor.ErrBadInput) {
		t.Errorf("FromDirectory: %v", err)
	}
	if _, err := f.Challenge(context.Background(), alice, factor.Enrollment{Secret: []byte("garbage")}); !errors.Is(err, factor.ErrNotAvailable) {
		t.Errorf("Challenge with a bad secret: %v", err)
	}
}

func TestConfig(t *testing.T) {
	bad := []factorsms.Config{
		{Key: []byte("short")},
		{Key: key, CodeLength: 4},
		{Key: key, CodeLength: 13},
		{Key: key, TTL: -time.Second},
		{Key: key, DefaultRegion: "US"},
	}
	for _, cfg := range bad {
		if _, err := factorsms.New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	f, err := factorsms.New(factorsms.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.FromDirectory("+44 20 7946 0018")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := f.Challenge(context.Background(), alice, e)
	if err != nil || len(ch.Deliver.Code) != 6 || ch.Prompt["length"] != 6 {
		t.Fatalf("defaults: %+v %v", ch, err)
	}
	if f.Kind() != factor.SMS || !f.NeedsEnrollment() {
		t.Fatal("kind")
	}
}

func code(c string) factor.Response { return factor.Response{Values: map[string]string{"code": c}} }
