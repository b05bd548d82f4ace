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
	a.Admin = &flow.Admin{Enroll: a.Enroll, Groups: groups, IdleTimeout: c.IdleTimeout, SessionTTL: c.SessionTTL, Directories: a.dirs.All()}
	console, err := admin.New(a.Admin, ips, a.log, admin.Options{Secure: secure, IdleTimeout: c.IdleTimeout, Groups: groups, Now: a.Reset.Now})
	if err != nil {
		return err
	}
	console.Register(mux)
	return nil
}
