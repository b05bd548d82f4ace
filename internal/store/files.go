package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// Option adjusts how OpenSQLite opens a database.
type Option func(*options)

type options struct {
	log *slog.Logger
}

// WithLogger makes OpenSQLite log each migration it applies (INFO, version
// and name), so an operator can tell when the schema changed.
func WithLogger(log *slog.Logger) Option {
	return func(o *options) { o.log = log }
}

func applyOptions(opts []Option) options {
	o := options{}
	for _, f := range opts {
		f(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// prepareFile creates the database's folder (0700) when it is missing and
// the database file itself (0600) before SQLite does: SQLite would create
// it 0644 under the usual umask 022, readable by every local user, and it
// creates the -wal and -shm files with the database file's mode. An
// existing folder or file keeps the mode the operator gave it.
func prepareFile(path string) error {
	if path == "" || path == ":memory:" {
		return nil
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("creating the storage folder %s: %w", dir, errors.Unwrap(err))
		}
	case err != nil:
		return fmt.Errorf("the storage folder %s cannot be used: %w", dir, errors.Unwrap(err))
	case !fi.IsDir():
		return fmt.Errorf("the storage folder %s is not a folder (storage.path is %s)", dir, path)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		// The umask can only take bits away from 0600.
		return f.Close()
	case errors.Is(err, os.ErrExist):
		return nil
	default:
		return fmt.Errorf("creating the database %s: %w", path, errors.Unwrap(err))
	}
}
