package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// TestConnectors: a connector is stored with its key, a name is never
// reused (not even after a revocation), touching records where it came
// from, and revoking is reported once.
func TestConnectors(t *testing.T) { storetest.Each(t, testConnectors) }

func testConnectors(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, 32)
	err := s.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertConnector(&store.Connector{Name: "dc1", Directory: "corp", PublicKey: key, CreatedAt: t0}); err != nil {
			return err
		}
		if err := tx.InsertConnector(&store.Connector{Name: "dc1", Directory: "corp", PublicKey: key, CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("a second dc1: %v, want a conflict", err)
		}
		if _, err := tx.ConnectorByName("dc9"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown connector: %v", err)
		}
		if err := tx.TouchConnector("dc1", "192.0.2.7", t0.Add(time.Minute)); err != nil {
			return err
		}
		c, err := tx.ConnectorByName("dc1")
		if err != nil {
			return err
		}
		if c.Directory != "corp" || !bytes.Equal(c.PublicKey, key) || !c.CreatedAt.Equal(t0) || c.LastIP != "192.0.2.7" ||
			!c.LastSeenAt.Equal(t0.Add(time.Minute)) || !c.RevokedAt.IsZero() {
			t.Errorf("stored connector: %+v", c)
		}
		for i, want := range []bool{true, false} {
			if ok, err := tx.RevokeConnector("dc1", t0.Add(2*time.Minute)); err != nil || ok != want {
				t.Errorf("revoke #%d: %v %v, want %v", i+1, ok, err, want)
			}
		}
		if err := tx.InsertConnector(&store.Connector{Name: "dc1", Directory: "corp", PublicKey: key, CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("reusing a revoked name: %v, want a conflict", err)
		}
		all, err := tx.Connectors()
		if err != nil {
			return err
		}
		if len(all) != 1 || !all[0].RevokedAt.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("list: %+v", all)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
