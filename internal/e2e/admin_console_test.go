package e2e

import (
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/testenv/dirtest"
	"github.com/sspr/sspr/internal/web/admin"
)

// enrollTOTP adds an authenticator app for u through the enrollment portal
// (proving the directory mail first) and returns its key.
func enrollTOTP(t *testing.T, in *instance, u dirtest.User) string {
	t.Helper()
	b := newBrowser(t, in.URL)
	p := b.post("/enroll/signin", url.Values{"login": {u.Login}, "password": {u.Password}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("enrollment sign-in of %s: %d\n%s", u.Login, p.Status, p.Body)
	}
	stepUpForm(t, in, b, u.Mail)
	p = b.follow(b.post("/enroll/add", url.Values{"kind": {"totp"}}))
	secret := must1(t, totpSecretRE, p.Body, "TOTP key")
	p = b.follow(b.post("/enroll/add/finish", url.Values{"code": {totpAt(t, secret, time.Now())}}))
	if factorIDs(p.Body)["totp"] == "" {
		t.Fatalf("the authenticator app was not added:\n%s", p.Body)
	}
	return secret
}

// adminSignIn signs u in to the console with the password and the app's
// code (the next step's: the current one was used to enroll, and a used
// step is refused).
func adminSignIn(t *testing.T, in *instance, u dirtest.User, secret string) *browser {
	t.Helper()
	b := newBrowser(t, in.URL)
	p := b.post("/admin/signin", url.Values{"login": {u.Login}, "password": {u.Password}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Code from your authenticator app") {
		t.Fatalf("console sign-in of %s: %d\n%s", u.Login, p.Status, p.Body)
	}
	// The password alone opens nothing.
	if p := b.get("/admin/home"); p.Status != http.StatusSeeOther || p.Location != "/admin/" {
		t.Fatalf("home before the second factor: %d %q", p.Status, p.Location)
	}
	p = b.post("/admin/factor", url.Values{"code": {totpAt(t, secret, time.Now().Add(30*time.Second))}})
	if p.Status != http.StatusSeeOther || p.Location != "/admin/home" {
		t.Fatalf("second factor of %s: %d %q\n%s", u.Login, p.Status, p.Location, p.Body)
	}
	return b
}

// peopleOnlyYAML is the test OpenLDAP as a directory entry that sees only
// the people tests create (dirtest names them sspr…): other engineers'
// bulk users in the shared server (thousands under ou=people at times)
// must not count in reports, and its service account may read only 500
// entries in all (docs/admin.md).
func peopleOnlyYAML(cfg ldapdir.Config) string {
	return directoryYAML("openldap", cfg, "    user_filter: \"(&(objectClass=inetOrgPerson)(uid=sspr*))\"\n"+
		"    group_base_dn: \""+os.Getenv("SSPR_TEST_LDAP_GROUPS_DN")+"\"\n")
}

func auditRows(t *testing.T, in *instance, f store.AuditFilter) []*store.AuditRecord {
	t.Helper()
	var rows []*store.AuditRecord
	err := in.App.Store().InTx(t.Context(), func(tx *store.Tx) error {
		var err error
		rows, err = tx.SearchAudit(f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestAdminConsoleRolesAndSecondFactor signs people in to /admin against
// the real OpenLDAP: roles come from (nested) groups; an admin without an
// authenticator app or passkey cannot get in; every route is tried for
// every role and answers only the roles the table gives it; every page
// served is in the audit log with the person's name, and every refusal too.
func TestAdminConsoleRolesAndSecondFactor(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	adminU := dirtest.CreateLDAPUser(t, "Admin-Pass-2026")
	helpU := dirtest.CreateLDAPUser(t, "Helpdesk-Pass-2026")
	auditU := dirtest.CreateLDAPUser(t, "Auditor-Pass-2026")
	noFactor := dirtest.CreateLDAPUser(t, "NoFactor-Pass-2026")
	nobody := dirtest.CreateLDAPUser(t, "Nobody-Pass-2026")
	// Admins through a nested group: admins ∋ inner ∋ adminU, noFactor.
	inner := dirtest.CreateLDAPGroup(t, "groupOfNames", adminU.DN, noFactor.DN)
	admins := dirtest.CreateLDAPGroup(t, "groupOfNames", inner)
	helpdesk := dirtest.CreateLDAPGroup(t, "groupOfNames", helpU.DN)
	auditors := dirtest.CreateLDAPGroup(t, "groupOfNames", auditU.DN)
	in := start(t, peopleOnlyYAML(cfg), `verification:
  factors: [email, totp]
admin:
  enabled: true
  roles:
    admin: ["`+admins+`"]
    helpdesk: ["`+helpdesk+`"]
    auditor: ["`+auditors+`"]
`)

	// An admin with no second factor cannot get in, and no session opens.
	b := newBrowser(t, in.URL)
	p := b.post("/admin/signin", url.Values{"login": {noFactor.Login}, "password": {noFactor.Password}})
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "needs an authenticator app or a passkey") {
		t.Fatalf("admin without a second factor: %d\n%s", p.Status, p.Body)
	}
	if p.Header.Get("Set-Cookie") != "" {
		t.Fatal("a refused sign-in set a cookie")
	}
	if p := b.get("/admin/roles"); p.Status != http.StatusSeeOther {
		t.Fatalf("admin-only page without a session: %d", p.Status)
	}
	if rows := auditRows(t, in, store.AuditFilter{EventPrefix: "admin.signin", Actor: noFactor.Login, Outcome: "denied"}); len(rows) != 1 ||
		rows[0].Reason != "no_second_factor" {
		t.Fatalf("the refusal is not audited: %+v", rows)
	}
	// Someone in no console group is refused after the password.
	p = newBrowser(t, in.URL).post("/admin/signin", url.Values{"login": {nobody.Login}, "password": {nobody.Password}})
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "not in any group") {
		t.Fatalf("a person with no role: %d\n%s", p.Status, p.Body)
	}
	// A wrong password says nothing about roles or factors.
	p = newBrowser(t, in.URL).post("/admin/signin", url.Values{"login": {adminU.Login}, "password": {"Wrong-Pass-2026"}})
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "user name or password is not right") {
		t.Fatalf("wrong password: %d\n%s", p.Status, p.Body)
	}

	// A wrong authenticator code opens nothing.
	adminSecret := enrollTOTP(t, in, adminU)
	bw := newBrowser(t, in.URL)
	bw.post("/admin/signin", url.Values{"login": {adminU.Login}, "password": {adminU.Password}})
	if p := bw.post("/admin/factor", url.Values{"code": {wrong(totpAt(t, adminSecret, time.Now()))}}); p.Status != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d\n%s", p.Status, p.Body)
	}
	if p := bw.get("/admin/home"); p.Status != http.StatusSeeOther {
		t.Fatalf("home after a wrong code: %d", p.Status)
	}

	browsers := map[flow.Role]*browser{
		flow.RoleAdmin:    adminSignIn(t, in, adminU, adminSecret),
		flow.RoleHelpdesk: adminSignIn(t, in, helpU, enrollTOTP(t, in, helpU)),
		flow.RoleAuditor:  adminSignIn(t, in, auditU, enrollTOTP(t, in, auditU)),
	}
	logins := map[flow.Role]string{flow.RoleAdmin: adminU.Login, flow.RoleHelpdesk: helpU.Login, flow.RoleAuditor: auditU.Login}
	for _, role := range flow.AllRoles {
		if rows := auditRows(t, in, store.AuditFilter{EventPrefix: "admin.signin", Actor: logins[role], Outcome: "success"}); len(rows) == 0 {
			t.Fatalf("the %s's sign-in is not audited", role)
		}
	}

	routes := admin.RouteTable()
	if !slices.ContainsFunc(routes, func(r admin.Route) bool { return slices.Equal(r.Roles, []flow.Role{flow.RoleAdmin}) }) {
		t.Fatal("the table has no admin-only route to check")
	}
	for _, rt := range routes {
		for _, role := range flow.AllRoles {
			allowed := rt.Roles == nil || slices.Contains(rt.Roles, role)
			t.Run(rt.Name+"/"+string(role), func(t *testing.T) {
				before := auditRows(t, in, store.AuditFilter{Actor: logins[role], Limit: 1})
				var p page
				if rt.Method == http.MethodPost {
					p = browsers[role].post(rt.Path, url.Values{}) // an empty form: refused by the step, not the role
				} else {
					p = browsers[role].get(rt.Path)
				}
				switch {
				case !allowed && p.Status != http.StatusForbidden,
					allowed && rt.Method == http.MethodGet && p.Status != http.StatusOK,
					allowed && (p.Status == http.StatusForbidden || p.Status == http.StatusSeeOther):
					t.Fatalf("%s %s as %s: %d (allowed: %v)\n%s", rt.Method, rt.Path, role, p.Status, allowed, p.Body)
				}
				// Every request, served or refused, is in the audit log,
				// after what this person did before.
				event, outcome := "admin."+rt.Name, "success"
				if !allowed {
					event, outcome = "admin.denied", "denied"
				}
				rows := auditRows(t, in, store.AuditFilter{Actor: logins[role], EventPrefix: event, Outcome: outcome, Limit: 1})
				if len(rows) != 1 || (len(before) > 0 && rows[0].ID <= before[0].ID) || !strings.Contains(rows[0].Detail, rt.Path) && allowed {
					t.Fatalf("not audited: %+v", rows)
				}
			})
		}
	}

	// The audit viewer shows the chain verified and filters by actor.
	p = browsers[flow.RoleAuditor].get("/admin/audit?actor=" + url.QueryEscape(adminU.Login) + "&event=admin.signin")
	if !strings.Contains(p.Body, "The audit chain verifies") || !strings.Contains(p.Body, "admin.signin") || strings.Contains(p.Body, helpU.Login+"</td>") {
		t.Fatalf("audit viewer:\n%s", p.Body)
	}
	// Coverage counts the four enrolled people among the directory's users.
	p = browsers[flow.RoleAdmin].get("/admin/reports/coverage.csv")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, nobody.Login) || strings.Contains(p.Body, ","+adminU.Login+",") {
		t.Fatalf("coverage CSV lists the wrong people:\n%.2000s", p.Body)
	}
	p = browsers[flow.RoleAdmin].get("/admin/reports/coverage")
	if !strings.Contains(p.Body, "<svg") || !strings.Contains(p.Body, "Enrollment by organisational unit") {
		t.Fatalf("coverage page has no chart:\n%.3000s", p.Body)
	}

	// The help desk sees who is locked out now (ppolicy: five failures).
	dirtest.FailBinds(t, cfg, nobody.DN, 5)
	p = browsers[flow.RoleHelpdesk].get("/admin/reports/locked.csv")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, ","+nobody.Login+",") || strings.Contains(p.Body, ","+adminU.Login+",") {
		t.Fatalf("locked-out report:\n%s", p.Body)
	}
	// The PDF exports are PDFs.
	for _, path := range []string{"/admin/reports/coverage.pdf", "/admin/reports/activity.pdf?days=7"} {
		if p := browsers[flow.RoleAuditor].get(path); p.Status != http.StatusOK || !strings.HasPrefix(p.Body, "%PDF-") {
			t.Fatalf("%s: %d %.40q", path, p.Status, p.Body)
		}
	}

	// Signing out ends the session on the server.
	bAdmin := browsers[flow.RoleAdmin]
	if p := bAdmin.post("/admin/signout", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.Status)
	}
	if p := bAdmin.get("/admin/home"); p.Status != http.StatusSeeOther {
		t.Fatalf("home after sign-out: %d", p.Status)
	}
}
