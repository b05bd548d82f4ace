package config_test

import (
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

// TestResetRules: the reset section's rules.
func TestResetRules(t *testing.T) {
	t.Parallel()
	checkRules(t, []rule{
		{"code_ttl 10m allowed", func(c *config.Config) { c.Reset.CodeTTL = 10 * time.Minute }, nil},
		{"code_ttl over 10m refused", func(c *config.Config) { c.Reset.CodeTTL = 11 * time.Minute }, []string{"reset.code_ttl"}},
		{"code_ttl zero refused", func(c *config.Config) { c.Reset.CodeTTL = 0 }, []string{"reset.code_ttl"}},
		{"code_length 6 allowed", func(c *config.Config) { c.Reset.CodeLength = 6 }, nil},
		{"code_length 5 refused", func(c *config.Config) { c.Reset.CodeLength = 5 }, []string{"reset.code_length"}},
		{"code_length 11 refused", func(c *config.Config) { c.Reset.CodeLength = 11 }, []string{"reset.code_length"}},
		{"max_code_attempts 5 allowed", func(c *config.Config) { c.Reset.MaxCodeAttempts = 5 }, nil},
		{"max_code_attempts 6 refused", func(c *config.Config) { c.Reset.MaxCodeAttempts = 6 }, []string{"reset.max_code_attempts"}},
		{"max_code_attempts 0 refused", func(c *config.Config) { c.Reset.MaxCodeAttempts = 0 }, []string{"reset.max_code_attempts"}},
		{"flow_ttl shorter than code_ttl", func(c *config.Config) { c.Reset.FlowTTL = time.Minute }, []string{"reset.flow_ttl"}},
	})
}
