package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/store"
)

// The database's maintenance for `sspr store` (the CLI reaches the store
// through here, as every face does).

// StoreSchema is what a database file holds against what this binary
// knows.
type StoreSchema = store.Schema

// SchemaTooNewError refuses a database a newer sspr upgraded.
type SchemaTooNewError = store.SchemaTooNewError

// OpenStore opens (and migrates) the database cfg's storage section names,
// SQLite or PostgreSQL.
func OpenStore(ctx context.Context, cfg *config.Config, opts ...store.Option) (*store.Store, error) {
	return store.Open(ctx, cfg.Storage.Driver, cfg.Storage.Target(), opts...)
}

// InspectStore reads a database's schema, size and rows, changing nothing:
// driver "sqlite" with a file path, or "postgres" with a connection URL.
func InspectStore(ctx context.Context, driver, target string) (StoreSchema, error) {
	if driver == "postgres" {
		return store.InspectPostgres(ctx, target)
	}
	return store.Inspect(ctx, target)
}

// MigrateStore applies the pending schema changes of cfg's database, each
// logged to log.
func MigrateStore(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	s, err := OpenStore(ctx, cfg, store.WithLogger(log))
	if err != nil {
		return err
	}
	return s.Close()
}

// BackupStore writes a consistent, checked copy of cfg's database to dest.
func BackupStore(ctx context.Context, cfg *config.Config, dest string) error {
	if cfg.Storage.Driver == "postgres" {
		return store.BackupPostgres(ctx, cfg.Storage.Target(), dest)
	}
	return store.Backup(ctx, cfg.Storage.Path, dest)
}

// RestoreStore puts backup in place of cfg's database; kept is where the
// replaced file went.
func RestoreStore(ctx context.Context, cfg *config.Config, backup string, now time.Time) (kept string, err error) {
	if cfg.Storage.Driver == "postgres" {
		return "", store.RestorePostgres(ctx, backup, cfg.Storage.Target())
	}
	return store.Restore(ctx, backup, cfg.Storage.Path, now)
}

// CopyStore copies the SQLite database at src into the empty PostgreSQL
// database dst (`sspr store copy`).
func CopyStore(ctx context.Context, src, dst string, log *slog.Logger) (store.CopyResult, error) {
	return store.CopySQLiteToPostgres(ctx, src, dst, log)
}

// RedactDSN is the store's DSN with any password replaced, for messages
// (faces do not import the store).
func RedactDSN(dsn string) string { return store.RedactDSN(dsn) }
