package email_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/email"
)

var key = bytes.Repeat([]byte{9}, 32)

var alice = factor.Subject{Directory: "corp", DN: "uid=alice,ou=people,dc=example,dc=com", Login: "alice"}

func code(c string) factor.Response { return factor.Response{Values: map[string]string{"code": c}} }

func TestEnrollAndVerify(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f, err := email.New(email.Config{Key: key, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := f.BeginEnroll(ctx, alice, factor.Response{Values: map[string]string{"email": " Alice.Smith@Example.COM "}})
	if err != nil {
		t.Fatal(err)
	}
	d := ch.Deliver
	if d == nil || d.Channel != "email" || d.To != "Alice.Smith@example.com" || len(d.Code) != 6 {
		t.Fatalf("delivery %+v", d)
	}
	if bytes.Contains(ch.State, []byte(d.Code)) {
		t.Fatal("the state holds the code")
	}
	e, err := f.FinishEnroll(ctx, alice, ch.State, code(d.Code))
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != factor.Email || string(e.Secret) != "Alice.Smith@example.com" || e.Label != "A***@e***.com" {
		t.Fatalf("enrollment %+v", e)
	}
	ch, err = f.Challenge(ctx, alice, e)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if ch.Deliver.Code == wrong {
		wrong = "111111"
	}
	if _, err := f.Verify(ctx, alice, e, ch.State, code(wrong)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("wrong code: %v", err)
	}
	if _, err := f.Verify(ctx, alice, e, ch.State, code(ch.Deliver.Code)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(11 * time.Minute)
	if _, err := f.Verify(ctx, alice, e, ch.State, code(ch.Deliver.Code)); !errors.Is(err, factor.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	good := map[string]string{
		"a@b.example":            "a@b.example",
		" John.Doe@EXAMPLE.org ": "John.Doe@example.org",
		"x+tag@sub.example.com":  "x+tag@sub.example.com",
	}
	for in, want := range good {
		if got, err := email.Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "nope", "a@b", "Alice <a@b.example>", "a@b.example, c@d.example", "a@.example", "a@b..example", "a @b.example", "a@b.example\r\nBcc: x@y.example"} {
		if got, err := email.Normalize(in); err == nil {
			t.Errorf("Normalize(%q) = %q", in, got)
		}
	}
}

func TestMask(t *testing.T) {
	tests := map[string]string{
		"john@example.com":     "j***@e***.com",
		"j@mail.example.co.uk": "j***@m***.uk",
		"élodie@école.fr":      "é***@é***.fr",
		"nobody":               "***",
		"root@localhost":       "r***@l***",
	}
	for in, want := range tests {
		if got := email.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFromDirectory(t *testing.T) {
	f, _ := email.New(email.Config{Key: key})
	e, err := f.FromDirectory("bob@Example.net")
	if err != nil || string(e.Secret) != "bob@example.net" || e.Label != "b***@e***.net" || e.Kind != factor.Email {
		t.Fatalf("FromDirectory = %+v, %v", e, err)
	}
	if _, err := f.FromDirectory(""); !errors.Is(err, factor.ErrBadInput) {
		t.Fatalf("empty mail: %v", err)
	}
	if _, err := email.New(email.Config{Key: []byte("short")}); err == nil {
		t.Fatal("short key accepted")
	}
}
