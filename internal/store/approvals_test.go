package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// TestApprovalMarksAreSingleUse: a mark is new once, stays spent until it
// expires, and is pruned after.
func TestApprovalMarksAreSingleUse(t *testing.T) { storetest.Each(t, testApprovalMarksAreSingleUse) }

func testApprovalMarksAreSingleUse(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	use := func(id string, until, now time.Time) bool {
		t.Helper()
		var fresh bool
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			fresh, err = tx.UseApprovalMark(id, until, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	until := t0.Add(time.Hour)
	if !use("token:a", until, t0) || use("token:a", until, t0.Add(time.Minute)) {
		t.Fatal("a mark must be new exactly once")
	}
	if !use("token:b", until, t0) {
		t.Fatal("another id is new")
	}
	var spent bool
	_ = s.ReadTx(ctx, func(tx *store.Tx) error { spent, _ = tx.ApprovalMarkUsed("token:a", t0); return nil })
	if !spent {
		t.Fatal("a used mark must read as spent")
	}
	// Past its expiry the row is pruned (the token it guards expired too).
	if !use("token:a", until.Add(2*time.Hour), until.Add(time.Minute)) {
		t.Fatal("an expired mark must be pruned")
	}
}

// TestApprovalRequestKeepsTheFirstDecision: a request waits undecided,
// takes one decision only, and is gone once it expires.
func TestApprovalRequestKeepsTheFirstDecision(t *testing.T) {
	storetest.Each(t, testApprovalRequestKeepsTheFirstDecision)
}

func testApprovalRequestKeepsTheFirstDecision(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	req := &store.ApprovalRequest{ID: "r1", Login: "alice", Name: "Alice", Action: "reset", ClientIP: "192.0.2.1",
		RequestedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
	err := s.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SaveApprovalRequest(req, t0); err != nil {
			return err
		}
		if _, err := tx.ApprovalDecision("r1", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("undecided: %v", err)
		}
		if ok, err := tx.DecideApprovalRequest("r1", "signed-approve", t0); !ok || err != nil {
			t.Errorf("first decision: %v %v", ok, err)
		}
		if ok, _ := tx.DecideApprovalRequest("r1", "signed-deny", t0); ok {
			t.Error("a second decision was taken")
		}
		if d, err := tx.ApprovalDecision("r1", t0); d != "signed-approve" || err != nil {
			t.Errorf("decision %q %v", d, err)
		}
		got, err := tx.ApprovalRequestByID("r1", t0)
		if err != nil || got.Login != "alice" || got.ClientIP != "192.0.2.1" || !got.RequestedAt.Equal(t0) {
			t.Errorf("request %+v %v", got, err)
		}
		if _, err := tx.ApprovalRequestByID("r1", t0.Add(31*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired request: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
