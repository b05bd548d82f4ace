package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
)

// PostgreSQL.
//
// The store's SQL is written once, for SQLite, with ? placeholders; on
// PostgreSQL every statement is rebound to $1..$n where it is run (the
// preparedTx layer, prepared.go), and the few constructs the two engines
// spell differently are small per-dialect fragments next to their
// statement (see dialect below).
//
// Writing transactions: the code relies on them being serialised, as
// SQLite's one writer does — an abuse limit is checked and counted
// atomically, the audit chain's head is read and extended, the outbox is
// claimed. On PostgreSQL every writing transaction therefore starts with a
// transaction-level advisory lock (pg_advisory_xact_lock), held until it
// commits or rolls back: exactly one writing transaction at a time across
// every node sharing the database, which is SQLite's guarantee. Reads
// (ReadTx) run READ ONLY REPEATABLE READ beside it and do not take the
// lock. Finer locking (row locks per subject) may replace the one lock
// later; it would not change the callers.
//
// What the lock costs is round trips. Each node's writer runs its waiting
// transactions in one batch under the lock (writer.go), statement after
// statement, each a round trip to the server: about 150–200 µs each on
// the loaded two-core test machine (BenchmarkFlowMixPostgres). A reset
// makes 34 of them under the lock (counted from PostgreSQL's statement
// log; 43 before the merges below), which at ~6 ms of lock time per flow
// is about the 110 flows/s measured for one node (docs/benchmarks.md). So
// the lock is held for as few round trips as the store can manage, on
// PostgreSQL only (SQLite's are function calls):
//
//   - a batch opens its transaction, takes the lock and opens its first
//     savepoint in one round trip, on the writer's own connection
//     (pgBatch): database/sql's BeginTx would send BEGIN alone;
//   - a batch opens the next savepoint in the round trip that releases
//     the one before, and commits the last without releasing it;
//   - the batch keeps the audit chain's end itself while it holds the
//     lock: the newest hash is read once, the head written once before
//     COMMIT (auditTail, audit.go) — one round trip per appended row;
//   - a message and its bodies are queued, claimed and marked sent in one
//     statement each (WITH ... RETURNING), and a flow's held messages
//     released in one;
//   - a limiter step reads its subjects' blocks and its windows' counts
//     and counts itself in one statement (a WITH INSERT, whose reads see
//     the counts from before it; a refusal takes them back), and a refund
//     lifts the blocks it brought under their limit in one conditional
//     DELETE.
//
// Reads are not under the lock, but each costs round trips all the same:
// the hot ones of a reset step (its flow, a person's enrollments) are one
// statement each and run outside any transaction (ReadOne), not between a
// BEGIN and a ROLLBACK.
//
// Why not finer locks yet (issue 14), as far as it was looked into:
//
//   - SERIALIZABLE with a retry on 40001/40P01 would keep every guarantee
//     without reviewing the callers, but every audited transaction reads
//     and rewrites the chain's head, one row: under load nearly all of
//     them would conflict and run again.
//   - The chain needs one order, so its end must be read after a lock is
//     taken; in REPEATABLE READ or SERIALIZABLE the snapshot is older
//     than any lock the transaction takes, so that read would be stale.
//     It takes READ COMMITTED (or a session-level lock taken before
//     BEGIN), and in READ COMMITTED every read-then-write of the ~110
//     InTx closures (flows, limiter, notices, sessions, enrollments,
//     approvals, connectors, jobs, forward cursors) needs a lock or a
//     conditional write of its own: each must be reviewed, not guessed.
//     Flow records are already safe (UpdateFlow checks the version the
//     step read, and PostgreSQL re-checks it after waiting for a
//     concurrent writer of the row); the limiter would need per-key
//     advisory locks in sorted order, the outbox FOR UPDATE SKIP LOCKED.
//   - A retried transaction must be safe to run again, and not every
//     closure is: the verify step (flow/factors.go) changes the flow
//     record it captured (f.Attempts++) before writing it.
//   - One connection per transaction would also give up group commit:
//     the audit lock would be held across each transaction's own COMMIT.
//     Keeping a batch per node and taking the audit lock only for the
//     batch's appended rows, head and COMMIT at its end keeps it.

// writeLockKey is the advisory lock every writing transaction takes: an
// arbitrary constant ("sspr" in ASCII), the same on every node.
const writeLockKey = 0x73737072

// dialect is the engine a Store talks to.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// rebind turns the ? placeholders of query into $1..$n for PostgreSQL. A ?
// inside a quoted string, a quoted identifier or a comment is left alone.
func (d dialect) rebind(query string) string {
	if d != postgresDialect || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j])
			i += j - 1
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// args adapts arguments for the engine: the schema keeps flags as integers
// 0/1 on both engines (SQLite has no boolean type), and PostgreSQL does not
// turn a Go bool into a bigint by itself.
func (d dialect) args(args []any) []any {
	if d != postgresDialect {
		return args
	}
	var out []any
	for i, a := range args {
		if v, ok := a.(bool); ok {
			if out == nil {
				out = append([]any(nil), args...)
			}
			out[i] = boolInt(v)
		}
	}
	if out == nil {
		return args
	}
	return out
}

func boolInt(v bool) int64 {
	if v {
		return 1
	}
	return 0
}

// OpenPostgres connects to the PostgreSQL database named by dsn (a
// postgres:// URL or key=value connection string) and runs pending
// migrations.
func OpenPostgres(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := applyOptions(opts)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening the PostgreSQL database %s: %w", RedactDSN(dsn), err)
	}
	// The writer holds one connection at a time, ReadTx up to readerConns;
	// a few more for statements being prepared beside them.
	db.SetMaxOpenConns(readerConns + 4)
	db.SetMaxIdleConns(readerConns + 4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the PostgreSQL database %s: %w", RedactDSN(dsn), err)
	}
	// Reads share the pool: PostgreSQL has no single-writer connection to
	// keep them away from. No database/sql statements (stmtCache): pgx
	// keeps what each connection ran prepared.
	s := &Store{db: db, d: postgresDialect, reader: db}
	s.startWriter()
	if err := s.migrate(ctx, o.log); err != nil {
		s.stopWriter()
		db.Close()
		return nil, err
	}
	return s, nil
}

// RedactDSN is dsn without its password, for messages and logs.
func RedactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Host != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	// key=value form: drop password=... Fields split where libpq splits,
	// on ASCII white space only: a password holding another space (U+3000)
	// is one field, and hidden whole.
	fields := strings.FieldsFunc(dsn, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
	})
	for i, f := range fields {
		if strings.HasPrefix(strings.ToLower(f), "password=") {
			fields[i] = "password=xxxxx"
		}
	}
	return strings.Join(fields, " ")
}

// pgBatch is a writer batch's transaction on PostgreSQL, opened on the
// writer's own connection by beginPG rather than by database/sql's
// BeginTx. BeginTx sends BEGIN alone and waits for its answer; then the
// write lock (see above) and, for a batch of several, the first savepoint
// (writer.go) each cost another round trip. A text of several statements
// without arguments is one simple query, so all three go in one. Every
// writing transaction pays this, about six per reset (issue 14).
type pgBatch struct {
	s    *Store
	conn *sql.Conn
}

// pgBegin opens the transaction and takes the write lock; with savepoint
// it also opens the batch's first savepoint.
var (
	pgBegin          = "BEGIN; SELECT pg_advisory_xact_lock(" + strconv.Itoa(writeLockKey) + ")"
	pgBeginSavepoint = pgBegin + "; SAVEPOINT grp"
)

// beginPG opens a batch's transaction on the writer's connection. A
// connection that fails it is dropped and the batch begins once more on a
// fresh one: a kept connection is not checked by the pool between
// batches, so a server restarted or a connection closed meanwhile shows
// here, and a BEGIN that failed changed nothing.
func (s *Store) beginPG(savepoint bool) (*pgBatch, error) {
	text := pgBegin
	if savepoint {
		text = pgBeginSavepoint
	}
	var err error
	for range 2 {
		if s.wconn == nil {
			if s.wconn, err = s.db.Conn(context.Background()); err != nil {
				continue
			}
		}
		if _, err = s.wconn.ExecContext(context.Background(), text); err == nil {
			return &pgBatch{s: s, conn: s.wconn}, nil
		}
		// Whatever state the connection is in (a BEGIN whose lock
		// failed, a broken socket), nobody may inherit it.
		s.dropWriterConn()
	}
	return nil, fmt.Errorf("store: begin: %w", err)
}

// Commit commits the batch. A transaction that an earlier statement
// failed (and nobody rolled back to a savepoint) would answer COMMIT by
// rolling back, which the text protocol reports as success: that is
// caught first, as pgx's own Tx.Commit catches it.
func (b *pgBatch) Commit() error {
	var failed bool
	_ = b.conn.Raw(func(dc any) error {
		if c, ok := dc.(*stdlib.Conn); ok {
			failed = c.Conn().PgConn().TxStatus() == 'E'
		}
		return nil
	})
	if failed {
		_ = b.Rollback()
		return errors.New("the transaction was aborted by a failed statement, and rolled back")
	}
	if _, err := b.conn.ExecContext(context.Background(), "COMMIT"); err != nil {
		b.s.dropWriterConn()
		return err
	}
	return nil
}

// Rollback rolls the batch back; a connection that cannot is dropped.
func (b *pgBatch) Rollback() error {
	if _, err := b.conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		b.s.dropWriterConn()
		return err
	}
	return nil
}

// dropWriterConn closes the writer's connection for good (not back into
// the pool: it may be inside a transaction); the next batch takes another.
func (s *Store) dropWriterConn() {
	if s.wconn == nil {
		return
	}
	_ = s.wconn.Raw(func(any) error { return driver.ErrBadConn })
	_ = s.wconn.Close()
	s.wconn = nil
}

// Engine names the database engine: "sqlite" or "postgres".
func (s *Store) Engine() string { return s.d.String() }

var errUnknownDriver = errors.New("unknown storage driver")

// Open opens the store for a configured driver: "sqlite" (target is a file
// path) or "postgres" (target is a connection string).
func Open(ctx context.Context, driver, target string, opts ...Option) (*Store, error) {
	switch driver {
	case "", "sqlite":
		return OpenSQLite(ctx, target, opts...)
	case "postgres":
		return OpenPostgres(ctx, target, opts...)
	}
	return nil, fmt.Errorf("%w %q (sqlite or postgres)", errUnknownDriver, driver)
}

// bigint is the column type of a 64-bit integer (milliseconds since 1970):
// SQLite's INTEGER holds 64 bits, PostgreSQL's only 32.
func (d dialect) bigint() string {
	if d == postgresDialect {
		return "BIGINT"
	}
	return "INTEGER"
}

// inKeys is the condition "col is one of the keys" whose one parameter is
// keysArg: a JSON array read by json_each on SQLite, an array on
// PostgreSQL. Either way the statement's text is the same for any number
// of keys, so it stays prepared.
func (d dialect) inKeys(col string) string {
	if d == postgresDialect {
		return col + " = ANY(?)"
	}
	return col + " IN (SELECT value FROM json_each(?))"
}

// keysArg is the parameter of inKeys: ids for PostgreSQL, their JSON text
// for SQLite.
func (d dialect) keysArg(ids []int64, jsonKeys []byte) any {
	if d == postgresDialect {
		return ids
	}
	return string(jsonKeys)
}
