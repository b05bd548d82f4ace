package sync_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
	pwsync "github.com/sspr/sspr/internal/sync"
	"github.com/sspr/sspr/internal/sync/entra"
	"github.com/sspr/sspr/internal/sync/entra/graphtest"
	"github.com/sspr/sspr/internal/sync/hook"
	"github.com/sspr/sspr/internal/sync/target"
)

var t0 = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

func newClock() *testclock.Clock { return testclock.New(t0) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func keyRing(t *testing.T) *secrets.KeyRing {
	t.Helper()
	k, err := secrets.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	r, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: k})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "sspr.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rig is a real store, key ring, audit chain and outbox worker whose Sync
// sender is a pwsync.Sender over targets.
type rig struct {
	store  *store.Store
	ring   *secrets.KeyRing
	chain  *audit.Chain
	clock  *testclock.Clock
	worker *notify.Worker
	sender *pwsync.Sender
}

func newRig(t *testing.T, targets ...target.Target) *rig {
	r := &rig{store: openStore(t), ring: keyRing(t), chain: audit.NewChain([]byte("test")), clock: newClock()}
	m := map[string]target.Target{}
	for _, tg := range targets {
		m[tg.Name()] = tg
	}
	r.sender = &pwsync.Sender{Targets: m, Store: r.store, Audit: r.chain, AlertTo: []string{"admins@example.test"},
		Sealer: r.ring, MaxAttempts: 8, Now: r.clock.Now}
	r.worker = &notify.Worker{Store: r.store, Sync: r.sender, Sealer: r.ring, Log: quiet, Now: r.clock.Now,
		PollInterval: time.Hour, MaxAttempts: 8, InitialBackoff: time.Second, MaxBackoff: time.Minute, Lease: time.Minute,
		Node: "n1", Instance: "i1"}
	return r
}

// enqueue plans for u and writes the messages as a flow would.
func (r *rig) enqueue(t *testing.T, p *pwsync.Planner, u *directory.User, password string) []*store.Message {
	t.Helper()
	p.Sealer, p.Now = r.ring, r.clock.Now
	ms, err := p.Plan(context.Background(), u, password)
	if err != nil {
		t.Fatal(err)
	}
	err = r.store.InTx(context.Background(), func(tx *store.Tx) error {
		for _, m := range ms {
			if err := tx.EnqueueMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func (r *rig) runOnce(t *testing.T) int {
	t.Helper()
	n, err := r.worker.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (r *rig) messages(t *testing.T) []*store.Message {
	t.Helper()
	var ms []*store.Message
	if err := r.store.InTx(context.Background(), func(tx *store.Tx) (err error) { ms, err = tx.Messages(100); return }); err != nil {
		t.Fatal(err)
	}
	return ms
}

func (r *rig) audit(t *testing.T) []*store.AuditRecord {
	t.Helper()
	var rs []*store.AuditRecord
	if err := r.store.InTx(context.Background(), func(tx *store.Tx) (err error) { rs, err = tx.AuditRecords(0, 100); return }); err != nil {
		t.Fatal(err)
	}
	return rs
}

func cloudUser(upn string) *directory.User {
	return &directory.User{Directory: "corp", DN: "CN=" + upn + ",CN=Users,DC=example,DC=test", Login: strings.Split(upn, "@")[0],
		Email: upn, Attributes: map[string][]string{"userPrincipalName": {upn}}}
}

func newEntra(t *testing.T, g *graphtest.Server, c *testclock.Clock) *entra.Target {
	t.Helper()
	e, err := entra.New(entra.Config{Name: "entra", TenantID: g.TenantID, ClientID: g.ClientID, ClientSecret: g.Secret,
		LoginURL: g.URL, GraphURL: g.URL, HTTP: g.Client(), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Graph throttles (429, Retry-After: 120), then is unavailable (503), then
// takes the password: it is delivered once, not before the wait Graph
// named, and the outbox keeps no password afterwards.
func TestEntraThrottledThenUnavailableThenDelivered(t *testing.T) {
	g := graphtest.New(t)
	g.AddUser("ada@example.test")
	g.Script(graphtest.Reply{Status: 429, Code: "TooManyRequests", RetryAfter: 120},
		graphtest.Reply{Status: 503, Code: "serviceNotAvailable"})
	r := newRig(t)
	r.sender.Targets["entra"] = newEntra(t, g, r.clock)
	const pw = "Correct-Horse-42-battery"
	ms := r.enqueue(t, &pwsync.Planner{Links: []pwsync.Link{{Target: "entra", Attribute: "upn"}}}, cloudUser("ada@example.test"), pw)
	if len(ms) != 1 {
		t.Fatalf("planned %d messages, want 1", len(ms))
	}
	stored := r.messages(t)[0]
	if strings.Contains(stored.TextBody+stored.Subject+stored.Recipient, pw) || stored.Channel != "sync" {
		t.Fatalf("the outbox holds the password in clear or the wrong channel: %+v", stored)
	}

	if n := r.runOnce(t); n != 0 || g.Patches("ada@example.test") != 1 {
		t.Fatalf("first round: sent %d, %d PATCHes; want 0 and 1 (429)", n, g.Patches("ada@example.test"))
	}
	if due := r.messages(t)[0].NextAttemptAt; due.Before(t0.Add(120 * time.Second)) {
		t.Fatalf("next attempt at %v, before the 120 s Graph asked for", due)
	}
	r.clock.Advance(119 * time.Second)
	if n := r.runOnce(t); n != 0 || g.Patches("ada@example.test") != 1 {
		t.Fatalf("tried again before Retry-After ran out (%d PATCHes)", g.Patches("ada@example.test"))
	}
	r.clock.Advance(time.Second)
	if n := r.runOnce(t); n != 0 || g.Patches("ada@example.test") != 2 {
		t.Fatalf("after the wait: sent %d, %d PATCHes; want 0 and 2 (503)", n, g.Patches("ada@example.test"))
	}
	r.clock.Advance(time.Minute)
	if n := r.runOnce(t); n != 1 {
		t.Fatalf("third try: sent %d, want 1", n)
	}
	if got, _ := g.Password("ada@example.test"); got != pw {
		t.Fatalf("Entra holds %q, want the new password", got)
	}
	r.clock.Advance(time.Hour)
	if n := r.runOnce(t); n != 0 || g.Patches("ada@example.test") != 3 {
		t.Fatalf("sent again: %d PATCHes, want 3", g.Patches("ada@example.test"))
	}
	for _, m := range r.messages(t) {
		if m.Channel == "sync" {
			t.Fatalf("the delivered sync message is still stored: %+v", m)
		}
	}
	recs := r.audit(t)
	if len(recs) != 1 || recs[0].Event != "sync.delivered" || recs[0].Outcome != "success" {
		t.Fatalf("audit = %+v, want one sync.delivered", recs)
	}
}

// An unknown Entra user is a permanent failure: given up at once, audited,
// and mailed to the admins; the password is gone from the alert.
func TestEntraUnknownUserAlertsAdmins(t *testing.T) {
	g := graphtest.New(t)
	r := newRig(t)
	r.sender.Targets["entra"] = newEntra(t, g, r.clock)
	const pw = "Unknown-user-pw-77"
	r.enqueue(t, &pwsync.Planner{Links: []pwsync.Link{{Target: "entra", Attribute: "upn"}}}, cloudUser("ghost@example.test"), pw)
	r.runOnce(t)
	if g.Patches("ghost@example.test") != 1 {
		t.Fatalf("%d PATCHes, want 1", g.Patches("ghost@example.test"))
	}
	var syncMsg, alert *store.Message
	for _, m := range r.messages(t) {
		switch m.Kind {
		case pwsync.Kind:
			syncMsg = m
		case "sync.alert":
			alert = m
		}
	}
	if syncMsg == nil || syncMsg.FailedAt.IsZero() || syncMsg.Attempts != 1 {
		t.Fatalf("the sync message was not given up at once: %+v", syncMsg)
	}
	if alert == nil {
		t.Fatal("no alert mail queued")
	}
	if err := notify.OpenMessage(r.ring, alert); err != nil {
		t.Fatal(err)
	}
	if alert.Recipient != "admins@example.test" || !strings.Contains(alert.TextBody, "ghost@example.test") ||
		!strings.Contains(alert.TextBody, "Request_ResourceNotFound") || strings.Contains(alert.TextBody, pw) {
		t.Fatalf("alert = %q to %s", alert.TextBody, alert.Recipient)
	}
	recs := r.audit(t)
	if len(recs) != 1 || recs[0].Event != "sync.failed" || recs[0].Outcome != "failure" ||
		!strings.Contains(recs[0].Reason, "no Entra user") || strings.Contains(recs[0].Reason, pw) {
		t.Fatalf("audit = %+v", recs)
	}
	if _, err := r.chain.Verify(context.Background(), r.store); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}

// flaky is a target that is down: every call a retryable failure.
type flaky struct{ calls int }

func (f *flaky) Name() string { return "down" }
func (f *flaky) SetPassword(context.Context, target.Identity, string) error {
	f.calls++
	return target.Retryf("down", 0, "the service is unavailable")
}

// The last attempt of a target that never recovers alerts like a
// permanent failure; a person the mapping finds nothing for is given up
// at once, without calling the target, and alerted too.
func TestLastAttemptAndUnmappedPersonAlert(t *testing.T) {
	f := &flaky{}
	r := newRig(t, f)
	r.worker.MaxAttempts, r.sender.MaxAttempts = 2, 2
	r.enqueue(t, &pwsync.Planner{Links: []pwsync.Link{{Target: "down", Attribute: "upn"}}}, cloudUser("eve@example.test"), "Some-password-1")
	r.runOnce(t)
	if recs := r.audit(t); len(recs) != 0 {
		t.Fatalf("a first retryable failure was audited: %+v", recs)
	}
	r.clock.Advance(time.Minute)
	r.runOnce(t)
	if f.calls != 2 {
		t.Fatalf("%d calls, want 2", f.calls)
	}
	recs := r.audit(t)
	if len(recs) != 1 || recs[0].Event != "sync.failed" {
		t.Fatalf("audit after the last attempt = %+v", recs)
	}

	noUPN := cloudUser("sam@example.test")
	delete(noUPN.Attributes, "userPrincipalName")
	r.enqueue(t, &pwsync.Planner{Links: []pwsync.Link{{Target: "down", Attribute: "upn"}}}, noUPN, "Some-password-2")
	r.runOnce(t)
	if f.calls != 2 {
		t.Fatal("the target was called for a person without the mapped value")
	}
	recs = r.audit(t)
	if len(recs) != 2 || recs[1].Event != "sync.failed" || !strings.Contains(recs[1].Reason, "has no upn") {
		t.Fatalf("audit = %+v", recs)
	}
	alerts := 0
	for _, m := range r.messages(t) {
		if m.Kind == "sync.alert" {
			alerts++
		}
	}
	if alerts != 2 {
		t.Fatalf("%d alerts, want 2", alerts)
	}
}

// A target slower than the Sender's Timeout (kept under the worker's
// lease) is cut off and tried again later, not given up.
func TestSlowTargetCutOffAndRetried(t *testing.T) {
	script := filepath.Join(t.TempDir(), "slow.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 60\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, &hook.Command{HookName: "slow", Path: script, Timeout: time.Minute})
	r.sender.Timeout = 300 * time.Millisecond
	r.enqueue(t, &pwsync.Planner{Links: []pwsync.Link{{Target: "slow", Attribute: "login"}}}, cloudUser("kim@example.test"), "Slow-password-1")
	r.runOnce(t)
	m := r.messages(t)[0]
	if !m.FailedAt.IsZero() || !m.SentAt.IsZero() || m.Attempts != 1 || m.LastError == "" {
		t.Fatalf("after a cut-off call: %+v", m)
	}
	if recs := r.audit(t); len(recs) != 0 {
		t.Fatalf("audited: %+v", recs)
	}
}
