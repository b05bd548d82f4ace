package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Backups of a PostgreSQL database (`sspr store backup|restore` with
// storage.driver postgres) are PostgreSQL's own: pg_dump takes a consistent
// snapshot while sspr runs, in its custom format, and pg_restore puts it
// into a new, empty database. The tools come from the PostgreSQL client
// package (Debian: postgresql-client); their major version must be at least
// the server's.

// pgTool runs a PostgreSQL client tool with the connection's password in
// its environment (PGPASSWORD), never on its command line, where every
// local user could read it.
func pgTool(ctx context.Context, tool, dsn string, args ...string) error {
	path, err := exec.LookPath(tool)
	if err != nil {
		return fmt.Errorf("%s is not installed (the PostgreSQL client tools: apt-get install postgresql-client): %w", tool, err)
	}
	conn, password := splitPassword(dsn)
	cmd := exec.CommandContext(ctx, path, append(args, "--dbname="+conn)...)
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if password != "" {
			msg = strings.ReplaceAll(msg, password, "xxxxx")
		}
		return fmt.Errorf("%s failed: %w: %s", tool, err, msg)
	}
	return nil
}

// splitPassword takes the password out of dsn (URL or key=value form).
func splitPassword(dsn string) (conn, password string) {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Host != "" {
		if p, ok := u.User.Password(); ok {
			u.User = url.User(u.User.Username())
			return u.String(), p
		}
		return dsn, ""
	}
	fields := strings.Fields(dsn)
	kept := fields[:0]
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, "password="); ok {
			password = strings.Trim(v, "'")
			continue
		}
		kept = append(kept, f)
	}
	return strings.Join(kept, " "), password
}

// BackupPostgres writes a consistent copy of the database dsn names to
// dest (which must not exist) with pg_dump's custom format, safe while sspr
// runs: written to dest.partial, checked readable (pg_restore --list),
// made 0600 and only then renamed to dest.
func BackupPostgres(ctx context.Context, dsn, dest string) error {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%s exists: a backup never overwrites a file", dest)
	}
	tmp := dest + ".partial"
	// Made empty and private first, so the dump is never readable by others.
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", tmp, err)
	}
	f.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if err := pgTool(ctx, "pg_dump", dsn, "--format=custom", "--no-owner", "--file="+tmp); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "pg_restore", "--list", tmp).Output(); err != nil || !bytes.Contains(out, []byte("schema_migrations")) {
		return fmt.Errorf("the dump %s cannot be read back (pg_restore --list): %v", tmp, err)
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	ok = true
	return syncFile(filepath.Dir(dest))
}

// RestorePostgres restores the pg_dump archive backup into the database dsn
// names, which must be empty (create a new one: a restore never mixes two
// databases), in one transaction. A backup a newer sspr made is restored
// but reported: this binary refuses to open it.
func RestorePostgres(ctx context.Context, backup, dsn string) error {
	if _, err := os.Stat(backup); err != nil {
		return fmt.Errorf("the backup %s cannot be read: %w", backup, errors.Unwrap(err))
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables); err != nil {
		return fmt.Errorf("opening the PostgreSQL database %s: %w", RedactDSN(dsn), err)
	}
	if tables > 0 {
		return fmt.Errorf("the PostgreSQL database %s is not empty (%d tables): restore into a new database (createdb), then point storage.dsn at it", RedactDSN(dsn), tables)
	}
	if err := pgTool(ctx, "pg_restore", dsn, "--no-owner", "--single-transaction", "--exit-on-error", backup); err != nil {
		return err
	}
	sc, err := InspectPostgres(ctx, dsn)
	if err != nil {
		return err
	}
	if len(sc.Unknown) > 0 {
		return fmt.Errorf("restored, but %w", &SchemaTooNewError{Schema: sc.Newest, Known: sc.Known})
	}
	return nil
}
