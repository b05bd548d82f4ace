package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Warnings lists settings that work but that an operator should reconsider,
// such as test-only switches and plain-text connections.
func (c *Config) Warnings() []Problem {
	var w []Problem
	for i, d := range c.Directories {
		path := fmt.Sprintf("directories[%d]", i)
		if d.AllowInsecurePasswordWrites {
			w = append(w, Problem{Path: path + ".allow_insecure_password_writes", Message: "is the old name of allow_insecure_binds; rename it"})
		}
		for j, raw := range d.URLs {
			if strings.HasPrefix(strings.ToLower(raw), "ldap://") && !d.StartTLS && d.AllowInsecureBinds {
				w = append(w, Problem{Path: fmt.Sprintf("%s.urls[%d]", path, j),
					Message: "plain LDAP without start_tls and allow_insecure_binds is on: passwords cross the network in clear (tests only!)"})
			}
		}
		if d.InsecureSkipVerify {
			w = append(w, Problem{Path: path + ".insecure_skip_verify", Message: "certificate checks are off (tests only)"})
		}
	}
	if slices.Contains(c.Verification.Factors, "questions") {
		w = append(w, Problem{Path: "verification.factors", Message: "security questions are offered: NIST SP 800-63B-4 forbids them as authenticators; they only ever count next to another factor"})
	}
	if c.Mail.SMTP.Security == "none" && !isLoopback(c.Mail.SMTP.Host) {
		w = append(w, Problem{Path: "mail.smtp.security", Message: "mail leaves without TLS to a host that is not loopback"})
	}
	if host, _, err := net.SplitHostPort(c.Server.ProfileListen); err == nil && !isLoopback(host) {
		w = append(w, Problem{Path: "server.profile_listen", Message: "the profiler listens beyond loopback: anyone who reaches it can read the process's memory profile and stack traces"})
	}
	if u, err := url.Parse(c.Server.BaseURL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		w = append(w, Problem{Path: "server.base_url", Message: "the portal is reached over plain http; put it behind TLS"})
	}
	if slices.Contains(c.Verification.Factors, "manager_approval") {
		for i, d := range c.Directories {
			if d.Type == "entra" || d.Type == "connector" {
				w = append(w, Problem{Path: fmt.Sprintf("directories[%d].type", i),
					Message: fmt.Sprintf("manager approval is offered, but a %s directory cannot give a manager's mail address: its people's approval requests are never mailed, and they wait until the request expires (choose other factors for them with a policy)", d.Type)})
			}
		}
	}
	if c.Storage.Driver == "postgres" && postgresInClear(c.Storage.DSN.Value) {
		w = append(w, Problem{Path: "storage.dsn", Message: "the database connection may run without TLS to a host that is not loopback: add sslmode=verify-full (or require)"})
	}
	w = append(w, c.policyWarnings()...)
	w = append(w, c.accessWarnings()...)
	return w
}

// postgresInClear reports whether a PostgreSQL connection string lets the
// connection (or a fallback of it: sslmode prefer, the default, or allow)
// run without TLS to a host beyond loopback or a Unix socket.
func postgresInClear(dsn string) bool {
	if dsn == "" {
		return false
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return false // reported by Validate
	}
	plain := cfg.TLSConfig == nil
	for _, fb := range cfg.Fallbacks {
		plain = plain || fb.TLSConfig == nil
	}
	return plain && !strings.HasPrefix(cfg.Host, "/") && !isLoopback(cfg.Host)
}
