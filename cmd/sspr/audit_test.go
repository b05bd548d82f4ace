package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/store"
)

var auditKey = []byte("0123456789abcdef0123456789abcdef")

// auditSetup writes a configuration and a database holding the creation
// record and n events, written with the configuration's key as sspr serve
// would, and returns the configuration's path and the database's.
func auditSetup(t *testing.T, n int) (cfgPath, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	dbPath = filepath.Join(dir, "sspr.db")
	cfgPath = filepath.Join(dir, "sspr.yaml")
	cfg := fmt.Sprintf(`
server:
  base_url: https://sspr.example.com
storage:
  path: %s
secrets:
  hmac_key: %s
directories:
  - name: corp
    type: ad
    urls: ["ldaps://127.0.0.1:1"]
    bind_dn: CN=svc,DC=example,DC=com
    bind_password: x
    base_dn: DC=example,DC=com
mail:
  from: noreply@example.com
  smtp:
    host: 127.0.0.1
`, dbPath, base64.StdEncoding.EncodeToString(auditKey))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenSQLite(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chain := audit.NewChain(auditKey)
	t0 := time.Date(2026, 1, 31, 8, 0, 0, 0, time.UTC)
	if _, err := chain.Start(context.Background(), s, t0); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, t0, 0, n)
	return cfgPath, dbPath
}

func appendEvents(t *testing.T, s *store.Store, t0 time.Time, from, n int) {
	t.Helper()
	chain := audit.NewChain(auditKey)
	for i := from; i < from+n; i++ {
		err := s.InTx(context.Background(), func(tx *store.Tx) error {
			return chain.Append(tx, audit.Event{At: t0.Add(time.Duration(i+1) * time.Hour), Event: "reset.password", Actor: fmt.Sprint("user", i), Outcome: audit.Success})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// tamper runs SQL on the database as somebody with file access, after
// dropping the triggers that keep the log append-only.
func tamper(t *testing.T, dbPath, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{`DROP TRIGGER audit_no_update`, `DROP TRIGGER audit_no_delete`, stmt} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func runSSPR(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(binary, args...).CombinedOutput()
	return string(out), err
}

func TestAuditVerifyIntact(t *testing.T) {
	t.Parallel()
	cfg, _ := auditSetup(t, 5)
	out, err := runSSPR(t, "audit", "verify", "--config", cfg)
	if err != nil || !strings.Contains(out, "chain: 6 row(s), every row and link intact") || !strings.Contains(out, "the audit log is intact") {
		t.Fatalf("verify of an intact log: %v\n%s", err, out)
	}
}

// TestAuditVerifyDetectsTampering: an edited row, a truncated tail and a
// wiped log each make `sspr audit verify` exit non-zero and say what.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, attack, want string }{
		{"edited row", `UPDATE audit SET actor = 'mallory' WHERE id = 3`, "PROBLEM: row 3 was altered after it was written"},
		{"truncated tail", `DELETE FROM audit WHERE id > 4`, "PROBLEM: the chain ends at row 4 but row 6 was written last (rows were removed from the end)"},
		{"wiped log", `DELETE FROM audit; DELETE FROM audit_head`, "PROBLEM: the log is empty, yet it always keeps at least the record of its creation: it was wiped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, db := auditSetup(t, 5)
			tamper(t, db, tc.attack)
			out, err := runSSPR(t, "audit", "verify", "--config", cfg)
			if err == nil || !strings.Contains(out, tc.want) || !strings.Contains(out, "failed verification") {
				t.Fatalf("verify after %s: %v\n%s\nwant %q", tc.name, err, out, tc.want)
			}
		})
	}
}

// TestAuditVerifyDetectsRestoredCopy: a backup restored over the database
// is a consistent chain in itself; only the checkpoint taken since shows it
// is older.
func TestAuditVerifyDetectsRestoredCopy(t *testing.T) {
	t.Parallel()
	cfg, dbPath := auditSetup(t, 3)
	backup := filepath.Join(t.TempDir(), "backup.db")
	tamperFree(t, dbPath, `VACUUM INTO '`+backup+`'`)
	s, err := store.OpenSQLite(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, time.Date(2026, 1, 31, 8, 0, 0, 0, time.UTC), 3, 2)
	// The running server's self-check writes a checkpoint.
	cpFile := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	m := &audit.Monitor{Chain: audit.NewChain(auditKey), Store: s, Log: slog.New(slog.DiscardHandler), Interval: time.Hour, File: cpFile}
	if _, err := m.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	line, err := os.ReadFile(cpFile)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runSSPR(t, "audit", "verify", "--config", cfg, "--checkpoint", cpFile); err != nil || !strings.Contains(out, "checkpoints: 1 of 1 held") {
		t.Fatalf("verify of the live database against its checkpoint: %v\n%s", err, out)
	}

	// Restore the older copy.
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(dbPath + suffix)
	}
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dbPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runSSPR(t, "audit", "verify", "--config", cfg); err != nil {
		t.Fatalf("the restored copy alone should verify (that is the problem): %v\n%s", err, out)
	}
	want := "PROBLEM: row 6, recorded by the checkpoint of"
	out, err := runSSPR(t, "audit", "verify", "--config", cfg, "--checkpoint", cpFile)
	if err == nil || !strings.Contains(out, want) || !strings.Contains(out, "older copy of the database was restored") {
		t.Fatalf("verify --checkpoint of a restored copy: %v\n%s", err, out)
	}
	out, err = runSSPR(t, "audit", "verify", "--config", cfg, "--head", strings.TrimSpace(string(line)))
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("verify --head of a restored copy: %v\n%s", err, out)
	}
}

// tamperFree runs SQL on the database without touching its triggers.
func tamperFree(t *testing.T, dbPath, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func TestAuditExport(t *testing.T) {
	t.Parallel()
	cfg, _ := auditSetup(t, 4)
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	if out, err := runSSPR(t, "audit", "export", "--config", cfg, "--output", file); err != nil || !strings.Contains(out, "exported 5 event(s)") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], `"event":"audit.chain_created"`) || !strings.Contains(lines[1], `"prev_hash":"`) {
		t.Fatalf("export file:\n%s", b)
	}
	if out, err := runSSPR(t, "audit", "verify", "--config", cfg, "--export", file); err != nil || !strings.Contains(out, "5 row(s), every hash and link intact") {
		t.Fatalf("verify --export: %v\n%s", err, out)
	}
	// --since/--until: events at 09:00..11:00 on 2026-01-31, until exclusive.
	out, err := exec.Command(binary, "audit", "export", "--config", cfg, "--since", "2026-01-31T09:00:00Z", "--until", "2026-01-31T11:00:00Z").Output()
	if err != nil || strings.Count(string(out), "\n") != 2 || !strings.Contains(string(out), `"actor":"user0"`) {
		t.Fatalf("ranged export: %v\n%s", err, out)
	}
	edited := strings.Replace(string(b), `"actor":"user1"`, `"actor":"mallory"`, 1)
	os.WriteFile(file+".edited", []byte(edited), 0o600)
	if out, err := runSSPR(t, "audit", "verify", "--config", cfg, "--export", file+".edited"); err == nil || !strings.Contains(out, "row 3 was altered") {
		t.Fatalf("verify --export of an edited file: %v\n%s", err, out)
	}
}

// TestServeWritesAuditCheckpoints: sspr serve checks the log at start,
// logs the checkpoint and appends it to audit.checkpoint_file (0600).
func TestServeWritesAuditCheckpoints(t *testing.T) {
	t.Parallel()
	cfg, _ := auditSetup(t, 2)
	cpFile := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "audit:\n  check_interval: 1h\n  checkpoint_file: %s\n", cpFile)
	f.Close()
	cmd := exec.Command(binary, "serve", "--config", cfg)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	// serve listens on the configured address; the default 127.0.0.1:8080
	// may be taken, so pick a free port via the environment override.
	cmd.Env = append(os.Environ(), "SSPR_SERVER_LISTEN=127.0.0.1:0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stderr.String(), `msg="audit checkpoint"`); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no audit checkpoint logged:\n%s", stderr.String())
		}
	}
	// Rows 1-3 are the chain's start and the two events; row 4 is serve's
	// own config.start (the configuration it started with).
	if !strings.Contains(stderr.String(), "last_id=4") {
		t.Errorf("the checkpoint does not name row 4:\n%s", stderr.String())
	}
	var fi os.FileInfo
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if fi, err = os.Stat(cpFile); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint file: %v", err)
		}
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("checkpoint file mode %04o, want 0600", fi.Mode().Perm())
	}
	if out, err := runSSPR(t, "audit", "verify", "--config", cfg, "--checkpoint", cpFile); err != nil {
		t.Fatalf("verify against the server's checkpoint: %v\n%s", err, out)
	}
}

// syncBuffer is a bytes.Buffer safe for the process's writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A wrong storage.path is reported, not answered with a new empty database
// that would then "verify".
func TestAuditVerifyMissingDatabase(t *testing.T) {
	t.Parallel()
	cfg, db := auditSetup(t, 1)
	b, _ := os.ReadFile(cfg)
	missing := db + ".nope"
	os.WriteFile(cfg, []byte(strings.Replace(string(b), db, missing, 1)), 0o600)
	out, err := runSSPR(t, "audit", "verify", "--config", cfg)
	if err == nil || !strings.Contains(out, "cannot read the database "+missing) {
		t.Fatalf("verify of a missing database: %v\n%s", err, out)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("verify created the missing database")
	}
}

// TestAuditVerifyAfterRetention: after audit retention deleted the oldest
// rows, `sspr audit verify` passes, names the marker, and reports a
// checkpoint of a deleted row as before retention (not as a problem) next
// to one that still holds; an edited row after the marker still fails.
func TestAuditVerifyAfterRetention(t *testing.T) {
	t.Parallel()
	cfg, dbPath := auditSetup(t, 6) // rows 1 (creation) .. 7, an hour apart
	s, err := store.OpenSQLite(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	chain := audit.NewChain(auditKey)
	cpFile := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	m := &audit.Monitor{Chain: chain, Store: s, Log: slog.New(slog.DiscardHandler), Interval: time.Hour, File: cpFile}
	if _, err := m.Check(context.Background()); err != nil { // row 7
		t.Fatal(err)
	}
	// A checkpoint of row 2, taken back then.
	var early []byte
	if err := s.InTx(context.Background(), func(tx *store.Tx) error {
		r, err := tx.AuditRecordByID(2)
		if err == nil {
			cp := chain.NewCheckpoint(audit.Position{LastID: 2, Hash: r.Hash}, r.At)
			early, err = json.Marshal(cp)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Rows written before 10:30 go: 1 (08:00), 2 (09:00) and 3 (10:00).
	if n, err := chain.Prune(context.Background(), s, time.Date(2026, 1, 31, 10, 30, 0, 0, time.UTC), 500); err != nil || n != 3 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	s.Close()
	out, err := runSSPR(t, "audit", "verify", "--config", cfg, "--checkpoint", cpFile, "--head", string(early))
	if err != nil || !strings.Contains(out, "chain: 4 row(s), every row and link intact") ||
		!strings.Contains(out, "retention: rows up to 3") || !strings.Contains(out, "1 of 2 held") ||
		!strings.Contains(out, "1 before retention") {
		t.Fatalf("verify after retention: %v\n%s", err, out)
	}
	tamper(t, dbPath, `UPDATE audit SET actor = 'mallory' WHERE id = 5`)
	if out, err := runSSPR(t, "audit", "verify", "--config", cfg); err == nil || !strings.Contains(out, "row 5 was altered") {
		t.Fatalf("verify of an edited row after the marker: %v\n%s", err, out)
	}
}
