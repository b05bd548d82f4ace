package config

import (
	"net/url"
	"time"
)

// validatePortal checks what people see.
func (c *Config) validatePortal(p *Problems) {
	if c.Portal.HelpDesk.URL != "" {
		if u, err := url.Parse(c.Portal.HelpDesk.URL); err != nil || u.Scheme == "" {
			p.addf("portal.help_desk.url", "%q is not an absolute URL", c.Portal.HelpDesk.URL)
		}
	}
	if c.Portal.KnownDeviceTTL < time.Hour || c.Portal.KnownDeviceTTL > 8760*time.Hour {
		p.add("portal.known_device_ttl", "must be between 1h and 8760h (a year)")
	}
	if c.Portal.DefaultLanguage == "" {
		p.add("portal.default_language", "is required, e.g. en")
	}
}

// validateLog checks the log settings.
func (c *Config) validateLog(p *Problems) {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.addf("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p.addf("log.format", "%q is not one of text, json", c.Log.Format)
	}
}
