package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Prepared statements and the read-only pool.
//
// SQLite spent half its time parsing SQL: database/sql without a prepared
// statement hands every Exec to the driver as text, which parses it again
// each time. The same few dozen statements run over and over, so each pool
// keeps its statements prepared: a Tx runs a statement it has seen before
// through the prepared copy (Tx.StmtContext), which the driver keeps
// compiled on the connection.
//
// A statement is prepared lazily, and never while a transaction holds a
// connection: database/sql prepares on a free connection of the pool, and
// the writer pool has exactly one, held by the running transaction, so
// preparing from inside InTx would wait for itself. Instead, a statement a
// Tx ran unprepared is remembered, and the next InTx or ReadTx prepares the
// remembered ones before it begins.

// maxPrepared bounds each pool's statements, in case some caller builds SQL
// text at run time; statements past it simply run unprepared.
const maxPrepared = 256

// stmtCache keeps one pool's prepared statements, by SQL text. A nil one
// keeps none: on PostgreSQL, whose driver (pgx) keeps every statement it
// ran prepared on the connection itself, by text, a database/sql
// statement of the pool would only be prepared once more on every
// connection it meets — a round trip each.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	// stmts are prepared; wanted ran unprepared and will be prepared before
	// the next transaction begins; failed could not be prepared (a script of
	// several statements, say) and are not tried again.
	stmts  map[string]*sql.Stmt
	wanted map[string]struct{}
	failed map[string]struct{}
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, wanted: map[string]struct{}{}, failed: map[string]struct{}{}}
}

// get returns the prepared statement for query, or nil (and remembers that
// query is wanted) when there is none yet.
func (c *stmtCache) get(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st
	}
	// A script of several statements (a migration) runs once; it would
	// only take up room.
	if strings.Contains(query, ";") {
		return nil
	}
	if _, bad := c.failed[query]; !bad && len(c.stmts)+len(c.wanted) < maxPrepared {
		c.wanted[query] = struct{}{}
	}
	return nil
}

// prepareWanted prepares the statements that ran unprepared. It must be
// called with no transaction of the pool held by the caller. The lock is not
// held while preparing: a transaction that holds the connection may be
// calling get.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if len(c.wanted) == 0 {
		c.mu.Unlock()
		return
	}
	todo := c.wanted
	c.wanted = map[string]struct{}{}
	c.mu.Unlock()
	for q := range todo {
		st, err := c.db.PrepareContext(ctx, q)
		c.mu.Lock()
		switch {
		case err == nil && c.stmts[q] == nil:
			c.stmts[q] = st
		case err == nil:
			st.Close() // another transaction prepared it first
		case ctx.Err() != nil:
			c.wanted[q] = struct{}{} // try again next time
		default:
			c.failed[q] = struct{}{}
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

// preparedTx is a *sql.Tx whose ExecContext and QueryRowContext run through
// the pool's prepared statements. QueryContext stays unprepared on purpose:
// its rows stay open while the caller iterates, and a second query of the
// same text on the same connection would reuse (and reset) the one compiled
// statement under them; Exec and QueryRow finish before they return.
type preparedTx struct {
	// Tx is the transaction; nil in a ReadOne, whose one statement runs
	// on db, the pool, outside any transaction, and in a PostgreSQL
	// writer batch, which runs on conn, in the transaction the writer
	// opened on it (pgBatch).
	*sql.Tx
	db   *sql.DB
	conn *sql.Conn
	// statements counts a ReadOne's statements (nil elsewhere): a second
	// one would see another snapshot than the first, so it is refused.
	statements *int
	cache      *stmtCache
	// bound are the cache's statements bound to this transaction, made
	// once each: binding allocates, and a group commit runs the same few
	// statements many times in one transaction. database/sql closes them
	// when the transaction ends.
	bound map[*sql.Stmt]*sql.Stmt
	// d rebinds each statement and its arguments for the engine
	// (postgres.go); the cache holds the rebound text.
	d dialect
	// tail is what a batch of writing transactions knows of the audit
	// chain's end (audit.go); nil outside the writer.
	tail *auditTail
}

func newPreparedTx(tx *sql.Tx, cache *stmtCache, d dialect) preparedTx {
	return preparedTx{Tx: tx, cache: cache, bound: map[*sql.Stmt]*sql.Stmt{}, d: d}
}

// querier runs statements: the transaction, or for a ReadOne the pool.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q is where t's statements run, counting a ReadOne's (see statements).
func (t preparedTx) q() querier {
	if t.statements != nil {
		if *t.statements++; *t.statements > 1 {
			panic("store: a ReadOne or WriteOne ran a second statement; it is not atomic with the first (use ReadTx or InTx)")
		}
	}
	switch {
	case t.conn != nil:
		return t.conn
	case t.Tx == nil:
		return t.db
	}
	return t.Tx
}

// ExecContext runs query through its prepared statement when there is one.
func (t preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := t.touchAudit(ctx, query); err != nil {
		return nil, err
	}
	query, args = t.d.rebind(query), t.d.args(args)
	q := t.q()
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.ExecContext(ctx, query, args...)
}

// QueryRowContext runs query through its prepared statement when there is
// one.
func (t preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	// A head that could not be written leaves the transaction aborted:
	// the query below then fails, and so does the batch (flushAuditHead
	// tries again before it commits).
	_ = t.touchAudit(ctx, query)
	query, args = t.d.rebind(query), t.d.args(args)
	q := t.q()
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.QueryRowContext(ctx, query, args...)
}

// QueryContext runs query unprepared (see preparedTx), rebound for the
// engine.
func (t preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.touchAudit(ctx, query); err != nil {
		return nil, err
	}
	return t.q().QueryContext(ctx, t.d.rebind(query), t.d.args(args)...)
}

// queryEach runs query through its prepared statement when there is one and
// calls each for every row; the rows are closed before it returns. Unlike
// QueryContext it is safe to prepare: no rows stay open when the caller
// runs its next statement, so the one compiled statement of a text is never
// reset under an iteration. The hot multi-row reads (a limiter's buckets,
// the outbox claim, a person's enrollments) go through it.
func (t preparedTx) queryEach(ctx context.Context, query string, args []any, each func(*sql.Rows) error) error {
	if err := t.touchAudit(ctx, query); err != nil {
		return err
	}
	query, args = t.d.rebind(query), t.d.args(args)
	var rows *sql.Rows
	var err error
	q := t.q()
	if st := t.stmt(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = q.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// insertID runs an INSERT of one row and returns its key: RETURNING on
// PostgreSQL, whose driver has no LastInsertId; LastInsertId on SQLite,
// where RETURNING costs a temporary table per statement.
func (t preparedTx) insertID(ctx context.Context, insert string, args ...any) (int64, error) {
	var id int64
	if t.d == postgresDialect {
		err := t.QueryRowContext(ctx, insert+" RETURNING id", args...).Scan(&id)
		return id, err
	}
	res, err := t.ExecContext(ctx, insert, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (t preparedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.cache == nil {
		return nil
	}
	st := t.cache.get(query)
	if st == nil {
		return nil
	}
	if t.Tx == nil {
		return st // a ReadOne: the pool's statement, on any connection
	}
	// Bound to this transaction's connection; on the writer it is the
	// connection the statement was prepared on, so nothing is parsed.
	if b, ok := t.bound[st]; ok {
		return b
	}
	b := t.Tx.StmtContext(ctx, st)
	t.bound[st] = b
	return b
}

// readerConns is how many read-only connections ReadTx may use at once.
const readerConns = 4

// openReader opens the read-only pool beside the writer. mode=ro makes
// every write on it fail, so a ReadTx cannot write by mistake; WAL lets it
// read while the writer writes, each transaction seeing the database as of
// its first read.
func (s *Store) openReader(ctx context.Context, path string) error {
	dsn := "file:" + path + "?mode=ro&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("opening database %s for reading: %w", path, err)
	}
	db.SetMaxOpenConns(readerConns)
	db.SetMaxIdleConns(readerConns) // keep them, with their prepared statements
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("opening database %s for reading: %w", path, err)
	}
	s.reader, s.readStmts = db, newStmtCache(db)
	return nil
}

// ReadOne runs fn, which runs exactly one statement that only reads, on a
// reader connection outside any transaction: one statement sees one
// snapshot by itself, so the BEGIN and ROLLBACK around it that ReadTx
// sends would only add two round trips to PostgreSQL (on SQLite, two calls
// into the engine). The hot reads of a reset step (its flow, a person's
// enrollments) go through it. A second statement in fn panics: it would
// see another snapshot than the first; such a fn belongs in ReadTx. On
// SQLite the reader connections refuse writes; on PostgreSQL nothing
// does, so fn must not write.
func (s *Store) ReadOne(ctx context.Context, fn func(*Tx) error) error {
	return s.oneStatement(ctx, s.reader, s.readStmts, fn)
}

// WriteOne runs fn, a write that is correct by itself under the row locks
// PostgreSQL takes for it: an outbox claim (FOR UPDATE SKIP LOCKED), or a
// change to rows the caller holds by such a claim. It needs neither the
// store-wide write lock (postgres.go) nor a transaction around it, so on
// PostgreSQL fn runs exactly one statement, on the pool, committed by
// itself: one round trip, beside the writer instead of queued behind it,
// and no other node's writer waits for it. A second statement panics, as
// in ReadOne. On SQLite, whose one writer is its lock, it is InTx (and fn
// may run several statements).
func (s *Store) WriteOne(ctx context.Context, fn func(*Tx) error) error {
	if s.d != postgresDialect {
		return s.InTx(ctx, fn)
	}
	return s.oneStatement(ctx, s.db, s.stmts, fn)
}

// oneStatement runs fn's one statement on db, outside any transaction.
func (s *Store) oneStatement(ctx context.Context, db *sql.DB, cache *stmtCache, fn func(*Tx) error) error {
	cache.prepareWanted(ctx)
	var statements int
	tx := &Tx{ctx: ctx, tx: preparedTx{db: db, cache: cache, d: s.d, statements: &statements}}
	err := fn(tx)
	if err == nil {
		for _, fn := range tx.after {
			fn()
		}
	}
	return err
}

// ReadTx runs fn in a read-only transaction on one of the reader
// connections: it does not wait for the writer, and the writer does not wait
// for it. fn sees one consistent snapshot, but what it read may change as
// soon as it returns, so a decision that must hold while something is
// written (a limit, a state transition) belongs in InTx. Any write in fn
// fails.
func (s *Store) ReadTx(ctx context.Context, fn func(*Tx) error) error {
	s.readStmts.prepareWanted(ctx)
	// On PostgreSQL, REPEATABLE READ gives fn one snapshot, as WAL does on
	// SQLite (where the level is not asked for: the driver refuses it).
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d == postgresDialect {
		opts.Isolation = sql.LevelRepeatableRead
	}
	sqlTx, err := s.reader.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	// fn's error wins over the rollback's; a read-only transaction has
	// nothing to commit.
	tx := &Tx{ctx: ctx, tx: newPreparedTx(sqlTx, s.readStmts, s.d)}
	err = fn(tx)
	if rbErr := sqlTx.Rollback(); err == nil && rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
		err = fmt.Errorf("store: end read: %w", rbErr)
	}
	if err == nil {
		for _, fn := range tx.after {
			fn()
		}
	}
	return err
}
