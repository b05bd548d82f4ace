package hook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/sync/hook"
	"github.com/sspr/sspr/internal/sync/target"
)

var ada = target.Identity{Attribute: "login", Key: "ada", Login: "ada", DN: "uid=ada,ou=people,dc=example,dc=test"}

// script writes an executable shell script into a temporary directory.
func script(t *testing.T, body string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o700); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

// A pre-hook command refuses a password with its own words, which reach
// the caller as a *target.Refusal; the password travels on stdin only.
func TestCommandPreHookRefuses(t *testing.T) {
	path, _ := script(t, `cat > "$0.stdin"; env > "$0.env"; echo "$@" > "$0.args"
if grep -q Summer "$0.stdin"; then printf '\n  Seasons make guessable passwords: please pick another.  \nmore\n'; exit 1; fi
exit 0
`)
	h := &hook.Command{HookName: "policy", Path: path, Args: []string{"--check"}}
	ctx := context.Background()
	err := h.Check(ctx, ada, "Summer-2026-xyz")
	var r *target.Refusal
	if !errors.As(err, &r) || r.Message != "Seasons make guessable passwords: please pick another." {
		t.Fatalf("Check = %v, want the hook's refusal", err)
	}
	for _, f := range []string{".env", ".args"} {
		b, _ := os.ReadFile(path + f)
		if strings.Contains(string(b), "Summer-2026-xyz") {
			t.Fatalf("the password reached the hook's %s: %s", f, b)
		}
	}
	var p hook.Payload
	b, _ := os.ReadFile(path + ".stdin")
	if err := json.Unmarshal(b, &p); err != nil || p.Password != "Summer-2026-xyz" || p.Phase != "pre" || p.Identity.Login != "ada" {
		t.Fatalf("stdin = %s (%v)", b, err)
	}
	if err := h.Check(ctx, ada, "Correct-horse-99"); err != nil {
		t.Fatalf("an acceptable password: %v", err)
	}
}

// A pre-hook that hangs is killed at its timeout and stops the change
// (not a refusal: nobody decided); a post-hook exiting 75 asks for a
// retry, another code gives up.
func TestCommandTimeoutAndExitCodes(t *testing.T) {
	path, _ := script(t, "sleep 60\n")
	err := (&hook.Command{HookName: "slow", Path: path, Timeout: 300 * time.Millisecond}).Check(context.Background(), ada, "pw-123456")
	var r *target.Refusal
	if err == nil || errors.As(err, &r) || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("hanging pre-hook: %v", err)
	}
	tmp, _ := script(t, "echo busy; exit 75\n")
	err = (&hook.Command{HookName: "tmp", Path: tmp}).SetPassword(context.Background(), ada, "pw-123456")
	var te *target.Error
	if !errors.As(err, &te) || te.Permanent() {
		t.Fatalf("exit 75: %v, want a retry", err)
	}
	bad, _ := script(t, "echo no such account >&2; exit 3\n")
	err = (&hook.Command{HookName: "bad", Path: bad}).SetPassword(context.Background(), ada, "pw-123456")
	if !errors.As(err, &te) || !te.Permanent() || !strings.Contains(err.Error(), "no such account") {
		t.Fatalf("exit 3: %v, want permanent with the hook's words", err)
	}
}

// A webhook's body is signed; a receiver refusing answers 4xx with a
// message for the person; a 503 with Retry-After is retried after it.
func TestWebhookSignedRefusalAndRetry(t *testing.T) {
	secret := []byte("webhook-secret")
	var status int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !hook.VerifySignature(secret, body, r.Header.Get(hook.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p hook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		switch {
		case p.Phase == "pre" && strings.Contains(p.Password, "acme"):
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"message":"Your password must not contain the company name."}`))
		case status != 0:
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(status)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	h := &hook.Webhook{HookName: "hr", URL: srv.URL, Secret: secret, HTTP: srv.Client()}
	var r *target.Refusal
	if err := h.Check(ctx, ada, "I-love-acme-2026"); !errors.As(err, &r) || r.Message != "Your password must not contain the company name." {
		t.Fatalf("refusal: %v", err)
	}
	if err := h.Check(ctx, ada, "Fine-password-77"); err != nil {
		t.Fatal(err)
	}
	if err := h.SetPassword(ctx, ada, "Fine-password-77"); err != nil {
		t.Fatal(err)
	}
	status = http.StatusServiceUnavailable
	err := h.SetPassword(ctx, ada, "Fine-password-77")
	var te *target.Error
	if !errors.As(err, &te) || te.Permanent() || te.RetryAfter() != 30*time.Second {
		t.Fatalf("503: %v, want a retry after 30 s", err)
	}
	wrong := &hook.Webhook{HookName: "hr", URL: srv.URL, Secret: []byte("other"), HTTP: srv.Client()}
	if err := wrong.SetPassword(ctx, ada, "Fine-password-77"); !errors.As(err, &te) || !te.Permanent() {
		t.Fatalf("wrong secret: %v, want permanent (401)", err)
	}
}

// A webhook answering with a redirect does not get the password sent on
// to wherever it points: the answer counts as a failure.
func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	reached := false
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	defer elsewhere.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()
	h := &hook.Webhook{HookName: "moved", URL: redirecting.URL, Secret: []byte("k")}
	err := h.SetPassword(context.Background(), ada, "Fine-password-77")
	var te *target.Error
	if !errors.As(err, &te) || !te.Permanent() || reached {
		t.Fatalf("redirect: %v (followed: %v)", err, reached)
	}
}
