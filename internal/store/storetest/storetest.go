package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the admin connection

	"github.com/sspr/sspr/internal/store"
)

// Engines are the engines a suite runs on, as subtest names.
var Engines = []string{"sqlite", "postgres"}

// Each runs fn as one subtest per engine ("sqlite", "postgres"); Engine
// tells fn (and helpers given its t) which one it runs on.
func Each(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(e, func(t *testing.T) {
			if e == "postgres" {
				requirePostgres(t)
			}
			fn(t)
		})
	}
}

// Engine is the engine of the Each subtest t runs in (or in a subtest
// of): "postgres" or "sqlite".
func Engine(t testing.TB) string {
	for _, part := range strings.Split(t.Name(), "/") {
		if part == "postgres" {
			return "postgres"
		}
	}
	return "sqlite"
}

func requirePostgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SSPR_TEST_PG_DSN")
	if dsn == "" {
		if os.Getenv("SSPR_TEST_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("SSPR_TEST_PG_DSN is not set but SSPR_TEST_REQUIRE_INTEGRATION=1: start scripts/testenv/up.sh and source its env.sh")
		}
		t.Skip("SSPR_TEST_PG_DSN is not set (scripts/testenv/postgres.sh starts a server)")
	}
	return dsn
}

// Target returns, for t's engine, what store.Open takes: a fresh SQLite
// file path, or the DSN of a new, empty PostgreSQL database that is
// dropped when t ends.
func Target(t testing.TB) (driver, target string) {
	t.Helper()
	if Engine(t) != "postgres" {
		return "sqlite", filepath.Join(t.TempDir(), "sspr.db")
	}
	return "postgres", NewDatabase(t)
}

// NewDatabase creates an empty PostgreSQL database for t on the server of
// SSPR_TEST_PG_DSN and returns its DSN; it is dropped (connections and
// all) when t ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := requirePostgres(t)
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("SSPR_TEST_PG_DSN must be a postgres:// URL: %v", err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b [8]byte
	rand.Read(b[:])
	name := "sspr_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(context.Background(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("creating the test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("dropping the test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Open opens a new, empty store on t's engine, closed when t ends, and
// returns it with its target (file path or DSN).
func Open(t testing.TB, opts ...store.Option) (*store.Store, string) {
	t.Helper()
	driver, target := Target(t)
	s, err := store.Open(context.Background(), driver, target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, target
}

// RawDB opens target (from Open) without the store, as an operator with
// access to the database would; closed when t ends.
func RawDB(t testing.TB, target string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://") {
		db, err = sql.Open("pgx", target)
	} else {
		db, err = sql.Open("sqlite", "file:"+target+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Reopen opens the store at target (from Open or Target) again, as a
// restarted sspr would.
func Reopen(target string, opts ...store.Option) (*store.Store, error) {
	driver := "sqlite"
	if strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://") {
		driver = "postgres"
	}
	return store.Open(context.Background(), driver, target, opts...)
}
