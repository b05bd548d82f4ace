package flow_test

import (
	"context"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/store"
)

// TestFurtherReportsCountTheAuditLog writes audit events at chosen times
// (an injected clock: no real waiting) and checks how each report counts
// them: failures by reason and blocks, factor kinds used, password rules
// refused (sspr's and the directory's), calls avoided per calendar month
// at the cost per call, admin actions per actor, and configuration
// changes.
func TestFurtherReportsCountTheAuditLog(t *testing.T) {
	h := newHarness(t)
	a := &flow.Admin{Enroll: h.enroll()}
	ctx := context.Background()
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 10, 0, 0, 0, time.UTC) }
	chain := audit.NewChain([]byte("test secret"))
	write := func(evs ...audit.Event) {
		t.Helper()
		if err := h.store.InTx(ctx, func(tx *store.Tx) error {
			for _, ev := range evs {
				if err := chain.Append(tx, ev); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	ev := func(at time.Time, event string, outcome audit.Outcome, reason string, detail map[string]any) audit.Event {
		return audit.Event{At: at, Event: event, Actor: "alice", Outcome: outcome, Reason: reason, Detail: detail}
	}
	write(
		ev(day(10, 30), "reset.password", audit.Success, "", nil), // October
		ev(day(11, 2), "reset.password", audit.Success, "", nil),
		ev(day(11, 3), "unlock.unlock", audit.Success, "", nil),
		ev(day(11, 3), "change.password", audit.Success, "", nil),
		ev(day(11, 3), "admin.caller.reset", audit.Success, "", nil), // a call taken: not avoided
		ev(day(11, 4), "reset.password", audit.Failure, "policy_violation", map[string]any{"reasons": []string{"history", "too_short"}}),
		ev(day(11, 4), "reset.password", audit.Failure, "password_rules", map[string]any{"failed": []string{"breach", "length.min"}}),
		ev(day(11, 5), "reset.password", audit.Failure, "password_rules", map[string]any{"failed": []string{"breach"}}),
		ev(day(11, 5), "reset.verify", audit.Success, "", map[string]any{"factor": "email"}),
		ev(day(11, 6), "unlock.verify", audit.Success, "", map[string]any{"factor": "totp"}),
		ev(day(11, 6), "change.verify", audit.Failure, "wrong_code", map[string]any{"factor": "totp"}),
		ev(day(11, 6), "reset.identify", audit.Denied, "rate_limited", nil),
		ev(day(11, 6), "admin.signin", audit.Failure, "wrong_password", nil), // an admin action, not a failure
		ev(day(11, 7), "admin.report.coverage", audit.Success, "", nil),
		ev(day(11, 7), "admin.denied", audit.Denied, "", nil),
		audit.Event{At: day(11, 8), Event: "config.reload", Actor: "sspr", Outcome: audit.Success,
			Detail: map[string]any{"changes": []map[string]string{{"key": "password.min_length", "old": "10", "new": "12"}}}},
	)
	from, to := day(11, 1).Truncate(24*time.Hour), day(11, 9).Truncate(24*time.Hour)

	f, err := a.Failures(ctx, from, to, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if f.Reasons["wrong_code"] != 1 || f.Reasons["blocked"] != 1 || f.Reasons["wrong_password"] != 0 || f.Reasons["password_rules"] != 2 ||
		len(f.Buckets) != 8 || f.Buckets[5].Counts["blocked"] != 1 {
		t.Fatalf("failures: %+v", f)
	}

	u, err := a.FactorUsage(ctx, from, to, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if u.UsedTotals["email"] != 1 || u.UsedTotals["totp"] != 1 || u.Buckets[4].Counts["email"] != 1 {
		t.Fatalf("factor usage: %+v", u)
	}

	r, err := a.PasswordRefusals(ctx, from, to, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"rule:breach": 2, "rule:length.min": 1, "directory:history": 1, "directory:too_short": 1}
	if len(r.Rules) != len(want) {
		t.Fatalf("refusals: %+v", r.Rules)
	}
	for k, n := range want {
		if r.Rules[k] != n {
			t.Fatalf("refusals %s = %d, want %d (%+v)", k, r.Rules[k], n, r.Rules)
		}
	}

	c, err := a.CallsAvoided(ctx, day(10, 15), day(12, 1), 20, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Months) != 2 || c.Months[0].Month != "2026-10" || c.Months[0].Calls != 1 || c.Months[1].Calls != 3 ||
		c.Months[1].Unlocks != 1 || c.Calls != 4 || c.Saved != 80 || c.Months[1].Saved != 60 {
		t.Fatalf("calls avoided: %+v", c)
	}

	aa, err := a.AdminActions(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(aa.Actors) != 1 || aa.Actors[0].Total != 4 || aa.Actors[0].Denied != 1 || aa.Actors[0].ByEvent["admin.signin"] != 1 {
		t.Fatalf("admin actions: %+v", aa)
	}

	hist, err := a.ConfigHistory(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || len(hist[0].Changes) != 1 || hist[0].Changes[0] != (flow.SettingChange{Key: "password.min_length", Old: "10", New: "12"}) {
		t.Fatalf("config history: %+v", hist)
	}

	ag, err := a.Agents(ctx)
	if err != nil || len(ag.Agents) != 0 || ag.States["active"] != 0 {
		t.Fatalf("agents: %+v %v", ag, err)
	}
}
