package config_test

import (
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

func entraDirectory() config.Directory {
	return config.Directory{Name: "cloud", Type: "entra", Domains: []string{"cloud.example.com"}, Timeout: 10 * time.Second,
		Entra: config.DirectoryEntra{TenantID: "t", ClientID: "c", ClientSecret: config.Secret{Value: "s"}}}
}

// TestEntraDirectoryRules: a type entra directory needs its tenant, app and
// one credential, no LDAP keys, and https (http only on loopback).
func TestEntraDirectoryRules(t *testing.T) {
	t.Parallel()
	add := func(c *config.Config, d config.Directory) { c.Directories = append(c.Directories, d) }
	checkRules(t, []rule{
		{"a complete entra directory", func(c *config.Config) { add(c, entraDirectory()) }, nil},
		{"a local test tenant on loopback", func(c *config.Config) {
			d := entraDirectory()
			d.Entra.GraphURL, d.Entra.LoginURL = "http://127.0.0.1:8080", "http://localhost:8081"
			add(c, d)
		}, nil},
		{"empty entra", func(c *config.Config) { add(c, config.Directory{Name: "cloud", Type: "entra", Timeout: time.Second}) },
			[]string{"directories[2].entra.client_id", "directories[2].entra.client_secret", "directories[2].entra.tenant_id"}},
		{"secret and certificate, plain http, LDAP keys, a bad domain", func(c *config.Config) {
			d := entraDirectory()
			d.Entra.CertificateFile = "/nonexistent/crt"
			d.Entra.GraphURL = "http://graph.example"
			d.URLs, d.BaseDN, d.Domains = []string{"ldaps://x"}, "dc=x", []string{"EXAMPLE\\x"}
			add(c, d)
		}, []string{"directories[2].base_dn", "directories[2].domains[0]", "directories[2].entra.certificate_file",
			"directories[2].entra.client_secret", "directories[2].entra.graph_url", "directories[2].urls"}},
	})
}
