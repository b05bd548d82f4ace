package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/config"
)

// knownSecrets are the secret values exampleEnv gives the example file,
// plus ones written inline below.
var knownSecrets = []string{"corp-bind-pw", "lab-bind-pw", "smtp-pw", "twilio-token", "gw-token", testHMACKey, "url-pass-9876", "query-token-5432"}

// TestEffectiveConfigHidesSecrets renders the example configuration (every
// section, secrets from files) with secrets and credentials in URLs added,
// and checks that none of the known secret values appears, while ordinary
// settings do.
func TestEffectiveConfigHidesSecrets(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, readExample(t), exampleEnv(t))
	cfg.Server.BaseURL = "https://sso.example.com/reset?x=1&access_token=query-token-5432"
	cfg.Storage.Path = "postgres://sspr:url-pass-9876@db.example.com/sspr"
	out := string(config.EffectiveYAML(cfg))
	for _, s := range knownSecrets {
		if strings.Contains(out, s) {
			t.Errorf("the effective configuration shows the secret %q", s)
		}
	}
	for _, want := range []string{"idle_timeout: 15m0s", "hmac_key: \"" + config.Redacted + "\"", "dc1.example.com", "bind_password_file:", "currency: EUR"} {
		if !strings.Contains(out, want) {
			t.Errorf("the effective configuration lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", out)
	}
	// Snapshots keep only HMACs of secrets.
	snap := config.TakeSnapshot(cfg, []byte("snapshot key"))
	for k, v := range snap {
		for _, s := range knownSecrets {
			if strings.Contains(v.V, s) {
				t.Errorf("the snapshot's %s holds the secret %q", k, s)
			}
		}
	}
}

// TestChangesPerKey changes a policy setting, a list and a secret and
// checks the changes: old → new for the settings, "changed" for the
// secret, whose values appear nowhere.
func TestChangesPerKey(t *testing.T) {
	t.Parallel()
	e := exampleEnv(t)
	old := mustParse(t, readExample(t), e)
	cur := mustParse(t, readExample(t), e)
	if got := config.Changes(old, cur); len(got) != 0 {
		t.Fatalf("the same configuration differs: %+v", got)
	}
	cur.Admin.IdleTimeout = 20 * 60 * 1e9
	cur.Admin.Roles.Auditor = []string{"cn=auditors,dc=example,dc=com"}
	cur.Mail.SMTP.Password.Value = "new-smtp-secret-1234"
	got := config.Changes(old, cur)
	want := []config.Change{
		{Key: "admin.idle_timeout", Old: "15m0s", New: "20m0s"},
		{Key: "admin.roles.auditor", Old: "[]", New: `["cn=auditors,dc=example,dc=com"]`},
		{Key: "mail.smtp.password", Old: config.SecretChanged, New: config.SecretChanged},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("changes:\n got %+v\nwant %+v", got, want)
	}
	// Stored snapshots compare the same way, under one key.
	key := []byte("k")
	if d := config.DiffSnapshots(config.TakeSnapshot(old, key), config.TakeSnapshot(cur, key)); !slices.Equal(d, want) {
		t.Fatalf("snapshot changes: %+v", d)
	}
}
