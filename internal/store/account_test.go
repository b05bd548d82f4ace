package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// A password change retires the account's other flows and sessions; other
// accounts, the kept flow and busy flows are untouched.
func TestExpireFlowsAndDeleteSessionsOfAccount(t *testing.T) {
	storetest.Each(t, testExpireFlowsAndDeleteSessionsOfAccount)
}

func testExpireFlowsAndDeleteSessionsOfAccount(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	other := newFlow("other-account", t0.Add(time.Hour))
	other.SubjectDN = "CN=John,DC=example,DC=com"
	busy := newFlow("busy", t0.Add(time.Hour))
	busy.State = "resetting"
	inTx(t, s, func(tx *store.Tx) error {
		for _, f := range []*store.Flow{newFlow("kept", t0.Add(time.Hour)), newFlow("second", t0.Add(time.Hour)), busy, other} {
			if err := tx.InsertFlow(f); err != nil {
				return err
			}
		}
		for i, dn := range []string{"CN=Jane,DC=example,DC=com", "CN=Jane,DC=example,DC=com", "CN=John,DC=example,DC=com"} {
			if err := tx.InsertSession(&store.Session{TokenHash: []byte{byte(i)}, Directory: "corp", SubjectDN: dn, Login: "x",
				CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	var flows, sessions int64
	inTx(t, s, func(tx *store.Tx) (err error) {
		if flows, err = tx.ExpireFlowsOf("corp", "CN=Jane,DC=example,DC=com", []byte("kept"), []string{"resetting", "unlocking"}, t0); err != nil {
			return err
		}
		sessions, err = tx.DeleteSessionsOf("corp", "CN=Jane,DC=example,DC=com")
		return err
	})
	if flows != 1 || sessions != 2 {
		t.Fatalf("expired %d flows and deleted %d sessions, want 1 and 2", flows, sessions)
	}
	for token, wantLive := range map[string]bool{"kept": true, "second": false, "busy": true, "other-account": true} {
		var f *store.Flow
		inTx(t, s, func(tx *store.Tx) (err error) { f, err = tx.FlowByTokenHash([]byte(token)); return })
		if live := f.ExpiresAt.After(t0); live != wantLive {
			t.Errorf("flow %s live=%v, want %v", token, live, wantLive)
		}
		if !wantLive && f.ChallengeState != nil {
			t.Errorf("flow %s keeps its challenge", token)
		}
	}
	err := s.InTx(context.Background(), func(tx *store.Tx) error { _, err := tx.SessionByTokenHash([]byte{2}); return err })
	if err != nil {
		t.Fatalf("the other account's session is gone: %v", err)
	}
	err = s.InTx(context.Background(), func(tx *store.Tx) error { _, err := tx.SessionByTokenHash([]byte{0}); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the account's session survived: %v", err)
	}
}
