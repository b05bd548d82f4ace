package jobs_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ad"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/testenv/dirtest"
	"github.com/sspr/sspr/internal/testenv/testclock"
)

// expiryOn runs the expiry job against dir at the injected time at and
// returns the queued messages, opened.
func expiryOn(t *testing.T, dir directory.Directory, at time.Time) ([]*store.Message, map[string]int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "sspr.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := i18n.Load("en")
	if err != nil {
		t.Fatal(err)
	}
	comp, err := notify.NewComposer(cat, notify.Branding{Title: "Test", PortalURL: "https://sspr.example.test/"})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(at)
	n := &flow.Notifier{
		Kit:  &flow.Kit{Store: st, Directories: directory.NewSet(dir), Sealer: ring, MailFrom: "noreply@example.test", Now: clock.Now, Audit: audit.NewChain([]byte("k"))},
		Jobs: comp, Directories: []directory.Directory{dir}, Language: "en", BaseURL: "https://sspr.example.test",
		ExpiryDays: []int{14, 7, 1}, ManagerDigest: true,
	}
	counts, err := n.Expiry(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	var ms []*store.Message
	if err := st.InTx(ctx, func(tx *store.Tx) (err error) { ms, err = tx.Messages(100); return }); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if err := notify.OpenMessage(ring, m); err != nil {
			t.Fatal(err)
		}
	}
	return ms, counts
}

func byKind(ms []*store.Message, kind string) []*store.Message {
	var out []*store.Message
	for _, m := range ms {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// TestExpiryFromOpenLDAPPPolicy: the expiry job reads a person's expiry
// from the real slapd (pwdChangedTime + the pwdMaxAge of the ppolicy entry
// their pwdPolicySubentry names: 30 days), mails them at the 7-day notice
// with the date and a link to /change, and mails their manager (the
// manager attribute) a digest naming them.
func TestExpiryFromOpenLDAPPPolicy(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	_, strictDN := dirtest.LDAPPolicyDNs(t)
	u := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	boss := dirtest.CreateLDAPUser(t, "Initial-Pass1")
	dirtest.Modify(t, dirtest.LDAPAdmin(t), u.DN, map[string][]string{"pwdPolicySubentry": {strictDN}, "manager": {boss.DN}})
	// Only these two: the shared server holds other tests' people.
	cfg.UserFilter = "(&(objectClass=inetOrgPerson)(|(uid=" + u.Login + ")(uid=" + boss.Login + ")))"
	d, err := openldap.New(cfg, openldap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx := context.Background()
	user, err := d.FindUser(ctx, u.Login)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ResetPassword(ctx, user, "Strict-Pass10"); err != nil { // sets pwdChangedTime
		t.Fatal(err)
	}
	user, _ = d.FindUser(ctx, u.Login)
	st, err := d.AccountStatus(ctx, user)
	if err != nil || st.PasswordExpires.IsZero() {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if got := st.PasswordExpires.Sub(st.PasswordLastSet); got != 30*24*time.Hour {
		t.Fatalf("pwdMaxAge: expiry %s after the change, want 30 days", got)
	}
	// Five days before expiry: the 7-day notice.
	ms, counts := expiryOn(t, d, st.PasswordExpires.Add(-5*24*time.Hour+time.Hour))
	notices := byKind(ms, "password_expiry")
	if len(notices) != 1 || notices[0].Recipient != u.Mail {
		t.Fatalf("notices %v (counts %v), want one to %s", notices, counts, u.Mail)
	}
	body := notices[0].TextBody
	for _, want := range []string{"expires in 5 days", st.PasswordExpires.UTC().Format("2006-01-02"), "https://sspr.example.test/change"} {
		if !strings.Contains(body, want) {
			t.Errorf("the notice lacks %q:\n%s", want, body)
		}
	}
	digests := byKind(ms, "password_expiry_digest")
	if len(digests) != 1 || digests[0].Recipient != boss.Mail || !strings.Contains(digests[0].TextBody, u.Login) {
		t.Fatalf("manager digest: %+v", digests)
	}
	// Twenty days before: no notice yet.
	if ms, _ := expiryOn(t, d, st.PasswordExpires.Add(-20*24*time.Hour)); len(ms) != 0 {
		t.Fatalf("twenty days before expiry: %d messages", len(ms))
	}
}

// TestExpiryFromSambaAD: the expiry job reads the expiry Samba AD computes
// (msDS-UserPasswordExpiryTimeComputed: the domain's 42-day maximum age)
// and mails the 1-day notice on the last day.
func TestExpiryFromSambaAD(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	u := dirtest.CreateADUser(t, "Initial-Pass1")
	cfg.UserFilter = "(&(objectCategory=person)(objectClass=user)(sAMAccountName=" + u.Login + "))"
	d, err := ad.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx := context.Background()
	user, err := d.FindUser(ctx, u.Login)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.AccountStatus(ctx, user)
	if err != nil || st.PasswordExpires.IsZero() {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if got := st.PasswordExpires.Sub(st.PasswordLastSet); got != 42*24*time.Hour {
		t.Fatalf("domain maxPwdAge: expiry %s after the change, want 42 days", got)
	}
	ms, counts := expiryOn(t, d, st.PasswordExpires.Add(-20*time.Hour))
	notices := byKind(ms, "password_expiry")
	if len(notices) != 1 || notices[0].Recipient != u.Mail || !strings.Contains(notices[0].TextBody, "expires in 1 day,") {
		t.Fatalf("notices %+v (counts %v), want the 1-day notice to %s", notices, counts, u.Mail)
	}
}
