package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateAdmin(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Admin)
		want string // a key expected in the problems; "" for none
	}{
		{"defaults", func(*Admin) {}, ""},
		{"enabled with a group", func(a *Admin) { a.Enabled, a.Roles.Admin = true, []string{"cn=admins,dc=example,dc=test"} }, ""},
		{"enabled without groups", func(a *Admin) { a.Enabled = true }, "admin.roles.admin"},
		{"bad DN", func(a *Admin) { a.Roles.Helpdesk = []string{"not a dn"} }, "admin.roles.helpdesk[0]"},
		{"empty DN", func(a *Admin) { a.Roles.Auditor = []string{""} }, "admin.roles.auditor[0]"},
		{"idle too short", func(a *Admin) { a.IdleTimeout = time.Second }, "admin.idle_timeout"},
		{"ttl below idle", func(a *Admin) { a.SessionTTL = 5 * time.Minute }, "admin.session_ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.edit(&c.Admin)
			p := &Problems{}
			c.validateAdmin(p)
			got := p.Error()
			if tc.want == "" && len(p.List) > 0 {
				t.Fatalf("unexpected problems: %s", got)
			}
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("problems %q do not name %s", got, tc.want)
			}
		})
	}
}
