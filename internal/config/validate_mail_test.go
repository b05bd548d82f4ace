package config_test

import (
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

// TestMailRules: the mail section's rules.
func TestMailRules(t *testing.T) {
	t.Parallel()
	checkRules(t, []rule{
		{"mail.from invalid", func(c *config.Config) { c.Mail.From = "not an address" }, []string{"mail.from"}},
		{"smtp security", func(c *config.Config) { c.Mail.SMTP.Security = "ssl" }, []string{"mail.smtp.security"}},
		{"smtp username without password", func(c *config.Config) { c.Mail.SMTP.Password = config.Secret{} }, []string{"mail.smtp.password"}},
		{"smtp port", func(c *config.Config) { c.Mail.SMTP.Port = 70000 }, []string{"mail.smtp.port"}},
		{"max_backoff below initial", func(c *config.Config) { c.Mail.Outbox.MaxBackoff = time.Second }, []string{"mail.outbox.max_backoff"}},
	})
}
