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

// InspectStore reads cfg's database's schema, size and rows, changing
// nothing.
func InspectStore(ctx context.Context, path string) (StoreSchema, error) {
	return store.Inspect(ctx, path)
}

// MigrateStore applies the pending schema changes of cfg's database, each
// logged to log.
func MigrateStore(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	s, err := store.OpenSQLite(ctx, cfg.Storage.Path, store.WithLogger(log))
	if err != nil {
		return err
	}
	return s.Close()
}

// BackupStore writes a consistent, checked copy of cfg's database to dest.
func BackupStore(ctx context.Context, cfg *config.Config, dest string) error {
	return store.Backup(ctx, cfg.Storage.Path, dest)
}

// RestoreStore puts backup in place of cfg's database; kept is where the
// replaced file went.
func RestoreStore(ctx context.Context, cfg *config.Config, backup string, now time.Time) (kept string, err error) {
	return store.Restore(ctx, backup, cfg.Storage.Path, now)
}
