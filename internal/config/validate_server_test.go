package config_test

import (
	"encoding/base64"
	"testing"

	"github.com/sspr/sspr/internal/config"
)

// TestServerStorageSecretsRules: the server, storage and secrets section's rules.
func TestServerStorageSecretsRules(t *testing.T) {
	t.Parallel()
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	checkRules(t, []rule{
		{"base is valid", func(*config.Config) {}, nil},
		{"base_url required", func(c *config.Config) { c.Server.BaseURL = "" }, []string{"server.base_url"}},
		{"base_url relative", func(c *config.Config) { c.Server.BaseURL = "/reset" }, []string{"server.base_url"}},
		{"base_url without scheme", func(c *config.Config) { c.Server.BaseURL = "sspr.example.com/reset" }, []string{"server.base_url"}},
		{"base_url ftp", func(c *config.Config) { c.Server.BaseURL = "ftp://sspr.example.com" }, []string{"server.base_url"}},
		{"base_url with query", func(c *config.Config) { c.Server.BaseURL = "https://sspr.example.com/?a=b" }, []string{"server.base_url"}},
		{"listen not host:port", func(c *config.Config) { c.Server.Listen = "8080" }, []string{"server.listen"}},
		{"tls cert without key", func(c *config.Config) { c.Server.TLSCertFile = "/nonexistent/cert.pem" }, []string{"server.tls_cert_file", "server.tls_cert_file"}},
		{"bad trusted proxy", func(c *config.Config) { c.Server.TrustedProxies = []string{"10.0.0.1"} }, []string{"server.trusted_proxies[0]"}},
		{"hmac key too short", func(c *config.Config) { c.Secrets.HMACKey.Value = short }, []string{"secrets.hmac_key"}},
		{"hmac key not base64", func(c *config.Config) { c.Secrets.HMACKey.Value = "not base64!" }, []string{"secrets.hmac_key"}},
		{"hmac key missing", func(c *config.Config) { c.Secrets.HMACKey = config.Secret{} }, []string{"secrets.hmac_key"}},
		{"storage driver unknown", func(c *config.Config) { c.Storage.Driver = "mysql" }, []string{"storage.driver"}},
		{"postgres without dsn, with path", func(c *config.Config) { c.Storage.Driver = "postgres" }, []string{"storage.dsn", "storage.path"}},
		{"postgres", func(c *config.Config) {
			c.Storage = config.Storage{Driver: "postgres", DSN: config.Secret{Value: "postgres://sspr@db.example.com:5432/sspr?sslmode=verify-full"}}
		}, nil},
		{"postgres key=value dsn", func(c *config.Config) {
			c.Storage = config.Storage{Driver: "postgres", DSN: config.Secret{Value: "host=db.example.com user=sspr dbname=sspr sslmode=require"}}
		}, nil},
		{"postgres dsn unparsable", func(c *config.Config) {
			c.Storage = config.Storage{Driver: "postgres", DSN: config.Secret{Value: "postgres://sspr:pw@db:notaport/sspr"}}
		}, []string{"storage.dsn"}},
		{"sqlite with a dsn", func(c *config.Config) { c.Storage.DSN = config.Secret{Value: "postgres://db/sspr"} }, []string{"storage.dsn"}},
		{"sqlite without path", func(c *config.Config) { c.Storage.Path = "" }, []string{"storage.path"}},
	})
}
