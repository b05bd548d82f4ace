package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
