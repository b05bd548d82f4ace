package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/store"
)

// prune deletes the rows of newLog written before t0+sec seconds, two rows
// per transaction (so batching is exercised).
func prune(t *testing.T, s audit.Reader, sec int) int64 {
	t.Helper()
	n, err := testChain.Prune(context.Background(), s, t0.Add(time.Duration(sec)*time.Second), 2)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPruneThenVerify: rows deleted by retention leave a chain that still
// verifies, from the MAC'd marker on; a checkpoint of a deleted row is
// reported as before retention, a later one as held; pruning past the
// newest row keeps that row.
func TestPruneThenVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newLog(t, 10) // rows 1..10 at t0+0s .. t0+9s
	early, _, err := testChain.VerifyFrom(ctx, s, audit.Position{})
	if err != nil {
		t.Fatal(err)
	}
	cpOld := testChain.NewCheckpoint(audit.Position{LastID: 3, Hash: hashOf(t, s, 3)}, t0)
	cpNew := testChain.NewCheckpoint(audit.Position{LastID: 8, Hash: hashOf(t, s, 8)}, t0)

	if n := prune(t, s, 5); n != 5 {
		t.Fatalf("pruned %d rows, want 5 (written before t0+5s)", n)
	}
	if n, err := testChain.Verify(ctx, s); err != nil || n != 5 {
		t.Fatalf("Verify after retention = %d, %v; want 5 rows, intact", n, err)
	}
	m, ok, err := testChain.Retention(ctx, s)
	if err != nil || !ok || m.LastID != 5 {
		t.Fatalf("Retention = %+v, %v, %v; want the marker at row 5", m, ok, err)
	}
	if err := testChain.CheckCheckpoint(ctx, s, cpOld); !errors.Is(err, audit.ErrBeforeRetention) {
		t.Errorf("checkpoint of a deleted row: %v, want ErrBeforeRetention", err)
	}
	if err := testChain.CheckCheckpoint(ctx, s, cpNew); err != nil {
		t.Errorf("checkpoint of a kept row: %v", err)
	}
	// A monitor that had checked up to row 10 before the rows went goes on.
	if _, n, err := testChain.VerifyFrom(ctx, s, early); err != nil || n != 0 {
		t.Errorf("VerifyFrom the old end = %d, %v", n, err)
	}
	// Pruning again deletes nothing new; pruning everything keeps the newest.
	if n := prune(t, s, 5); n != 0 {
		t.Errorf("second prune deleted %d rows", n)
	}
	if n := prune(t, s, 3600); n != 4 {
		t.Errorf("pruning past the end deleted %d rows, want 4 (the newest stays)", n)
	}
	if n, err := testChain.Verify(ctx, s); err != nil || n != 1 {
		t.Fatalf("Verify after pruning all but one = %d, %v", n, err)
	}
	// New rows chain on as before.
	appendN(t, s, 3)
	if n, err := testChain.Verify(ctx, s); err != nil || n != 4 {
		t.Fatalf("Verify after appending = %d, %v", n, err)
	}
}

// TestRetentionKeepsTamperingVisible: after retention, an edited row after
// the marker, a row deleted past the marker (the marker not moved), an
// altered marker and rows cut off the end are each still found. The
// database itself refuses to delete past the marker.
func TestRetentionKeepsTamperingVisible(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, stmt, want string
	}{
		{"edited row", `UPDATE audit SET actor = 'mallory' WHERE id = 7`, "row 7 was altered"},
		{"deleted past the marker", `DELETE FROM audit WHERE id = 6`, "row 7 does not follow"},
		{"marker moved", `UPDATE audit_retention SET last_id = 6`, "retention marker"},
		{"marker hash swapped", `UPDATE audit_retention SET hash = (SELECT hash FROM audit WHERE id = 6)`, "retention marker"},
		{"end cut off", `DELETE FROM audit WHERE id >= 9`, "rows were removed from the end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, path := newLog(t, 10)
			prune(t, s, 5)
			if _, err := rawDB(t, path).Exec(`DELETE FROM audit WHERE id = 6`); err == nil {
				t.Fatal("the database let a row past the retention marker be deleted")
			}
			db := attacker(t, path)
			if _, err := db.Exec(tc.stmt); err != nil {
				t.Fatal(err)
			}
			_, err := testChain.Verify(context.Background(), s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestPruneRefusesATamperedLog: retention checks the rows it deletes, so
// it cannot launder an edited row out of the log.
func TestPruneRefusesATamperedLog(t *testing.T) {
	t.Parallel()
	s, path := newLog(t, 10)
	if _, err := attacker(t, path).Exec(`UPDATE audit SET actor = 'mallory' WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	n, err := testChain.Prune(context.Background(), s, t0.Add(5*time.Second), 100)
	if err == nil || n != 0 || !strings.Contains(err.Error(), "row 2 was altered") {
		t.Fatalf("Prune = %d, %v; want nothing deleted and row 2 named", n, err)
	}
	if _, ok, _ := testChain.Retention(context.Background(), s); ok {
		t.Error("a retention marker was written")
	}
}

// hashOf reads row id's hash.
func hashOf(t *testing.T, s audit.Reader, id int64) []byte {
	t.Helper()
	var h []byte
	if err := s.InTx(context.Background(), func(tx *store.Tx) error {
		r, err := tx.AuditRecordByID(id)
		if err == nil {
			h = r.Hash
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return h
}
