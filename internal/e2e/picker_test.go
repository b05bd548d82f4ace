package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

func demoServer(t *testing.T, name, domain string) (*demo.Server, string) {
	t.Helper()
	srv, err := demo.Start(context.Background(), demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := ldapdir.Config{Name: name, URLs: []string{srv.URL()}, BindDN: srv.ServiceDN(), BindPassword: srv.ServicePassword(),
		BaseDN: srv.BaseDN(), AllowInsecurePasswordWrites: true}
	return srv, directoryYAML("openldap", c, "    password_write: modify\n    password_policy_dn: "+demo.PolicyDN+"\n    domains: ["+domain+"]\n")
}

func demoBind(t *testing.T, srv *demo.Server, uid, pw string) error {
	t.Helper()
	conn, err := ldap.DialURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.Bind("uid="+uid+","+demo.PeopleDN, pw)
}

// TestDomainPicker: two directories hold an "alice"; a plain login is
// ambiguous (and walks the decoy path), while the start page's domain
// picker, or DOMAIN\user, reaches the right one, and only that one changes.
func TestDomainPicker(t *testing.T) {
	east, eastYAML := demoServer(t, "east", "EAST")
	west, westYAML := demoServer(t, "west", "WEST")
	in := start(t, eastYAML+westYAML, "")

	b := newBrowser(t, in.URL)
	if p := b.get("/"); !strings.Contains(p.Body, `<select id="directory" name="directory">`) || !strings.Contains(p.Body, `<option value="west">`) {
		t.Fatalf("the start page has no domain picker:\n%s", p.Body)
	}
	b.post("/reset/start", url.Values{"login": {"alice"}})
	if n := in.codeMailsTo("alice@demo.sspr.test"); n != 0 {
		t.Fatalf("an ambiguous login was sent a code")
	}
	b = newBrowser(t, in.URL)
	b.post("/reset/start", url.Values{"login": {"alice"}, "directory": {"west"}})
	b.post("/reset/code", url.Values{"code": {in.waitCode(t, "alice@demo.sspr.test", 0)}})
	if p := b.post("/reset/password", url.Values{"password": {"Picked-West-42"}, "confirm": {"Picked-West-42"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("reset in west: %d\n%s", p.Status, p.Body)
	}
	if err := demoBind(t, west, "alice", "Picked-West-42"); err != nil {
		t.Fatalf("west's alice does not have the new password: %v", err)
	}
	if err := demoBind(t, east, "alice", "Winter-2026"); err != nil {
		t.Fatalf("east's alice was changed too: %v", err)
	}

	// DOMAIN\user routes without the picker.
	status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": `EAST\bob`}, "")
	if status != http.StatusAccepted {
		t.Fatalf("EAST\\bob: %d %s", status, raw)
	}
	in.waitCode(t, "bob@demo.sspr.test", 0)
}
