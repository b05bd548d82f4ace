package audit_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/store"
)

var testChain = audit.NewChain([]byte("audit test secret"))

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// newLog opens a store and appends n events, some in one transaction
// together, as a flow step does.
func newLog(t *testing.T, n int) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sspr.db")
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i := 0; i < n; {
		err := s.InTx(context.Background(), func(tx *store.Tx) error {
			// Two events per transaction: the second must chain onto the
			// first even though it is not committed yet.
			for j := 0; j < 2 && i < n; j, i = j+1, i+1 {
				e := audit.Event{
					// A sub-millisecond part is truncated consistently.
					At: t0.Add(time.Duration(i)*time.Second + 123456*time.Nanosecond), Event: "reset.identify",
					Flow: fmt.Sprintf("f%02d", i), Actor: "jane", Subject: "CN=Jane,DC=example,DC=com", Directory: "corp",
					ClientIP: "192.0.2.1", Outcome: audit.Success, Reason: "",
					Detail: map[string]any{"n": i, "note": "ünïcode"},
				}
				if err := testChain.Append(tx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return s, path
}

// attacker opens the database file directly and drops the triggers that
// protect the log, as someone with file access could.
func attacker(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, stmt := range []string{`DROP TRIGGER audit_no_update`, `DROP TRIGGER audit_no_delete`} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func TestVerifyIntactChain(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 7, 1001} { // 1001: beyond Verify's batch size of 1000
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			s, _ := newLog(t, n)
			got, err := testChain.Verify(context.Background(), s)
			if err != nil || got != n {
				t.Errorf("Verify = %d, %v; want %d, nil", got, err, n)
			}
		})
	}
}

func TestAppendChainsRows(t *testing.T) {
	t.Parallel()
	s, _ := newLog(t, 3)
	var recs []*store.AuditRecord
	if err := s.InTx(context.Background(), func(tx *store.Tx) (err error) { recs, err = tx.AuditRecords(0, 10); return }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d rows", len(recs))
	}
	if string(recs[0].PrevHash) != string(make([]byte, 32)) {
		t.Errorf("first row's prev_hash = %x, want zeros", recs[0].PrevHash)
	}
	for i := 1; i < len(recs); i++ {
		if string(recs[i].PrevHash) != string(recs[i-1].Hash) {
			t.Errorf("row %d does not point at row %d", recs[i].ID, recs[i-1].ID)
		}
	}
	if !recs[0].At.Equal(t0) || recs[0].Detail != `{"n":0,"note":"ünïcode"}` || recs[0].Outcome != "success" {
		t.Errorf("row 1 = %+v", recs[0])
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		attack string
		want   string // what Verify must say
	}{
		{"changed outcome", `UPDATE audit SET outcome = 'failure' WHERE id = 4`, "row 4 was altered"},
		{"changed actor", `UPDATE audit SET actor = 'mallory' WHERE id = 1`, "row 1 was altered"},
		{"changed time", `UPDATE audit SET at = at + 1 WHERE id = 6`, "row 6 was altered"},
		{"changed detail", `UPDATE audit SET detail = '{"n":2}' WHERE id = 3`, "row 3 was altered"},
		{"shifted text between fields", `UPDATE audit SET subject = subject || directory, directory = '' WHERE id = 2`, "row 2 was altered"},
		{"replaced hash", `UPDATE audit SET hash = zeroblob(32) WHERE id = 5`, "row 5 was altered"},
		{"deleted middle row", `DELETE FROM audit WHERE id = 4`, "row 5 does not follow"},
		{"deleted first row", `DELETE FROM audit WHERE id = 1`, "row 2 does not follow"},
		{"swapped rows", `UPDATE audit SET id = CASE id WHEN 3 THEN 103 WHEN 4 THEN 3 END WHERE id IN (3, 4);
			UPDATE audit SET id = 4 WHERE id = 103`, "row 3 does not follow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, path := newLog(t, 8)
			if _, err := attacker(t, path).Exec(tc.attack); err != nil {
				t.Fatal(err)
			}
			n, err := testChain.Verify(context.Background(), s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify = %d, %v; want an error containing %q", n, err, tc.want)
			}
		})
	}
}

// TestTriggersProtectTheLog checks that without
// dropping the triggers, nothing can be changed in the first place.
func TestTriggersProtectTheLog(t *testing.T) {
	t.Parallel()
	s, path := newLog(t, 2)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{`UPDATE audit SET actor = 'x'`, `DELETE FROM audit WHERE id = 1`} {
		if _, err := db.Exec(stmt); err == nil {
			t.Errorf("%s succeeded", stmt)
		}
	}
	if n, err := testChain.Verify(context.Background(), s); err != nil || n != 2 {
		t.Errorf("Verify = %d, %v", n, err)
	}
}

// Cutting rows off the end leaves a consistent but shorter chain: the MAC'd
// head still names the last row written, so Verify notices.
func TestVerifyDetectsTruncation(t *testing.T) {
	s, path := newLog(t, 6)
	db := attacker(t, path)
	if _, err := db.Exec(`DELETE FROM audit WHERE id > 4`); err != nil {
		t.Fatal(err)
	}
	if _, err := testChain.Verify(context.Background(), s); err == nil || !strings.Contains(err.Error(), "removed from the end") {
		t.Fatalf("Verify after truncation = %v, want a truncation error", err)
	}
	// Moving the head back to row 4 needs the key.
	if _, err := db.Exec(`UPDATE audit_head SET last_id = 4, hash = (SELECT hash FROM audit WHERE id = 4)`); err != nil {
		t.Fatal(err)
	}
	if _, err := testChain.Verify(context.Background(), s); err == nil || !strings.Contains(err.Error(), "end was altered") {
		t.Fatalf("Verify after moving the head = %v, want an altered-head error", err)
	}
}

// Somebody without the key who rewrites a row and recomputes every hash
// after it (with any other key) is still caught.
func TestVerifyDetectsRecomputedChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sspr.db")
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	forger := audit.NewChain([]byte("a guessed secret"))
	for i := range 3 {
		err := s.InTx(context.Background(), func(tx *store.Tx) error {
			return forger.Append(tx, audit.Event{At: t0, Event: "reset.password", Actor: fmt.Sprint("user", i), Outcome: audit.Success})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := forger.Verify(context.Background(), s); err != nil {
		t.Fatalf("the forger's own chain: %v", err)
	}
	if _, err := testChain.Verify(context.Background(), s); err == nil {
		t.Fatal("a chain written with another key verified")
	}
}
