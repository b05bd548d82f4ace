package sync_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory/ad"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
	pwsync "github.com/sspr/sspr/internal/sync"
	"github.com/sspr/sspr/internal/sync/entra/graphtest"
	"github.com/sspr/sspr/internal/sync/google"
	"github.com/sspr/sspr/internal/sync/google/googletest"
	"github.com/sspr/sspr/internal/sync/hook"
	"github.com/sspr/sspr/internal/sync/ldap"
	"github.com/sspr/sspr/internal/sync/target"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

func strongPassword() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "Sync-" + hex.EncodeToString(b) + "-Qz7!"
}

// A reset of a Samba AD person reaches a second real directory (OpenLDAP),
// Entra ID, Google Workspace and a post-hook, through the outbox, once,
// even though sspr "dies" between the directory write and the sync: the
// messages were held in the database with the write and are released by
// the next process. The person then binds with the new password on both
// directories.
func TestResetReachesEveryTargetAcrossARestart(t *testing.T) {
	adUser := dirtest.CreateADUser(t, strongPassword())
	ldapUser := dirtest.CreateLDAPUser(t, strongPassword())
	dirtest.Modify(t, dirtest.LDAPAdmin(t), ldapUser.DN, map[string][]string{"mail": {adUser.Mail}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	adCfg := dirtest.ADConfig(t)
	adCfg.ExtraAttributes = append(adCfg.ExtraAttributes, "userPrincipalName")
	primary, err := ad.New(adCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	second, err := openldap.New(dirtest.LDAPConfig(t), openldap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	ldapTarget, err := ldap.New("openldap", second)
	if err != nil {
		t.Fatal(err)
	}
	g := graphtest.New(t)
	g.AddUser(adUser.UPN)
	ws := googletest.New(t)
	ws.AddUser(adUser.Mail)
	gcfg := google.Config{Name: "workspace", Subject: "admin@example.test", BaseURL: ws.URL, HTTP: ws.Client()}
	if err := google.ParseKeyFile(ws.KeyFile(), &gcfg); err != nil {
		t.Fatal(err)
	}
	wsTarget, err := google.New(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hookScript := filepath.Join(dir, "post.sh")
	if err := os.WriteFile(hookScript, []byte("#!/bin/sh\ncat >> \"$0.seen\"\necho >> \"$0.seen\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	post := &hook.Command{HookName: "hr", Path: hookScript}

	dbPath := filepath.Join(dir, "sspr.db")
	s1, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	ring := keyRing(t)
	c := newClock()
	c.Set(time.Now())
	planner := &pwsync.Planner{Sealer: ring, Now: c.Now, Links: []pwsync.Link{
		{Target: "m365", Attribute: "upn"}, {Target: "workspace", Attribute: "mail"},
		{Target: "openldap", Attribute: "mail"}, {Target: "hr", Attribute: "login"}}}

	// The act: look up, write the primary, and in the same store
	// transaction as the act's record, the held sync messages.
	u, err := primary.FindUser(ctx, adUser.Login)
	if err != nil {
		t.Fatal(err)
	}
	pw := strongPassword()
	if err := planner.PreHook(ctx, u, pw); err != nil {
		t.Fatal(err)
	}
	token := sha256.Sum256([]byte("flow-token-" + adUser.Login))
	held := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	err = s1.InTx(ctx, func(tx *store.Tx) error {
		ms, err := planner.Plan(ctx, u, pw)
		if err != nil {
			return err
		}
		for _, m := range ms {
			m.NextAttemptAt = held
			if err := tx.EnqueueMessage(m); err != nil {
				return err
			}
			if err := tx.HoldMessage(m.ID, token[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := primary.ResetPassword(ctx, u, pw); err != nil {
		t.Fatal(err)
	}
	// sspr dies here: nothing else of this process runs.
	s1.Close()

	s2, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	// The next process settles the interrupted act (the directory has the
	// password) and releases what it held.
	if err := s2.InTx(ctx, func(tx *store.Tx) error { _, err := tx.ReleaseHeldMessages(token[:], c.Now()); return err }); err != nil {
		t.Fatal(err)
	}
	g2 := newEntra(t, g, c)
	sender := &pwsync.Sender{Targets: map[string]target.Target{"m365": renamed{g2, "m365"}, "workspace": wsTarget,
		"openldap": ldapTarget, "hr": post}, Store: s2, Audit: nil, AlertTo: []string{"admins@example.test"}, Sealer: ring,
		MaxAttempts: 5, Now: c.Now}
	w := &notify.Worker{Store: s2, Sync: sender, Sealer: ring, Log: quiet, Now: c.Now, PollInterval: time.Hour,
		MaxAttempts: 5, InitialBackoff: time.Second, MaxBackoff: time.Minute, Lease: time.Minute, Node: "n1", Instance: "second"}
	n, err := w.RunOnce(ctx)
	if err != nil || n != 4 {
		var ms []*store.Message
		_ = s2.InTx(ctx, func(tx *store.Tx) (err error) { ms, err = tx.Messages(10); return })
		for _, m := range ms {
			t.Logf("%s %s attempts=%d err=%s", m.Kind, m.Recipient, m.Attempts, m.LastError)
		}
		t.Fatalf("delivered %d of 4 (%v)", n, err)
	}
	c.Advance(time.Hour)
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Fatalf("delivered %d more on a second round", n)
	}

	if err := dirtest.Bind(t, dirtest.ADConfig(t), adUser.Login, pw); err != nil {
		t.Fatalf("AD bind with the new password: %v", err)
	}
	if err := dirtest.Bind(t, dirtest.LDAPConfig(t), ldapUser.Login, pw); err != nil {
		t.Fatalf("OpenLDAP bind with the synced password: %v", err)
	}
	if got, _ := g.Password(adUser.UPN); got != pw || g.Patches(adUser.UPN) != 1 {
		t.Fatalf("Entra: %d PATCHes, password set %v", g.Patches(adUser.UPN), got == pw)
	}
	if !ws.SignIn(adUser.Mail, pw) || ws.Updates(adUser.Mail) != 1 || ws.HashFunction(adUser.Mail) != "crypt" {
		t.Fatalf("Google: %d updates, sign-in failed or not crypt", ws.Updates(adUser.Mail))
	}
	seen, _ := os.ReadFile(hookScript + ".seen")
	var p hook.Payload
	if lines := strings.Split(strings.TrimSpace(string(seen)), "\n"); len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &p) != nil ||
		p.Password != pw || p.Phase != "post" || p.Identity.Login != adUser.Login {
		t.Fatalf("post-hook saw %q", seen)
	}
}

// renamed gives a target another configured name.
type renamed struct {
	target.Target
	name string
}

func (r renamed) Name() string { return r.name }

// A pre-hook refusing stops the change before the directory is written,
// with the hook's words for the person.
func TestPreHookRefusalStopsTheChange(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "check.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nif grep -qi acme; then echo 'Your password must not contain the company name.'; exit 1; fi\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	p := &pwsync.Planner{PreHooks: []target.PreHook{&hook.Command{HookName: "no-company-name", Path: script}}}
	err := p.PreHook(context.Background(), cloudUser("ada@example.test"), "Acme-rocks-2026")
	var r *target.Refusal
	if !errors.As(err, &r) || r.Message != "Your password must not contain the company name." {
		t.Fatalf("PreHook = %v", err)
	}
	if err := p.PreHook(context.Background(), cloudUser("ada@example.test"), "Another-fine-2026"); err != nil {
		t.Fatal(err)
	}
}
