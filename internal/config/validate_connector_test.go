package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

// TestConnectorDirectoryRules: a type connector directory takes its wait,
// timeout and domains; the LDAP keys belong in the connector's file.
func TestConnectorDirectoryRules(t *testing.T) {
	t.Parallel()
	add := func(c *config.Config, d config.Directory) { c.Directories = append(c.Directories, d) }
	good := func() config.Directory {
		return config.Directory{Name: "onprem", Type: "connector", Domains: []string{"EXAMPLE"}, Timeout: 30 * time.Second,
			Connector: config.DirectoryConnector{Wait: 5 * time.Second}}
	}
	checkRules(t, []rule{
		{"a complete connector directory", func(c *config.Config) { add(c, good()) }, nil},
		{"LDAP keys, a long wait, a bad domain", func(c *config.Config) {
			d := good()
			d.URLs, d.BindDN, d.CAFile, d.Domains = []string{"ldaps://dc1"}, "cn=x", "/etc/ca.pem", []string{"a b"}
			d.Connector.Wait = time.Hour
			add(c, d)
		}, []string{"directories[2].bind_dn", "directories[2].ca_file", "directories[2].connector.wait",
			"directories[2].domains[0]", "directories[2].urls"}},
	})
}

func TestParseConnectorFile(t *testing.T) {
	t.Parallel()
	key := filepath.Join(t.TempDir(), "connector.key")
	if err := os.WriteFile(key, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := `
server: https://sspr.example.com
name: dc1
key_file: ` + key + `
server_pin: sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
directory:
  name: corp
  type: ad
  urls: [ldaps://dc1.example.test]
  bind_dn: sspr@example.test
  bind_password: secret
  base_dn: DC=example,DC=test
`
	c, err := config.ParseConnector([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Directory.LoginNameAttribute != "sAMAccountName" || c.Directory.Timeout != 10*time.Second || c.Log.Level != "info" {
		t.Fatalf("defaults not applied: %+v", c.Directory)
	}
	bad := `
server: http://sspr.example.com
key_file: /nonexistent/key
server_pin: md5/abc
directory:
  name: corp
  type: entra
  bogus: 1
log:
  level: loud
`
	_, err = config.ParseConnector([]byte(bad))
	var ps *config.Problems
	if err == nil {
		t.Fatal("a bad connector file was accepted")
	}
	ps, _ = err.(*config.Problems)
	var keys []string
	for _, p := range ps.List {
		keys = append(keys, p.Path)
	}
	for _, want := range []string{"server", "name", "key_file", "server_pin", "directory.type", "directory.bogus", "log.level"} {
		if !slices.Contains(keys, want) {
			t.Errorf("no problem at %s; got %s", want, strings.Join(keys, ", "))
		}
	}
}
