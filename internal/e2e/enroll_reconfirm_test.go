package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestEnrollReconfirm: a person asked to reconfirm signs in to /enroll
// (password, then a code to the directory mail), sees "these are all
// still mine" beside their own factors, and confirming records the date a
// reconfirmation campaign measures from, with an audit record.
func TestEnrollReconfirm(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	u := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	in := start(t, peopleOnlyYAML(cfg), "verification:\n  factors: [email, totp]\n")
	b := newBrowser(t, in.URL)
	p := b.post("/enroll/signin", url.Values{"login": {u.Login}, "password": {u.Password}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d\n%s", p.Status, p.Body)
	}
	stepUpForm(t, in, b, u.Mail)
	home := b.get("/enroll/home")
	if strings.Contains(home.Body, `id="reconfirm"`) {
		t.Fatal("reconfirmation offered to a person with only the directory's mail")
	}
	p = b.follow(b.post("/enroll/add", url.Values{"kind": {"totp"}}))
	secret := must1(t, totpSecretRE, p.Body, "TOTP key")
	p = b.follow(b.post("/enroll/add/finish", url.Values{"code": {totpAt(t, secret, time.Now())}}))
	if !strings.Contains(p.Body, `id="reconfirm"`) {
		t.Fatalf("no reconfirmation button beside an enrolled app:\n%s", p.Body)
	}
	before := time.Now().Add(-time.Second)
	p = b.post("/enroll/reconfirm", url.Values{})
	if p.Status != http.StatusSeeOther || p.Location != "/enroll/home?done=reconfirmed" {
		t.Fatalf("reconfirm: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	if home := b.follow(p); !strings.Contains(home.Body, "your recovery methods are confirmed") {
		t.Fatalf("no thanks after confirming:\n%s", home.Body)
	}
	var confirmed time.Time
	if err := in.App.Store().InTx(t.Context(), func(tx *store.Tx) error {
		fresh, err := tx.EnrollmentFreshness()
		confirmed = fresh[cfg.Name][strings.ToLower(u.DN)]
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if confirmed.Before(before) {
		t.Fatalf("confirmation date %s, want now", confirmed)
	}
	if rows := auditRows(t, in, store.AuditFilter{EventPrefix: "enroll.reconfirm"}); len(rows) != 1 || rows[0].Actor != u.Login {
		t.Fatalf("audit: %+v", rows)
	}
}
