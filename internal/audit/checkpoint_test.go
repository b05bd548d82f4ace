package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/store"
)

func appendN(t *testing.T, s *store.Store, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		err := s.InTx(context.Background(), func(tx *store.Tx) error {
			return testChain.Append(tx, audit.Event{At: t0.Add(time.Duration(i) * time.Minute), Event: "reset.identify", Actor: fmt.Sprint("user", i), Outcome: audit.Success})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// started opens a new store the way sspr serve does: the creation record
// first, then n events.
func started(t *testing.T, n int) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sspr.db")
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if wrote, err := testChain.Start(context.Background(), s, t0); err != nil || !wrote {
		t.Fatalf("Start = %v, %v", wrote, err)
	}
	appendN(t, s, n)
	return s, path
}

func TestStartWritesTheCreationRecordOnce(t *testing.T) {
	t.Parallel()
	s, _ := started(t, 0)
	if wrote, err := testChain.Start(context.Background(), s, t0); err != nil || wrote {
		t.Fatalf("second Start = %v, %v; want false, nil", wrote, err)
	}
	var recs []*store.AuditRecord
	if err := s.InTx(context.Background(), func(tx *store.Tx) (err error) { recs, err = tx.AuditRecords(0, 10); return }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Event != audit.ChainCreated || !bytes.Equal(recs[0].PrevHash, make([]byte, 32)) {
		t.Fatalf("rows after Start: %+v", recs)
	}
	if n, err := testChain.Verify(context.Background(), s); err != nil || n != 1 {
		t.Fatalf("Verify = %d, %v", n, err)
	}
}

// Deleting every row and the recorded end leaves an empty log, which used
// to verify as fine.
func TestVerifyDetectsWipedLog(t *testing.T) {
	t.Parallel()
	s, path := started(t, 3)
	if _, err := attacker(t, path).Exec(`DELETE FROM audit; DELETE FROM audit_head`); err != nil {
		t.Fatal(err)
	}
	if n, err := testChain.Verify(context.Background(), s); err == nil || !strings.Contains(err.Error(), "wiped") {
		t.Fatalf("Verify of a wiped log = %d, %v; want a wiped error", n, err)
	}
}

// Rows added past the recorded end (without the key's head update) are
// reported, not ignored.
func TestVerifyDetectsRowsPastTheEnd(t *testing.T) {
	t.Parallel()
	s, path := started(t, 2)
	if _, err := attacker(t, path).Exec(`INSERT INTO audit (at, event, outcome, prev_hash, hash) SELECT at, event, outcome, hash, hash FROM audit WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	if _, err := testChain.Verify(context.Background(), s); err == nil || !strings.Contains(err.Error(), "row 4 comes after the recorded end") {
		t.Fatalf("Verify = %v", err)
	}
}

func TestVerifyFromContinuesWhereItStopped(t *testing.T) {
	t.Parallel()
	s, _ := started(t, 3)
	pos, n, err := testChain.VerifyFrom(context.Background(), s, audit.Position{})
	if err != nil || n != 4 || pos.LastID != 4 {
		t.Fatalf("first VerifyFrom = %+v, %d, %v", pos, n, err)
	}
	appendN(t, s, 2)
	pos2, n, err := testChain.VerifyFrom(context.Background(), s, pos)
	if err != nil || n != 2 || pos2.LastID != 6 {
		t.Fatalf("second VerifyFrom = %+v, %d, %v; want 2 new rows", pos2, n, err)
	}
	if _, n, err := testChain.VerifyFrom(context.Background(), s, pos2); err != nil || n != 0 {
		t.Fatalf("nothing new: %d, %v", n, err)
	}
}

// A busy server appends while the monitor walks: rows added after the
// recorded end was read are left for the next round, never reported.
func TestVerifyFromBesideWriters(t *testing.T) {
	t.Parallel()
	s, _ := started(t, 0)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			if err := s.InTx(context.Background(), func(tx *store.Tx) error {
				return testChain.Append(tx, audit.Event{At: t0, Event: "reset.identify", Actor: fmt.Sprint("user", i), Outcome: audit.Success})
			}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var pos audit.Position
	total := 0
	for range 20 {
		p, n, err := testChain.VerifyFrom(context.Background(), s, pos)
		if err != nil {
			t.Fatalf("VerifyFrom beside a writer: %v", err)
		}
		pos, total = p, total+n
	}
	wg.Wait()
	p, n, err := testChain.VerifyFrom(context.Background(), s, pos)
	if err != nil || p.LastID != 201 || total+n != 201 {
		t.Fatalf("after the writer: %+v %d %v (total %d)", p, n, err, total+n)
	}
}

// snapshot copies the database as a backup would.
func snapshot(t *testing.T, s *store.Store, path string) *store.Store {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "backup.db")
	if _, err := rawDB(t, path).Exec(`VACUUM INTO ?`, dst); err != nil {
		t.Fatal(err)
	}
	old, err := store.OpenSQLite(context.Background(), dst)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close() })
	return old
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCheckpointDetectsRestoredOlderCopy(t *testing.T) {
	t.Parallel()
	s, path := started(t, 3)
	old := snapshot(t, s, path)
	appendN(t, s, 2)
	var logBuf bytes.Buffer
	m := &audit.Monitor{Chain: testChain, Store: s, Log: slog.New(slog.NewTextHandler(&logBuf, nil)), Interval: time.Hour,
		File: filepath.Join(t.TempDir(), "checkpoints"), Now: func() time.Time { return t0 }}
	cp, err := m.Check(context.Background())
	if err != nil || cp.LastID != 6 {
		t.Fatalf("Check = %+v, %v", cp, err)
	}
	if !strings.Contains(logBuf.String(), `level=INFO msg="audit checkpoint" last_id=6 hash=`+cp.Hash) {
		t.Errorf("no checkpoint line in the log:\n%s", logBuf.String())
	}
	if err := testChain.CheckCheckpoint(context.Background(), s, cp); err != nil {
		t.Fatalf("the live database against its checkpoint: %v", err)
	}
	// The older copy is consistent in itself...
	if _, err := testChain.Verify(context.Background(), old); err != nil {
		t.Fatalf("the backup alone: %v", err)
	}
	// ...but does not hold the checkpoint's row.
	if err := testChain.CheckCheckpoint(context.Background(), old, cp); err == nil || !strings.Contains(err.Error(), "older copy") {
		t.Fatalf("CheckCheckpoint of an older copy = %v", err)
	}
	// A monitor started on the older copy with the same file says so.
	logBuf.Reset()
	m2 := &audit.Monitor{Chain: testChain, Store: old, Log: slog.New(slog.NewTextHandler(&logBuf, nil)), Interval: time.Hour, File: m.File}
	if _, err := m2.Check(context.Background()); err == nil || !strings.Contains(logBuf.String(), "level=ERROR") {
		t.Fatalf("monitor on the older copy: %v\n%s", err, logBuf.String())
	}
	// An edited checkpoint proves nothing.
	forged := cp
	forged.LastID = 4
	if err := testChain.CheckCheckpoint(context.Background(), old, forged); err == nil || !strings.Contains(err.Error(), "MAC") {
		t.Fatalf("forged checkpoint = %v", err)
	}
}

func TestMonitorWritesCheckpointFile(t *testing.T) {
	t.Parallel()
	s, _ := started(t, 2)
	file := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	m := &audit.Monitor{Chain: testChain, Store: s, Log: slog.New(slog.DiscardHandler), Interval: time.Hour, File: file}
	if _, err := m.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 1)
	if _, err := m.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("checkpoint file: %v %v", fi, err)
	}
	f, _ := os.Open(file)
	defer f.Close()
	cps, err := audit.ReadCheckpoints(f)
	if err != nil || len(cps) != 2 || cps[0].LastID != 3 || cps[1].LastID != 4 {
		t.Fatalf("checkpoints = %+v, %v", cps, err)
	}
	// A new monitor (a restart) continues from the file's newest checkpoint.
	m2 := &audit.Monitor{Chain: testChain, Store: s, Log: slog.New(slog.DiscardHandler), Interval: time.Hour, File: file}
	if cp, err := m2.Check(context.Background()); err != nil || cp.LastID != 4 {
		t.Fatalf("after restart: %+v %v", cp, err)
	}
}

func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newLog(t, 5)
	var buf bytes.Buffer
	n, err := audit.Export(context.Background(), s, &buf, audit.Range{})
	if err != nil || n != 5 || strings.Count(buf.String(), "\n") != 5 {
		t.Fatalf("Export = %d, %v:\n%s", n, err, buf.String())
	}
	var first audit.Exported
	if err := json.Unmarshal([]byte(strings.SplitN(buf.String(), "\n", 2)[0]), &first); err != nil || first.ID != 1 || first.Detail != `{"n":0,"note":"ünïcode"}` || len(first.Hash) != 64 {
		t.Fatalf("first line = %+v, %v", first, err)
	}
	if n, err := testChain.VerifyExported(bytes.NewReader(buf.Bytes())); err != nil || n != 5 {
		t.Fatalf("VerifyExported = %d, %v", n, err)
	}
	// An edited line, or a dropped one, shows.
	edited := strings.Replace(buf.String(), `"actor":"jane"`, `"actor":"mallory"`, 1)
	if _, err := testChain.VerifyExported(strings.NewReader(edited)); err == nil || !strings.Contains(err.Error(), "row 1 was altered") {
		t.Errorf("edited export: %v", err)
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	dropped := strings.Join(append(lines[:2:2], lines[3:]...), "")
	if _, err := testChain.VerifyExported(strings.NewReader(dropped)); err == nil || !strings.Contains(err.Error(), "does not follow") {
		t.Errorf("export without row 3: %v", err)
	}
	// --since / --until keep a contiguous run.
	buf.Reset()
	n, err = audit.Export(context.Background(), s, &buf, audit.Range{Since: t0.Add(time.Second), Until: t0.Add(3 * time.Second)})
	if err != nil || n != 2 {
		t.Fatalf("ranged export = %d, %v", n, err)
	}
	if _, err := testChain.VerifyExported(&buf); err != nil {
		t.Fatalf("ranged export does not verify: %v", err)
	}
}

// With log.format json the "audit checkpoint" line itself is a checkpoint
// that `sspr audit verify --head` accepts: the extra fields are ignored.
func TestCheckpointFromJSONLogLine(t *testing.T) {
	t.Parallel()
	s, _ := started(t, 2)
	var buf bytes.Buffer
	m := &audit.Monitor{Chain: testChain, Store: s, Log: slog.New(slog.NewJSONHandler(&buf, nil)), Interval: time.Hour}
	if _, err := m.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	var cp audit.Checkpoint
	if err := json.Unmarshal(buf.Bytes(), &cp); err != nil || cp.LastID != 3 {
		t.Fatalf("log line %s: %+v, %v", buf.String(), cp, err)
	}
	if err := testChain.CheckCheckpoint(context.Background(), s, cp); err != nil {
		t.Fatalf("checkpoint from the log line: %v", err)
	}
}
