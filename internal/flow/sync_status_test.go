package flow_test

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
	pwsync "github.com/sspr/sspr/internal/sync"
	"github.com/sspr/sspr/internal/sync/entra"
	"github.com/sspr/sspr/internal/sync/entra/graphtest"
	"github.com/sspr/sspr/internal/sync/target"

	"github.com/sspr/sspr/internal/flow"
)

// discardMail takes every mail (codes, notices, alerts) and keeps none.
type discardMail struct{}

func (discardMail) Send(context.Context, *store.Message) error { return nil }

func graphTarget(t *testing.T, name string, g *graphtest.Server, now func() time.Time) target.Target {
	t.Helper()
	e, err := entra.New(entra.Config{Name: name, TenantID: g.TenantID, ClientID: g.ClientID, ClientSecret: g.Secret,
		LoginURL: g.URL, GraphURL: g.URL, HTTP: g.Client(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// syncRig adds three sync targets to a reset harness, each a Graph server
// speaking the documented format: "m365" takes the password, "slow"
// throttles first (429, Retry-After: 120), "gone" does not know the
// person (404, permanent). The outbox worker delivers with the real store.
type syncRig struct {
	*harness
	ok, slow, gone *graphtest.Server
	worker         *notify.Worker
}

const alice = "alice@demo.sspr.test"

func newSyncRig(t *testing.T) *syncRig {
	h := newHarness(t)
	r := &syncRig{harness: h, ok: graphtest.New(t), slow: graphtest.New(t), gone: graphtest.New(t)}
	r.ok.AddUser(alice)
	r.slow.AddUser(alice)
	r.slow.Script(graphtest.Reply{Status: 429, Code: "TooManyRequests", RetryAfter: 120})
	targets := map[string]target.Target{}
	for name, g := range map[string]*graphtest.Server{"m365": r.ok, "slow": r.slow, "gone": r.gone} {
		targets[name] = graphTarget(t, name, g, h.clock.Now)
	}
	planner := &pwsync.Planner{Sealer: h.reset.Sealer, Now: h.clock.Now, Links: []pwsync.Link{
		{Target: "m365", Attribute: "mail", Label: "Microsoft Entra ID"},
		{Target: "slow", Attribute: "mail"},
		{Target: "gone", Attribute: "mail", Label: "Partner directory"}}}
	h.reset.Sync = planner
	sender := &pwsync.Sender{Targets: targets, Store: h.store, Audit: h.reset.Audit, AlertTo: []string{"admins@example.test"},
		Sealer: h.reset.Sealer, MaxAttempts: 8, Now: h.clock.Now}
	r.worker = &notify.Worker{Store: h.store, Sender: discardMail{}, Sync: sender, Sealer: h.reset.Sealer, Log: quietLog(),
		Now: h.clock.Now, PollInterval: time.Hour, MaxAttempts: 8, InitialBackoff: time.Second, MaxBackoff: time.Minute,
		Lease: time.Minute, Node: "n1", Instance: "i1"}
	return r
}

// drain delivers everything due now.
func (r *syncRig) drain(t *testing.T) {
	t.Helper()
	for range 20 {
		n, err := r.worker.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// resetAlice walks alice's reset to the end and returns the flow's token.
func (r *syncRig) resetAlice(t *testing.T, pw string) (string, flow.Status) {
	t.Helper()
	ctx := context.Background()
	token, _, err := r.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "192.0.2.7", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.reset.VerifyCode(ctx, token, r.lastCode(t), "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	st, err := r.reset.SetPassword(ctx, token, pw, pw, "192.0.2.7")
	if err != nil || st.State != flow.StateDone {
		t.Fatalf("reset: %v %+v", err, st)
	}
	return token, st
}

func outcomeOf(t *testing.T, st flow.Status, name string) flow.SyncOutcome {
	t.Helper()
	for _, o := range st.Sync {
		if o.Target == name {
			return o
		}
	}
	t.Fatalf("no outcome for %s in %+v", name, st.Sync)
	return flow.SyncOutcome{}
}

// After a reset, the person's status lists each sync target: pending
// until the worker ran; then delivered, still being delivered with the
// time of the next try (Graph said Retry-After: 120), and failed with a
// plain reason (the Graph error text stays out); finally delivered after
// the wait. Every final outcome is audited with the flow's reference.
func TestSyncOutcomesShownToThePerson(t *testing.T) {
	r := newSyncRig(t)
	ctx := context.Background()
	const pw = "Correct-Horse-9"
	token, st := r.resetAlice(t, pw)

	// The done answer itself: every target pending, in the order planned.
	if len(st.Sync) != 3 || !slicesEqual(targetsOf(st.Sync), []string{"m365", "slow", "gone"}) {
		t.Fatalf("done answer's sync = %+v", st.Sync)
	}
	for _, o := range st.Sync {
		if o.State != flow.SyncPending || !o.RetryAt.IsZero() || o.Reason != "" {
			t.Fatalf("before delivery: %+v", o)
		}
	}
	if o := outcomeOf(t, st, "m365"); o.Label != "Microsoft Entra ID" {
		t.Fatalf("label = %q", o.Label)
	}
	if o := outcomeOf(t, st, "slow"); o.Label != "slow" {
		t.Fatalf("a target without a label shows its name, got %q", o.Label)
	}

	r.drain(t)
	st, err := r.reset.Status(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomeOf(t, st, "m365"); o.State != flow.SyncDelivered {
		t.Fatalf("m365: %+v", o)
	}
	if got, _ := r.ok.Password(alice); got != pw {
		t.Fatalf("Entra holds %q", got)
	}
	slow := outcomeOf(t, st, "slow")
	if slow.State != flow.SyncPending || slow.RetryAt.Before(r.clock.Now().Add(120*time.Second)) {
		t.Fatalf("slow: %+v, want pending with a retry no sooner than Retry-After", slow)
	}
	gone := outcomeOf(t, st, "gone")
	if gone.State != flow.SyncFailed || gone.Reason != flow.SyncRefused {
		t.Fatalf("gone: %+v", gone)
	}
	if flow.SyncSettled(st.Sync) {
		t.Fatal("settled with one pending")
	}

	r.clock.Advance(121 * time.Second)
	r.drain(t)
	st, err = r.reset.Status(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomeOf(t, st, "slow"); o.State != flow.SyncDelivered || !o.RetryAt.IsZero() {
		t.Fatalf("slow after the wait: %+v", o)
	}
	if got, _ := r.slow.Password(alice); got != pw {
		t.Fatalf("the throttling target holds %q", got)
	}
	if !flow.SyncSettled(st.Sync) {
		t.Fatalf("not settled: %+v", st.Sync)
	}

	// Audited: one final record per target, tied to the flow.
	var recs []*store.AuditRecord
	if err := r.store.InTx(ctx, func(tx *store.Tx) (err error) { recs, err = tx.AuditRecords(0, 200); return }); err != nil {
		t.Fatal(err)
	}
	var flowRef string
	finals := map[string]*store.AuditRecord{}
	for _, rec := range recs {
		if rec.Event == "reset.password" {
			flowRef = rec.Flow
		}
		if strings.HasPrefix(rec.Event, "sync.delivered") || strings.HasPrefix(rec.Event, "sync.failed") {
			if !strings.Contains(rec.Detail, `"target"`) {
				t.Fatalf("audit without target: %+v", rec)
			}
			for _, name := range []string{"m365", "slow", "gone"} {
				if strings.Contains(rec.Detail, `"target":"`+name+`"`) {
					finals[name] = rec
				}
			}
		}
	}
	if len(finals) != 3 || flowRef == "" {
		t.Fatalf("final audit records = %v (flow %q)", finals, flowRef)
	}
	for name, rec := range finals {
		if rec.Flow != flowRef {
			t.Errorf("%s: audit flow %q, want the reset's %q", name, rec.Flow, flowRef)
		}
		if strings.Contains(rec.Reason+rec.Detail, pw) {
			t.Errorf("%s: the password is in the audit log", name)
		}
	}
	if finals["gone"].Event != "sync.failed" || !strings.Contains(finals["gone"].Detail, `"person_reason":"refused"`) {
		t.Fatalf("gone audit = %+v", finals["gone"])
	}
	if _, err := r.reset.Audit.Verify(ctx, r.store); err != nil {
		t.Fatal(err)
	}
}

// The status is the finishing flow's only: another flow's token sees its
// own (none), an unknown token nothing, and once the janitor deleted the
// finished flow its outcomes go with it.
func TestSyncOutcomesOnlyForTheFlowAndUntilItIsDeleted(t *testing.T) {
	r := newSyncRig(t)
	ctx := context.Background()
	token, _ := r.resetAlice(t, "Correct-Horse-9")
	other, _, err := r.reset.Start(ctx, flow.StartInput{Login: "bob", ClientIP: "192.0.2.8", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := r.reset.Status(ctx, other); err != nil || len(st.Sync) != 0 {
		t.Fatalf("another flow sees %+v (%v)", st.Sync, err)
	}
	if _, err := r.reset.Status(ctx, strings.Repeat("A", 43)); flowCode(err) != flow.CodeFlowNotFound {
		t.Fatalf("unknown token: %v", err)
	}
	r.drain(t)
	r.clock.Advance(10 * time.Minute)
	if err := r.store.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.DeleteFinishedFlows(r.clock.Now().Add(-5*time.Minute), 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.reset.Status(ctx, token); flowCode(err) != flow.CodeFlowNotFound {
		t.Fatalf("after the retention: %v", err)
	}
	var left []store.SyncOutcome
	if err := r.store.InTx(ctx, func(tx *store.Tx) (err error) { left, err = tx.SyncOutcomes(hashOf(token)); return }); err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("outcomes outlived their flow: %+v", left)
	}
}

func targetsOf(outs []flow.SyncOutcome) []string {
	var s []string
	for _, o := range outs {
		s = append(s, o.Target)
	}
	return s
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func hashOf(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// A password change (old password known, no flow) sent to sync targets
// leaves a done "change" record whose token reads the same outcomes; no
// step can act on it, a wrong old password gets no token, and without
// ChangeTracked nothing is recorded.
func TestChangeTrackedShowsSyncOutcomes(t *testing.T) {
	r := newSyncRig(t)
	ctx := context.Background()
	c := r.change()
	token, err := c.ChangeTracked(ctx, flow.ChangeInput{Login: "alice", OldPassword: "Wrong-Guess-1", NewPassword: "Changed-Pass-44",
		Confirm: "Changed-Pass-44", ClientIP: "192.0.2.9"})
	if flowCode(err) != flow.CodeCredentialsWrong || token != "" {
		t.Fatalf("wrong old password: %q %v", token, err)
	}
	token, err = c.ChangeTracked(ctx, flow.ChangeInput{Login: "alice", OldPassword: "Winter-2026", NewPassword: "Changed-Pass-44",
		Confirm: "Changed-Pass-44", ClientIP: "192.0.2.9"})
	if err != nil || len(token) != 43 {
		t.Fatalf("change: %q %v", token, err)
	}
	st, err := r.reset.Status(ctx, token)
	if err != nil || st.Action != flow.ActionChange || st.State != flow.StateDone || len(st.Sync) != 3 || st.FactorsRequired != 0 {
		t.Fatalf("status of the change: %+v %v", st, err)
	}
	r.drain(t)
	st, _ = r.reset.Status(ctx, token)
	if o := outcomeOf(t, st, "m365"); o.State != flow.SyncDelivered {
		t.Fatalf("m365 after delivery: %+v", o)
	}
	if got, _ := r.ok.Password(alice); got != "Changed-Pass-44" {
		t.Fatalf("Entra holds %q", got)
	}
	if o := outcomeOf(t, st, "gone"); o.State != flow.SyncFailed || o.Reason != flow.SyncRefused {
		t.Fatalf("gone: %+v", o)
	}
	// The record is for reading only: every step answers "not found".
	if _, err := r.reset.SetPassword(ctx, token, "Another-Pass-55", "Another-Pass-55", ""); flowCode(err) != flow.CodeFlowNotFound {
		t.Fatalf("set password on a change record: %v", err)
	}
	if _, err := r.reset.Resend(ctx, token, ""); flowCode(err) != flow.CodeFlowNotFound {
		t.Fatalf("resend on a change record: %v", err)
	}
	// Plain Change (no one to show it to) leaves no record: the only
	// finished flow there is, is ChangeTracked's.
	if err := c.Change(ctx, flow.ChangeInput{Login: "alice", OldPassword: "Changed-Pass-44", NewPassword: "Changed-Pass-45",
		Confirm: "Changed-Pass-45", ClientIP: "192.0.2.9"}); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := r.store.InTx(ctx, func(tx *store.Tx) (err error) {
		n, err = tx.DeleteFinishedFlows(r.clock.Now().Add(time.Hour), 100)
		return err
	}); err != nil || n != 1 {
		t.Fatalf("%d finished flows (%v), want ChangeTracked's one", n, err)
	}
}

// A sync message the outbox gave up without the sync sender recording it
// (here: a worker with no sync sender) shows as failed, not pending for
// ever.
func TestSyncOutcomeGivenUpByTheOutbox(t *testing.T) {
	r := newSyncRig(t)
	r.worker.Sync = nil
	token, _ := r.resetAlice(t, "Correct-Horse-9")
	r.drain(t)
	st, err := r.reset.Status(context.Background(), token)
	if err != nil || len(st.Sync) != 3 {
		t.Fatalf("%+v %v", st, err)
	}
	for _, o := range st.Sync {
		if o.State != flow.SyncFailed || o.Reason != flow.SyncUnreachable {
			t.Errorf("%s: %+v, want failed (unreachable)", o.Target, o)
		}
	}
}
