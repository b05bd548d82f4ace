package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
)

// baseYAML is a valid configuration whose directory is never contacted:
// Check works without the network.
const baseYAML = `
server:
  base_url: https://sspr.example.com
storage:
  path: /nonexistent/sspr.db
secrets:
  hmac_key: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
directories:
  - name: corp
    type: ad
    urls: [ldaps://dc1.example.com:636]
    bind_dn: CN=svc,DC=example,DC=com
    bind_password: pw
    base_dn: DC=example,DC=com
mail:
  from: noreply@example.com
  smtp:
    host: smtp.example.com
`

func parse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func has(ps []config.Problem, path, text string) bool {
	for _, p := range ps {
		if p.Path == path && strings.Contains(p.Message, text) {
			return true
		}
	}
	return false
}

// TestCheckFindsWhatServeRefuses: the checks New makes at start-up are
// reported with their keys, without starting anything.
func TestCheckFindsWhatServeRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-corpus")
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	problems, warnings := app.Check(parse(t, baseYAML), nil)
	if len(problems) != 0 {
		t.Fatalf("valid configuration: %v", problems)
	}
	if !has(warnings, "secrets.keyring_file", "no key ring") || !has(warnings, "password.breach.corpus", "not checked against known breaches") {
		t.Errorf("warnings = %v, want the missing key ring and breach corpus", warnings)
	}

	for _, tc := range []struct {
		name, yaml, path, text string
		warning                bool
	}{
		{"missing corpus, refuse", baseYAML + "password:\n  breach:\n    corpus: " + missing + "\n    on_error: refuse\n",
			"password.breach.corpus", "no new password would be accepted", false},
		{"missing corpus, allow", baseYAML + "password:\n  breach:\n    corpus: " + missing + "\n    on_error: allow\n",
			"password.breach.corpus", "not checked", true},
		{"unknown language", baseYAML + "portal:\n  default_language: xx\n", "portal.default_language", "", false},
		{"CA file without a certificate", strings.Replace(baseYAML, "    base_dn:", "    ca_file: "+notPEM+"\n    base_dn:", 1),
			"directories[0].ca_file", "no PEM certificate", false},
		{"password rules that contradict", baseYAML + "password:\n  min_length: 30\n  max_length: 20\n", "password", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			problems, warnings := app.Check(parse(t, tc.yaml), nil)
			got := problems
			if tc.warning {
				got = warnings
				if len(problems) != 0 {
					t.Errorf("problems = %v, want none", problems)
				}
			}
			if !has(got, tc.path, tc.text) {
				t.Errorf("problems = %v, warnings = %v; want %s: ...%s...", problems, warnings, tc.path, tc.text)
			}
		})
	}
}

// TestCheckSkipsWhatConfigReported: a component whose settings already have
// a problem is not built again, so a mistake is reported once.
func TestCheckSkipsWhatConfigReported(t *testing.T) {
	t.Parallel()
	cfg := parse(t, baseYAML+"portal:\n  default_language: xx\n")
	problems, _ := app.Check(cfg, []config.Problem{{Path: "portal.default_language", Message: "x"}})
	if has(problems, "portal.default_language", "") {
		t.Errorf("reported twice: %v", problems)
	}
}
