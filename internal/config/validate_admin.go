package config

import (
	"fmt"
	"time"
)

// validateAdmin checks the admin section. The console needs at least one
// group holding the admin role when it is on, or nobody could use it and
// the operator would not learn why.
func (c *Config) validateAdmin(p *Problems) {
	a := c.Admin
	if a.IdleTimeout < time.Minute || a.IdleTimeout > 24*time.Hour {
		p.addf("admin.idle_timeout", "%s is outside 1m..24h", a.IdleTimeout)
	}
	if a.SessionTTL < a.IdleTimeout || a.SessionTTL > 7*24*time.Hour {
		p.addf("admin.session_ttl", "%s is outside idle_timeout..168h", a.SessionTTL)
	}
	for role, dns := range map[string][]string{"admin": a.Roles.Admin, "helpdesk": a.Roles.Helpdesk, "auditor": a.Roles.Auditor} {
		for i, dn := range dns {
			key := fmt.Sprintf("admin.roles.%s[%d]", role, i)
			if dn == "" {
				p.addf(key, "is empty; give a group's DN")
				continue
			}
			checkDN(p, key, dn)
		}
	}
	if a.Enabled && len(a.Roles.Admin) == 0 {
		p.addf("admin.roles.admin", "the console is enabled but no group holds the admin role")
	}
}
