package config_test

import (
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

// TestAbuseRules: the abuse section's rules.
func TestAbuseRules(t *testing.T) {
	t.Parallel()
	checkRules(t, []rule{
		{"limit 0", func(c *config.Config) { c.Abuse.UserFailures.Limit = 0 }, []string{"abuse.user_failures.limit"}},
		{"window 0", func(c *config.Config) { c.Abuse.SendsPerIP.Window = 0 }, []string{"abuse.sends_per_ip.window"}},
		{"negative block", func(c *config.Config) { c.Abuse.IPFailures.Block = -time.Second }, []string{"abuse.ip_failures.block"}},
		{"proof of work 16 bits", func(c *config.Config) { c.Abuse.ProofOfWorkBits = 16 }, nil},
		{"proof of work 25 bits", func(c *config.Config) { c.Abuse.ProofOfWorkBits = 25 }, []string{"abuse.proof_of_work_bits"}},
		{"puzzle ttl 1h", func(c *config.Config) { c.Abuse.ProofOfWorkTTL = time.Hour }, nil},
		{"puzzle ttl 2h", func(c *config.Config) { c.Abuse.ProofOfWorkTTL = 2 * time.Hour }, []string{"abuse.proof_of_work_ttl"}},
	})
}
