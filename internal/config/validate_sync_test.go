package config_test

import (
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

func entraTarget() config.SyncTarget {
	return config.SyncTarget{Name: "m365", Type: "entra", Entra: config.SyncEntra{TenantID: "t", ClientID: "c",
		ClientSecret: config.Secret{Value: "s"}}}
}

// TestSyncRules: each target complete for its type, alerts required,
// hooks a command or a signed https URL.
func TestSyncRules(t *testing.T) {
	t.Parallel()
	alert := func(c *config.Config) { c.Sync.AlertTo = []string{"admins@example.com"} }
	checkRules(t, []rule{
		{"no sync at all", func(c *config.Config) {}, nil},
		{"a complete entra target", func(c *config.Config) { alert(c); c.Sync.Targets = []config.SyncTarget{entraTarget()} }, nil},
		{"targets without alert_to", func(c *config.Config) { c.Sync.Targets = []config.SyncTarget{entraTarget()} }, []string{"sync.alert_to"}},
		{"a bad alert address", func(c *config.Config) { c.Sync.AlertTo = []string{"not an address"} }, []string{"sync.alert_to[0]"}},
		{"unknown type, duplicate name", func(c *config.Config) {
			alert(c)
			x := entraTarget()
			x.Type = "carrier-pigeon"
			c.Sync.Targets = []config.SyncTarget{entraTarget(), x}
		}, []string{"sync.targets[1].name", "sync.targets[1].type"}},
		{"entra with secret and certificate", func(c *config.Config) {
			alert(c)
			x := entraTarget()
			x.Entra.CertificateFile, x.Entra.CertificateKeyFile = "/nonexistent/crt", "/nonexistent/key"
			x.Entra.GraphURL = "http://graph.example"
			c.Sync.Targets = []config.SyncTarget{x}
		}, []string{"sync.targets[0].entra.certificate_file", "sync.targets[0].entra.certificate_key_file",
			"sync.targets[0].entra.client_secret", "sync.targets[0].entra.graph_url"}},
		{"empty google", func(c *config.Config) {
			alert(c)
			c.Sync.Targets = []config.SyncTarget{{Name: "g", Type: "google", Google: config.SyncGoogle{HashFunction: "MD5"}}}
		}, []string{"sync.targets[0].google.credentials", "sync.targets[0].google.hash_function", "sync.targets[0].google.subject"}},
		{"ldap naming a configured directory", func(c *config.Config) {
			alert(c)
			c.Sync.Targets = []config.SyncTarget{{Name: "l", Type: "ldap", Directory: c.Directories[0].Name}}
		}, nil},
		{"ldap naming no directory", func(c *config.Config) {
			alert(c)
			c.Sync.Targets = []config.SyncTarget{{Name: "l", Type: "ldap", Directory: "elsewhere"}}
		}, []string{"sync.targets[0].directory"}},
		{"hooks: both, neither, plain http, no secret", func(c *config.Config) {
			c.Sync.PreHooks = []config.SyncHook{
				{Name: "a", Command: []string{"/bin/true"}, URL: "https://x.example"},
				{Name: "b"},
				{Name: "c", URL: "http://hooks.example.com/x", Secret: config.Secret{Value: "k"}},
				{URL: "https://hooks.example.com/x", Timeout: time.Hour},
			}
		}, []string{"sync.pre_hooks[0].command", "sync.pre_hooks[1].command", "sync.pre_hooks[2].url",
			"sync.pre_hooks[3].name", "sync.pre_hooks[3].secret", "sync.pre_hooks[3].timeout"}},
		{"a post-hook outlasting the outbox lease", func(c *config.Config) {
			alert(c)
			c.Mail.SMTP.Timeout = 10 * time.Second
			c.Sync.Targets = []config.SyncTarget{{Name: "h", Type: "hook", Hook: config.SyncHook{Command: []string{"/bin/true"}, Timeout: 50 * time.Second}}}
		}, []string{"sync.targets[0].hook.timeout"}},
		{"a loopback webhook may be http", func(c *config.Config) {
			c.Sync.PreHooks = []config.SyncHook{{Name: "a", URL: "http://127.0.0.1:9000/check", Secret: config.Secret{Value: "k"}}}
		}, nil},
	})
}

// Defaults: map per type, hook timeout.
func TestSyncDefaults(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, validYAML, nil)
	cfg.Sync.AlertTo = []string{"admins@example.com"}
	cfg.Sync.Targets = []config.SyncTarget{entraTarget(),
		{Name: "h", Type: "hook", Hook: config.SyncHook{Command: []string{"/bin/true"}}}}
	if err := config.Validate(cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Sync.Targets[0].Map != "upn" || cfg.Sync.Targets[1].Map != "login" || cfg.Sync.Targets[1].Hook.Timeout != 10*time.Second {
		t.Fatalf("defaults not applied: %+v", cfg.Sync.Targets)
	}
}
