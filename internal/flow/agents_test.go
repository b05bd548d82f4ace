package flow_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/flow"
)

// TestAgentsRegisterSignRevoke: a one-time token registers one machine; its
// signature over the request verifies within the skew window and not
// outside it, nor with another key, a changed body or after revocation.
func TestAgentsRegisterSignRevoke(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	agents := &flow.Agents{Kit: h.reset.Kit, TokenKey: []byte("0123456789abcdef0123456789abcdef")}
	if _, _, err := agents.IssueToken(ctx, "", time.Hour, "test"); err == nil {
		t.Fatal("a token for no machine name was issued")
	}
	token, expires, err := agents.IssueToken(ctx, "laptop-1", time.Hour, "test")
	if err != nil || !expires.After(h.clock.Now()) {
		t.Fatalf("issue: %v %v", expires, err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := agents.Register(ctx, token, pub[:10], "1.0", "192.0.2.1"); flowCode(err) != flow.CodeCredentialsWrong {
		t.Fatalf("a short key: %v", err)
	}
	m, err := agents.Register(ctx, token, pub, "1.0", "192.0.2.1")
	if err != nil || m.Name != "laptop-1" || m.ID == "" {
		t.Fatalf("register: %+v %v", m, err)
	}
	if _, err := agents.Register(ctx, token, pub, "1.0", "192.0.2.1"); flowCode(err) != flow.CodeCredentialsWrong {
		t.Fatalf("the token worked twice: %v", err)
	}

	body := []byte(`{"login":"alice"}`)
	now := h.clock.Now().Unix()
	sign := func(key ed25519.PrivateKey, unix int64, b []byte) string {
		return base64.StdEncoding.EncodeToString(ed25519.Sign(key, flow.AgentSigningText("POST", "/api/v1/reset", unix, b)))
	}
	auth := func(sig string, unix int64, b []byte) error {
		_, err := agents.Authenticate(ctx, m.ID, strconv.FormatInt(unix, 10), sig, "POST", "/api/v1/reset", b, "1.1", "192.0.2.2")
		return err
	}
	if err := auth(sign(priv, now, body), now, body); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	for name, err := range map[string]error{
		"another key":  auth(sign(other, now, body), now, body),
		"changed body": auth(sign(priv, now, body), now, []byte(`{"login":"bob"}`)),
		"stale":        auth(sign(priv, now-600, body), now-600, body),
		"not base64":   auth("!!", now, body),
	} {
		if flowCode(err) != flow.CodeCredentialsWrong {
			t.Errorf("%s: %v", name, err)
		}
	}
	list, err := agents.List(ctx)
	if err != nil || len(list) != 1 || list[0].Version != "1.1" || list[0].LastIP != "192.0.2.2" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if n, err := agents.Revoke(ctx, "laptop-1", "test"); n != 1 || err != nil {
		t.Fatalf("revoke: %d %v", n, err)
	}
	if err := auth(sign(priv, now, body), now, body); flowCode(err) != flow.CodeCredentialsWrong {
		t.Fatalf("a revoked agent: %v", err)
	}
	if n, _ := agents.Revoke(ctx, "laptop-1", "test"); n != 0 {
		t.Fatalf("revoked twice: %d", n)
	}
}
