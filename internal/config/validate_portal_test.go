package config_test

import (
	"testing"

	"github.com/sspr/sspr/internal/config"
)

// TestPortalAndLogRules: the portal and log section's rules.
func TestPortalAndLogRules(t *testing.T) {
	t.Parallel()
	checkRules(t, []rule{
		{"help desk url relative", func(c *config.Config) { c.Portal.HelpDesk.URL = "help" }, []string{"portal.help_desk.url"}},
		{"log level", func(c *config.Config) { c.Log.Level = "trace" }, []string{"log.level"}},
		{"log format", func(c *config.Config) { c.Log.Format = "xml" }, []string{"log.format"}},
	})
}
