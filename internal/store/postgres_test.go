package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// TestOpenPostgresFailsClearly: a server that does not answer is refused
// with the address named and the password not.
func TestOpenPostgresFailsClearly(t *testing.T) {
	t.Parallel()
	// Port 1 on loopback: nothing listens there.
	_, err := store.OpenPostgres(context.Background(), "postgres://sspr:Secret-Pass1@127.0.0.1:1/sspr?sslmode=disable&connect_timeout=5")
	if err == nil {
		t.Fatal("opening a PostgreSQL database nobody serves succeeded")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "Secret-Pass1") {
		t.Errorf("error %q should name the server and hide the password", err)
	}
	if _, err := store.Open(context.Background(), "mysql", "x"); err == nil || !strings.Contains(err.Error(), `"mysql"`) {
		t.Errorf("an unknown driver: %v", err)
	}
}

// TestMigrationsHaveTwins: every migration exists for both engines under
// the same number and name.
func TestMigrationsHaveTwins(t *testing.T) {
	names := func(dir string) []string {
		files, err := filepath.Glob(filepath.Join("migrations", dir, "*.sql"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no migrations in %s: %v", dir, err)
		}
		for i, f := range files {
			files[i] = filepath.Base(f)
		}
		sort.Strings(files)
		return files
	}
	lite, pg := names("sqlite"), names("postgres")
	if strings.Join(lite, " ") != strings.Join(pg, " ") {
		t.Fatalf("migrations differ:\nsqlite:   %v\npostgres: %v", lite, pg)
	}
}

// columns lists table.column of every table in db (but the engine's own).
func columns(t *testing.T, db *sql.DB, engine string) []string {
	t.Helper()
	var q string
	if engine == "postgres" {
		q = `SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = current_schema()`
	} else {
		q = `SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestSchemasMatch: after every migration, both engines have the same
// tables with the same columns.
func TestSchemasMatch(t *testing.T) {
	if os.Getenv("SSPR_TEST_PG_DSN") == "" && os.Getenv("SSPR_TEST_REQUIRE_INTEGRATION") != "1" {
		t.Skip("SSPR_TEST_PG_DSN is not set")
	}
	var got [2][]string
	for i, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			_, target := open(t)
			got[i] = columns(t, rawDB(t, target), engine)
		})
	}
	if len(got[0]) < 50 || strings.Join(got[0], " ") != strings.Join(got[1], " ") {
		t.Fatalf("the schemas differ:\nsqlite:   %v\npostgres: %v", got[0], got[1])
	}
}
