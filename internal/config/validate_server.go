package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/jackc/pgx/v5/pgconn"
)

// validateServer checks the HTTP listener and the public URL.
func (c *Config) validateServer(p *Problems) {
	s := c.Server
	if s.Listen == "" {
		p.add("server.listen", "is required")
	} else if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		p.addf("server.listen", "%q is not host:port", s.Listen)
	}
	if s.BaseURL == "" {
		p.add("server.base_url", "is required: links in mails are built from it, never from the request")
	} else if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.addf("server.base_url", "%q is not an absolute http(s) URL", s.BaseURL)
	} else if u.RawQuery != "" || u.Fragment != "" {
		p.add("server.base_url", "must not have a query or fragment")
	}
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		p.add("server.tls_cert_file", "tls_cert_file and tls_key_file go together: set both or neither")
	}
	checkFile(p, "server.tls_cert_file", s.TLSCertFile)
	checkFile(p, "server.tls_key_file", s.TLSKeyFile)
	for i, cidr := range s.TrustedProxies {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			p.addf(fmt.Sprintf("server.trusted_proxies[%d]", i), "%q is not a CIDR such as 10.0.0.0/8", cidr)
		}
	}
	positive(p, "server.shutdown_timeout", s.ShutdownTimeout)
	if s.ProfileListen != "" {
		if _, _, err := net.SplitHostPort(s.ProfileListen); err != nil {
			p.addf("server.profile_listen", "%q is not host:port", s.ProfileListen)
		} else if s.ProfileListen == s.Listen {
			p.add("server.profile_listen", "must differ from server.listen: the profiler gets a listener of its own")
		}
	}
	if s.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(s.MetricsListen); err != nil {
			p.addf("server.metrics_listen", "%q is not host:port", s.MetricsListen)
		} else if s.MetricsListen == s.Listen || s.MetricsListen == s.ProfileListen {
			p.add("server.metrics_listen", "must differ from server.listen and server.profile_listen: the metrics get a listener of their own")
		}
	}
}

// validateStorage checks where the database lives.
func (c *Config) validateStorage(p *Problems) {
	st := c.Storage
	switch st.Driver {
	case "sqlite":
		if st.Path == "" {
			p.add("storage.path", "is required (the SQLite database file)")
		}
		if st.DSN.Value != "" || st.DSN.File != "" {
			p.add("storage.dsn", "is for driver postgres; with sqlite the database is storage.path")
		}
	case "postgres":
		if st.Path != "" {
			p.add("storage.path", "is for driver sqlite; with postgres the database is storage.dsn")
		}
		switch {
		case st.DSN.Value == "" && st.DSN.File == "":
			p.add("storage.dsn", "is required with driver postgres: the connection URL, e.g. postgres://sspr@db.example.com:5432/sspr?sslmode=verify-full")
		case st.DSN.Value == "":
			// the file could not be read: already reported
		default:
			if err := checkPostgresDSN(st.DSN.Value); err != nil {
				p.add("storage.dsn", err.Error())
			}
		}
	default:
		p.addf("storage.driver", "%q is not supported; use sqlite or postgres", st.Driver)
	}
}

// checkPostgresDSN parses a PostgreSQL connection string as the driver
// will, without connecting; the error never repeats the string (it may hold
// a password).
func checkPostgresDSN(dsn string) error {
	if _, err := pgconn.ParseConfig(dsn); err != nil {
		return errors.New("is not a PostgreSQL connection URL (postgres://user@host:port/database?sslmode=...) or key=value string")
	}
	return nil
}

// validateSecrets checks the HMAC key and the key ring file.
func (c *Config) validateSecrets(p *Problems) {
	k := c.Secrets.HMACKey
	switch {
	case k.Value == "" && k.File == "":
		p.add("secrets.hmac_key", "is required: 32 random bytes in base64, e.g. from `openssl rand -base64 32`")
	case k.Value == "":
		// the file could not be read: already reported
	default:
		if key, err := decodeKey(k.Value); err != nil {
			p.add("secrets.hmac_key", "is not base64")
		} else if len(key) < 32 {
			p.addf("secrets.hmac_key", "is %d bytes; at least 32 are needed", len(key))
		}
	}
	checkFile(p, "secrets.keyring_file", c.Secrets.KeyringFile)
}
