package config

import (
	"net"
	"os"
	"time"
)

// validate checks every section; each lives in its own validate_*.go file
// with its own tests, so a section's rules are read and changed in one
// place.
func (c *Config) validate(p *Problems) {
	c.validateServer(p)
	c.validateStorage(p)
	c.validateSecrets(p)
	c.validateDirectories(p)
	c.validateMail(p)
	c.validateReset(p)
	c.validateEnrollment(p)
	c.validatePassword(p)
	c.validateVerification(p)
	c.validateEnterpriseFactors(p)
	c.validatePolicies(p)
	c.validateAccess(p)
	c.validateSMS(p)
	c.validateAbuse(p)
	c.validatePortal(p)
	c.validateBranding(p)
	c.validateLog(p)
	c.validateAudit(p)
	c.validateSync(p)
	validateOutboxDelivery(p, c.Mail.Outbox)
	c.validateAdmin(p)
	c.validateReports(p)
	c.validateNotifications(p)
	c.validateJobs(p)
}

// Validate applies list-element defaults and checks a configuration built in
// code (as `sspr demo` does), with the same rules Load applies to a file.
func Validate(c *Config) error {
	problems := &Problems{}
	for i := range c.Directories {
		directoryDefaults(&c.Directories[i])
	}
	c.validate(problems)
	return problems.errOrNil()
}

func positive(p *Problems, key string, d time.Duration) {
	if d <= 0 {
		p.add(key, "must be longer than zero")
	}
}

// checkFile reports a file that is named but cannot be read, naming it.
func checkFile(p *Problems, key, path string) {
	if path == "" {
		return
	}
	if _, err := os.Stat(path); err != nil {
		p.addf(key, "cannot read %s: %v", path, plainErr(err))
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
