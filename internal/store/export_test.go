package store

import "context"

// PreparedStatements is how many statements the writer keeps prepared,
// for tests. On PostgreSQL it is the server's count for the writer's
// connection, where pgx keeps what the writer ran prepared, by text
// (beginBatch); the statement that counts is left out.
func PreparedStatements(s *Store) int {
	if s.d == postgresDialect {
		var n int
		err := s.InTx(context.Background(), func(tx *Tx) error {
			return tx.tx.QueryRowContext(tx.ctx, `SELECT count(*) FROM pg_prepared_statements WHERE statement NOT LIKE '%pg_prepared_statements%'`).Scan(&n)
		})
		if err != nil {
			panic(err)
		}
		return n
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	return len(s.stmts.stmts)
}

// IsPrepared reports whether the writer pool would run query prepared, for
// tests: it asks for it, lets the pool prepare what it wants, and looks.
func IsPrepared(s *Store, query string) bool {
	if s.stmts == nil {
		// PostgreSQL: pgx keeps prepared what it ran with arguments; a
		// text without them (a script) goes as a simple query.
		return false
	}
	s.stmts.get(query)
	s.stmts.prepareWanted(context.Background())
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	_, ok := s.stmts.stmts[query]
	return ok
}

// Commits reports how many SQLite commits the writer made and how many
// transactions they carried, for tests.
func Commits(s *Store) (commits, transactions int64) {
	return s.w.commits.Load(), s.w.batched.Load()
}

// Queued reports how many transactions wait for the writer, for tests.
func Queued(s *Store) int { return len(s.w.queue) }
