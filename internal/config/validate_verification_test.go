package config_test

import (
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/config"
)

// TestPasskeyRelyingParty: a passkey set-up that browsers would refuse is a
// problem at its key, as the passkey factor refuses it when sspr starts.
func TestPasskeyRelyingParty(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		baseURL, rpID string
		origins       []string
		key           string // "" = valid
	}{
		{"https, rp_id from base_url", "https://sspr.example.com", "", nil, ""},
		{"https, rp_id a parent", "https://sspr.example.com", "example.com", nil, ""},
		{"http on localhost", "http://localhost:8080", "", nil, ""},
		{"plain http elsewhere", "http://sspr.example.com", "", nil, "server.base_url"},
		{"plain http on 127.0.0.1", "http://127.0.0.1:8080", "", nil, "server.base_url"},
		{"rp_id not the host", "https://password.example.com", "sspr.example.com", nil, "verification.passkey.rp_id"},
		{"rp_id a sibling's suffix", "https://evilexample.com", "example.com", nil, "verification.passkey.rp_id"},
		{"origin not under rp_id", "https://sspr.example.com", "", []string{"https://other.example.org"}, "verification.passkey.origins[0]"},
		{"origin over http", "https://sspr.example.com", "example.com", []string{"http://sspr.example.com"}, "verification.passkey.origins[0]"},
		{"origin with a path", "https://sspr.example.com", "", []string{"https://sspr.example.com/reset"}, "verification.passkey.origins[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, validYAML, nil)
			cfg.Server.BaseURL = tc.baseURL
			cfg.Verification.Factors = []string{"email", "passkey"}
			cfg.Verification.Passkey.RPID = tc.rpID
			cfg.Verification.Passkey.Origins = tc.origins
			err := config.Validate(cfg)
			if tc.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if _, ok := find(problemsOf(t, err), tc.key); !ok {
				t.Errorf("problems %v, want one at %s", err, tc.key)
			}
		})
	}
	// Without passkeys, plain http is only a warning.
	cfg := mustParse(t, validYAML, nil)
	cfg.Server.BaseURL = "http://sspr.example.com"
	cfg.Verification.Factors = []string{"email", "totp"}
	cfg.Verification.Passkey.RPID = "unrelated.example.org"
	if err := config.Validate(cfg); err != nil {
		t.Errorf("passkeys off: %v", err)
	}
	if w := cfg.Warnings(); len(w) != 1 || !strings.Contains(w[0].Message, "plain http") {
		t.Errorf("warnings = %v", w)
	}
}
