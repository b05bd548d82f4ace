package passkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/passkey"
)

var handleKey = bytes.Repeat([]byte{5}, 32)

func baseConfig() passkey.Config {
	return passkey.Config{
		RPID: "sspr.example.com", RPDisplayName: "Example", RPOrigins: []string{"https://sspr.example.com"},
		UserHandleKey: handleKey,
	}
}

func TestConfig(t *testing.T) {
	mods := map[string]func(*passkey.Config){
		"no RP ID":         func(c *passkey.Config) { c.RPID = "" },
		"no name":          func(c *passkey.Config) { c.RPDisplayName = "" },
		"no origins":       func(c *passkey.Config) { c.RPOrigins = nil },
		"foreign origin":   func(c *passkey.Config) { c.RPOrigins = []string{"https://evil.example.net"} },
		"http origin":      func(c *passkey.Config) { c.RPOrigins = []string{"http://sspr.example.com"} },
		"origin with path": func(c *passkey.Config) { c.RPOrigins = []string{"https://sspr.example.com/reset"} },
		"bad UV":           func(c *passkey.Config) { c.UserVerification = "always" },
		"bad attachment":   func(c *passkey.Config) { c.Attachment = "usb" },
		"bad RK":           func(c *passkey.Config) { c.ResidentKey = "maybe" },
		"short key":        func(c *passkey.Config) { c.UserHandleKey = []byte("k") },
		"negative time":    func(c *passkey.Config) { c.Timeout = -time.Second },
	}
	for name, mod := range mods {
		cfg := baseConfig()
		mod(&cfg)
		if _, err := passkey.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, cfg := range []passkey.Config{
		baseConfig(),
		func() passkey.Config {
			c := baseConfig()
			c.RPID, c.RPOrigins = "example.com", []string{"https://sspr.example.com", "https://example.com:8443"}
			c.Attachment, c.UserVerification, c.ResidentKey = "platform", "preferred", "required"
			return c
		}(),
		{RPID: "localhost", RPDisplayName: "dev", RPOrigins: []string{"http://localhost:8080"}, UserHandleKey: handleKey},
	} {
		if _, err := passkey.New(cfg); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

func TestBeginEnrollOptions(t *testing.T) {
	cfg := baseConfig()
	cfg.Attachment = "cross-platform"
	f, err := passkey.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := factor.Subject{Directory: "corp", DN: "CN=Alice,OU=Staff,DC=example,DC=com", Login: "alice", DisplayName: "Alice"}
	ch, err := f.BeginEnroll(context.Background(), s, factor.Response{})
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		RP        struct{ ID, Name string }
		User      struct{ ID, Name, DisplayName string }
		Challenge string
		Timeout   int
		Selection struct {
			AuthenticatorAttachment, ResidentKey, UserVerification string
		} `json:"authenticatorSelection"`
		Attestation string
	}
	raw := ch.Prompt["options"].(json.RawMessage)
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	if o.RP.ID != "sspr.example.com" || o.User.Name != "alice" || o.User.DisplayName != "Alice" || len(o.Challenge) < 40 ||
		o.Selection.AuthenticatorAttachment != "cross-platform" || o.Selection.ResidentKey != "required" ||
		o.Selection.UserVerification != "required" || o.Timeout != 300000 {
		t.Fatalf("options %s", raw)
	}
	if bytes.Contains(raw, []byte("Staff")) || bytes.Contains(ch.State, []byte("Staff")) {
		t.Fatal("the DN leaks into the options or the state")
	}
	// The user handle is stable per person, different between people,
	// and independent of the DN's case.
	lower := s
	lower.DN = "cn=alice,ou=staff,dc=example,dc=com"
	bob := s
	bob.DN = "CN=Bob,OU=Staff,DC=example,DC=com"
	if !bytes.Equal(f.UserHandle(s), f.UserHandle(lower)) || bytes.Equal(f.UserHandle(s), f.UserHandle(bob)) || len(f.UserHandle(s)) != 32 {
		t.Fatal("user handles")
	}
}

func TestStateChecks(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cfg := baseConfig()
	cfg.Now = func() time.Time { return now }
	f, err := passkey.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := factor.Subject{Directory: "corp", DN: "uid=alice", Login: "alice"}
	ctx := context.Background()
	secret, _ := json.Marshal(passkey.Credential{V: 1, ID: []byte{1, 2, 3}, PublicKey: []byte{4}, UserHandle: f.UserHandle(s)})
	e := factor.Enrollment{Kind: factor.Passkey, Secret: secret}
	ch, err := f.Challenge(ctx, s, e)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Expires.Equal(now.Add(5 * time.Minute)) {
		t.Fatalf("expires %v", ch.Expires)
	}
	var o struct {
		AllowCredentials []struct{ ID, Type string }
		UserVerification string
	}
	if err := json.Unmarshal(ch.Prompt["options"].(json.RawMessage), &o); err != nil || len(o.AllowCredentials) != 1 || o.AllowCredentials[0].ID != "AQID" || o.UserVerification != "required" {
		t.Fatalf("assertion options %s: %v", ch.Prompt["options"], err)
	}
	// A verify state is no enrollment state.
	if _, err := f.FinishEnroll(ctx, s, ch.State, factor.Response{JSON: []byte(`{}`)}); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("verify state to enroll: %v", err)
	}
	// Garbage responses.
	for _, resp := range []string{``, `{}`, `not json`, `{"id":"AQID","type":"public-key"}`} {
		if _, err := f.Verify(ctx, s, e, ch.State, factor.Response{JSON: []byte(resp)}); !errors.Is(err, factor.ErrWrongResponse) {
			t.Errorf("response %q: %v", resp, err)
		}
	}
	now = now.Add(5 * time.Minute)
	if _, err := f.Verify(ctx, s, e, ch.State, factor.Response{JSON: []byte(`{}`)}); !errors.Is(err, factor.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if _, err := f.Challenge(ctx, s, factor.Enrollment{Secret: []byte("{}")}); !errors.Is(err, factor.ErrNotAvailable) {
		t.Fatalf("bad secret: %v", err)
	}
	if f.Kind() != factor.Passkey || !f.NeedsEnrollment() {
		t.Fatal("kind")
	}
}
