package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migrationsDir is where the engine's migrations are embedded.
func (d dialect) migrationsDir() string { return "migrations/" + d.String() }

// walCheckpointPages is how many pages of write-ahead log the writer lets
// build up before it checkpoints (see OpenSQLite).
const walCheckpointPages = 4000

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a row changed since it was read (optimistic
// locking): the caller lost a race and must not apply its change.
var ErrConflict = errors.New("store: concurrent update")

// Store is the SQLite database: one writer connection, which every
// writing transaction queues for (SQLite allows one writer), and a pool of
// read-only connections for ReadTx, which WAL lets read beside the writer.
type Store struct {
	// d is the engine (postgres.go); SQLite unless opened by OpenPostgres.
	d      dialect
	db     *sql.DB
	reader *sql.DB
	// stmts and readStmts keep the prepared statements of each pool.
	stmts, readStmts *stmtCache
	// w runs every writing transaction (writer.go).
	w *writer
	// wconn is the PostgreSQL writer's connection (pgBatch); only the
	// writer's goroutine touches it.
	wconn *sql.Conn
}

// OpenSQLite opens (creating if needed) the database file at path and runs
// pending migrations.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := applyOptions(opts)
	if err := prepareFile(path); err != nil {
		return nil, err
	}
	// temp_store(MEMORY): a group commit runs each transaction in a
	// savepoint, and a savepoint keeps the pages it changes in a
	// sub-journal — on disk by default, one write per page; the pages of
	// one batch fit in memory.
	//
	// wal_autocheckpoint: the commit that takes the log past this many
	// pages copies them into the database file (and syncs it). The pages
	// steps change are mostly the same few (the audit log's and outbox's
	// last pages, the counters, the flows' index), so a checkpoint every
	// 4,000 pages (16 MiB of log) copies each of them once where four
	// checkpoints of SQLite's default 1,000 copied it four times: 6 % less
	// CPU per step in BenchmarkFlowMix (issue 10).
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)" +
		"&_pragma=wal_autocheckpoint(" + strconv.Itoa(walCheckpointPages) + ")&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	// SQLite allows one writer; one connection serialises every transaction
	// so no step ever sees SQLITE_BUSY half-way.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	s := &Store{db: db, stmts: newStmtCache(db)}
	s.startWriter()
	if err := s.migrate(ctx, o.log); err != nil {
		s.stopWriter()
		db.Close()
		return nil, err
	}
	if err := s.openReader(ctx, path); err != nil {
		s.stopWriter()
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	// The writer goroutine first (transactions already queued still run),
	// then the readers: the writer's close checkpoints and removes the WAL,
	// which read-only connections cannot recreate.
	s.stopWriter()
	var err error
	if s.readStmts != nil {
		s.readStmts.close()
	}
	if s.reader != nil && s.reader != s.db {
		err = s.reader.Close()
	}
	s.stmts.close()
	return errors.Join(err, s.db.Close())
}

// Ping checks the database answers, for health checks.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

func (s *Store) migrate(ctx context.Context, log *slog.Logger) error {
	// Under the write lock: on PostgreSQL, nodes starting together migrate
	// one after the other.
	if err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at `+s.d.bigint()+` NOT NULL)`)
		return err
	}); err != nil {
		return fmt.Errorf("creating migrations table: %w", err)
	}
	dir := s.d.migrationsDir()
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	known := 0
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", e.Name())
		}
		known = max(known, version)
	}
	// An older binary must not write to a schema it does not know: it would
	// miss columns and triggers the newer one relies on.
	var newest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if newest.Valid && int(newest.Int64) > known {
		return &SchemaTooNewError{Schema: int(newest.Int64), Known: known}
	}
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		version, _ := strconv.Atoi(num)
		body, err := migrations.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return err
		}
		applied := false
		err = s.InTx(ctx, func(tx *Tx) error {
			var n int
			if err := tx.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, time.Now().UnixMilli())
			applied = err == nil
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		if applied {
			log.Info("applied database migration", "version", version, "name", strings.TrimSuffix(e.Name(), ".sql"))
		}
	}
	return nil
}

// SchemaTooNewError refuses a database that a newer sspr has upgraded.
type SchemaTooNewError struct {
	Schema int // the newest migration recorded in the database
	Known  int // the newest migration this binary has
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("this database was upgraded by a newer sspr (schema %d, this binary knows up to %d); use that version or restore a backup", e.Schema, e.Known)
}

// Tx is one transaction. Every write of a flow step goes through one Tx.
type Tx struct {
	ctx   context.Context
	tx    preparedTx
	after []func()
}

// AfterCommit asks for fn to run once the transaction is committed (in
// InTx's caller, after the commit, so never for a transaction rolled back):
// what the rest of the world may only hear of a durable change — a log
// line, a metric — waits for it. In a read-only transaction fn runs when it
// ends without error.
func (tx *Tx) AfterCommit(fn func()) { tx.after = append(tx.after, fn) }

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
