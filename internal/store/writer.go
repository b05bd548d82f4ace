package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Group commit.
//
// SQLite has one writer, and a commit costs far more than the statements
// before it: every page the transaction changed is written to the
// write-ahead log, then some of them again at the next checkpoint. The
// steps of concurrent flows touch mostly the same pages (the audit log's
// last page and head, the outbox's last page, the client address's abuse
// counters), so under load each commit rewrote them. Profiles put 60–75 %
// of a flow's CPU in its ten writing transactions (issue 10).
//
// So writing transactions queue for one writer goroutine, which runs every
// transaction waiting when it becomes free inside one SQLite transaction —
// each in a savepoint of its own, so one that fails is rolled back alone —
// and commits once for all of them. A caller still gets its answer only
// after that commit: what it wrote is as durable as before. With one
// transaction waiting (a quiet server) nothing changes: no savepoint, one
// commit.
//
// What a batch changes for a caller: its transaction runs after the
// batch's earlier ones, exactly as if it had waited for the writer behind
// them; it is cancelled if its context ends before it starts, and once
// started it runs to the end (a statement interrupted half-way would roll
// back the whole batch, so statements run without the caller's
// cancellation).

// maxBatch bounds how many transactions share one commit, so a flood
// does not make one commit arbitrarily long.
const maxBatch = 64

// errClosed is returned by InTx after Close.
var errClosed = errors.New("store: closed")

type writeState int32

const (
	writeQueued writeState = iota
	writeStarted
	writeCancelled
)

type writeReq struct {
	ctx   context.Context
	fn    func(*Tx) error
	state atomic.Int32
	done  chan writeResult
}

type writeResult struct {
	err      error
	panicked bool
	panicVal any
	// after are the transaction's AfterCommit functions, run by InTx in
	// the caller's goroutine once the commit is done.
	after []func()
}

// writer is the one goroutine that writes.
type writer struct {
	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
	queue  chan *writeReq
	ended  chan struct{}
	// commits and batched count SQLite commits and the transactions they
	// carried, for tests and benchmarks.
	commits, batched atomic.Int64
}

func (s *Store) startWriter() {
	s.w = &writer{queue: make(chan *writeReq, 4*maxBatch), ended: make(chan struct{})}
	go s.writeLoop()
}

func (s *Store) stopWriter() {
	s.w.mu.Lock()
	if !s.w.closed {
		s.w.closed = true
		close(s.w.queue)
	}
	s.w.mu.Unlock()
	<-s.w.ended
}

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise. It is the writer's transaction (BEGIN IMMEDIATE): nothing
// else writes while fn runs, so what fn reads is still true when it writes.
// It returns after the commit (see "Group commit" above).
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
	s.w.mu.RLock()
	if s.w.closed {
		s.w.mu.RUnlock()
		return errClosed
	}
	select {
	case s.w.queue <- req:
	case <-ctx.Done():
		s.w.mu.RUnlock()
		return ctx.Err()
	}
	s.w.mu.RUnlock()
	var res writeResult
	select {
	case res = <-req.done:
	case <-ctx.Done():
		if req.state.CompareAndSwap(int32(writeQueued), int32(writeCancelled)) {
			return ctx.Err()
		}
		res = <-req.done // started: it runs to the end
	}
	if res.panicked {
		panic(res.panicVal)
	}
	if res.err == nil {
		for _, fn := range res.after {
			fn()
		}
	}
	return res.err
}

func (s *Store) writeLoop() {
	defer close(s.w.ended)
	defer func() {
		if s.wconn != nil {
			_ = s.wconn.Close() // between batches: no transaction open
		}
	}()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		req, ok := <-s.w.queue
		if !ok {
			return
		}
		batch = append(batch[:0], req)
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-s.w.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.runBatch(batch)
	}
}

// runBatch runs the transactions of batch that were not cancelled in one
// SQLite transaction and answers each.
func (s *Store) runBatch(batch []*writeReq) {
	run := batch[:0:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(int32(writeQueued), int32(writeStarted)) {
			run = append(run, r)
		}
	}
	if len(run) == 0 {
		return
	}
	single := len(run) == 1
	bt, ptx, err := s.beginBatch(!single)
	if err != nil {
		answerAll(run, writeResult{err: err})
		return
	}
	pg := s.d == postgresDialect
	// The batch is the only writer until it commits (SQLite's one
	// writer, PostgreSQL's write lock): nobody else appends to the audit
	// chain meanwhile (see auditTail).
	ptx.tail = &auditTail{}
	results := make([]writeResult, len(run))
	committed := 0
	for i, r := range run {
		tx := &Tx{ctx: context.WithoutCancel(r.ctx), tx: ptx}
		// On PostgreSQL the first savepoint was opened with the
		// transaction (beginBatch), and the one after each later
		// transaction is opened in the same round trip that releases the
		// one before (see savepointNext below), or kept by ROLLBACK TO,
		// which leaves its savepoint in place.
		if !single && !pg {
			if _, err := ptx.ExecContext(tx.ctx, `SAVEPOINT grp`); err != nil {
				results[i] = writeResult{err: fmt.Errorf("store: savepoint: %w", err)}
				continue
			}
		}
		before := *ptx.tail
		results[i] = runOne(r.fn, tx)
		results[i].after = tx.after
		if single {
			break
		}
		failed := results[i].err != nil || results[i].panicked
		var err error
		switch {
		case failed:
			_, err = ptx.ExecContext(tx.ctx, `ROLLBACK TO grp`)
			// What the rolled-back transaction did to the chain's end is
			// undone with it.
			*ptx.tail = before
			if err == nil && !pg {
				_, err = ptx.ExecContext(tx.ctx, `RELEASE grp`)
			}
		case !pg:
			_, err = ptx.ExecContext(tx.ctx, `RELEASE grp`)
		case i < len(run)-1:
			// One round trip: PostgreSQL runs a text of several
			// statements (no arguments) as one simple query. After the
			// last transaction nothing is released: COMMIT commits the
			// savepoint's work with the rest.
			_, err = ptx.ExecContext(tx.ctx, savepointNext)
		}
		if err != nil {
			// The transaction is in a state nobody can vouch for: give
			// everything up.
			_ = bt.Rollback()
			answerAll(run, writeResult{err: fmt.Errorf("store: savepoint: %w", err)})
			return
		}
		if !failed {
			committed++
		}
	}
	if committed > 0 || (single && results[0].err == nil && !results[0].panicked) {
		// The chain's head, written once for the whole batch.
		if err := ptx.flushAuditHead(context.Background()); err != nil {
			_ = bt.Rollback()
			answerAll(run, writeResult{err: fmt.Errorf("store: writing the audit head: %w", err)})
			return
		}
	}
	if single && (results[0].err != nil || results[0].panicked) {
		_ = bt.Rollback()
	} else if !single && committed == 0 {
		_ = bt.Rollback()
	} else if err := bt.Commit(); err != nil {
		for i := range results {
			if results[i].err == nil && !results[i].panicked {
				results[i].err = fmt.Errorf("store: commit: %w", err)
			}
		}
	} else {
		s.w.commits.Add(1)
		s.w.batched.Add(int64(len(run)))
	}
	for i, r := range run {
		r.done <- results[i]
	}
}

// batchTx ends a batch's transaction: a *sql.Tx on SQLite, a pgBatch on
// PostgreSQL.
type batchTx interface {
	Commit() error
	Rollback() error
}

// beginBatch opens a batch's transaction, with its first savepoint when
// savepoint is set and the engine opens it in the same round trip
// (PostgreSQL; on SQLite runBatch opens every savepoint itself).
func (s *Store) beginBatch(savepoint bool) (batchTx, preparedTx, error) {
	if s.d == postgresDialect {
		b, err := s.beginPG(savepoint)
		if err != nil {
			return nil, preparedTx{}, err
		}
		// No database/sql statements here: they belong to the pool, not
		// to one connection. pgx keeps the statements it ran prepared
		// on the connection itself, by text.
		return b, preparedTx{conn: b.conn, d: s.d}, nil
	}
	// Statements are prepared only while no transaction holds the one
	// connection (see prepared.go).
	s.stmts.prepareWanted(context.Background())
	sqlTx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		return nil, preparedTx{}, fmt.Errorf("store: begin: %w", err)
	}
	return sqlTx, newPreparedTx(sqlTx, s.stmts, s.d), nil
}

// runOne runs fn, turning a panic into a result that InTx raises again in
// the caller's goroutine, where it belongs.
func runOne(fn func(*Tx) error, tx *Tx) (res writeResult) {
	defer func() {
		if v := recover(); v != nil {
			res = writeResult{panicked: true, panicVal: v}
		}
	}()
	return writeResult{err: fn(tx)}
}

// savepointNext releases a transaction's savepoint and opens the next
// one's, in one round trip (PostgreSQL).
const savepointNext = `RELEASE grp; SAVEPOINT grp`

func answerAll(run []*writeReq, res writeResult) {
	for _, r := range run {
		r.done <- res
	}
}
