package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// TestStoreOnPostgres: with storage.driver postgres, `sspr store status`
// reads the schema of a new database (everything pending), `store copy`
// moves a SQLite database into it (and refuses a second time, the target
// no longer empty), `status` then shows every migration applied, `migrate`
// has nothing left to do, and backup points to pg_dump. The password is
// never printed.
func TestStoreOnPostgres(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	dir := t.TempDir()
	lite := filepath.Join(dir, "old.db")
	s, err := store.OpenSQLite(context.Background(), lite)
	if err != nil {
		t.Fatal(err)
	}
	err = s.InTx(context.Background(), func(tx *store.Tx) error {
		return tx.InsertEnrollment(&store.Enrollment{ID: "e1", Directory: "corp", SubjectDN: "cn=jane", Kind: "totp", Label: "phone", Secret: []byte{1}, Source: "user", CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(dir, "sspr.yaml")
	yaml := fmt.Sprintf(`server:
  listen: 127.0.0.1:0
  base_url: https://sspr.example.com
storage: {driver: postgres, dsn: %q}
secrets: {hmac_key: "c3Nwci1lMmUtdGVzdC1rZXktdGhhdC1pcy1sb25nLWVub3VnaA=="}
directories:
  - name: corp
    type: ad
    urls: ["ldaps://127.0.0.1:1"]
    bind_dn: CN=svc,DC=example,DC=com
    bind_password: pw
    base_dn: DC=example,DC=com
    timeout: 2s
mail: {from: noreply@example.test, smtp: {host: 127.0.0.1, port: 1, security: none}}
`, dsn)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	password := ""
	if i, j := strings.Index(dsn, "://"), strings.Index(dsn, "@"); i >= 0 && j > i {
		_, password, _ = strings.Cut(dsn[i+3:j], ":")
	}
	noPassword := func(what, out string) {
		t.Helper()
		if password != "" && strings.Contains(out, password) {
			t.Errorf("%s printed the database password:\n%s", what, out)
		}
	}
	out, errOut, err := sspr(t, nil, "store", "status", "-c", path)
	if err != nil || !strings.Contains(out, "0001_init") || !strings.Contains(out, "pending") {
		t.Fatalf("status of a new database: %v\n%s%s", err, out, errOut)
	}
	noPassword("status", out+errOut)
	copyEnv := []string{"SSPR_STORE_COPY_DSN=" + dsn}
	out, errOut, err = sspr(t, copyEnv, "store", "copy", "--from", "sqlite:"+lite, "--to", "postgres:env")
	if err != nil || !strings.Contains(out, "copied ") {
		t.Fatalf("copy: %v\n%s%s", err, out, errOut)
	}
	noPassword("copy", out+errOut)
	if _, errOut, err := sspr(t, copyEnv, "store", "copy", "--from", "sqlite:"+lite, "--to", "postgres:env"); err == nil || !strings.Contains(errOut, "not empty") {
		t.Errorf("a second copy: %v %s", err, errOut)
	}
	out, errOut, err = sspr(t, nil, "store", "status", "-c", path)
	if err != nil || !strings.Contains(out, "0001_init") || strings.Contains(out, "pending") || !strings.Contains(out, "audit") {
		t.Errorf("status after the copy: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err = sspr(t, nil, "store", "migrate", "-c", path)
	if err != nil || !strings.Contains(out, "0 migration(s) applied") {
		t.Errorf("migrate: %v\n%s%s", err, out, errOut)
	}
	noPassword("migrate", out+errOut)
	backup := filepath.Join(dir, "b.dump")
	out, errOut, err = sspr(t, nil, "store", "backup", "-c", path, backup)
	if err != nil || !strings.Contains(out, "pg_dump custom format") {
		t.Fatalf("backup on postgres: %v\n%s%s", err, out, errOut)
	}
	noPassword("backup", out+errOut)
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the backup file: %v, %v", fi, err)
	}
	if _, errOut, err := sspr(t, nil, "store", "backup", "-c", path, backup); err == nil || !strings.Contains(errOut, "never overwrites") {
		t.Errorf("a backup over an existing file: %v %s", err, errOut)
	}
	// A restore into the same (non-empty) database is refused; into a new
	// one it brings the copied enrollment back.
	if _, errOut, err := sspr(t, nil, "store", "restore", "-c", path, backup); err == nil || !strings.Contains(errOut, "not empty") {
		t.Errorf("restore into a database with tables: %v %s", err, errOut)
	}
	fresh := storetest.NewDatabase(t)
	if err := os.WriteFile(path, []byte(strings.Replace(yaml, dsn, fresh, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = sspr(t, nil, "store", "restore", "-c", path, backup)
	if err != nil || !strings.Contains(out, "restored from "+backup) {
		t.Fatalf("restore into a new database: %v\n%s%s", err, out, errOut)
	}
	noPassword("restore", out+errOut)
	restored, err := store.OpenPostgres(context.Background(), fresh)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	err = restored.InTx(context.Background(), func(tx *store.Tx) error {
		es, err := tx.Enrollments("corp", "cn=jane")
		if err != nil || len(es) != 1 {
			return fmt.Errorf("enrollments after the restore: %v, %v", es, err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}
