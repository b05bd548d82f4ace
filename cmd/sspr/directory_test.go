package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// adConfigFile writes a configuration with one AD directory bound as cfg's
// service account.
func adConfigFile(t *testing.T, cfg ldapdir.Config) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "sspr.yaml")
	yaml := fmt.Sprintf(`server: {base_url: "https://sspr.example.test"}
storage: {path: %q}
secrets: {hmac_key: "c3Nwci1lMmUtdGVzdC1rZXktdGhhdC1pcy1sb25nLWVub3VnaA=="}
directories:
  - name: corp
    type: ad
    urls: [%q]
    ca_file: %q
    bind_dn: %q
    bind_password: %q
    base_dn: %q
mail: {from: noreply@example.test, smtp: {host: 127.0.0.1, port: 2525, security: none}}
`, filepath.Join(dir, "sspr.db"), cfg.URLs[0], cfg.CAFile, cfg.BindDN, cfg.BindPassword, cfg.BaseDN)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDirectoryCheck: a service account lacking the delegated rights is
// reported, in plain words, before any reset is tried; the least-privilege
// account passes.
func TestDirectoryCheck(t *testing.T) {
	out, err := exec.Command(binary, "directory", "check", "-c", adConfigFile(t, dirtest.ADNoRightsConfig(t))).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "[FAIL]") || !strings.Contains(strings.ToLower(string(out)), "reset") {
		t.Fatalf("a service account without rights passed the check (err %v):\n%s", err, out)
	}
	out, err = exec.Command(binary, "directory", "check", "-c", adConfigFile(t, dirtest.ADServiceConfig(t))).CombinedOutput()
	if err != nil || strings.Contains(string(out), "[FAIL]") {
		t.Fatalf("the least-privilege service account failed the check (err %v):\n%s", err, out)
	}
	if !strings.Contains(string(out), "Samba") {
		t.Errorf("the report does not name the server's vendor:\n%s", out)
	}
}

// TestUserShow prints what sspr sees of an account: status and policy.
func TestUserShow(t *testing.T) {
	u := dirtest.CreateADUser(t, "Initial-Pass-1")
	out, err := exec.Command(binary, "user", "show", "-c", adConfigFile(t, dirtest.ADConfig(t)), u.Login).CombinedOutput()
	if err != nil {
		t.Fatalf("user show: %v\n%s", err, out)
	}
	for _, want := range []string{u.DN, "locked:", "no", "password policy", "at least 7 characters", "reset, unlock, change"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("user show lacks %q:\n%s", want, out)
		}
	}
}

// TestUserShowPlainWords: an unknown login and a wrong service password are
// explained in sentences, not as "directory find: not_found" or the
// directory's raw diagnostic.
func TestUserShowPlainWords(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	_, errOut, err := sspr(t, nil, "user", "show", "no-such-person-4711", "-c", adConfigFile(t, cfg))
	if err == nil || !strings.Contains(errOut, "No account matches no-such-person-4711 in any configured directory.") || strings.Contains(errOut, "not_found") {
		t.Errorf("unknown login: %v\n%s", err, errOut)
	}
	cfg.BindPassword = "not-the-password"
	_, errOut, err = sspr(t, nil, "user", "show", "administrator", "-c", adConfigFile(t, cfg))
	if err == nil || !strings.Contains(errOut, "sspr's service account cannot sign in to the directory") || strings.Contains(errOut, "80090308") {
		t.Errorf("wrong service password: %v\n%s", err, errOut)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		42 * 24 * time.Hour:              "42 days",
		24 * time.Hour:                   "1 day",
		36 * time.Hour:                   "1 day 12 hours",
		30 * time.Minute:                 "30 minutes",
		90 * time.Second:                 "1 minute 30 seconds",
		24*time.Hour + 5*time.Minute + 3: "1 day 5 minutes",
		500 * time.Millisecond:           "500ms",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
