package google_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/sync/google"
	"github.com/sspr/sspr/internal/sync/google/googletest"
	"github.com/sspr/sspr/internal/sync/target"
)

func newTarget(t *testing.T, g *googletest.Server, hash, subject string) *google.Target {
	t.Helper()
	cfg := google.Config{Name: "google", Subject: subject, HashFunction: hash, BaseURL: g.URL, HTTP: g.Client()}
	if err := google.ParseKeyFile(g.KeyFile(), &cfg); err != nil {
		t.Fatal(err)
	}
	tg, err := google.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// The password reaches Google hashed (crypt by default, or SHA-1), never
// in clear, and signs in there.
func TestUpdateHashed(t *testing.T) {
	g := googletest.New(t)
	g.AddUser("ada@example.test")
	ctx := context.Background()
	for _, fn := range []string{"", google.HashSHA1} {
		pw := "Workspace-pw-" + fn + "-42"
		if err := newTarget(t, g, fn, "admin@example.test").SetPassword(ctx, target.Identity{Key: "ada@example.test"}, pw); err != nil {
			t.Fatal(err)
		}
		want := fn
		if want == "" {
			want = "crypt"
		}
		if g.HashFunction("ada@example.test") != want || !g.SignIn("ada@example.test", pw) || g.SignIn("ada@example.test", pw+"x") {
			t.Fatalf("%s: stored %s; sign-in with the new password does not work", want, g.HashFunction("ada@example.test"))
		}
	}
}

// Throttling is retried after Retry-After; an unknown user, and a
// subject the delegation does not cover, are permanent.
func TestErrors(t *testing.T) {
	g := googletest.New(t)
	g.AddUser("bo@example.test")
	ctx := context.Background()
	tg := newTarget(t, g, "", "admin@example.test")
	g.Script(googletest.Reply{Status: 403, Reason: "userRateLimitExceeded", RetryAfter: 7})
	var te *target.Error
	err := tg.SetPassword(ctx, target.Identity{Key: "bo@example.test"}, "Workspace-pw-77")
	if !errors.As(err, &te) || te.Permanent() || te.RetryAfter() != 7*time.Second {
		t.Fatalf("rate limited: %v", err)
	}
	err = tg.SetPassword(ctx, target.Identity{Key: "nobody@example.test"}, "Workspace-pw-77")
	if !errors.As(err, &te) || !te.Permanent() {
		t.Fatalf("unknown user: %v", err)
	}
	err = newTarget(t, g, "", "someone@example.test").SetPassword(ctx, target.Identity{Key: "bo@example.test"}, "Workspace-pw-77")
	if !errors.As(err, &te) || !te.Permanent() {
		t.Fatalf("undelegated subject: %v", err)
	}
}
