package app

import (
	"net/http"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/web"
	"github.com/sspr/sspr/internal/web/admin"
)

// registerAdmin wires the admin console at /admin when admin.enabled is
// set: the flow borrows the enrollment flow's machinery, the console gets
// the role groups from the configuration.
func (a *App) registerAdmin(mux *http.ServeMux, ips web.ClientIPs, secure bool) error {
	c := a.cfg.Admin
	if !c.Enabled {
		return nil
	}
	groups := map[flow.Role][]string{flow.RoleAdmin: c.Roles.Admin, flow.RoleHelpdesk: c.Roles.Helpdesk, flow.RoleAuditor: c.Roles.Auditor}
	a.Admin = a.AdminFlow()
	look, err := portalBranding(a.cfg)
	if err != nil {
		return err
	}
	console, err := admin.New(a.Admin, ips, a.log, admin.Options{Secure: secure, IdleTimeout: c.IdleTimeout, Groups: groups, Now: a.Reset.Now,
		Reports: a.reportOptions(), LogoURL: look.LogoURL()})
	if err != nil {
		return err
	}
	console.Register(mux)
	return nil
}

// AdminFlow is the admin flow, built when the console is off too: the CLI
// imports enrollments through it.
func (a *App) AdminFlow() *flow.Admin {
	if a.Admin != nil {
		return a.Admin
	}
	c := a.cfg.Admin
	return &flow.Admin{Enroll: a.Enroll, IdleTimeout: c.IdleTimeout, SessionTTL: c.SessionTTL, Directories: a.dirs.All(),
		Groups: map[flow.Role][]string{flow.RoleAdmin: c.Roles.Admin, flow.RoleHelpdesk: c.Roles.Helpdesk, flow.RoleAuditor: c.Roles.Auditor}}
}
