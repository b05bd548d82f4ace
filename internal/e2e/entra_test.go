package e2e

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/sync/entra/graphtest"
)

// entraYAML is a type entra directory entry for the local tenant g.
func entraYAML(g *graphtest.Server) string {
	return fmt.Sprintf(`  - name: cloud
    type: entra
    domains: [cloud.example.test, hybrid.example.test]
    entra:
      tenant_id: %q
      client_id: %q
      client_secret: %q
      login_url: %q
      graph_url: %q
`, g.TenantID, g.ClientID, g.Secret, g.URL, g.URL)
}

// TestEntraCloudOnlyResetThroughPortal is issue 15's must-show: one portal
// serving an LDAP directory and an Entra tenant; a cloud-only account
// resets its password through the HTML forms, the code from its mail, and
// Graph receives the new password; a synced account is refused plainly;
// unknown logins answer like the cloud account.
func TestEntraCloudOnlyResetThroughPortal(t *testing.T) {
	g := graphtest.New(t)
	cloudID := g.AddDirectoryUser(graphtest.User{UserPrincipalName: "casey@cloud.example.test", Mail: "casey@mail.example.test",
		DisplayName: "Casey Cloud", AccountEnabled: true})
	syncedID := g.AddDirectoryUser(graphtest.User{UserPrincipalName: "hana@hybrid.example.test", Mail: "hana@mail.example.test",
		DisplayName: "Hana Hybrid", AccountEnabled: true, OnPremisesSyncEnabled: true})
	g.AddDirectoryUser(graphtest.User{UserPrincipalName: "enum@cloud.example.test", Mail: "enum@mail.example.test", AccountEnabled: true})
	in := start(t, startDemoDirectory(t)+entraYAML(g), "")

	t.Run("cloud-only reset", func(t *testing.T) {
		portalReset(t, in, "casey@cloud.example.test", "casey@mail.example.test", nil, "Blue-Harbor-Lamp-47")
		if p, _ := g.Password(cloudID); p != "Blue-Harbor-Lamp-47" {
			t.Fatalf("Graph got %q", p)
		}
		if g.Patches(cloudID) != 1 {
			t.Fatalf("%d PATCHes", g.Patches(cloudID))
		}
	})

	t.Run("synced account refused", func(t *testing.T) {
		b := newBrowser(t, in.URL)
		before := in.codeMailsTo("hana@mail.example.test")
		if p := b.post("/reset/start", url.Values{"login": {"hana@hybrid.example.test"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("start: %d", p.Status)
		}
		code := in.waitCode(t, "hana@mail.example.test", before)
		if p := b.post("/reset/code", url.Values{"code": {code}}); p.Location != "/reset/password" {
			t.Fatalf("code: %d %q", p.Status, p.Location)
		}
		p := b.post("/reset/password", url.Values{"password": {"Green-Valley-Kite-58"}, "confirm": {"Green-Valley-Kite-58"}})
		if !strings.Contains(html.UnescapeString(p.Body), "Your password cannot be reset here. Please contact the help desk.") {
			t.Fatalf("synced: %d %q\n%s", p.Status, p.Location, p.Body)
		}
		if g.Patches(syncedID) != 0 {
			t.Fatal("a synced account's password was written to Entra")
		}
	})

	t.Run("enrollment sign-in answers like an unknown login", func(t *testing.T) {
		// Entra cannot check a person's password; saying so would tell a
		// stranger the account exists, so the answer is the unknown
		// login's, byte for byte apart from nonces.
		answer := func(login string) string {
			b := newBrowser(t, in.URL)
			p := b.post("/enroll/signin", url.Values{"login": {login}, "password": {"Blue-Harbor-Lamp-47"}})
			// The form shows the login back as typed.
			return fmt.Sprint(p.Status) + strings.ReplaceAll(normaliseBody(p.Body), login, "LOGIN")
		}
		if cloud, unknown := answer("casey@cloud.example.test"), answer("nobody-at-all@cloud.example.test"); cloud != unknown {
			t.Fatalf("enroll sign-in differs:\n%s\n---\n%s", cloud, unknown)
		}
	})

	t.Run("no enumeration", func(t *testing.T) {
		checkNoEnumeration(t, in, "enum@cloud.example.test")
	})
}
