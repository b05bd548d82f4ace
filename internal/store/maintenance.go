package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Maintenance of the database file for `sspr store` (docs/operations.md,
// "Backups, restores and upgrades"): what schema it holds, a consistent
// copy while sspr runs, and putting a copy back while it does not.

// Migration is one schema change this binary carries.
type Migration struct {
	Version   int
	Name      string
	AppliedAt time.Time // zero when not applied
}

// Schema is what a database file holds against what this binary knows.
type Schema struct {
	Path       string
	Migrations []Migration // every one this binary knows, in order
	Newest     int         // the newest applied in the file (0: none)
	Known      int         // the newest this binary knows
	Unknown    []int       // applied in the file, unknown to this binary (a newer sspr)
	SizeBytes  int64
	Rows       map[string]int64 // rows of the main tables
}

// Pending are the known migrations not applied yet.
func (s Schema) Pending() []Migration {
	var out []Migration
	for _, m := range s.Migrations {
		if m.AppliedAt.IsZero() {
			out = append(out, m)
		}
	}
	return out
}

// knownMigrations lists the embedded migrations in order.
func knownMigrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations/sqlite")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", e.Name())
		}
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(e.Name(), ".sql")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// openReadOnly opens path without creating, migrating or writing it.
func openReadOnly(ctx context.Context, path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("the database %s cannot be read: %w", path, errors.Unwrap(err))
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return db, nil
}

// mainTables are counted by Inspect.
var mainTables = []string{"flows", "enrollments", "outbox", "audit", "abuse_events", "agents", "sync_outcomes"}

// Inspect reads path's schema and sizes without changing anything.
func Inspect(ctx context.Context, path string) (Schema, error) {
	sc := Schema{Path: path, Rows: map[string]int64{}}
	known, err := knownMigrations()
	if err != nil {
		return sc, err
	}
	db, err := openReadOnly(ctx, path)
	if err != nil {
		return sc, err
	}
	defer db.Close()
	if err := inspect(ctx, db, &sc, known); err != nil {
		return sc, err
	}
	if fi, err := os.Stat(path); err == nil {
		sc.SizeBytes = fi.Size()
	}
	return sc, nil
}

// InspectPostgres reads the schema and sizes of the PostgreSQL database dsn
// names without changing anything (read-only transactions only).
func InspectPostgres(ctx context.Context, dsn string) (Schema, error) {
	sc := Schema{Path: RedactDSN(dsn), Rows: map[string]int64{}}
	known, err := knownMigrations()
	if err != nil {
		return sc, err
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return sc, fmt.Errorf("opening the PostgreSQL database %s: %w", sc.Path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`); err != nil {
		return sc, fmt.Errorf("opening the PostgreSQL database %s: %w", sc.Path, err)
	}
	if err := inspect(ctx, db, &sc, known); err != nil {
		return sc, err
	}
	_ = db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&sc.SizeBytes)
	return sc, nil
}

// inspect fills sc from db's schema_migrations and main tables.
func inspect(ctx context.Context, db *sql.DB, sc *Schema, known []Migration) error {
	path := sc.Path
	applied := map[int]time.Time{}
	rows, err := db.QueryContext(ctx, `SELECT version, applied_at FROM schema_migrations`)
	if err != nil && !strings.Contains(err.Error(), "no such table") && !strings.Contains(err.Error(), "42P01") {
		return fmt.Errorf("reading the schema version of %s: %w", path, err)
	}
	if err == nil {
		for rows.Next() {
			var v int
			var at int64
			if err := rows.Scan(&v, &at); err != nil {
				rows.Close()
				return err
			}
			applied[v] = time.UnixMilli(at).UTC()
			sc.Newest = max(sc.Newest, v)
		}
		rows.Close()
	}
	knownSet := map[int]bool{}
	for _, m := range known {
		m.AppliedAt = applied[m.Version]
		sc.Migrations = append(sc.Migrations, m)
		sc.Known = max(sc.Known, m.Version)
		knownSet[m.Version] = true
	}
	for v := range applied {
		if !knownSet[v] {
			sc.Unknown = append(sc.Unknown, v)
		}
	}
	sort.Ints(sc.Unknown)
	for _, t := range mainTables {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err == nil {
			sc.Rows[t] = n
		}
	}
	return nil
}

// integrity runs SQLite's integrity check on db: nil when it says ok.
func integrity(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
		}
		return fmt.Errorf("the integrity check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Backup writes a consistent copy of the database at path to dest (which
// must not exist) with VACUUM INTO: one read transaction, so it is safe
// while sspr runs and sees every transaction committed before it began.
// The copy is checked (SQLite's integrity check) before Backup returns.
func Backup(ctx context.Context, path, dest string) error {
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("%s exists already: a backup never overwrites a file", dest)
	}
	db, err := openReadOnly(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	// VACUUM INTO writes to a temporary name first, so a backup cut short
	// never looks complete.
	tmp := dest + ".partial"
	_ = os.Remove(tmp)
	// Made empty and private first: VACUUM INTO fills an empty file, and
	// the copy is never readable by others, not even while it is written.
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("copying %s: %w", path, err)
	}
	if err := checkFile(ctx, tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("the copy of %s: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dest)
}

// checkFile opens a database file read-only and runs the integrity check.
func checkFile(ctx context.Context, path string) error {
	db, err := openReadOnly(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	return integrity(ctx, db)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// ErrInUse is Restore's refusal while a process holds the database open.
var ErrInUse = errors.New("the database is in use: stop sspr serve (and every other sspr command using it) first")

// inUse reports whether another connection holds path open: in WAL mode
// every open connection holds a shared lock on the file, so an exclusive
// lock is granted only when nobody else has it open.
func inUse(ctx context.Context, path string) (bool, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_pragma=locking_mode(EXCLUSIVE)")
	if err != nil {
		return false, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN EXCLUSIVE`); err != nil {
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
			return true, nil
		}
		return false, err
	}
	_, err = conn.ExecContext(ctx, `ROLLBACK`)
	return false, err
}

// Restore puts the backup in place of the database at path, which no
// process may hold open. The backup is checked first (integrity, and a
// schema this binary knows); the current database, if any, is kept as
// path.before-restore-<time>. The write-ahead log of the old file is
// removed with it.
func Restore(ctx context.Context, backup, path string, now time.Time) (kept string, err error) {
	if err := checkFile(ctx, backup); err != nil {
		return "", fmt.Errorf("the backup %s: %w", backup, err)
	}
	sc, err := Inspect(ctx, backup)
	if err != nil {
		return "", err
	}
	if len(sc.Unknown) > 0 {
		return "", &SchemaTooNewError{Schema: sc.Newest, Known: sc.Known}
	}
	busy, err := inUse(ctx, path)
	if err != nil {
		return "", fmt.Errorf("checking whether %s is in use: %w", path, err)
	}
	if busy {
		return "", ErrInUse
	}
	tmp := path + ".restoring"
	if err := copyFile(backup, tmp); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		kept = path + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(path, kept); err != nil {
			_ = os.Remove(tmp)
			return "", err
		}
	}
	// The old file's log goes with it (it may hold its last commits);
	// the shared-memory index is rebuilt.
	if kept != "" {
		if err := os.Rename(path+"-wal", kept+"-wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return kept, err
		}
	}
	for _, side := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + side); err != nil && !errors.Is(err, os.ErrNotExist) {
			return kept, err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return kept, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return kept, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
