package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// TestDatabaseFilesArePrivate runs under the usual umask 022, which would
// leave SQLite's files readable by every local user: the database, its -wal
// and -shm files must be 0600 and a folder created for them 0700. Not
// parallel: the umask is per process.
// SQLite only: PostgreSQL keeps its files under its own server.
func TestDatabaseFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "state", "sspr")
	path := filepath.Join(dir, "sspr.db")
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A write makes sure the -wal and -shm files exist.
	inTx(t, s, func(tx *store.Tx) error { return tx.InsertFlow(newFlow("tok", t0)) })
	for _, f := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700}, {path, 0o600}, {path + "-wal", 0o600}, {path + "-shm", 0o600}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != f.want {
			t.Errorf("%s has mode %04o, want %04o", f.path, got, f.want)
		}
	}
}

// TestMigrationsAreLogged: each applied migration is one INFO line with its
// version and name; reopening applies (and logs) nothing.
func TestMigrationsAreLogged(t *testing.T) { storetest.Each(t, testMigrationsAreLogged) }

func testMigrationsAreLogged(t *testing.T) {
	t.Parallel()
	_, path := storetest.Target(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	s, err := storetest.Reopen(path, store.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	files, _ := filepath.Glob("migrations/sqlite/*.sql")
	if got := strings.Count(buf.String(), `msg="applied database migration"`); got != len(files) {
		t.Errorf("%d migrations logged, want %d:\n%s", got, len(files), buf.String())
	}
	for _, want := range []string{"level=INFO", "version=1 name=0001_init", "version=5 name=0005_audit_genesis"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	s, err = storetest.Reopen(path, store.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if buf.Len() != 0 {
		t.Errorf("reopening logged:\n%s", buf.String())
	}
}

// TestRefusesNewerSchema: a database upgraded by a newer sspr is refused
// with a plain error, and left untouched.
func TestRefusesNewerSchema(t *testing.T) { storetest.Each(t, testRefusesNewerSchema) }

func testRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	s.Close()
	if _, err := rawDB(t, path).Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	// The newest migration's number (numbers are handed out to branches,
	// so there may be gaps until all have merged).
	files, _ := filepath.Glob("migrations/sqlite/*.sql")
	newest := 0
	for _, f := range files {
		num, _, _ := strings.Cut(filepath.Base(f), "_")
		n, _ := strconv.Atoi(num)
		newest = max(newest, n)
	}
	_, err := storetest.Reopen(path)
	var tooNew *store.SchemaTooNewError
	if !errors.As(err, &tooNew) || tooNew.Schema != 999 || tooNew.Known != newest {
		t.Fatalf("open of a newer schema: %v", err)
	}
	want := "this database was upgraded by a newer sspr (schema 999, this binary knows up to"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "restore a backup") {
		t.Errorf("error %q lacks %q", err, want)
	}
}
