package e2e

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// postFile uploads one file field (and other fields) as a browser would.
func (b *browser) postFile(path, field, name string, content []byte, fields map[string]string) page {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(field, name)
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func countEnrollments(t *testing.T, in *instance, dir, dn string) []*store.Enrollment {
	t.Helper()
	var rows []*store.Enrollment
	if err := in.App.Store().InTx(t.Context(), func(tx *store.Tx) (err error) { rows, err = tx.Enrollments(dir, dn); return }); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestAdminImportAllOrNothing uploads pre-enrollment CSVs in the console
// against the real OpenLDAP: a file with broken rows names each with its
// line number and imports nothing; the corrected file imports every row,
// sealed at rest, and a reset then sends its code to the imported address.
func TestAdminImportAllOrNothing(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	adminU := dirtest.CreateLDAPUser(t, "Admin-Pass-2026")
	ann := dirtest.CreateLDAPUser(t, "Ann-Pass-2026")
	bob := dirtest.CreateLDAPUser(t, "Bob-Pass-2026")
	admins := dirtest.CreateLDAPGroup(t, "groupOfNames", adminU.DN)
	in := start(t, peopleOnlyYAML(cfg), `verification:
  factors: [email, sms, totp]
sms:
  provider: email_gateway
  email_gateway:
    address_template: "{{.Number}}@sms.example.net"
admin:
  enabled: true
  roles:
    admin: ["`+admins+`"]
`)
	b := adminSignIn(t, in, adminU, enrollTOTP(t, in, adminU))
	annMail, bobMobile := "ann.private@example.org", "+15551234567"

	broken := fmt.Sprintf("login,kind,value\n%s,email,%s\nnobody-%s,email,x@example.org\n%s,sms,12\n%s,email,%s\n%s,totp,SEED\n%s,email\n",
		ann.Login, annMail, ann.Login, bob.Login, ann.Login, annMail, bob.Login, bob.Login)
	p := b.postFile("/admin/import", "file", "people.csv", []byte(broken), nil)
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "5 of 6 rows have problems: nothing was imported") {
		t.Fatalf("broken file: %d\n%s", p.Status, p.Body)
	}
	for _, want := range []string{
		`<td class="num">3</td><td>nobody has the login`,
		`<td class="num">4</td><td>&#34;12&#34; is not a mobile number`,
		`<td class="num">5</td><td>repeats line 2`,
		`<td class="num">6</td><td>kind &#34;totp&#34; cannot be imported`,
		`<td class="num">7</td><td>has 2 fields; the header has 3`,
	} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the problems do not include %q", want)
		}
	}
	if n := len(countEnrollments(t, in, cfg.Name, ann.DN)); n != 0 {
		t.Fatalf("a refused file imported %d enrollments for a good row", n)
	}

	good := fmt.Sprintf("login,kind,value\n%s,email,%s\n%s,sms,%s\n", ann.Login, annMail, bob.Login, bobMobile)
	p = b.postFile("/admin/import", "file", "people.csv", []byte(good), map[string]string{"dry_run": "1"})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "All 2 rows are fine") || len(countEnrollments(t, in, cfg.Name, ann.DN)) != 0 {
		t.Fatalf("dry run: %d\n%s", p.Status, p.Body)
	}
	p = b.postFile("/admin/import", "file", "people.csv", []byte(good), nil)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Imported 2 enrollments") {
		t.Fatalf("good file: %d\n%s", p.Status, p.Body)
	}
	rows := countEnrollments(t, in, cfg.Name, ann.DN)
	if len(rows) != 1 || rows[0].Kind != "email" || rows[0].Source != "import" || bytes.Contains(rows[0].Secret, []byte(annMail)) {
		t.Fatalf("ann's enrollment: %+v", rows)
	}
	if rows := countEnrollments(t, in, cfg.Name, bob.DN); len(rows) != 1 || rows[0].Kind != "sms" || bytes.Contains(rows[0].Secret, []byte(bobMobile)) {
		t.Fatalf("bob's enrollment: %+v", rows)
	}
	// Importing again changes nothing.
	if p := b.postFile("/admin/import", "file", "people.csv", []byte(good), nil); !strings.Contains(p.Body, "Imported 0 enrollments; 2 rows were enrolled already") {
		t.Fatalf("second import:\n%s", p.Body)
	}
	if rows := auditRows(t, in, store.AuditFilter{EventPrefix: "admin.import", Actor: adminU.Login}); len(rows) < 4 {
		t.Fatalf("imports audited: %d", len(rows))
	}

	// The imported address works: a reset's code goes there.
	startAPIReset(t, in, ann.Login)
	in.waitCode(t, annMail, 0)
}
