package config

import (
	"os"
	"path/filepath"
	"time"
)

// validateAudit checks the audit section.
func (c *Config) validateAudit(p *Problems) {
	a := c.Audit
	if a.CheckInterval < time.Minute || a.CheckInterval > 24*time.Hour {
		p.addf("audit.check_interval", "%s is outside 1m..24h", a.CheckInterval)
	}
	if a.Retention != 0 && a.Retention < 24*time.Hour {
		p.addf("audit.retention", "%s is too short: 0 (keep forever) or at least 24h", a.Retention)
	}
	if a.CheckpointFile != "" {
		// The file is created at the first check; its folder must exist.
		if fi, err := os.Stat(filepath.Dir(a.CheckpointFile)); err != nil || !fi.IsDir() {
			p.addf("audit.checkpoint_file", "the folder %s does not exist", filepath.Dir(a.CheckpointFile))
		}
	}
}
